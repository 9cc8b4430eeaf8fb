"""Every answer's quality line: the reference-free checks, and the scores against the input's reference where
there is one. The session assesses each finished side with it; evaluation reads what it found."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lmscales.core.quality.checks import Check, CheckOptions, run_checks
from lmscales.core.quality.scores import Score, reference_scores

if TYPE_CHECKING:
    from lmscales.core.trial import TaskInput

log = logging.getLogger(__name__)


def assess_answer(task_input: TaskInput, answer: str) -> tuple[tuple[Check, ...], tuple[Score, ...]]:
    """The reference-free checks of an answer, and its scores against the input's reference where there is one.
    A failure in a check never costs the answer: it is logged and the checks are left out."""
    try:
        checks = run_checks(task_input.task, task_input.prompt_text, answer, CheckOptions(
            target_language=task_input.target_lang, source_language=task_input.source_lang,
            summary_length=task_input.summary_length or "paragraph"))
        scores: tuple[Score, ...] = ()
        if task_input.reference is not None or task_input.key_facts or task_input.answers:
            scores = reference_scores(task_input.task, answer, reference=task_input.reference,
                                      target_language=task_input.target_lang, key_fact_list=task_input.key_facts,
                                      answers=task_input.answers)
    except Exception:
        log.exception("quality checks failed")
        return (), ()
    return checks, scores
