"""The items where only one side's answer was acceptable: both answers side by side, which side passed and why
the other did not, filterable by task and tag (what inspect_ai #1327 asks for: which items each model got wrong)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lmscales.core.decision.acceptable import ItemVerdict
from lmscales.core.quality.results import TaskResult


@dataclass(frozen=True)
class Disagreement:
    task: str
    item_id: str
    tags: tuple[str, ...]
    input: str
    outputs: Mapping[str, str]  # side -> its answer (the first repeat's)
    passed: str  # the side whose answer was acceptable
    failed: str
    reasons: tuple[str, ...]  # why the failed side's answer was not acceptable, by the rule
    notes: tuple[str, ...]  # the failed side's failed checks, as the checks word them


def find_disagreements(task: TaskResult, verdicts: Mapping[str, Mapping[str, ItemVerdict]]
                       ) -> tuple[Disagreement, ...]:
    """`verdicts`: item id -> side -> its verdict. Items decided on both sides with exactly one acceptable."""
    found = []
    for item in task.items:
        small, large = verdicts.get(item.item_id, {}).get("small"), verdicts.get(item.item_id, {}).get("large")
        if small is None or large is None or small.acceptable is None or large.acceptable is None:
            continue
        if small.acceptable == large.acceptable:
            continue
        passed, failed, why = ("small", "large", large) if small.acceptable else ("large", "small", small)
        found.append(Disagreement(task.task, item.item_id, item.tags, item.input, dict(item.outputs), passed, failed,
                                  why.reasons, tuple(item.check_notes.get(failed, ()))))
    return tuple(found)


def filter_disagreements(disagreements: Iterable[Disagreement], task: str | None = None,
                         tag: str | None = None) -> tuple[Disagreement, ...]:
    """Those of `task` (all tasks when None) that carry `tag` (any when None)."""
    return tuple(d for d in disagreements if (task is None or d.task == task) and (tag is None or tag in d.tags))
