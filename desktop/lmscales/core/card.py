"""The result card of one comparison, as data: one row per figure, each side's value and the ratio in words.

A card answers "which way did the scales tip, and by how much?" for one `Trial`, from the figures the app
already measures: time to first token, end-to-end time, tokens/s, CPU-seconds and energy on this computer,
bytes received over the network, and money. The window draws it as paired bars (`ui/result_card.py`);
anything else that shows a trial (an export, a presenter's scoreboard) can use the same rows.

Rules the words follow: an estimated value carries "~" (as in the panes), and so does a ratio built on one;
a side with no figure is "–" and no ratio is claimed; the better side is named in words ("small: 4.1×
faster to first token"), never shown by colour alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from lmscales.core.model_size import side_size
from lmscales.core.trial import SideResult, Trial

SAME = 1.05  # ratios below this read "about the same": timing noise is larger than 5 %


@dataclass(frozen=True)
class CardValue:
    """One side's figure in a row. `value` is None where the side has none (an error, not measured)."""

    side: str  # the slot: "small" or "large"
    label: str  # what the user calls it
    value: float | None
    text: str  # formatted, with "~" when estimated, "–" when missing
    estimated: bool = False
    better: bool = False  # this side did better on this figure (shown with a mark and in words)
    note: str = ""  # where the figure comes from, or why there is none (a tooltip; in `card_text`)


@dataclass(frozen=True)
class CardRow:
    key: str  # "ttft", "e2e", "rate", "cpu", "energy", "network", "money", "size"
    title: str
    values: tuple[CardValue, ...]  # in the trial's side order
    verdict: str  # the comparison in words, e.g. "small: 4.1× faster to first token"
    ratio: float | None = None  # worse / better (≥ 1) where both sides have a non-zero figure
    lower_is_better: bool = True

    @property
    def better(self) -> str | None:
        """The slot that did better on this figure, or None (a tie, or a figure missing)."""
        for value in self.values:
            if value.better:
                return value.side
        return None


# -- formatting -------------------------------------------------------------------------------------------
def _mark(estimated: bool) -> str:
    return "~" if estimated else ""


def format_seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def format_rate(value: float) -> str:
    return f"{value:.1f} tok/s"


def format_cpu(value: float) -> str:
    return f"{value:.2f} CPU-s"


def format_energy(joules: float) -> str:
    """Joules for short runs, watt-hours once there are enough of them to read well (1 Wh = 3600 J)."""
    if joules >= 360:
        return f"{joules / 3600:.2f} Wh"
    return f"{joules:.1f} J" if joules >= 1 else f"{joules:.2f} J"


def format_bytes(count: float) -> str:
    if count < 1000:
        return f"{count:.0f} B"
    if count < 1_000_000:
        return f"{count / 1000:.1f} KB"
    return f"{count / 1e6:.1f} MB"


def format_usd(usd: float) -> str:
    if usd == 0:
        return "$0"
    if usd < 0.000001:
        return "<$0.000001"
    return f"${usd:.6f}".rstrip("0") if usd < 0.01 else f"${usd:.4f}"


def format_ratio(ratio: float) -> str:
    return f"{ratio:.1f}×" if ratio < 10 else f"{ratio:.0f}×"


# -- one figure per side -----------------------------------------------------------------------------------
Reading = tuple[float | None, bool]  # value, estimated


def _timed(name: str) -> Callable[[SideResult], Reading]:
    """A reader of one of the run's timing figures (`RunMetrics` attribute `name`), for a side that finished."""

    def read(result: SideResult) -> Reading:
        computed = result.metrics
        if computed is None or not result.ok:
            return None, False
        figure = getattr(computed, name)
        return figure.value, figure.provenance == "estimated"

    return read


def _is_local(result: SideResult) -> bool:
    return result.engine is not None and result.engine.model_runs == "this_cpu"


def _is_elsewhere(result: SideResult) -> bool:
    """An API beyond this computer: its work (CPU, energy) is spent on someone else's machines."""
    return result.engine is not None and result.engine.model_runs == "remote"


def _on_this_computer(result: SideResult) -> bool:
    """A GGUF run here, or a server on this computer: no money per token, only electricity."""
    return result.engine is not None and result.engine.model_runs != "remote"


def _cpu(result: SideResult) -> Reading:
    if result.status == "skipped":
        return None, False
    if result.cpu_seconds is not None:
        return result.cpu_seconds, False
    # An API's work happens on someone else's computer: none of this one's engine CPU is spent on it. A server
    # on this computer does spend it, but in a process the app does not follow (its resource summary is the
    # small engine's process and the machine's energy): no figure rather than a wrong one.
    return (0.0, False) if _is_elsewhere(result) else (None, False)


