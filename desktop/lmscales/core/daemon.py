"""Work on a daemon thread of its own, as a `Future`: for a task that may block for minutes (an evaluation, a
model listing waiting on a slow server). A daemon thread never holds up quitting, where a thread pool's
workers would be joined at exit. No Qt: the window hands results back to its GUI thread itself
(`lmscales.ui.background`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def run_daemon(task: Callable[[], T], name: str = "lmscales-daemon") -> Future[T]:
    """Start `task` now; its value or exception arrives in the returned future."""
    future: Future[T] = Future()
    if not future.set_running_or_notify_cancel():
        return future

    def work() -> None:
        try:
            result = task()
        except BaseException as error:  # for whoever reads the future
            future.set_exception(error)
        else:
            future.set_result(result)

    threading.Thread(target=work, name=name, daemon=True).start()
    return future
