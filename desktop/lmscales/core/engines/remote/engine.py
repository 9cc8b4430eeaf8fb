"""The remote engine: a large model behind an OpenAI-compatible chat completions API, streamed.

It speaks the same `GenerationRequest` and events as the local engine and its timestamps feed the same
metric definitions. What servers and models differ in, handled here (with the knowledge in `capabilities`,
the wire in `transport` and the messages in `errors`):
- request parameters: OpenAI's own host takes `max_completion_tokens`, others `max_tokens`; a model that
  refuses a parameter (400 `unsupported_parameter`/`unsupported_value`) is asked once more without it (or
  with the replacement it names), and the refusal is remembered per endpoint and model in the
  `ParameterMemory` the engine's owner hands it. A parameter left out is recorded in
  `Finished.ignored_parameters`: the comparison is not matched on it;
- reasoning: thinking streamed as `delta.reasoning_content` or `delta.reasoning` comes out as
  `TextDelta(kind="reasoning")`, apart from the answer; thinking tokens come from
  `usage.completion_tokens_details.reasoning_tokens`, or are estimated;
- `usage` in streams: asked for with `stream_options.include_usage`; where it is missing (llama.cpp's
  server sends none) token counts are estimated (one token per content chunk, prompt from its length)
  and marked so;
- rate limits: a 429 is retried a bounded number of times, honouring `retry-after-ms` and `Retry-After`;
  a 429 `insufficient_quota` is about billing and is not retried;
- failures: each is mapped to a message a user can act on (`errors.explain`), and a stream that breaks
  keeps its partial text and is marked incomplete, unless the answer had already finished (a reset after
  `finish_reason` loses nothing).

The HTTP exchange runs on a pump thread that hands typed messages (`stream`) over a queue, so `cancel` ends
`generate` within one queue poll (50 ms) whatever the network is doing, and then closes the stream. A run's
cancel flag exists from the moment `generate` is called, so a cancel before the first step stops that run too.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import openai

from lmscales.core import notices
from lmscales.core.egress import remote_egress
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.base import EngineInfo, one_at_a_time
from lmscales.core.engines.remote.capabilities import TOKEN_LIMITS, ParameterMemory, request_body
from lmscales.core.engines.remote.errors import (
    RemoteError,
    error_code,
    explain,
    looks_like_sse,
    not_sse,
    refused_parameter,
    retry_after_seconds,
)
from lmscales.core.engines.remote.options import RemoteOptions
from lmscales.core.engines.remote.stream import (
    AnswerFinished,
    ChunkArrived,
    PumpMessage,
    PumpNotes,
    Run,
    StreamEnded,
    UsageReported,
    reasoning_text,
    reported_reasoning_tokens,
)
from lmscales.core.engines.remote.transport import ByteCounter, open_client
from lmscales.core.events import (
    EngineError,
    Event,
    Finished,
    GenerationRequest,
    Message,
    Notice,
    Provenance,
    Sent,
    TextDelta,
)
from lmscales.core.metrics import estimate_tokens

_POLL_SECONDS = 0.05


class RemoteEngine:
    """One endpoint, one generation at a time; `cancel` is safe from any thread."""

    def __init__(self, endpoint: Endpoint, options: RemoteOptions | None = None,
                 memory: ParameterMemory | None = None) -> None:
        self.endpoint = endpoint
        self.options = options or RemoteOptions()
        # The owner's memory (the window's, a CLI command's); without one, this engine's own, gone with it.
        self.memory = memory if memory is not None else ParameterMemory()
        self._busy = threading.Lock()
        self._runs_lock = threading.Lock()
        self._runs: set[Run] = set()

    @property
    def info(self) -> EngineInfo:
        endpoint = self.endpoint
        return EngineInfo(
            kind="remote",
            model=endpoint.model,
            context_tokens=self.options.context_tokens,
            host=endpoint.host,
            endpoint_name=endpoint.name,
            loopback=endpoint.is_loopback,
        )

    @property
    def pid(self) -> int | None:
        return None  # the server's process is not ours to watch

    def cpu_seconds(self) -> float | None:
        return None

    def list_models(self) -> list[str]:
        """Model ids from `GET /models`; raises the `EngineError` explanation as `RemoteError`."""
        client = open_client(self.endpoint, self.options, ByteCounter())
        try:
            return sorted(model.id for model in client.models.list())
        except Exception as error:
            raise RemoteError(explain(error, self.endpoint, self.options, streaming=False)) from None
        finally:
            client.close()

    def cancel(self) -> None:
        with self._runs_lock:
            runs = tuple(self._runs)
        for run in runs:
            run.cancel()

    def close(self) -> None:
        self.cancel()

    def generate(self, request: GenerationRequest) -> Iterator[Event]:
        # The run (and its cancel flag) is bound here, at submission, not when the generator first steps: a
        # cancel that comes before the first step still stops this run.
        run = Run()
        with self._runs_lock:
            self._runs.add(run)

        def events() -> Iterator[Event]:
            counter = ByteCounter()
            ending: Event | None = None  # the Finished or EngineError, kept last: `Sent` comes just before it
            try:
                for event in one_at_a_time(self._busy, "remote", lambda: self._generate(request, run, counter)):
                    if isinstance(event, Finished | EngineError):
                        ending = event
                    else:
                        yield event
                if counter.requests:  # what left this computer, a failed request's too
                    yield Sent(remote_egress(self.endpoint.host, counter.sent, counter.connection_received,
                                             counter.requests, counter.body))
                if ending is not None:
                    yield ending
            finally:
                with self._runs_lock:
                    self._runs.discard(run)

        return events()

    def _generate(self, request: GenerationRequest, run: Run, counter: ByteCounter) -> Iterator[Event]:
        submitted_at = time.perf_counter()
        if run.cancelled.is_set():  # stopped before it began: nothing is sent
            yield Finished(prompt_tokens=0, prompt_tokens_provenance="estimated", output_tokens=0,
                           output_tokens_provenance="estimated", submitted_at=submitted_at, deltas=(),
                           stop_reason="cancelled")
            return
        events: queue.Queue[PumpMessage] = queue.Queue()
        learned = PumpNotes()
        pump = threading.Thread(target=self._pump, args=(request, events, counter, run, learned),
                                name="remote-pump", daemon=True)
        pump.start()
        deltas: list[tuple[float, str]] = []
        thinking: list[tuple[float, str]] = []
        usage: Any = None
        finish_reason: str | None = None
        chunks_seen = False
        while True:
            try:
                message = events.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if run.cancelled.is_set() or (not pump.is_alive() and events.empty()):
                    break
                continue
            if isinstance(message, TextDelta):
                if run.cancelled.is_set():
                    continue  # nothing queued before a Stop is shown after it
                (thinking if message.kind == "reasoning" else deltas).append((message.timestamp, message.text))
                yield message
            elif isinstance(message, Notice):
                if not run.cancelled.is_set():
                    yield message
            elif isinstance(message, ChunkArrived):
                chunks_seen = True
            elif isinstance(message, UsageReported):
                usage = message.usage
            elif isinstance(message, AnswerFinished):
                finish_reason = message.reason
            elif isinstance(message, EngineError):
                if run.cancelled.is_set():
                    break
                error = message
                if finish_reason is not None and error.kind in ("incomplete", "connection", "malformed", "timeout"):
                    # The answer was complete (finish_reason came); only the goodbye was lost.
                    yield notices.closed_after_answer(self.endpoint.host)
                    break
                if error.kind == "context_length":
                    error = self._learn_context(error)
                yield EngineError(error.kind, error.message, partial_text="".join(t for _, t in deltas),
                                  details=error.details)
                return
            elif isinstance(message, StreamEnded):
                break
        cancelled = run.cancelled.is_set()
        run.cancel()  # closes the stream if it is still open
        if not cancelled and finish_reason is None:
            if not chunks_seen and not looks_like_sse(counter.content_type, counter.head):
                yield not_sse(self.endpoint, counter.content_type, counter.head)
                return
            yield EngineError(
                "incomplete",
                f"The stream from {self.endpoint.host} ended before the answer was finished. The partial answer "
                "is kept and marked incomplete.",
                partial_text="".join(t for _, t in deltas),
            )
            return
        yield self._finished(request, submitted_at, deltas, thinking, usage, finish_reason, cancelled,
                             counter.total, learned)

    def _learn_context(self, error: EngineError) -> EngineError:
        """The server named its context: take it as this model's, so the session trims the chat history or
        summarizes in parts on the next send (the offer the message makes)."""
        limit = int(error.details.get("max_context", "0") or 0)
        if limit <= 0 or limit >= self.options.context_tokens:
            return error
        self.options = replace(self.options, context_tokens=limit)
        return EngineError(error.kind, error.message + f" LM Scales now counts this model's context as {limit:,} "
                           "tokens: send again, and it trims the chat history or summarizes in parts to fit.",
                           error.partial_text, error.details)

    def _finished(
        self,
        request: GenerationRequest,
        submitted_at: float,
        deltas: list[tuple[float, str]],
        thinking: list[tuple[float, str]],
        usage: Any,
        finish_reason: str | None,
        cancelled: bool,
        bytes_received: int,
        learned: PumpNotes,
    ) -> Finished:
        thinking_pieces = sum(1 for _, text in thinking if text)
        answer_pieces = sum(1 for _, text in deltas if text)
        reported_thinking = reported_reasoning_tokens(usage)
        reasoning_prov: Provenance
        if usage is not None and getattr(usage, "completion_tokens", None) is not None:
            prompt_tokens, prompt_prov = int(usage.prompt_tokens), "measured"
            completion = int(usage.completion_tokens)
            if reported_thinking is not None:
                reasoning_tokens, reasoning_prov = reported_thinking, "measured"
                output_tokens, output_prov = max(0, completion - reasoning_tokens), "measured"
            elif thinking_pieces:
                # The server counted the thinking in completion_tokens without saying how much of it there was.
                reasoning_tokens, reasoning_prov = min(thinking_pieces, completion), "estimated"
                output_tokens, output_prov = max(completion - reasoning_tokens, 0), "estimated"
            else:
                reasoning_tokens, reasoning_prov = 0, "measured"
                output_tokens, output_prov = completion, "measured"
        else:
            prompt_tokens, prompt_prov = estimate_prompt_tokens(request.messages), "estimated"
            output_tokens, output_prov = answer_pieces, "estimated"
            reasoning_tokens = thinking_pieces
            reasoning_prov = "estimated" if thinking_pieces else "measured"
        stop_reason = "cancelled" if cancelled else ("length" if finish_reason == "length" else "stop")
        return Finished(
            prompt_tokens=prompt_tokens,
            prompt_tokens_provenance=prompt_prov,  # type: ignore[arg-type]
            output_tokens=output_tokens,
            output_tokens_provenance=output_prov,  # type: ignore[arg-type]
            submitted_at=submitted_at,
            deltas=tuple(deltas),
            stop_reason=stop_reason,  # type: ignore[arg-type]
            bytes_received=bytes_received,
            reasoning_deltas=tuple(thinking),
            reasoning_tokens=reasoning_tokens,
            reasoning_tokens_provenance=reasoning_prov,
            ignored_parameters=learned.ignored,
            stream_reads=len(learned.reads_with_text) or None,
        )

    def _pump(
        self, request: GenerationRequest, events: queue.Queue[PumpMessage], counter: ByteCounter, run: Run,
        learned: PumpNotes,
    ) -> None:
        client: openai.OpenAI | None = None
        started_stream = False
        try:
            client = open_client(self.endpoint, self.options, counter)
            stream = self._open_with_retries(client, request, events, run, learned)
            if stream is None or not run.attach(stream):
                return
            started_stream = True
            for chunk in stream:
                now = time.perf_counter()
                events.put(ChunkArrived())
                if chunk.usage is not None:
                    events.put(UsageReported(chunk.usage))
                for choice in chunk.choices or ():
                    delta = choice.delta
                    thought = reasoning_text(delta)
                    if thought:
                        learned.reads_with_text.add(counter.reads)
                        events.put(TextDelta(thought, now, "reasoning"))
                    content = delta.content if delta is not None else None
                    if content:
                        learned.reads_with_text.add(counter.reads)
                        events.put(TextDelta(content, now))
                    if choice.finish_reason:
                        events.put(AnswerFinished(choice.finish_reason))
        except Exception as error:
            if not run.cancelled.is_set():
                events.put(explain(error, self.endpoint, self.options, streaming=started_stream,
                                   answer_started=bool(learned.reads_with_text)))
        finally:
            events.put(StreamEnded())
            if client is not None:
                client.close()

    def _open_with_retries(self, client: openai.OpenAI, request: GenerationRequest,
                           events: queue.Queue[PumpMessage], run: Run, learned: PumpNotes) -> Any:
        """The stream, after rate-limit waits and refused-parameter retries; None when given up (the error
        is queued) or cancelled."""
        host, model = self.endpoint.host, self.endpoint.model
        attempt = 0
        adapted: set[str] = set()
        while True:
            arguments, ignored = request_body(request, host, model, self.memory.refused(host, model))
            learned.ignored = ignored
            try:
                return client.chat.completions.create(**arguments)
            except openai.RateLimitError as error:
                if error_code(error) == "insufficient_quota":
                    raise  # billing, not speed: waiting does not help
                wait = retry_after_seconds(error.response.headers)
                attempt += 1
                if attempt > self.options.max_rate_limit_retries or (wait or 0) > self.options.max_retry_wait:
                    hint = f" It asked to wait {wait:g} s." if wait is not None else ""
                    events.put(EngineError(
                        "rate_limited",
                        f"{host} is rate-limiting requests (429); gave up after {attempt} "
                        f"attempt{'s' if attempt > 1 else ''}.{hint} Try again later."))
                    return None
                wait = wait if wait is not None else min(2.0 ** attempt, self.options.max_retry_wait)
                events.put(notices.rate_limited(host, attempt, self.options.max_rate_limit_retries, wait))
                if run.cancelled.wait(wait):
                    return None
            except openai.BadRequestError as error:
                refused = refused_parameter(error)
                if refused is None or refused[0] in adapted or refused[0] not in arguments:
                    raise
                parameter, replacement = refused
                if replacement is not None and parameter not in TOKEN_LIMITS and replacement not in TOKEN_LIMITS:
                    replacement = None  # only the token limit is renamed; anything else is left out
                adapted.add(parameter)
                self.memory.learn(host, model, parameter, replacement)
                events.put(notices.parameter_refused(model, host, parameter, replacement or None))
                if run.cancelled.is_set():
                    return None


def estimate_prompt_tokens(messages: tuple[Message, ...]) -> int:
    """Without the server's tokenizer: about four characters a token, plus a few per message for the template."""
    return sum(estimate_tokens(m.content) + 4 for m in messages)