def _energy_here(result: SideResult) -> Reading:
    """Energy spent on this computer: a GGUF's, or a server's here (the machine's)."""
    if result.status == "skipped":
        return None, False
    resources = result.resources
    if resources is not None and resources.energy.value is not None:
        return resources.energy.value, resources.energy.provenance == "estimated"
    return None, False


def _energy(result: SideResult) -> Reading:
    """The answer's energy wherever it was spent: on this computer, or EcoLogits' estimate for an endpoint's
    model whose energy was not measured here (an API's is spent on its provider's machines, not none)."""
    value, estimated = _energy_here(result)
    if value is not None or result.status == "skipped":
        return value, estimated
    api = result.api_energy
    return (api.energy_j, True) if api is not None and api.energy_j is not None else (None, False)


def _network(result: SideResult) -> Reading:
    if result.status == "skipped":
        return None, False
    if result.finished is not None and result.finished.bytes_received is not None:
        return float(result.finished.bytes_received), False
    # A model on this CPU answers through a pipe: no byte crosses the network.
    return (0.0, False) if _is_local(result) and result.finished is not None else (None, False)


def _money(result: SideResult) -> Reading:
    if result.status == "skipped":
        return None, False
    if result.cost is not None and result.cost.usd is not None:
        return result.cost.usd, result.cost.provenance == "estimated"
    # A model on this computer (a GGUF, or a server here with no price of its own) is paid in electricity.
    return (0.0, False) if _on_this_computer(result) and result.finished is not None else (None, False)


@dataclass(frozen=True)
class _Figure:
    key: str
    title: str
    read: Callable[[SideResult], Reading]
    fmt: Callable[[float], str]
    lower_is_better: bool
    better_words: str  # "faster to first token": what the better side is, after "N×"


FIGURES: tuple[_Figure, ...] = (
    _Figure("ttft", "Time to first token", _timed("time_to_first_token"), format_seconds, True,
            "faster to first token"),
    _Figure("e2e", "End to end", _timed("end_to_end"), format_seconds, True, "faster end to end"),
    _Figure("rate", "Tokens per second", _timed("decode_rate"), format_rate, False, "more tokens per second"),
    _Figure("cpu", "CPU on this computer", _cpu, format_cpu, True, "less CPU on this computer"),
    _Figure("energy", "Energy", _energy, format_energy, True, "less energy"),
    _Figure("network", "Received over the network", _network, format_bytes, True, "fewer bytes over the network"),
    _Figure("money", "Money", _money, format_usd, True, "cheaper"),
)


def _row(figure: _Figure, sides: tuple[SideResult, ...]) -> CardRow:
    readings = [figure.read(result) for result in sides]
    texts = [("–" if value is None else _mark(estimated) + figure.fmt(value)) for value, estimated in readings]
    verdict, ratio, best = _verdict(figure, sides, readings)
    values = tuple(
        CardValue(result.side, result.label, value, text, estimated, better=result.side == best)
        for result, (value, estimated), text in zip(sides, readings, texts, strict=True)
    )
    if figure.key == "money":
        verdict = _money_verdict(sides, values, verdict)
    if figure.key == "energy":
        return _energy_row(figure.title, sides, values, verdict, ratio)
    return CardRow(figure.key, figure.title, values, verdict, ratio, figure.lower_is_better)


def _verdict(figure: _Figure, sides: tuple[SideResult, ...],
             readings: list[Reading]) -> tuple[str, float | None, str | None]:
    """The words, the ratio (worse / better) and the better side's slot, for two sides that both have a value."""
    if len(sides) != 2:
        return ("only one side ran" if len(sides) == 1 else "no side ran"), None, None
    missing = [result.label for result, (value, _) in zip(sides, readings, strict=True) if value is None]
    if missing:
        return f"no comparison: {' and '.join(missing)} {'has' if len(missing) == 1 else 'have'} no figure", None, None
    (a_value, a_est), (b_value, b_est) = readings
    assert a_value is not None and b_value is not None
    mark = _mark(a_est or b_est)
    if a_value == b_value:
        return "the same", None, None
    a_better = (a_value < b_value) == figure.lower_is_better
    better, worse = (sides[0], sides[1]) if a_better else (sides[1], sides[0])
    better_value, worse_value = (a_value, b_value) if a_better else (b_value, a_value)
    low, high = sorted((better_value, worse_value))
    if low <= 0:
        # No ratio to a zero: say what each side spent instead.
        zero_side = better if better_value == low else worse
        return f"{zero_side.label.lower()}: none", None, better.side
    ratio = high / low
    if ratio < SAME:
        return f"about the same ({mark}{format_ratio(ratio)})", ratio, None
    return f"{better.label.lower()}: {mark}{format_ratio(ratio)} {figure.better_words}", ratio, better.side


