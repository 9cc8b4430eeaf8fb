"""The remote engine: a large model behind an OpenAI-compatible chat completions API, streamed.

It speaks the same `GenerationRequest` and events as the local engine and its timestamps feed the same
metric definitions. What servers and models differ in, handled here:
- request parameters: OpenAI's own host takes `max_completion_tokens`, others `max_tokens`; a model that
  refuses a parameter (400 `unsupported_parameter`/`unsupported_value`) is asked once more without it (or
  with the replacement it names), and the refusal is remembered per endpoint and model (`ParameterMemory`).
  A parameter left out is recorded in `Finished.ignored_parameters`: the comparison is not matched on it;
- reasoning: thinking streamed as `delta.reasoning_content` or `delta.reasoning` comes out as
  `TextDelta(kind="reasoning")`, apart from the answer; thinking tokens come from
  `usage.completion_tokens_details.reasoning_tokens`, or are estimated;
- `usage` in streams: asked for with `stream_options.include_usage`; where it is missing (llama.cpp's
  server sends none) token counts are estimated (one token per content chunk, prompt from its length)
  and marked so;
- rate limits: a 429 is retried a bounded number of times, honouring `retry-after-ms` and `Retry-After`;
  a 429 `insufficient_quota` is about billing and is not retried;
- failures: each is mapped to a message a user can act on (see `explain`), and a stream that breaks
  keeps its partial text and is marked incomplete, unless the answer had already finished (a reset after
  `finish_reason` loses nothing). A 200 that is not a stream of events (a captive portal's HTML page) is
  named for what it is.

The HTTP exchange runs on a pump thread that hands chunks over a queue, so `cancel` ends `generate`
within one queue poll (50 ms) whatever the network is doing, and then closes the stream. A run's cancel
flag exists from the moment `generate` is called, so a cancel before the first step stops that run too.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import queue
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.base import EngineInfo, one_at_a_time
from lmscales.core.events import (
    EngineError,
    Event,
    Finished,
    GenerationRequest,
    Message,
    Notice,
    Provenance,
    TextDelta,
)
from lmscales.core.metrics import estimate_tokens
from lmscales.core.offline import is_loopback
from lmscales.core.secrets import redact

_POLL_SECONDS = 0.05
NO_KEY_PLACEHOLDER = "no-key-set"


@dataclass(frozen=True)
class RemoteOptions:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_rate_limit_retries: int = 3
    max_retry_wait: float = 30.0  # a Retry-After longer than this is not waited for
    context_tokens: int = 8192  # what the remote model is assumed to take; longer summaries are map-reduced


_HEAD_BYTES = 2048


class _ByteCounter:
    """Bytes off the wire, how many reads brought them, and the first bytes and content type of the last
    response (to recognise a body that is not a stream of events)."""

    def __init__(self) -> None:
        self.total = 0
        self.reads = 0
        self.content_type = ""
        self.head = b""


class _CountingStream(httpx2.SyncByteStream):
    def __init__(self, inner: Any, counter: _ByteCounter) -> None:
        self._inner = inner
        self._counter = counter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            counter = self._counter
            counter.total += len(chunk)
            counter.reads += 1
            if len(counter.head) < _HEAD_BYTES:
                counter.head += chunk[: _HEAD_BYTES - len(counter.head)]
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _CountingTransport(httpx2.HTTPTransport):
    """Counts response body bytes as they come off the wire (before decompression)."""

    def __init__(self, counter: _ByteCounter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counter = counter

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle_request(request)
        self.counter.content_type = response.headers.get("content-type", "")
        self.counter.head = b""
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CountingStream(response.stream, self.counter),
            extensions=response.extensions,
        )


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def retry_after_seconds(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` (OpenAI's, in milliseconds) or `Retry-After` (delta-seconds or
    an HTTP date), or None."""
    milliseconds = headers.get("retry-after-ms") if headers is not None else None
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _server_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return ""


def _error_code(error: openai.APIStatusError) -> str:
    """The machine-readable code of an OpenAI-style error body ("insufficient_quota", ...), or ""."""
    if error.code:
        return str(error.code)
    body = error.body
    inner = body.get("error") if isinstance(body, dict) else None
    if isinstance(inner, dict) and inner.get("code") is not None:
        return str(inner["code"])
    return ""


