"""Stop strings in a stream: emit text as early as possible, but never a stop string or its start."""

from __future__ import annotations

from collections.abc import Sequence


class StopFilter:
    """Feed pieces of text; get back what may be shown now and whether a stop string was hit.

    Text that could be the beginning of a stop string is held back until it is decided.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        if not self._stops:
            return piece
        self._pending += piece
        hits = [i for i in (self._pending.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self._pending = self._pending[: min(hits)], ""
            return out
        keep = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(self._pending)), keep, -1):
                if self._pending.endswith(stop[:size]):
                    keep = size
                    break
        out = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(self._pending) - keep:]
        return out

    def flush(self) -> str:
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out
