"""The presenter's scoreboard of one trial: a few figures a back row can read, and which side won each.

Rows: time to first token, tokens per second, cost, energy and the quality line. A side wins a figure only
when both sides have it and they differ by more than timing noise (`SAME`); otherwise the row has no winner,
never a guessed one. A figure that was estimated carries "~", as everywhere in the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lmscales.core.trial import SideResult, Trial

SAME = 1.05  # within 5 %: about the same
WINNER_MARK = "★"


@dataclass(frozen=True)
class Cell:
    side: str
    text: str  # what is shown, "–" where the side has no figure
    value: float | None = None
    better: bool = False


@dataclass(frozen=True)
class Row:
    key: str  # "ttft", "rate", "cost", "energy", "quality"
    title: str
    cells: tuple[Cell, ...]  # in the trial's side order
    note: str = ""  # e.g. "≈ same", "small 3.2× faster"

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


def _ttft(result: SideResult) -> tuple[float | None, str]:
    computed = result.metrics
    if computed is None or computed.time_to_first_token.value is None:
        return None, "–"
    value = computed.time_to_first_token.value
    return value, f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _rate(result: SideResult) -> tuple[float | None, str]:
    computed = result.metrics
    if computed is None or computed.decode_rate.value is None:
        return None, "–"
    figure = computed.decode_rate
    assert figure.value is not None
    return figure.value, f"{'~' if figure.provenance == 'estimated' else ''}{figure.value:.0f} tok/s"


def _cost(result: SideResult) -> tuple[float | None, str]:
    if result.cost is not None:
        if result.cost.usd is None:
            return None, "price unknown"
        mark = "~" if result.cost.provenance == "estimated" else ""
        usd = result.cost.usd
        if usd == 0:
            return 0.0, "$0"  # a server on this computer: no fee
        return usd, f"{mark}${usd:.5f}" if usd < 0.01 else f"{mark}${usd:.3f}"
    if result.engine is not None and result.engine.kind == "local" and result.ok:
        return 0.0, "$0 · on this CPU"
    return None, "–"


def _energy(result: SideResult) -> tuple[float | None, str]:
    if result.resources is None or result.resources.energy.value is None:
        return None, "–" if result.engine is None or result.engine.kind == "local" else "not measured (server)"
    joules = result.resources.energy.value
    mark = "~" if result.resources.energy.provenance == "estimated" else ""
    return joules, f"{mark}{joules:.1f} J" if joules < 360 else f"{mark}{joules / 3600:.2f} Wh"


def _quality(result: SideResult) -> tuple[float | None, str]:
    if result.scores:
        score = result.scores[0]
        return score.value, f"{score.name} {score.value:.0f}"
    judged = [check for check in result.checks if check.passed is not None]
    if not judged:
        return None, "–"
    passed = sum(1 for check in judged if check.passed)
    return passed / len(judged), f"{passed}/{len(judged)} checks ✓"


_ROWS: tuple[tuple[str, str, Callable[[SideResult], tuple[float | None, str]], bool], ...] = (
    ("ttft", "First token", _ttft, True),
    ("rate", "Speed", _rate, False),
    ("cost", "Cost", _cost, True),
    ("energy", "Energy", _energy, True),
    ("quality", "Quality", _quality, False),
)
_WORDS = {"ttft": "faster to first token", "rate": "faster", "cost": "cheaper", "energy": "less energy",
          "quality": "better"}


def scoreboard(trial: Trial) -> list[Row]:
    """The rows of `trial`'s scoreboard, sides in the trial's order."""
    rows = []
    for key, title, read, lower_is_better in _ROWS:
        figures = [(result, *read(result)) for result in trial.sides]
        present = [(r, v) for r, v, _ in figures if v is not None]
        winner: str | None = None
        note = ""
        if len(present) == 2 and len(figures) == 2:
            (a, va), (b, vb) = present
            best = a if (va < vb) == lower_is_better else b
            low, high = min(va, vb), max(va, vb)
            if key == "quality" and low > 0 and high / low > SAME:
                # A score's ratio is no "×" a room should hear: the better side, in words.
                winner, note = best.side, f"{best.label}: {_WORDS[key]}"
            elif key == "quality" and low > 0:
                note = "≈ same"
            elif low <= 0 < high:
                winner, note = best.side, f"{best.label}: {_WORDS[key]}"
            elif low > 0 and high / low > SAME:
                winner, note = best.side, f"{best.label}: {high / low:.1f}× {_WORDS[key]}"
            elif low > 0:
                note = "≈ same"
        cells = tuple(Cell(result.side, text, value, result.side == winner) for result, value, text in figures)
        rows.append(Row(key, title, cells, note))
    return rows
