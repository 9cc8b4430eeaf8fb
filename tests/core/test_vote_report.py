"""The evaluation report's blind votes: the person's tally with its Wilson interval and, beside it, the LLM
judge's tally of the same task in the same words; nothing when nobody voted."""

from __future__ import annotations

import dataclasses
from html import escape

from lmscales.core.decision.report_html import render_report
from lmscales.core.quality.results import EvalResult
from lmscales.core.vote_report import votes_section
from lmscales.core.votes import VoteTally
from tests.core.quality.test_eval_report import META, SIDES, constant_task


def test_the_report_shows_the_human_tally_beside_the_llm_judges() -> None:
    votes = VoteTally("translate", "small", "SmolLM2", "large", "big-1", wins=7, ties=2, both_bad=1, losses=2)
    task = dataclasses.replace(constant_task(), votes=(votes,))
    html = render_report(EvalResult(SIDES, (task,), META), ())
    human = "You preferred the small model 7 of 12 times (58 %, 95 % CI 32 %–81 %); 2 ties, 1 both bad."
    judge = ("The LLM judge (judge-model) preferred the small model 2 of 60 times (3 %, 95 % CI 1 %–11 %); "
             "3 ties.")
    assert escape(human) in html and escape(judge) in html
    assert html.index("Your blind votes") < html.index(escape(judge))


def test_no_votes_no_section() -> None:
    task = constant_task()
    assert votes_section(task) == ""
    assert "Your blind votes" not in render_report(EvalResult(SIDES, (task,), META), ())
