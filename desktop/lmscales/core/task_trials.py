"""Trials of one task, grouped by item, summarised into a `TaskResult`: the one place an evaluation's trials and
the history's trials of a task become the figures, scores and checks the statistics and the decision read.

An evaluation groups its trials by set item (`Evaluation._task_result`); the history groups the trials of a task
by their input (`lmscales.core.decision.from_history`). Both hand the groups to `summarise_task`, so the two
cannot count an item, a failed run, a check or a cost differently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lmscales.core.events import EngineInfo
from lmscales.core.quality.checks import checks_passed
from lmscales.core.quality.results import SIDES, ItemResult, JudgeSummary, SideCost, SideInfo, TaskResult
from lmscales.core.side_energy import EnergyReading, energy_reading, per_100_wh, provenance_of, range_per_100_wh
from lmscales.core.trial import SideResult, Trial

CHECKS_SCORE = "checks passed"


@dataclass(frozen=True)
class ItemTrials:
    """One item and the trials that answered it, in repeat order (each side's first answer is the item's
    output). `judge` is the judge's outcome from the sides' point of view ("small", "large", "tie", ...)."""

    item_id: str
    input: str
    reference: str | None
    trials: tuple[Trial, ...]
    tags: tuple[str, ...] = ()
    judge: str | None = None


def side_info(slot: str, label: str, info: EngineInfo | None) -> SideInfo:
    """A side as a report names it, from what its engine says about itself (None: the side did not run)."""
    if info is None:
        return SideInfo(slot, label, "?", "—", "?")
    on_this_cpu = info.model_runs == "this_cpu"
    host = "this computer" if on_this_cpu else info.host or "?"
    where = "on this CPU" if on_this_cpu else f"at {host}"
    return SideInfo(slot, f"{info.model} {where}", info.model, host, info.kind)


def summarise_task(task: str, set_name: str, repeats: int, groups: Sequence[ItemTrials],
                   places: Mapping[str, str | None], judge: JudgeSummary | None = None) -> TaskResult:
    """The `TaskResult` of `groups`. `places` says per side where its model runs (`EngineInfo.model_runs`:
    "this_cpu" makes its money exactly none, measured; anything else an estimate from a price table)."""
    item_results = []
    ttft: dict[str, list[float]] = {slot: [] for slot in SIDES}
    decode: dict[str, list[float]] = {slot: [] for slot in SIDES}
    e2e: dict[str, list[float]] = {slot: [] for slot in SIDES}
    failed: dict[str, int] = {slot: 0 for slot in SIDES}
    money: dict[str, list[float | None]] = {slot: [] for slot in SIDES}
    energy: dict[str, list[EnergyReading | None]] = {slot: [] for slot in SIDES}
    cpu: dict[str, list[float | None]] = {slot: [] for slot in SIDES}
    for group in groups:
        if not group.trials:
            continue
        outputs: dict[str, str] = {}
        sums: dict[str, dict[str, list[float]]] = {}
        notes: dict[str, tuple[str, ...]] = {}
        checks: dict[str, dict[str, bool | None]] = {}
        for trial in group.trials:
            for result in trial.sides:
                slot = result.side
                if not result.ok:
                    failed[slot] += 1
                    continue
                outputs.setdefault(slot, result.text)
                notes.setdefault(slot, tuple(c.detail for c in result.checks if c.passed is False))
                seen = checks.setdefault(slot, {})
                for check in result.checks:  # failed in any repeat = failed; passed only if it never failed
                    before = seen.get(check.name)
                    seen[check.name] = (False if before is False or check.passed is False
                                        else True if before or check.passed else None)
                _figures(result, ttft, decode, e2e)
                money[slot].append(result.cost.usd if result.cost is not None else
                                   (0.0 if result.engine and result.engine.model_runs == "this_cpu" else None))
                energy[slot].append(energy_reading(result))  # here, or EcoLogits' for an API
                cpu[slot].append(result.cpu_seconds)
                scores = sums.setdefault(slot, {})
                for score in result.scores:
                    scores.setdefault(score.name, []).append(score.value)
                passed = checks_passed(result.checks)
                if passed is not None:
                    scores.setdefault(CHECKS_SCORE, []).append(passed)
        item_results.append(ItemResult(
            item_id=group.item_id, input=group.input, reference=group.reference, outputs=outputs,
            scores={slot: {name: sum(values) / len(values) for name, values in scores.items()}
                    for slot, scores in sums.items()},
            judge=group.judge, check_notes=notes, checks=checks, tags=group.tags,
        ))
    costs = {slot: SideCost(
        cost_per_100=per_100(money[slot]), energy_wh_per_100=per_100_wh(energy[slot]),
        energy_provenance=provenance_of(energy[slot]),
        energy_wh_per_100_low=range_per_100_wh(energy[slot])[0],
        energy_wh_per_100_high=range_per_100_wh(energy[slot])[1],
        cpu_seconds_per_100=per_100(cpu[slot]),
        # money on this CPU is exactly none; an API's comes from a price table and token counts
        cost_provenance="measured" if places.get(slot) == "this_cpu" else "estimated") for slot in SIDES}
    return TaskResult(task=task, set_name=set_name, repeats=repeats, items=tuple(item_results),
                      ttft={k: tuple(v) for k, v in ttft.items()}, decode_rate={k: tuple(v) for k, v in decode.items()},
                      end_to_end={k: tuple(v) for k, v in e2e.items()}, costs=costs, judge=judge, failed_runs=failed)


def _figures(result: SideResult, ttft: dict[str, list[float]], decode: dict[str, list[float]],
             e2e: dict[str, list[float]]) -> None:
    computed = result.metrics
    if computed is None:
        return
    for target, figure in ((ttft, computed.time_to_first_token), (decode, computed.decode_rate),
                           (e2e, computed.end_to_end)):
        if figure.value is not None:
            target[result.side].append(float(figure.value))


def per_100(values: Sequence[float | None], scale: float = 1.0) -> float | None:
    """The mean per run × 100; None when any run's figure is unknown (a partial sum would be a guess)."""
    known = [value for value in values if value is not None]
    if not known or len(known) < len(values):
        return None
    return sum(known) / len(known) * 100 * scale
