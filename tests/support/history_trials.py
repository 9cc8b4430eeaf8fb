"""Trials of the built-in translation set as the history keeps them, for the decision from the history: each
answer gets the real checks and scores (`assess_answer`), so a test states only what each side answered. The
large side answers with the reference (acceptable), the small side with the source copied (a copy: not)."""

from __future__ import annotations

import dataclasses

from lmscales.core.assess import assess_answer
from lmscales.core.evaluation import task_input_for
from lmscales.core.quality.sets import EvalItem, load_set
from lmscales.core.trial import SideResult, Trial
from tests.support.trials import large_side, small_side, trial


def translation_items(count: int) -> list[EvalItem]:
    return [item for item in load_set("translate").items if item.reference][:count]


def answered(result: SideResult, item: EvalItem, answer: str) -> SideResult:
    checks, scores = assess_answer(task_input_for(item), answer)
    return dataclasses.replace(result, text=answer, checks=checks, scores=scores)


def translation_trial(item: EvalItem, number: int, *, small: str | None = None, large: str | None = None) -> Trial:
    """One comparison of `item` typed into the window (no evaluation reference): `small`/`large` default to the
    source (a copy) and the reference (acceptable)."""
    sides = (answered(small_side(), item, small if small is not None else item.input),
             answered(large_side(), item, large if large is not None else item.reference or ""))
    made = trial(*sides, text=item.input, task="translate")
    return dataclasses.replace(made, id=f"h{number:04d}", input=task_input_for(item))
