"""The results of an evaluation as plain frozen data, and the figures and verdict sentence computed from them.

An evaluation fills an `EvalResult` (two sides, one `TaskResult` per task: per-item outputs and scores, speed
samples per run, cost and energy per side, the judge's tally, and metadata); `task_figures` turns a task into
the numbers a reader sees (medians, paired differences with bootstrap intervals, Wilson interval, verdict
sentence). The HTML report (`report.py`) and a `--json` export both read these, so they cannot disagree.

Side slots are "small" and "large" (labels, not engine types), in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lmscales.core.method_card import MethodCard
from lmscales.core.quality.stats import (
    JudgeTally,
    PairedDifference,
    SeriesSummary,
    describe,
    paired_difference,
)

SIDES: tuple[str, str] = ("small", "large")
ITEM_NOUNS = {"translate": ("sentence", "sentences"), "summarize": ("text", "texts"), "chat": ("prompt", "prompts")}
# The score a task's verdict talks about, in order of preference (the first one present is used).
PRIMARY_SCORES = {"translate": ("chrF++", "BLEU"), "summarize": ("ROUGE-L", "chrF", "key facts"),
                  "chat": ("answer", "checks passed", "chrF++")}


@dataclass(frozen=True)
class SideInfo:
    slot: str  # "small" or "large"
    label: str  # what the reader sees, e.g. "SmolLM2-135M on this CPU"
    model: str
    host: str  # "this computer" or host[:port]
    kind: str  # "local" or "remote"


@dataclass(frozen=True)
class ItemResult:
    """One item of a set. `outputs` holds one answer per side (the first repeat's); `scores` per side are the
    mean over repeats, by score name (0-100: chrF++, BLEU, ROUGE-L, key facts, answer, checks passed).
    `judge` is the judge's outcome from the sides' point of view: "small", "large", "tie", "unparsed",
    "error" or None (no judge). `checks` per side, by check name ("language", "copy", "form", "empty",
    "asked: in two sentences", ...): False when it failed in any repeat, True when it passed and never failed,
    None when it could not tell; a check that never ran is absent. `tags` are the item's tags from the set."""

    item_id: str
    input: str
    reference: str | None
    outputs: Mapping[str, str]
    scores: Mapping[str, Mapping[str, float]]
    judge: str | None = None
    check_notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # side -> failed checks' details
    checks: Mapping[str, Mapping[str, bool | None]] = field(default_factory=dict)  # side -> check name -> passed
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SideCost:
    """Per side, over the whole task: totals divided into per-100-item figures by the producer."""

    cost_per_100: float | None  # money in `currency`; 0 for the local side
    energy_wh_per_100: float | None
    cpu_seconds_per_100: float | None
    currency: str = "USD"
    cost_provenance: str = "estimated"  # from the dated price table, or "measured" (usage reported by server)
    # "measured", "estimated on this machine", "EcoLogits <version> estimate" (an API's), "mixed: …", or None
    energy_provenance: str | None = None
    energy_wh_per_100_low: float | None = None  # the ends of EcoLogits' range, where the figure is its estimate
    energy_wh_per_100_high: float | None = None


@dataclass(frozen=True)
class JudgeSummary:
    model: str
    prompt_version: str
    is_contestant: bool
    large_wins: int
    ties: int
    small_wins: int
    unparsed: int = 0
    errors: int = 0

    @property
    def tally(self) -> JudgeTally:
        """From the large side's point of view (wins = the judge preferred the large model in both orders)."""
        return JudgeTally(self.large_wins, self.ties, self.small_wins, self.unparsed)


class VoteCount(Protocol):
    """A person's blind votes on a task: a `lmscales.core.votes.VoteTally` (which imports this package's stats)."""

    @property
    def model(self) -> str: ...
    @property
    def n(self) -> int: ...
    def sentence(self, who: str = "You", side_name: str | None = None) -> str: ...
    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TaskResult:
    task: str  # "translate", "summarize" or "chat"
    set_name: str
    repeats: int
    items: tuple[ItemResult, ...]
    ttft: Mapping[str, tuple[float, ...]]  # side -> seconds, one per measured run (warm-ups left out)
    decode_rate: Mapping[str, tuple[float, ...]]  # side -> tokens per second
    end_to_end: Mapping[str, tuple[float, ...]]  # side -> seconds
    costs: Mapping[str, SideCost]
    judge: JudgeSummary | None = None
    failed_runs: Mapping[str, int] = field(default_factory=dict)  # side -> runs that ended in an error
    votes: tuple[VoteCount, ...] = ()  # a person's blind votes, from the small side's view, per pair of models


@dataclass(frozen=True)
class RunMetadata:
    created: str  # ISO 8601 time of the run
    machine: str  # e.g. "Linux x86_64, 2 cores, 24 GiB"
    app_version: str
    parameters: Mapping[str, str]  # max tokens, temperature, seed, repeats, warm-ups, concurrency, ...
    signatures: Mapping[str, str]  # score name -> sacrebleu signature or rule
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvalResult:
    sides: tuple[SideInfo, SideInfo]  # (small, large)
    tasks: tuple[TaskResult, ...]
    metadata: RunMetadata
    method: MethodCard | None = None  # how it was measured (`lmscales.core.method_card`)


# -- figures --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoreComparison:
    name: str
    mean_small: float
    mean_large: float
    difference: PairedDifference  # small - large


@dataclass(frozen=True)
class TaskFigures:
    task: str
    n_items: int
    ttft: Mapping[str, SeriesSummary]
    decode_rate: Mapping[str, SeriesSummary]
    end_to_end: Mapping[str, SeriesSummary]
    scores: tuple[ScoreComparison, ...]
    primary: ScoreComparison | None
    judge_interval: tuple[float, float] | None  # Wilson 95 % for the large side's win share
    verdict: str


def _series(samples: Mapping[str, tuple[float, ...]]) -> dict[str, SeriesSummary]:
    return {side: describe(values) for side, values in samples.items() if values}


def _score_names(items: tuple[ItemResult, ...]) -> list[str]:
    names: dict[str, None] = {}
    for item in items:
        for side in SIDES:
            for name in item.scores.get(side, {}):
                names[name] = None
    return list(names)


def compare_scores(items: tuple[ItemResult, ...]) -> tuple[ScoreComparison, ...]:
    """Per score: each side's mean and the paired difference small - large over items both sides scored."""
    comparisons = []
    for name in _score_names(items):
        small = [item.scores.get("small", {}).get(name) for item in items]
        large = [item.scores.get("large", {}).get(name) for item in items]
        try:
            difference = paired_difference(small, large)
        except ValueError:
            continue  # no item scored on both sides
        comparisons.append(ScoreComparison(name, difference.mean_first, difference.mean_second, difference))
    return tuple(comparisons)


def _times(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def _money(value: float, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    text = f"{value:.2f}" if value >= 0.1 else f"{value:.3f}" if value >= 0.001 else f"{value:.5f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def _point_digits(low: float) -> int:
    """Whole points from 10 up; below that one decimal ("1.3", not "1"), and more where rounding would make an
    interval that excludes zero look as if it reached it ("0.04", never "0.0")."""
    if low >= 10:
        return 0
    digits = 1
    while low > 0 and round(low, digits) == 0 and digits < 4:
        digits += 1
    return digits


def _interval(low: float, high: float) -> str:
    digits = _point_digits(low)
    return f"{low:.{digits}f}–{high:.{digits}f}"


def verdict_sentence(task: TaskResult, figures_ttft: Mapping[str, SeriesSummary],
                     primary: ScoreComparison | None, judge_interval: tuple[float, float] | None) -> str:
    """One plain sentence: speed to first token, money, the main score's paired difference, the judge."""
    singular, plural = ITEM_NOUNS.get(task.task, ("item", "items"))
    n = len(task.items)
    if n == 0:
        return f"No {singular} was measured, so there is no verdict."
    these = f"this {singular}" if n == 1 else f"these {n} {plural}"
    ran = [side for side in SIDES
           if task.ttft.get(side) or task.end_to_end.get(side) or any(side in item.outputs for item in task.items)]
    if len(ran) == 1:
        return _one_side_sentence(task, ran[0], these, plural)
    parts: list[str] = []
    small_ttft, large_ttft = figures_ttft.get("small"), figures_ttft.get("large")
    if small_ttft and large_ttft and small_ttft.median > 0 and large_ttft.median > 0:
        if small_ttft.median <= large_ttft.median:
            parts.append(f"the small model is {_times(large_ttft.median / small_ttft.median)} faster to the first "
                         "token")
        else:
            parts.append(f"the small model is {_times(small_ttft.median / large_ttft.median)} slower to the first "
                         "token")
    small_cost, large_cost = task.costs.get("small"), task.costs.get("large")
    if small_cost and small_cost.cost_per_100 == 0 and large_cost and large_cost.cost_per_100:
        money = _money(large_cost.cost_per_100, large_cost.currency)
        parts.append(f"free where the large one costs {money} per 100 {plural}")
    elif small_cost and small_cost.cost_per_100 == 0:
        parts.append("free")
    speed_money = " and ".join(parts) if len(parts) == 2 and parts[1] == "free" else ", ".join(parts)
    sentence = f"On {these}"
    if speed_money:
        sentence += f" {speed_money}"
    if primary is not None:
        d = primary.difference
        if primary.name == "answer":
            # never "+0" for a bound that excludes zero; whole points when the interval reaches it anyway
            digits = _point_digits(min(abs(d.low), abs(d.high))) if d.excludes_zero else 0
            interval = f"{d.low:+.{digits}f} to {d.high:+.{digits}f}".replace("-", "−")
            quality = (f"gets the expected answer in {primary.mean_small:.0f} % of them against "
                       f"{primary.mean_large:.0f} % (difference 95 % CI {interval} points)")
        elif d.excludes_zero:
            direction = "lower" if d.mean_difference < 0 else "higher"
            low, high = sorted((abs(d.low), abs(d.high)))
            quality = (f"scores {abs(d.mean_difference):.{_point_digits(low)}f} {primary.name} points {direction} "
                       f"(95 % CI {_interval(low, high)})")
        else:
            numbers = (f"{d.mean_difference:+.1f} points, 95 % CI {d.low:+.1f} to {d.high:+.1f}").replace("-", "−")
            quality = f"scores about the same on {primary.name} ({numbers})"  # "ROUGE-L" keeps its hyphen
        sentence += f", and {quality}" if speed_money else f" the small model {quality}"
    if task.judge is not None and judge_interval is not None and task.judge.tally.n > 0:
        judge = task.judge
        low, high = judge_interval
        counted = judge.tally.n
        who = "the judge (also a contestant)" if judge.is_contestant else "the judge"
        sentence += (f"; {who} prefers the large model in {judge.large_wins} of {counted} "
                     f"(95 % CI {low * 100:.0f}–{high * 100:.0f} %), the small one in {judge.small_wins}, "
                     f"with {judge.ties} tie{'s' * (judge.ties != 1)}")
        unread = judge.unparsed + judge.errors
        if unread:
            sentence += f" ({unread} verdict{'s' * (unread != 1)} could not be read)"
    return sentence + "."


def _one_side_sentence(task: TaskResult, side: str, these: str, plural: str) -> str:
    """With one side run there is no comparison to state, only what that side cost."""
    sentence = f"Only the {side} model ran on {these}"
    cost = task.costs.get(side)
    if cost is not None and cost.cost_per_100 == 0:
        sentence += " (free: it runs on this computer)"
    elif cost is not None and cost.cost_per_100:
        sentence += f" ({_money(cost.cost_per_100, cost.currency)} per 100 {plural})"
    return sentence + ", so there is nothing to compare it with."


def task_figures(task: TaskResult) -> TaskFigures:
    ttft = _series(task.ttft)
    scores = compare_scores(task.items)
    by_name = {score.name: score for score in scores}
    primary = next((by_name[name] for name in PRIMARY_SCORES.get(task.task, ()) if name in by_name),
                   scores[0] if scores else None)
    judge_interval = None
    if task.judge is not None and task.judge.tally.n > 0:
        judge_interval = task.judge.tally.interval("wins")
    return TaskFigures(
        task=task.task, n_items=len(task.items), ttft=ttft, decode_rate=_series(task.decode_rate),
        end_to_end=_series(task.end_to_end), scores=scores, primary=primary, judge_interval=judge_interval,
        verdict=verdict_sentence(task, ttft, primary, judge_interval),
    )