_QUOTED = re.compile(r"['\"`](\w+)['\"`]")
_REPLACEMENT = re.compile(r"[Uu]se ['\"`](\w+)['\"`] instead")


def refused_parameter(error: openai.APIStatusError) -> tuple[str, str | None] | None:
    """(parameter, replacement or None) when a 400 says a parameter is unsupported, else None."""
    if error.status_code != 400 or _error_code(error) not in ("unsupported_parameter", "unsupported_value"):
        return None
    message = _server_message(error)
    param = error.param if isinstance(error.param, str) and error.param else None
    if param is None:
        quoted = _QUOTED.search(message)
        param = quoted.group(1) if quoted else None
    if param is None:
        return None
    replacement = _REPLACEMENT.search(message)
    return param, (replacement.group(1) if replacement and replacement.group(1) != param else None)


_NUMBERS = re.compile(r"\d[\d,]*")


def _context_error(error: openai.APIStatusError, endpoint: Endpoint) -> EngineError:
    """A 400 `context_length_exceeded`: how much to cut, and what LM Scales can do about it."""
    message = _server_message(error)
    numbers = [int(n.replace(",", "")) for n in _NUMBERS.findall(message)]
    details = {"offer": "trim_history,map_reduce"}
    limit = needed = None
    if len(numbers) >= 2:
        limit, needed = numbers[0], max(numbers[1:])
    if limit is not None and needed is not None and needed > limit:
        cut = needed - limit
        details.update(max_context=str(limit), requested=str(needed), cut_tokens=str(cut))
        how_much = (f"'{endpoint.model}' takes {limit:,} tokens and this request needs {needed:,}: cut about "
                    f"{cut:,} tokens (roughly {max(1, round(cut * 0.75)):,} words).")
    else:
        how_much = f"the input is longer than '{endpoint.model}' can take (its context is full)."
    return EngineError(
        "context_length",
        f"{endpoint.host} refused the request (400 context_length_exceeded): {how_much} Start a new chat to trim "
        "the chat history, or summarize the text: a summary longer than the context is done in parts "
        "(map-reduce). Setting a smaller context for this model in Settings makes LM Scales do that by itself.",
        details=details,
    )


def _not_sse(endpoint: Endpoint, content_type: str, head: bytes) -> EngineError:
    """A 200 whose body is not a stream of events: say what came back instead."""
    text = head.decode("utf-8", "replace").strip()
    lowered = text[:400].lower()
    kind = (content_type.split(";")[0].strip() or "no content type")
    if "html" in kind or lowered.startswith(("<!doctype html", "<html")) or "<html" in lowered:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        named = f" titled '{' '.join(title.group(1).split())[:80]}'" if title else ""
        what = (f"an HTML page{named} ({kind}), not a stream of tokens. This is usually a captive portal (a "
                "hotel or café Wi-Fi login) or a proxy: open a web page in a browser to log in, or check the "
                "base URL.")
    elif "json" in kind or lowered.startswith("{"):
        what = (f"a whole JSON document ({kind}) instead of a stream of events: the server may not stream, or "
                "the base URL may point at something other than an OpenAI-compatible API.")
    else:
        start = redact(" ".join(text.split())[:60], [endpoint.api_key])
        what = (f"something that is not a stream of events ({kind}"
                + (f", beginning '{start}'" if start else ", empty") + "). Check the base URL.")
    return EngineError("not_sse", f"{endpoint.host} answered 200 OK with {what}",
                       details={"content_type": kind})


def _looks_like_sse(content_type: str, head: bytes) -> bool:
    if "event-stream" in content_type.lower():
        return True
    return head.lstrip().startswith((b"data:", b":", b"event:", b"id:", b"retry:"))


