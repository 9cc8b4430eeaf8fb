"""The remote engine: a large model behind an OpenAI-compatible chat completions API, streamed.

It speaks the same `GenerationRequest` and events as the local engine and its timestamps feed the same
metric definitions. Three things servers differ in, handled here:
- `usage` in streams: asked for with `stream_options.include_usage`; where it is missing (llama.cpp's
  server sends none) token counts are estimated (one token per content chunk, prompt from its length)
  and marked so;
- rate limits: a 429 is retried a bounded number of times, honouring `Retry-After`;
- failures: each is mapped to a message a user can act on (see `explain`), and a stream that breaks
  keeps its partial text and is marked incomplete.

The HTTP exchange runs on a pump thread that hands chunks over a queue, so `cancel` ends `generate`
within one queue poll (50 ms) whatever the network is doing, and then closes the stream.
"""

from __future__ import annotations

import contextlib
import email.utils
import queue
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.base import EngineInfo, one_at_a_time
from lmscales.core.events import EngineError, Event, Finished, GenerationRequest, Message, Notice, TextDelta
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


class _ByteCounter:
    def __init__(self) -> None:
        self.total = 0


class _CountingStream(httpx2.SyncByteStream):
    def __init__(self, inner: Any, counter: _ByteCounter) -> None:
        self._inner = inner
        self._counter = counter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self._counter.total += len(chunk)
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
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
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


def explain(error: BaseException, endpoint: Endpoint, options: RemoteOptions, streaming: bool) -> EngineError:
    """Turn an exception from the SDK or the transport into a message a user can act on."""
    host = endpoint.host
    model = endpoint.model
    kept = " The partial answer is kept and marked incomplete." if streaming else ""
    if isinstance(error, openai.APIStatusError):
        code = error.status_code
        detail = redact(_server_message(error), [endpoint.api_key])[:300]
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
        return EngineError("timeout", f"Connecting to {host} timed out after {options.connect_timeout:g} s. "
                                      "Check the network connection and the base URL.")
    if any(isinstance(e, (httpx2.ReadTimeout, openai.APITimeoutError)) for e in chain):
        return EngineError("timeout", f"{host} sent nothing for {options.read_timeout:g} s (read timeout). The "
                                      f"server may be overloaded; try again.{kept}")
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


class RemoteEngine:
    """One endpoint, one generation at a time; `cancel` is safe from any thread."""

    def __init__(self, endpoint: Endpoint, options: RemoteOptions | None = None) -> None:
        self.endpoint = endpoint
        self.options = options or RemoteOptions()
        self._busy = threading.Lock()
        self._run = _Run()

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
        self._run.cancel()

    def close(self) -> None:
        self.cancel()

    def generate(self, request: GenerationRequest) -> Iterator[Event]:
        return one_at_a_time(self._busy, "remote", lambda: self._generate(request))

    def _generate(self, request: GenerationRequest) -> Iterator[Event]:
        run = self._run = _Run()
        submitted_at = time.perf_counter()
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        counter = _ByteCounter()
        pump = threading.Thread(target=self._pump, args=(request, events, counter, run), name="remote-pump",
                                daemon=True)
        pump.start()
        deltas: list[tuple[float, str]] = []
        usage: Any = None
        finish_reason: str | None = None
        while True:
            try:
                kind, payload = events.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if run.cancelled.is_set() or (not pump.is_alive() and events.empty()):
                    break
                continue
            if kind == "delta":
                deltas.append((payload.timestamp, payload.text))
                yield payload
            elif kind == "notice":
                yield payload
            elif kind == "usage":
                usage = payload
            elif kind == "finish":
                finish_reason = payload
            elif kind == "error":
                if run.cancelled.is_set():
                    break
                error: EngineError = payload
                yield EngineError(error.kind, error.message, partial_text="".join(t for _, t in deltas))
                return
            elif kind == "end":
                break
        cancelled = run.cancelled.is_set()
        run.cancel()  # closes the stream if it is still open
        if not cancelled and finish_reason is None:
            yield EngineError(
                "incomplete",
                f"The stream from {self.endpoint.host} ended before the answer was finished. The partial answer "
                "is kept and marked incomplete.",
                partial_text="".join(t for _, t in deltas),
            )
            return
        yield self._finished(request, submitted_at, deltas, usage, finish_reason, cancelled, counter.total)

    def _finished(
        self,
        request: GenerationRequest,
        submitted_at: float,
        deltas: list[tuple[float, str]],
        usage: Any,
        finish_reason: str | None,
        cancelled: bool,
        bytes_received: int,
    ) -> Finished:
        if usage is not None and getattr(usage, "completion_tokens", None) is not None:
            prompt_tokens, prompt_prov = int(usage.prompt_tokens), "measured"
            output_tokens, output_prov = int(usage.completion_tokens), "measured"
        else:
            prompt_tokens, prompt_prov = estimate_prompt_tokens(request.messages), "estimated"
            output_tokens, output_prov = sum(1 for _, text in deltas if text), "estimated"
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
        )

    def _pump(
        self, request: GenerationRequest, events: queue.Queue[tuple[str, Any]], counter: _ByteCounter, run: _Run
    ) -> None:
        client: openai.OpenAI | None = None
        started_stream = False
        try:
            client = self._client(counter)
            attempt = 0
            while True:
                try:
                    stream = self._open(client, request)
                    break
                except openai.RateLimitError as error:
                    wait = retry_after_seconds(error.response.headers)
                    attempt += 1
                    if attempt > self.options.max_rate_limit_retries or (wait or 0) > self.options.max_retry_wait:
                        hint = f" It asked to wait {wait:g} s." if wait is not None else ""
                        events.put(("error", EngineError(
                            "rate_limited",
                            f"{self.endpoint.host} is rate-limiting requests (429); gave up after {attempt} "
                            f"attempt{'s' if attempt > 1 else ''}.{hint} Try again later.")))
                        return
                    wait = wait if wait is not None else min(2.0 ** attempt, self.options.max_retry_wait)
                    events.put(("notice", Notice(
                        f"Rate limited by {self.endpoint.host} (429): retry {attempt} of "
                        f"{self.options.max_rate_limit_retries} in {wait:g} s.", time.perf_counter())))
                    if run.cancelled.wait(wait):
                        return
            if not run.attach(stream):
                return
            started_stream = True
            for chunk in stream:
                now = time.perf_counter()
                if chunk.usage is not None:
                    events.put(("usage", chunk.usage))
                for choice in chunk.choices or ():
                    content = choice.delta.content if choice.delta is not None else None
                    if content:
                        events.put(("delta", TextDelta(content, now)))
                    if choice.finish_reason:
                        events.put(("finish", choice.finish_reason))
        except Exception as error:
            if not run.cancelled.is_set():
                events.put(("error", explain(error, self.endpoint, self.options, streaming=started_stream)))
        finally:
            events.put(("end", None))
            if client is not None:
                client.close()

    def _open(self, client: openai.OpenAI, request: GenerationRequest) -> Any:
        arguments: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.seed is not None:
            arguments["seed"] = request.seed
        if request.stop:
            arguments["stop"] = list(request.stop)
        return client.chat.completions.create(**arguments)


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
