"""The presenter's scoreboard of one trial: a few figures a back row can read, and which side won each.

It is the result card's own rows (`lmscales.core.card`: the same figures, words and winners as the window's
card), cut to what a room can take in: time to first token, tokens per second, cost, energy, each model's size
and the quality lines. A side wins a figure only where the card says so (both sides have it and they differ by more than
timing noise); the card's verdict in words goes beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmscales.core.card import card_rows
from lmscales.core.trial import Trial

WINNER_MARK = "★"
# card key -> the presenter's key and a short title a back row reads at a glance
_SHOWN = {"ttft": ("ttft", "First token"), "rate": ("rate", "Speed"), "money": ("cost", "Cost"),
          "energy": ("energy", "Energy"), "size": ("size", "Size"), "checks": ("quality", "Quality")}


@dataclass(frozen=True)
class Cell:
    side: str
    text: str  # what is shown, "–" where the side has no figure
    value: float | None = None
    better: bool = False


@dataclass(frozen=True)
class Row:
    key: str  # "ttft", "rate", "cost", "energy", "quality", "score:<name>"
    title: str
    cells: tuple[Cell, ...]  # in the trial's side order
    note: str = ""  # the card's verdict, e.g. "small: 4.1× faster to first token"

    def cell(self, side: str) -> Cell | None:
        for cell in self.cells:
            if cell.side == side:
                return cell
        return None

    @property
    def winner(self) -> str | None:
        for cell in self.cells:
            if cell.better:
                return cell.side
        return None


def scoreboard(trial: Trial) -> list[Row]:
    """The rows of `trial`'s scoreboard, sides in the trial's order."""
    rows = []
    for row in card_rows(trial):
        if row.key in _SHOWN:
            key, title = _SHOWN[row.key]
        elif row.key.startswith("score:"):
            key, title = row.key, row.key.removeprefix("score:")
        else:
            continue
        cells = tuple(Cell(value.side, value.text, value.value, value.better) for value in row.values)
        rows.append(Row(key, title, cells, row.verdict))
    return rows
