"""The interface both sides share: a frozen request in, a stream of plain events out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from lmscales.core.events import Event, GenerationRequest


class Engine(Protocol):
    """What the window, the CLI and the benchmarks drive.

    `generate` blocks while it yields and is consumed on one thread; `cancel` may be called from any
    other thread and ends the running generation promptly with `Finished(stop_reason="cancelled")`.
    """

    def generate(self, request: GenerationRequest) -> Iterator[Event]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...
