"""SIGTERM handled like Ctrl+C for the headless commands.

`timeout`, CI runners and `docker stop` send SIGTERM; by default it ends Python at once, so an evaluation lost
its partial results and its report. Raised as a `KeyboardInterrupt` instead, it stops a run exactly where and
how Ctrl+C does, and the exit status still tells the two apart (130, 143).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl+C's `KeyboardInterrupt` would be."""

    exit_code = 128 + int(getattr(signal, "SIGTERM", 15))


def interrupted_exit_code(error: KeyboardInterrupt) -> int:
    """130 for Ctrl+C, 143 for SIGTERM: the statuses a shell reports for a program these signals ended."""
    return int(getattr(error, "exit_code", 130))


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises `Terminated` in the main thread while the block runs. Where there is no SIGTERM or this
    is not the main thread (signal handlers can only be set there), nothing changes. On Windows the handler is
    harmless but rarely runs: TerminateProcess gives a program no chance to react."""
    if not hasattr(signal, "SIGTERM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