def _money_verdict(sides: tuple[SideResult, ...], values: tuple[CardValue, ...], fallback: str) -> str:
    """Money against money plus energy: "large: $0.0004, small: $0 + 0.3 Wh" (the price of a model on this
    computer, a GGUF or a server here, is its electricity, which the card shows rather than prices)."""
    if len(sides) != 2 or any(value.value is None for value in values):
        return fallback
    parts = []
    for result, value in zip(sides, values, strict=True):
        text = f"{result.label.lower()}: {value.text}"
        energy, estimated = _energy_here(result)
        if _on_this_computer(result) and energy:
            text += f" + {_mark(estimated)}{format_energy(energy)}"
        parts.append(text)
    return ", ".join(parts)


# -- energy for both sides, and each side's size ---------------------------------------------------------------
def format_energy_range(low: float, high: float) -> str:
    """"44.6–54.4 J": one unit where both ends read in it."""
    both_joules = high < 360
    if low == high:
        return format_energy(low)
    if both_joules or low >= 360:
        unit = format_energy(high).split(" ")[1]
        return f"{format_energy(low).split(' ')[0]}–{format_energy(high).split(' ')[0]} {unit}"
    return f"{format_energy(low)}–{format_energy(high)}"


def _energy_value(result: SideResult, value: CardValue) -> CardValue:
    """A side's energy with where it comes from: this computer, EcoLogits' range and label, or "unknown" and
    why (an endpoint's model EcoLogits does not know: never a number)."""
    here, estimated = _energy_here(result)
    api = result.api_energy
    if here is not None:
        return replace(value, note=f"{'estimated' if estimated else 'measured'} on this computer")
    if api is not None and api.energy_j is not None and api.energy_low_j is not None and api.energy_high_j is not None:
        # The source in the text, not only the tooltip: a figure for the provider's machines beside one of this
        # computer's must say so where it is read (the size row says "(EcoLogits)" the same way).
        spread = format_energy_range(api.energy_low_j, api.energy_high_j)
        return replace(value, text=f"~{format_energy(api.energy_j)} ({spread}, EcoLogits)", note=api.label)
    if result.ok and (api is not None or _is_elsewhere(result)):
        return replace(value, text="unknown", note=api.label if api is not None else "not estimated for this answer")
    return value


def _within_range(results: tuple[SideResult, ...], values: tuple[CardValue, ...]) -> bool:
    """One side's figure lies inside the other's EcoLogits range: no side can be called lower."""
    for result, other in ((results[0], values[1]), (results[1], values[0])):
        api = result.api_energy
        if (api is not None and api.energy_low_j is not None and api.energy_high_j is not None
                and other.value is not None and _energy_here(result)[0] is None
                and api.energy_low_j <= other.value <= api.energy_high_j):
            return True
    return False


def _energy_row(title: str, sides: tuple[SideResult, ...], values: tuple[CardValue, ...], verdict: str,
                ratio: float | None) -> CardRow:
    shown = tuple(_energy_value(result, value) for result, value in zip(sides, values, strict=True))
    unknown = [value.label for value in shown if value.text == "unknown"]
    if len(sides) == 2 and unknown:
        verdict, ratio = f"no comparison: the energy of {' and '.join(unknown)} is unknown", None
    elif len(sides) == 2 and ratio is not None and _within_range(sides, shown):
        verdict, ratio = "no clear difference: within EcoLogits' range", None
        shown = tuple(replace(value, better=False) for value in shown)
    return CardRow("energy", title, shown, verdict, ratio, lower_is_better=True)