def explain(error: BaseException, endpoint: Endpoint, options: RemoteOptions, streaming: bool,
            answer_started: bool | None = None) -> EngineError:
    """Turn an exception from the SDK or the transport into a message a user can act on. `streaming`: the
    response had begun; `answer_started`: text had arrived (defaults to `streaming`)."""
    host = endpoint.host
    model = endpoint.model
    answer_started = streaming if answer_started is None else answer_started
    kept = " The partial answer is kept and marked incomplete." if streaming and answer_started else ""
    if isinstance(error, openai.APIStatusError):
        code = error.status_code
        detail = redact(_server_message(error), [endpoint.api_key])[:300]
        error_code = _error_code(error)
        if code == 429 and error_code == "insufficient_quota":
            return EngineError("quota", f"{host} says this account has run out of quota (429 insufficient_quota). "
                                        "This is about billing, not about sending too fast: check your plan and "
                                        "billing details with the provider. LM Scales does not retry it.")
        if code == 400 and error_code == "context_length_exceeded":
            return _context_error(error, endpoint)
        if code == 401:
            if not endpoint.api_key:
                return EngineError("auth", f"{host} needs an API key (401) and none is set. Add one in Settings "
                                           "or set LMSCALES_API_KEY.")
            return EngineError("auth", f"{host} refused the API key (401 Unauthorized). Check the key in Settings "
                                       "or LMSCALES_API_KEY.")
        if code == 403:
            return EngineError("forbidden", f"{host} refused access (403 Forbidden): this key may not use "
                                            f"'{model}'. Check the key's permissions or pick another model.")
        if code == 404:
            return EngineError("not_found", f"Model '{model}' was not found at {host} (404). Pick a model the "
                                            "server lists, or check the base URL.")
        if code == 429:
            return EngineError("rate_limited", f"{host} is rate-limiting requests (429). Wait a little and try "
                                               "again.")
        if code >= 500:
            return EngineError("server", f"{host} had a server error (HTTP {code}). Try again in a moment; if it "
                                         "keeps failing, the service may be down.")
        return EngineError("bad_request", f"{host} rejected the request (HTTP {code})" + (f": {detail}" if detail
                                                                                             else "."))
    chain = list(_chain(error))
    if any(isinstance(e, httpx2.ConnectTimeout) for e in chain):
        return EngineError("timeout", f"Connecting to {host} timed out after {options.connect_timeout:g} s "
                                      "(connect timeout, set in Settings). Check the network connection and the "
                                      "base URL.", details={"timeout_seconds": f"{options.connect_timeout:g}"})
    if any(isinstance(e, (httpx2.ReadTimeout, openai.APITimeoutError)) for e in chain):
        when = ("in the middle of the answer" if answer_started else
                "after its headers, before the first token" if streaming else "after the request was sent")
        return EngineError("timeout", f"{host} sent nothing for {options.read_timeout:g} s {when} (read timeout, "
                                      "set in Settings). The server may be overloaded or the connection stalled; "
                                      f"try again.{kept}", details={"timeout_seconds": f"{options.read_timeout:g}"})
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, socket.gaierror) for e in chain) or any(
        marker in text for marker in ("Name or service not known", "nodename nor servname", "getaddrinfo failed",
                                      "Temporary failure in name resolution", "No address associated")
    ):
        return EngineError("dns", f"Could not look up {host} (DNS failure): check the base URL, or the network "
                                  "connection if you are offline.")
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text \
            or "10061" in text:
        return EngineError("refused", f"Nothing answered at {host} (connection refused). Is the server running, "
                                      "and is the port right?")
    if any(isinstance(e, (httpx2.RemoteProtocolError, httpx2.ReadError)) for e in chain) and streaming:
        return EngineError("incomplete", f"The connection to {host} broke in the middle of the answer.{kept}")
    if any(isinstance(e, ValueError) for e in chain) and not isinstance(error, openai.APIError):
        return EngineError("malformed", f"{host} sent a malformed chunk (not valid JSON).{kept}")
    if isinstance(error, openai.APIConnectionError):
        return EngineError("connection", f"Could not reach {host}: {redact(str(chain[-1]), [endpoint.api_key])}. "
                                         "Check the network connection.")
    if isinstance(error, openai.APIError):
        return EngineError("server", f"{host} reported an error in the stream: "
                                     f"{redact(str(error), [endpoint.api_key])[:300]}.{kept}")
    return EngineError("connection", f"Talking to {host} failed: {type(error).__name__}.{kept}")


OPENAI_HOSTS = ("api.openai.com",)
# What the token limit is called where the model refuses the other name; every other parameter is left out.
_TOKEN_LIMITS = ("max_tokens", "max_completion_tokens")


def takes_max_completion_tokens(host: str) -> bool:
    """OpenAI's own API: current models there refuse `max_tokens` and take `max_completion_tokens`."""
    name = host.rsplit(":", 1)[0].lower()
    return name in OPENAI_HOSTS or name.endswith(".openai.com")


