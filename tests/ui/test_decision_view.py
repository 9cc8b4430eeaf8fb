"""Which model? in the window: the advice and break-even of the current task from the history's trials, a volume
that recomputes at once and is kept in the settings, "not enough evidence" said plainly, and the evaluation
dialog's results with each task's advice."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt

from lmscales.ui.eval_dialog import EvalDialog
from lmscales.ui.main_window import MainWindow
from tests.support.history_trials import translation_items, translation_trial


def seed(window: MainWindow, count: int) -> None:
    for number, item in enumerate(translation_items(count)):
        assert window.workspace.history.append(translation_trial(item, number)) is None


def open_view(window: MainWindow) -> None:
    window.menus.menus["&View"].actions()[-1].trigger()  # View › Which model? (Ctrl+D)
    assert window.bottom.currentWidget() is window.decision


def test_the_view_shows_the_advice_and_break_even_from_the_history(unloaded_window: MainWindow) -> None:
    window = unloaded_window
    view = window.decision
    window.tasks.set_task("chat")
    open_view(window)
    assert view.headline.text() == "No evidence yet"
    window.bottom.setCurrentWidget(window.resources)  # behind another tab, it does not decide on every change
    seed(window, 12)
    window.tasks.set_task("translate")
    assert view.stale and view.headline.text() == "No evidence yet"
    open_view(window)  # ... but as it comes into sight
    assert window.bottom.tabText(window.bottom.indexOf(view)) == "Which model?"
    assert view.headline.text() == "Use large"
    assert view.evidence.text().startswith("On 12 items decided on both sides the small model passes 0 %")
    assert view.rates.text().startswith("Small: 0 of 12 acceptable (0 %, 95 % CI 0–24 %). Large: 12 of 12")
    assert view.sentence.text().startswith("At 10,000 translations a month, the small model")
    assert view.source.text().startswith("From the history: 12 translation comparisons")
    assert view.lines["large"].getData()[1] is not None  # both money lines drawn


def test_changing_the_volume_changes_the_sentence_and_is_saved(unloaded_window: MainWindow) -> None:
    window = unloaded_window
    view = window.decision
    seed(window, 12)
    window.tasks.set_task("translate")
    open_view(window)
    view.volume.setValue(2_500)
    assert view.sentence.text().startswith("At 2,500 translations a month, the small model")
    assert window.settings.store.current.decision.volume_per_month == 2_500
    assert view.slider.value() == 34  # log10(2,500) ≈ 3.4
    view.slider.setValue(50)
    assert window.settings.store.current.decision.volume_per_month == 100_000
    assert view.sentence.text().startswith("At 100,000 translations a month")
    assert view.volume.value() == 100_000


def test_too_few_items_say_not_enough_evidence_and_no_verdict(unloaded_window: MainWindow) -> None:
    window = unloaded_window
    seed(window, 3)
    window.tasks.set_task("translate")
    open_view(window)
    view = window.decision
    assert view.headline.text().startswith("Not enough evidence yet")
    assert "Advice needs at least 10 items; there are 3." in view.evidence.text()
    assert "use large" not in view.headline.text().lower() and "small is enough" not in view.headline.text()


@pytest.mark.slow
def test_the_evaluation_dialog_shows_each_tasks_advice_and_the_view_follows(  # type: ignore[no-untyped-def]
        qtbot, window: MainWindow, tmp_path) -> None:
    dialog = EvalDialog(window.session, window.generation_params(), window, workspace=window.workspace)
    qtbot.addWidget(dialog)
    dialog.set_choice.setCurrentIndex(dialog.set_choice.findData("translate-smoke"))
    dialog.repeats.setValue(1)
    shown: list[str] = []  # what the dialog says while the evaluation runs
    dialog.verdict.setText = lambda text, real=dialog.verdict.setText: (shown.append(text), real(text))[1]
    dialog.start()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=240_000)
    so_far = [text for text in shown if text.startswith("So far (it firms up as items come in):\ntranslate, after ")]
    assert so_far  # the verdict so far, while it ran (the first kept trial shows it at once)
    text = dialog.verdict.text()
    assert "translate: Advice: not enough evidence yet." in text
    assert "At 10,000 translations a month, the small model" in text
    saved = dialog.save(tmp_path / "report.html").read_text("utf-8")  # the saved report has the decision too
    assert "Which model for this task" in saved and "At 10,000 translations a month, the small model" in saved
    window.tasks.set_task("translate")
    open_view(window)
    qtbot.waitUntil(lambda: window.decision.source.text().startswith("From the last evaluation (set translate-smoke"),
                    timeout=10_000)
    assert window.decision.headline.text().startswith("Not enough evidence yet")


def test_the_items_only_one_model_got_right_are_listed_with_both_answers_as_plain_text(
        unloaded_window: MainWindow) -> None:
    window = unloaded_window
    items = translation_items(12)
    hostile = f"{items[0].reference} <b>bold</b> <img src=x onerror=alert(1)>"
    for number, item in enumerate(items):
        kept = translation_trial(item, number, large=hostile if number == 0 else None)
        assert window.workspace.history.append(kept) is None
    window.tasks.set_task("translate")
    open_view(window)
    listed = window.decision.disagreements
    assert listed.items.topLevelItemCount() == 12  # the small side copied each source: only large acceptable
    assert listed.title.text() == "Where only one model was acceptable: 12 items"
    rows = [listed.items.topLevelItem(i) for i in range(12)]
    row = next(r for r in rows if r is not None and r.data(0, Qt.ItemDataRole.UserRole).input == items[0].input)
    listed.items.setCurrentItem(row)
    assert row.text(2) == "only the large model" and row.text(3)
    assert listed.answers["large"].toPlainText() == hostile  # shown as written, never rendered
    assert listed.answers["small"].toPlainText() == items[0].input
    assert listed.captions["small"].text() == "Small model (not acceptable)"
    assert listed.tag.isHidden()  # comparisons typed in the window carry no tags: no filter to offer
    # An evaluation's items carry tags: the filter offers them and keeps the items with the chosen one.
    tagged = [dataclasses.replace(d, tags=("everyday",) if n % 3 else ("technical",))
              for n, d in enumerate(listed.found)]
    listed.show_disagreements(tagged)
    assert not listed.tag.isHidden()
    assert [listed.tag.itemText(i) for i in range(listed.tag.count())] == ["All tags", "everyday", "technical"]
    listed.tag.setCurrentText("technical")
    assert listed.items.topLevelItemCount() == 4
    assert listed.title.text() == "Where only one model was acceptable: 4 items"
