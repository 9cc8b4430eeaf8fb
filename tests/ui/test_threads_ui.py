"""Threads in the window: the measured choice on the model card, the table and "Measure again" in the settings,
a number set by hand, the preference, a failed measurement, and the prompt cache in the TTFT tooltip. The
real window on the real engine (offscreen)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton

from lmscales.core.engines.local import LoadError, LocalEngine
from lmscales.ui.main_window import MainWindow
from lmscales.ui.settings_dialog import SettingsDialog
from tests.conftest import wait_idle

pytestmark = pytest.mark.slow


def card(window: MainWindow) -> str:
    return window.panes["small"].model_card.text()


def test_the_model_card_says_how_the_threads_were_chosen(window: MainWindow) -> None:
    engine = window.workspace.local_engine("small")
    assert engine.thread_table is not None  # measured when the model loaded (or read back from the store)
    assert "(measured fastest)" in card(window)
    assert engine.threads_reason.startswith(f"{engine.n_threads} thread")


def test_the_settings_show_the_measured_table(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    table = window.workspace.local_engine("small").thread_table
    assert table is not None
    dialog = SettingsDialog(window.settings.settings, "", window, table)
    qtbot.addWidget(dialog)
    shown = dialog.threads_table
    assert shown.rowCount() == len(table.rows)
    assert [shown.item(r, 0).text() for r in range(shown.rowCount())] == [str(r.threads) for r in table.rows]
    assert float(shown.item(0, 1).text()) == pytest.approx(table.rows[0].decode_rate, abs=0.06)
    assert shown.item(0, 5).text() in ("n/a",) or float(shown.item(0, 5).text()) > 0
    empty = SettingsDialog(window.settings.settings, "", window, None)
    qtbot.addWidget(empty)
    assert empty.threads_table.rowCount() == 0
    button = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Measure again")
    button.click()
    assert dialog.measure_requested and dialog.result_settings is not None


def test_measure_again_shows_progress_and_the_new_choice(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    loader = window.loaders["small"]
    said: list[str] = []
    loader.progress.connect(said.append)
    with qtbot.waitSignal(loader.threadsChosen, timeout=120_000):
        window.settings.measureRequested.emit()  # what "Measure again" in the settings does
    qtbot.waitUntil(lambda: not loader.busy)
    assert said[0].startswith("Measuring the best thread count")
    assert any(" of " in line for line in said)
    assert "(measured fastest)" in card(window)
    assert window.panes["small"].status.text().startswith("Threads: ")


def test_a_number_set_by_hand_wins_and_clearing_it_goes_back(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    settings = window.settings.settings
    window.settings.apply(settings.with_value("local_engine.threads", 1))
    assert "1 thread (set in the settings)" in card(window)
    engine = window.workspace.local_engine("small")
    assert (engine.n_threads, engine.n_threads_batch) == (1, 1)
    window.threads.measure_again()
    assert "set by hand" in window.hint.text()
    loader = window.loaders["small"]
    with qtbot.waitSignal(loader.threadsChosen, timeout=30_000):
        window.settings.apply(settings.with_value("local_engine.threads", None))
    assert "(measured fastest)" in card(window)
    with qtbot.waitSignal(loader.threadsChosen, timeout=30_000):
        window.settings.apply(settings.with_value("local_engine.threads_preference", "efficient"))
    assert "(measured most efficient)" in card(window)


def test_a_failed_measurement_is_said_and_the_threads_stay(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    engine = window.workspace.local_engine("small")
    before = engine.n_threads

    def broken(self: LocalEngine, **_kw: object) -> None:
        raise LoadError("Measuring the threads failed: local engine crashed (signal 9, SIGKILL).")

    monkeypatch.setattr(LocalEngine, "measure_threads", broken)
    loader = window.loaders["small"]
    assert loader.measure_again()
    qtbot.waitUntil(lambda: not loader.busy, timeout=30_000)
    status = window.panes["small"].status.text()
    assert status.startswith("⚠ Measuring the threads failed") and f"stay at {before}" in status
    assert engine.n_threads == before


def test_the_ttft_tooltip_says_what_came_from_the_cache(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    for text in ("Name a fruit.", "What colour is it?"):
        qtbot.keyClicks(window.tasks.chat_input, text)
        window.send(("small",))
        wait_idle(qtbot, window)
    tip = window.panes["small"].metrics.labels["ttft"].toolTip()
    assert "prompt tokens came from the cache" in tip and "were evaluated" in tip
    trial = window.history_store.list()[-1]
    small = next(r for r in trial.sides if r.side == "small")
    assert small.finished is not None and small.finished.cached_prompt_tokens > 0


def test_clearing_a_hand_set_count_with_nothing_measured_goes_back_to_the_default(  # type: ignore[no-untyped-def]
        qtbot, window: MainWindow, tmp_path) -> None:
    from lmscales.core.engines.local import default_threads
    from lmscales.core.thread_counts import ThreadStore

    window.workspace.threads.store = ThreadStore(tmp_path / "threads.json")  # nothing measured for this model there
    settings = window.settings.settings.with_value("local_engine.measure_threads", False)
    window.settings.apply(settings.with_value("local_engine.threads", 1))
    assert "1 thread (set in the settings)" in card(window)
    window.workspace.local_engine("small").thread_table = None  # as if loaded with a hand-set count: never measured
    loader = window.loaders["small"]
    with qtbot.waitSignal(loader.threadsChosen, timeout=30_000):
        window.settings.apply(settings.with_value("local_engine.threads", None))
    assert window.workspace.local_engine("small").n_threads == default_threads()
    assert "set in the settings" not in card(window)


def test_settings_changes_and_measure_again_wait_for_each_other(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """A new preference and "Measure again" from the same dialog: both happen, one after the other; a count set
    by hand during a measurement is what stays."""
    loader = window.loaders["small"]
    chosen: list[object] = []
    loader.threadsChosen.connect(chosen.append)
    settings = window.settings.settings
    window.settings.apply(settings.with_value("local_engine.threads_preference", "efficient"))
    window.settings.measureRequested.emit()
    assert "busy" not in window.hint.text()
    qtbot.waitUntil(lambda: len(chosen) == 2 and not loader.busy, timeout=120_000)
    assert "(measured most efficient)" in card(window)
    assert loader.measure_again()
    window.settings.apply(settings.with_value("local_engine.threads", 1))  # while it measures
    qtbot.waitUntil(lambda: not loader.busy, timeout=120_000)
    assert window.workspace.local_engine("small").n_threads == 1 and "1 thread (set in the settings)" in card(window)