# Model families that think before they answer and take `reasoning_effort` (OpenAI's GPT-5 and o-series,
# gpt-oss wherever it is served, DeepSeek's reasoner, Qwen 3, QwQ, Magistral, Grok 3 mini, Gemini 2.5 and 3
# on Google's OpenAI-compatible endpoint), and any name that says it reasons or thinks. A name a router
# prefixes ("openai/gpt-oss-120b") counts by its last part.
_THINKING_MODELS = re.compile(r"^(gpt-5|o[134](-|$)|gpt-oss|deepseek-r1|qwen3|magistral|grok-3-mini|gemini-(2\.5|3))"
                              r"|qwq|reasoning|reasoner|thinking")


def takes_reasoning_effort(model: str) -> bool:
    """Whether `model` is one that thinks, so a choice of how hard is worth showing. A model this does not know
    still gets the parameter when the user sets it; one that refuses it runs without it (and says so)."""
    return bool(_THINKING_MODELS.search(model.rsplit("/", 1)[-1].strip().lower()))


Learned = Callable[[str, str, str, "str | None"], None]


class ParameterMemory:
    """Which request parameters a model refused, per endpoint (host) and model: {parameter: replacement or
    None (left out)}. One memory lives for the session; `on_learned` lets the settings keep it."""

    def __init__(self, known: dict[tuple[str, str], dict[str, str | None]] | None = None,
                 on_learned: Learned | None = None) -> None:
        self._lock = threading.Lock()
        self._refused: dict[tuple[str, str], dict[str, str | None]] = {
            key: dict(value) for key, value in (known or {}).items()
        }
        self.on_learned = on_learned

    def refused(self, host: str, model: str) -> dict[str, str | None]:
        with self._lock:
            return dict(self._refused.get((host, model), {}))

    def learn(self, host: str, model: str, parameter: str, replacement: str | None) -> None:
        with self._lock:
            entry = self._refused.setdefault((host, model), {})
            if parameter in entry and entry[parameter] == replacement:
                return
            entry[parameter] = replacement
        if self.on_learned is not None:
            try:
                self.on_learned(host, model, parameter, replacement)
            except Exception:  # keeping it for next time is a convenience; the run goes on
                logging.getLogger(__name__).exception("could not keep a refused parameter")

    def forget(self) -> None:
        with self._lock:
            self._refused.clear()


SESSION_MEMORY = ParameterMemory()


