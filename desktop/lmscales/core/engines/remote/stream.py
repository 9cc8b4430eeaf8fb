"""The stream protocol inside the remote engine: what the pump thread (which talks HTTP) hands the reading
generator over a queue, one typed message at a time, and the pieces both sides share (a run's cancel flag
and stream, what the pump learned, the thinking and its count in a chunk).

The pump passes the engine's own events (`TextDelta`, `Notice`, `EngineError`) through as they are; the
messages below say what only the reader needs to know about the stream itself.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

from lmscales.core.events import EngineError, Notice, TextDelta


@dataclass(frozen=True)
class ChunkArrived:
    """A chunk of the stream came (with or without text): the body is a stream of events."""


@dataclass(frozen=True)
class UsageReported:
    """The server's `usage` for the whole answer (the SDK's object; read by name, as servers differ)."""

    usage: Any


@dataclass(frozen=True)
class AnswerFinished:
    """A choice's `finish_reason` came: the answer is whole, whatever happens to the connection after it."""

    reason: str


@dataclass(frozen=True)
class StreamEnded:
    """The pump is done (answered, failed or cancelled): nothing follows on the queue."""


PumpMessage = TextDelta | Notice | EngineError | ChunkArrived | UsageReported | AnswerFinished | StreamEnded


def quietly_close(stream: Any) -> None:
    with contextlib.suppress(Exception):  # closing is best effort: the stream may already be broken
        stream.close()


class Run:
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
        quietly_close(stream)
        return False

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            threading.Thread(target=quietly_close, args=(stream,), daemon=True).start()


@dataclass
class PumpNotes:
    """What the pump learned while it ran, read by the reader when the stream has ended."""

    ignored: tuple[str, ...] = ()
    reads_with_text: set[int] = field(default_factory=set)


def reasoning_text(delta: Any) -> str:
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


def reported_reasoning_tokens(usage: Any) -> int | None:
    """`usage.completion_tokens_details.reasoning_tokens` where the server reports it."""
    details = getattr(usage, "completion_tokens_details", None) if usage is not None else None
    value = getattr(details, "reasoning_tokens", None) if details is not None else None
    return int(value) if isinstance(value, int) else None
