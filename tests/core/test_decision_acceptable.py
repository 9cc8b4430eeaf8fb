"""Whether an answer is acceptable, per task, both ways, by the rule the report prints; and each side's pass rate
with its Wilson interval (items a side did not answer, or the rule cannot decide, are counted apart)."""

from __future__ import annotations

import pytest

from lmscales.core.decision import DecisionSettings, decide, definition, item_verdict
from lmscales.core.decision.acceptable import pass_rate
from lmscales.core.quality.scores import chrf_pp
from lmscales.core.quality.sets import load_set
from tests.support.decision_items import Answer, item, task

DEFAULTS = DecisionSettings()
GOOD_TRANSLATION = Answer(scores={"chrF++": 62.0}, checks={"language": True, "copy": True, "length": True})


def verdict(task_name: str, answer: Answer, settings: DecisionSettings = DEFAULTS, other: Answer | None = None):  # type: ignore[no-untyped-def]
    return item_verdict(task_name, item("i1", answer, other), "small", settings)


# -- translate ------------------------------------------------------------------------------------------------

def test_a_translation_in_the_right_language_not_a_copy_and_close_enough_is_acceptable() -> None:
    assert verdict("translate", GOOD_TRANSLATION).acceptable is True
    # a language the checks could not tell (too short) does not fail it
    assert verdict("translate", Answer(scores={"chrF++": 62.0}, checks={"language": None, "copy": True})).acceptable


@pytest.mark.parametrize(("answer", "reason"), [
    (Answer(scores={"chrF++": 41.0}, checks={"language": True, "copy": True}), "chrF++ 41 is below 50"),
    (Answer(scores={"chrF++": 95.0}, checks={"language": False, "copy": True}), "not in the target language"),
    (Answer(scores={"chrF++": 95.0}, checks={"language": True, "copy": False}), "a copy of the source"),
    (Answer(scores={"chrF++": 0.0}, checks={"empty": False}), "the answer is empty"),
])
def test_a_translation_fails_on_each_part_of_the_rule_and_says_which(answer: Answer, reason: str) -> None:
    result = verdict("translate", answer)
    assert result.acceptable is False and reason in result.reasons


def test_the_chrf_threshold_is_the_users_and_the_definition_says_it() -> None:
    answer = Answer(scores={"chrF++": 45.0}, checks={"language": True, "copy": True})
    assert verdict("translate", answer).acceptable is False
    lenient = DecisionSettings(translation_chrf_min=40)
    assert verdict("translate", answer, lenient).acceptable is True
    assert "chrF++ against the reference is at least 50" in definition("translate", DEFAULTS)
    assert "at least 40" in definition("translate", lenient)
    with pytest.raises(ValueError, match="between 0 and 100"):
        DecisionSettings(translation_chrf_min=120)