class _Run:
    """One generation's own cancel flag and stream: a run that outlives its cancel (a slow connect) can never
    be confused with the next one."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._stream: Any = None

    def attach(self, stream: Any) -> bool:
        """Keep `stream` for closing; False (and the stream closed) if the run was cancelled meanwhile."""
        with self._lock:
            if not self.cancelled.is_set():
                self._stream = stream
                return True
        _quietly_close(stream)
        return False

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            threading.Thread(target=_quietly_close, args=(stream,), daemon=True).start()


def _proxy_for(url: str) -> str | None:
    """The system proxy for `url` (environment or OS settings), honouring its bypass list."""
    parts = urlsplit(url)
    if not parts.hostname or is_loopback(parts.hostname) or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


@dataclass
class _Stream:
    """What the pump learned while it ran, read by `_generate` when the stream has ended."""

    ignored: tuple[str, ...] = ()
    reads_with_text: set[int] = field(default_factory=set)


class RemoteEngine:
    """One endpoint, one generation at a time; `cancel` is safe from any thread."""

    def __init__(self, endpoint: Endpoint, options: RemoteOptions | None = None,
                 memory: ParameterMemory | None = None) -> None:
        self.endpoint = endpoint
        self.options = options or RemoteOptions()
        self.memory = memory if memory is not None else SESSION_MEMORY
        self._busy = threading.Lock()
        self._runs_lock = threading.Lock()
        self._runs: set[_Run] = set()

    def _client(self, counter: _ByteCounter) -> openai.OpenAI:
        timeout = httpx2.Timeout(self.options.read_timeout, connect=self.options.connect_timeout)
        # With a custom transport httpx reads no proxy settings itself: system proxies apply to remote
        # APIs, never to a server on this computer.
        proxy = _proxy_for(self.endpoint.base_url)
        http_client = httpx2.Client(
            transport=_CountingTransport(counter, proxy=proxy) if proxy else _CountingTransport(counter),
            timeout=timeout,
            trust_env=False,
        )
        return openai.OpenAI(
            base_url=self.endpoint.base_url,
            api_key=self.endpoint.api_key or NO_KEY_PLACEHOLDER,
            max_retries=0,
            timeout=timeout,
            http_client=http_client,
        )

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
        client = self._client(_ByteCounter())
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
        run = _Run()
        with self._runs_lock:
            self._runs.add(run)

        def events() -> Iterator[Event]:
            try:
                yield from one_at_a_time(self._busy, "remote", lambda: self._generate(request, run))
            finally:
                with self._runs_lock:
                    self._runs.discard(run)

        return events()

    def _generate(self, request: GenerationRequest, run: _Run) -> Iterator[Event]:
        submitted_at = time.perf_counter()
        if run.cancelled.is_set():  # stopped before it began: nothing is sent
            yield Finished(prompt_tokens=0, prompt_tokens_provenance="estimated", output_tokens=0,
                           output_tokens_provenance="estimated", submitted_at=submitted_at, deltas=(),
                           stop_reason="cancelled")
            return
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        counter = _ByteCounter()
        learned = _Stream()
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
                kind, payload = events.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if run.cancelled.is_set() or (not pump.is_alive() and events.empty()):
                    break
                continue
            if kind == "delta":
                if run.cancelled.is_set():
                    continue  # nothing queued before a Stop is shown after it
                (thinking if payload.kind == "reasoning" else deltas).append((payload.timestamp, payload.text))
                yield payload
            elif kind == "notice":
                if not run.cancelled.is_set():
                    yield payload
            elif kind == "chunk":
                chunks_seen = True
            elif kind == "usage":
                usage = payload
            elif kind == "finish":
                finish_reason = payload
            elif kind == "error":
                if run.cancelled.is_set():
                    break
                error: EngineError = payload
                if finish_reason is not None and error.kind in ("incomplete", "connection", "malformed", "timeout"):
                    # The answer was complete (finish_reason came); only the goodbye was lost.
                    yield Notice(f"{self.endpoint.host} closed the connection after the answer was complete; "
                                 "nothing was lost.", time.perf_counter())
                    break
                if error.kind == "context_length":
                    error = self._learn_context(error)
                yield EngineError(error.kind, error.message, partial_text="".join(t for _, t in deltas),
                                  details=error.details)
                return
            elif kind == "end":
                break
        cancelled = run.cancelled.is_set()
        run.cancel()  # closes the stream if it is still open
        if not cancelled and finish_reason is None:
            if not chunks_seen and not _looks_like_sse(counter.content_type, counter.head):
                yield _not_sse(self.endpoint, counter.content_type, counter.head)
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
        learned: _Stream,
    ) -> Finished:
        thinking_pieces = sum(1 for _, text in thinking if text)
        answer_pieces = sum(1 for _, text in deltas if text)
        reported_thinking = _reasoning_tokens(usage)
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
        self, request: GenerationRequest, events: queue.Queue[tuple[str, Any]], counter: _ByteCounter, run: _Run,
        learned: _Stream,
    ) -> None:
        client: openai.OpenAI | None = None
        started_stream = False
        try:
            client = self._client(counter)
            stream = self._open_with_retries(client, request, events, run, learned)
            if stream is None or not run.attach(stream):
                return
            started_stream = True
            for chunk in stream:
                now = time.perf_counter()
                events.put(("chunk", None))
                if chunk.usage is not None:
                    events.put(("usage", chunk.usage))
                for choice in chunk.choices or ():
                    delta = choice.delta
                    thought = _reasoning_text(delta)
                    if thought:
                        learned.reads_with_text.add(counter.reads)
                        events.put(("delta", TextDelta(thought, now, "reasoning")))
                    content = delta.content if delta is not None else None
                    if content:
                        learned.reads_with_text.add(counter.reads)
                        events.put(("delta", TextDelta(content, now)))
                    if choice.finish_reason:
                        events.put(("finish", choice.finish_reason))
        except Exception as error:
            if not run.cancelled.is_set():
                events.put(("error", explain(error, self.endpoint, self.options, streaming=started_stream,
                                             answer_started=bool(learned.reads_with_text))))
        finally:
            events.put(("end", None))
            if client is not None:
                client.close()

    def _open_with_retries(self, client: openai.OpenAI, request: GenerationRequest,
                           events: queue.Queue[tuple[str, Any]], run: _Run, learned: _Stream) -> Any:
        """The stream, after rate-limit waits and refused-parameter retries; None when given up (the error
        is queued) or cancelled."""
        host, model = self.endpoint.host, self.endpoint.model
        attempt = 0
        adapted: set[str] = set()
        while True:
            arguments, ignored = self._arguments(request)
            learned.ignored = ignored
            try:
                return client.chat.completions.create(**arguments)
            except openai.RateLimitError as error:
                if _error_code(error) == "insufficient_quota":
                    raise  # billing, not speed: waiting does not help
                wait = retry_after_seconds(error.response.headers)
                attempt += 1
                if attempt > self.options.max_rate_limit_retries or (wait or 0) > self.options.max_retry_wait:
                    hint = f" It asked to wait {wait:g} s." if wait is not None else ""
                    events.put(("error", EngineError(
                        "rate_limited",
                        f"{host} is rate-limiting requests (429); gave up after {attempt} "
                        f"attempt{'s' if attempt > 1 else ''}.{hint} Try again later.")))
                    return None
                wait = wait if wait is not None else min(2.0 ** attempt, self.options.max_retry_wait)
                events.put(("notice", Notice(
                    f"Rate limited by {host} (429): retry {attempt} of "
                    f"{self.options.max_rate_limit_retries} in {wait:g} s.", time.perf_counter())))
                if run.cancelled.wait(wait):
                    return None
            except openai.BadRequestError as error:
                refused = refused_parameter(error)
                if refused is None or refused[0] in adapted or refused[0] not in arguments:
                    raise
                parameter, replacement = refused
                if replacement is not None and parameter not in _TOKEN_LIMITS and replacement not in _TOKEN_LIMITS:
                    replacement = None  # only the token limit is renamed; anything else is left out
                adapted.add(parameter)
                self.memory.learn(host, model, parameter, replacement)
                what = f"it takes '{replacement}' instead" if replacement else "it ran without it"
                events.put(("notice", Notice(f"{model} at {host} does not take '{parameter}': {what}.",
                                             time.perf_counter())))
                if run.cancelled.is_set():
                    return None

    def _arguments(self, request: GenerationRequest) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The request body for this endpoint and model, and the parameters left out (refused before)."""
        refused = self.memory.refused(self.endpoint.host, self.endpoint.model)
        limit = "max_completion_tokens" if takes_max_completion_tokens(self.endpoint.host) else "max_tokens"
        arguments: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            limit: request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.seed is not None:
            arguments["seed"] = request.seed
        if request.stop:
            arguments["stop"] = list(request.stop)
        if request.reasoning_effort is not None:
            arguments["reasoning_effort"] = request.reasoning_effort
        ignored: list[str] = []
        for parameter, replacement in refused.items():
            if parameter in arguments and parameter not in ("model", "messages", "stream"):
                value = arguments.pop(parameter)
                if replacement is not None and replacement not in refused:
                    arguments[replacement] = value
                else:
                    ignored.append(parameter)
        return arguments, tuple(ignored)


def _reasoning_text(delta: Any) -> str:
    """Thinking in a chunk: `reasoning_content` (vLLM, DeepSeek, llama.cpp) or `reasoning` (OpenRouter)."""
    if delta is None:
        return ""
    for name in ("reasoning_content", "reasoning"):
        value = getattr(delta, name, None)
        if value is None and delta.model_extra:
            value = delta.model_extra.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def _reasoning_tokens(usage: Any) -> int | None:
    """`usage.completion_tokens_details.reasoning_tokens` where the server reports it."""
    details = getattr(usage, "completion_tokens_details", None) if usage is not None else None
    value = getattr(details, "reasoning_tokens", None) if details is not None else None
    return int(value) if isinstance(value, int) else None


class RemoteError(Exception):
    def __init__(self, error: EngineError) -> None:
        super().__init__(error.message)
        self.error = error


def estimate_prompt_tokens(messages: tuple[Message, ...]) -> int:
    """Without the server's tokenizer: about four characters a token, plus a few per message for the template."""
    return sum(estimate_tokens(m.content) + 4 for m in messages)


def _quietly_close(stream: Any) -> None:
    with contextlib.suppress(Exception):  # closing is best effort: the stream may already be broken
        stream.close()