def _size_row(sides: tuple[SideResult, ...]) -> CardRow:
    """Each side's parameter count and its source (the GGUF's header, EcoLogits' table), "unknown" otherwise;
    no side is "better": the row says what size bought the other figures."""
    sizes = [side_size(result.engine, result.api_energy) for result in sides]
    values = tuple(
        CardValue(result.side, result.label, None, size.text if size.api is None else f"{size.text} (EcoLogits)",
                  note=size.label if size.known else "no parameter count known for this model")
        for result, size in zip(sides, sizes, strict=True))
    unknown = [result.label for result, size in zip(sides, sizes, strict=True) if not size.known]
    if len(sides) != 2:
        verdict = "only one side ran"
    elif unknown:
        verdict = f"no comparison: the size of {' and '.join(unknown)} is unknown"
    else:
        verdict = "; ".join(f"{result.label.lower()}: {size.label}" for result, size in zip(sides, sizes, strict=True))
    return CardRow("size", "Model size", values, verdict, None, lower_is_better=False)


# -- quality, where the trial has it -------------------------------------------------------------------------
def _checks_row(sides: tuple[SideResult, ...]) -> CardRow:
    """How many of its reference-free checks each answer passed (checks that could not tell are left out)."""
    counts = []
    for result in sides:
        known = [check.passed for check in result.checks if check.passed is not None]
        counts.append((sum(known), len(known)) if known else None)
    texts = ["–" if count is None else f"{count[0]} of {count[1]}" for count in counts]
    fractions = [None if count is None else count[0] / count[1] for count in counts]
    best = None
    if len(sides) == 2 and None not in fractions and fractions[0] != fractions[1]:
        best = sides[0].side if (fractions[0] or 0) > (fractions[1] or 0) else sides[1].side
    values = tuple(CardValue(result.side, result.label, fraction, text, better=result.side == best)
                   for result, fraction, text in zip(sides, fractions, texts, strict=True))
    if len(sides) != 2:
        verdict = "only one side ran"
    elif None in fractions:
        verdict = "no comparison: " + " and ".join(r.label for r, f in zip(sides, fractions, strict=True)
                                                   if f is None) + " has no checks"
    elif best is None:
        verdict = "the same"
    else:
        verdict = ", ".join(f"{r.label.lower()}: {t} passed" for r, t in zip(sides, texts, strict=True))
    return CardRow("checks", "Quality checks passed", values, verdict, None, lower_is_better=False)


def _score_row(name: str, sides: tuple[SideResult, ...]) -> CardRow:
    """A reference score (0-100, higher is better): the difference in points, not a ratio."""
    found = [next((score.value for score in result.scores if score.name == name), None) for result in sides]
    best = None
    if len(sides) == 2 and None not in found and found[0] != found[1]:
        best = sides[0].side if (found[0] or 0) > (found[1] or 0) else sides[1].side
    values = tuple(CardValue(result.side, result.label, value, "–" if value is None else f"{value:.1f}",
                             better=result.side == best) for result, value in zip(sides, found, strict=True))
    if len(sides) != 2:
        verdict = "only one side ran"
    elif None in found:
        verdict = "no comparison: a side has no score"
    elif best is None:
        verdict = "the same"
    else:
        winner = next(result for result in sides if result.side == best)
        verdict = f"{winner.label.lower()}: {abs((found[0] or 0) - (found[1] or 0)):.1f} points higher"
    return CardRow(f"score:{name}", f"{name} against the reference", values, verdict, None, lower_is_better=False)


def card_rows(trial: Trial) -> tuple[CardRow, ...]:
    """The card's rows for `trial`, in a fixed order; sides in the trial's order (small first). Quality rows
    (checks passed, reference scores) follow where the trial has them."""
    rows = [_row(figure, trial.sides) for figure in FIGURES]
    rows.append(_size_row(trial.sides))
    if any(result.checks for result in trial.sides):
        rows.append(_checks_row(trial.sides))
    names = dict.fromkeys(score.name for result in trial.sides for score in result.scores)
    rows.extend(_score_row(name, trial.sides) for name in names)
    return tuple(rows)


def card_title(trial: Trial) -> str:
    """What the card is about: the task, the start of the input, and when."""
    words = " ".join(trial.input.text.split())
    snippet = words if len(words) <= 60 else words[:59] + "…"
    when = trial.created_at.replace("T", " ")[:16]
    return f"{trial.task.capitalize()} · “{snippet}” · {when}"


def card_text(trial: Trial) -> str:
    """The card as plain text (a copy for a bug report or a chat message)."""
    lines = [card_title(trial)]
    for row in card_rows(trial):
        values = ", ".join(f"{value.label.lower()} {value.text}" + (f" [{value.note}]" if value.note else "")
                           for value in row.values)
        lines.append(f"{row.title}: {values} — {row.verdict}")
    return "\n".join(lines)
