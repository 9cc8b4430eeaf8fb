"""The one way from a worker to the GUI thread: results, errors and progress arrive on the GUI thread."""

from __future__ import annotations

import threading
from concurrent.futures import Future

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

from lmscales.ui.background import outcome, run_in_background, run_on_main, runner


def test_a_task_runs_off_the_gui_thread_and_its_result_comes_back_on_it(qtbot) -> None:  # type: ignore[no-untyped-def]
    gui = threading.current_thread()
    seen: dict[str, object] = {}

    def task() -> int:
        seen["task_thread"] = threading.current_thread()
        return 42

    def done(future: Future[int]) -> None:
        seen["done_thread"] = threading.current_thread()
        seen["value"] = future.result()

    run_in_background(task, done)
    qtbot.waitUntil(lambda: "value" in seen)
    assert seen["task_thread"] is not gui
    assert seen["done_thread"] is gui
    assert seen["value"] == 42


def test_an_exception_in_the_task_reaches_on_done(qtbot) -> None:  # type: ignore[no-untyped-def]
    results: list[object] = []

    def task() -> None:
        raise OSError("no space left on device")

    run_in_background(task, lambda future: results.append(outcome(future)))
    qtbot.waitUntil(lambda: bool(results))
    assert isinstance(results[0], OSError) and "no space" in str(results[0])


def test_progress_from_a_worker_is_called_on_the_gui_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    gui = threading.current_thread()
    threads: list[threading.Thread] = []
    runner()  # made on the GUI thread, as the window does at start

    def task() -> None:
        for _ in range(3):
            run_on_main(lambda: threads.append(threading.current_thread()))

    run_in_background(task)
    qtbot.waitUntil(lambda: len(threads) == 3)
    assert all(thread is gui for thread in threads)


def test_a_result_for_a_widget_already_deleted_is_dropped_quietly(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = QLabel()
    release = threading.Event()
    delivered: list[bool] = []

    def task() -> str:
        release.wait(5)
        return "late"

    def done(future: Future[str]) -> None:
        delivered.append(True)
        label.setText(future.result())  # "Internal C++ object already deleted"

    run_in_background(task, done)
    label.deleteLater()
    qtbot.waitUntil(lambda: not _alive(label))
    release.set()
    qtbot.waitUntil(lambda: bool(delivered))


def _alive(widget: QObject) -> bool:
    try:
        widget.objectName()
    except RuntimeError:
        return False
    return True


def test_a_running_task_does_not_hold_up_quitting() -> None:
    """Python joins a thread pool's workers at exit; a task blocked on a slow server must not keep the app."""
    import subprocess
    import sys

    code = ("import os, time; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "from PySide6.QtWidgets import QApplication\n"
            "from lmscales.ui.background import run_in_background\n"
            "app = QApplication([])\n"
            "run_in_background(lambda: time.sleep(60))\n"
            "print('quitting', flush=True)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "quitting" in done.stdout


def test_the_runner_belongs_to_the_application(qtbot) -> None:  # type: ignore[no-untyped-def]
    assert runner() is runner()
    assert runner().parent() is not None


def test_no_module_in_the_ui_starts_a_thread_of_its_own() -> None:
    from pathlib import Path

    ui = Path(__file__).resolve().parents[2] / "desktop" / "lmscales" / "ui"
    offenders = [path.name for path in ui.rglob("*.py") if "threading.Thread(" in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_a_task_cancelled_as_the_application_quits_reads_as_cancelled_not_an_exception(qtbot) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import CancelledError

    closing = runner()
    closing.shutdown()
    try:
        results: list[object] = []
        future = run_in_background(lambda: 1, lambda done: results.append(outcome(done)))
        qtbot.waitUntil(lambda: bool(results))
        assert future.cancelled() and isinstance(results[0], CancelledError)
    finally:
        closing._closed = False  # the test application goes on


def test_what_a_worker_sent_ahead_arrives_before_its_end_even_when_the_task_ends_at_once(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A task that fails at once (a broken measurement) may end before `run_in_background` returns; its
    progress message, sent from the worker first, must still be handled first."""
    order: list[str] = []
    runner()

    def task() -> None:
        run_on_main(lambda: order.append("progress"))
        raise RuntimeError("at once")

    for _ in range(20):
        run_in_background(task, lambda _future: order.append("done"))
    qtbot.waitUntil(lambda: order.count("done") == 20)
    qtbot.waitUntil(lambda: order.count("progress") == 20)
    seen_progress = 0  # every "done" follows its task's "progress"
    for item in order:
        if item == "progress":
            seen_progress += 1
        else:
            assert seen_progress > 0
            seen_progress -= 1
