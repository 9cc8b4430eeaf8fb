"""What went wrong with a remote server, said so a user can act on it.

`explain` turns an exception from the SDK or the transport into an `EngineError` with a kind (for code and
tests) and a sentence (for the user); the helpers read what an OpenAI-style error body says: the wait a 429
asks for, the parameter a 400 refuses, the context a 400 names. A 200 that is not a stream of events (a
captive portal's HTML page) is named for what it is.
"""

from __future__ import annotations

import email.utils
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.remote.options import RemoteOptions
from lmscales.core.events import EngineError
from lmscales.core.secrets import redact


class RemoteError(Exception):
    """An `EngineError` raised where a call returns a value instead of streaming events (`list_models`)."""

    def __init__(self, error: EngineError) -> None:
        super().__init__(error.message)
        self.error = error


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


def error_code(error: openai.APIStatusError) -> str:
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
    if error.status_code != 400 or error_code(error) not in ("unsupported_parameter", "unsupported_value"):
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


def not_sse(endpoint: Endpoint, content_type: str, head: bytes) -> EngineError:
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


def looks_like_sse(content_type: str, head: bytes) -> bool:
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
        body_code = error_code(error)
        if code == 429 and body_code == "insufficient_quota":
            return EngineError("quota", f"{host} says this account has run out of quota (429 insufficient_quota). "
                                        "This is about billing, not about sending too fast: check your plan and "
                                        "billing details with the provider. LM Scales does not retry it.")
        if code == 400 and body_code == "context_length_exceeded":
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