def test_the_default_threshold_separates_close_variants_from_half_translations_on_the_built_in_set() -> None:
    """The measurement behind the default of 50 (settings' docstring): the reference with two words swapped
    passes on every item; its first half alone fails on most."""
    items = [i for i in load_set("translate").items if i.reference and len(i.reference.split()) > 4]
    swapped, halves = [], []
    for entry in items:
        reference = entry.reference or ""
        words = reference.split()
        swapped.append(chrf_pp(" ".join([words[0], words[2], words[1], *words[3:]]), [reference]).value)
        halves.append(chrf_pp(" ".join(words[: len(words) // 2]), [reference]).value)
    assert min(swapped) >= DEFAULTS.translation_chrf_min
    assert sum(value < DEFAULTS.translation_chrf_min for value in halves) > len(halves) / 2


# -- summarize ------------------------------------------------------------------------------------------------

def test_a_summary_needs_its_form_and_half_its_key_facts() -> None:
    assert verdict("summarize", Answer(scores={"key facts": 60.0, "ROUGE-L": 5.0}, checks={"form": True})).acceptable
    short = verdict("summarize", Answer(scores={"key facts": 40.0}, checks={"form": True}))
    assert short.acceptable is False and "40 % of the key facts (at least 50 % needed)" in short.reasons
    wrong_form = verdict("summarize", Answer(scores={"key facts": 100.0}, checks={"form": False}))
    assert wrong_form.acceptable is False and "not in the form asked for" in wrong_form.reasons


def test_a_summary_without_key_facts_is_decided_by_its_overlap_with_the_reference_and_otherwise_not_counted() -> None:
    assert verdict("summarize", Answer(scores={"ROUGE-L": 35.0}, checks={"form": True})).acceptable is True
    low = verdict("summarize", Answer(scores={"ROUGE-L": 25.0}, checks={"form": True}))
    assert low.acceptable is False and "ROUGE-L 25 is below 30" in low.reasons
    assert verdict("summarize", Answer(scores={"chrF": 45.0}, checks={"form": True})).acceptable is True
    assert verdict("summarize", Answer(scores={"chrF": 35.0}, checks={"form": True})).acceptable is False
    neither = verdict("summarize", Answer(checks={"form": True}))
    assert neither.acceptable is None and neither.reasons == ("no key facts and no reference to score against",)
    text = definition("summarize", DecisionSettings(summary_key_facts_min=75))
    assert "at least 75 % of the item's key facts" in text and "ROUGE-L of at least 30" in text


# -- chat -----------------------------------------------------------------------------------------------------

def test_a_chat_answer_with_an_expected_answer_must_contain_it_in_every_repeat() -> None:
    assert verdict("chat", Answer(scores={"answer": 100.0})).acceptable is True
    assert verdict("chat", Answer(scores={"answer": 0.0})).reasons == ("the expected answer is not in it",)
    assert verdict("chat", Answer(scores={"answer": 50.0})).acceptable is False  # found in one repeat of two
    # the item lists answers (the other side was scored) but this side has no score: not decided, not failed
    assert verdict("chat", Answer(), other=Answer(scores={"answer": 100.0})).acceptable is None


def test_a_chat_answer_without_expected_answers_must_meet_every_constraint() -> None:
    met = Answer(checks={"refused": True, "repetition": True, "asked: in two sentences": True})
    assert verdict("chat", met).acceptable is True
    missed = verdict("chat", Answer(checks={"refused": True, "asked: in two sentences": False}))
    assert missed.acceptable is False and missed.reasons == ("not as asked: in two sentences",)
    refused = verdict("chat", Answer(checks={"refused": False, "asked: in two sentences": True}))
    assert refused.acceptable is False and refused.reasons == ("a refusal",)
    nothing_to_verify = verdict("chat", Answer(checks={"refused": True, "repetition": True}))
    assert nothing_to_verify.acceptable is None


def test_an_item_a_side_did_not_answer_is_left_out_and_counted_apart() -> None:
    result = item_verdict("translate", item("i1", None, GOOD_TRANSLATION), "small", DEFAULTS)
    assert result.acceptable is None and not result.answered


# -- pass rates ---------------------------------------------------------------------------------------------

def test_the_pass_rate_has_its_wilson_interval_and_counts_unanswered_and_undecided_apart() -> None:
    failing = Answer(scores={"chrF++": 20.0}, checks={"language": True, "copy": True})
    items = ([item(f"p{i}", GOOD_TRANSLATION) for i in range(7)] + [item(f"f{i}", failing) for i in range(3)]
             + [item("none", None), item("undecided", Answer(checks={"language": True}))])
    rates = decide(task("translate", items), DEFAULTS).acceptable
    small = rates.small
    assert (small.passed, small.decided, small.unanswered, small.undecided) == (7, 10, 1, 1)
    assert small.rate == pytest.approx(0.7)
    # Wilson 95 % for 7 of 10, worked by hand: centre (0.7 + 1.92/10)/1.384, half-width 0.2477 -> 0.3968-0.8922
    assert small.low == pytest.approx(0.3968, abs=1e-4) and small.high == pytest.approx(0.8922, abs=1e-4)
    assert rates.large.decided == 0 and rates.large.rate is None and rates.large.unanswered == 12


def test_pass_rate_of_nothing_decided_has_no_interval() -> None:
    empty = pass_rate("small", ())
    assert empty.rate is None and empty.low is None and empty.decided == 0
