"""Hand-built evaluation results for the decision tests: items with the scores and checks an evaluation keeps,
so each test states exactly what each side answered and how it was judged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lmscales.core.quality.results import ItemResult, SideCost, TaskResult


@dataclass(frozen=True)
class Answer:
    """One side's answer to an item as evaluation keeps it."""

    scores: Mapping[str, float] = field(default_factory=dict)
    checks: Mapping[str, bool | None] = field(default_factory=dict)
    output: str = "an answer"
    notes: tuple[str, ...] = ()


def item(item_id: str, small: Answer | None = None, large: Answer | None = None, tags: Sequence[str] = (),
         text: str = "input text") -> ItemResult:
    """`None` for a side: it gave no answer (its run failed)."""
    sides = {name: answer for name, answer in (("small", small), ("large", large)) if answer is not None}
    return ItemResult(item_id=item_id, input=text, reference=None,
                      outputs={name: answer.output for name, answer in sides.items()},
                      scores={name: dict(answer.scores) for name, answer in sides.items()},
                      check_notes={name: answer.notes for name, answer in sides.items()},
                      checks={name: dict(answer.checks) for name, answer in sides.items()}, tags=tuple(tags))


def task(name: str, items: Sequence[ItemResult], costs: Mapping[str, SideCost] | None = None,
         end_to_end: Mapping[str, tuple[float, ...]] | None = None) -> TaskResult:
    return TaskResult(task=name, set_name=f"{name}-test", repeats=1, items=tuple(items), ttft={}, decode_rate={},
                      end_to_end=dict(end_to_end or {}),
                      costs=dict(costs or {"small": SideCost(0.0, None, None), "large": SideCost(None, None, None)}))


def found(yes: bool) -> Answer:
    """A chat answer that contains the item's expected answer, or not."""
    return Answer(scores={"answer": 100.0 if yes else 0.0})


def chat_items(pairs: Sequence[tuple[bool, bool]], tags: Sequence[str] = (), prefix: str = "c") -> list[ItemResult]:
    """Chat items with an expected answer, found or not by (small, large)."""
    return [item(f"{prefix}{index}", found(small), found(large), tags) for index, (small, large) in enumerate(pairs)]


def table(both: int, small_only: int, large_only: int, neither: int) -> list[tuple[bool, bool]]:
    """(small acceptable, large acceptable) pairs making the given 2×2 table."""
    return ([(True, True)] * both + [(True, False)] * small_only + [(False, True)] * large_only
            + [(False, False)] * neither)
