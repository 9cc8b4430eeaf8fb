"""The history's task filter shows only that task's comparisons and the blind votes on them, per pair of models,
with the Wilson interval; a vote cast later updates the line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lmscales.core.history import TrialHistory
from lmscales.core.quality.stats import wilson_interval
from lmscales.core.votes import BlindOrder, Vote, VoteChoice
from tests.support.trials import large_side, small_side, trial


def voted(number: int, task: str, choice: VoteChoice | None, small_first: bool = True) -> object:
    order = BlindOrder(number, "small", "large") if small_first else BlindOrder(number, "large", "small")
    base = dataclasses.replace(trial(small_side(), large_side(), task=task), id=f"trial{number}", blind=order)
    return dataclasses.replace(base, vote=Vote(choice, order)) if choice else base


def in_words(wins: int, n: int) -> str:
    low, high = wilson_interval(wins, n)
    return f"{wins} of {n} times ({wins / n * 100:.0f} %, 95 % CI {low * 100:.0f} %–{high * 100:.0f} %)"


def test_the_filter_shows_one_tasks_rows_and_the_votes_on_them(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lmscales.ui.history_view import HistoryView

    history = TrialHistory.open(tmp_path / "history.jsonl")
    for kept in (voted(1, "translate", "A"), voted(2, "translate", "A", small_first=False),
                 voted(3, "translate", "tie"), voted(4, "chat", "B", small_first=False), voted(5, "translate", None)):
        history.append(kept)  # type: ignore[arg-type]
    view = HistoryView(history)
    qtbot.addWidget(view)
    view.show()
    assert view.filter.votes.text() == f"You preferred the small model {in_words(2, 4)}; 1 tie."  # every task

    view.filter.choose("translate")
    shown = [view.model.trial_at(row).id for row in range(view.row_count())  # type: ignore[union-attr]
             if not view.table.isRowHidden(row)]
    assert sorted(set(shown)) == ["trial1", "trial2", "trial3", "trial5"]
    assert view.filter.votes.text() == f"You preferred the small model {in_words(1, 3)}; 1 tie."

    view.filter.choose("summarize")
    assert all(view.table.isRowHidden(row) for row in range(view.row_count()))
    assert not view.filter.votes.isVisible()

    view.filter.choose("translate")  # a vote cast after the trial (blind mode) updates the line
    order = BlindOrder(5, "small", "large")
    history.replace(dataclasses.replace(voted(5, "translate", None), vote=Vote("A", order)))  # type: ignore[type-var]
    qtbot.waitUntil(lambda: view.filter.votes.text().startswith(f"You preferred the small model {in_words(2, 4)}"))
