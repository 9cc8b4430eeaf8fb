"""Reference-free checks on hand-made answers whose verdict is known."""

from __future__ import annotations

import pytest

from lmscales.core.quality import text as tx
from lmscales.core.quality.checks import (
    CheckOptions,
    parse_constraints,
    run_checks,
)

SOURCE_EN = "The museum will reopen next spring after a two-year renovation of its roof."


def by_name(checks: tuple, name: str):  # type: ignore[no-untyped-def]
    return next(check for check in checks if check.name == name)


def test_a_french_output_for_a_german_target_fails_language_id() -> None:
    output = "Le musée rouvrira au printemps prochain après deux ans de rénovation de son toit."
    check = by_name(run_checks("translate", SOURCE_EN, output, CheckOptions(target_language="de")), "language")
    assert check.passed is False
    assert "French" in check.detail and "German" in check.detail


def test_a_german_output_for_a_german_target_passes_language_id() -> None:
    output = "Das Museum wird im nächsten Frühjahr nach einer zweijährigen Renovierung seines Dachs wieder öffnen."
    check = by_name(run_checks("translate", SOURCE_EN, output, CheckOptions(target_language="de")), "language")
    assert check.passed is True
    assert check.score is not None and check.score > 0.5


def test_too_short_an_output_cannot_be_identified() -> None:
    check = by_name(run_checks("translate", "Yes.", "Ja.", CheckOptions(target_language="de")), "language")
    assert check.passed is None
    assert "Too short" in check.detail


def test_a_copied_source_is_caught() -> None:
    check = by_name(run_checks("translate", SOURCE_EN, SOURCE_EN, CheckOptions(target_language="fr")), "copy")
    assert check.passed is False
    assert check.score is not None and check.score > 90


def test_a_source_wrapped_in_chatter_is_caught_as_a_copy() -> None:
    """The bundled model's real failure from the issue: it repeated the source after a sentence of its own."""
    source = "Bonjour tout le monde"
    output = "I am happy to translate this into English. Bonjour tout le monde."
    checks = run_checks("translate", source, output, CheckOptions(target_language="en", source_language="fr"))
    assert by_name(checks, "copy").passed is False
    assert by_name(checks, "length").passed is False  # 3× the source: it adds text of its own


def test_a_real_translation_is_not_a_copy_and_has_a_plausible_length() -> None:
    output = "Le musée rouvrira au printemps prochain après deux ans de rénovation de son toit."
    checks = run_checks("translate", SOURCE_EN, output, CheckOptions(target_language="fr"))
    assert [(c.name, c.passed) for c in checks] == [("language", True), ("copy", True), ("length", True),
                                                    ("repetition", True)]


def test_a_looping_translation_is_flagged() -> None:
    """The bundled model's answer to "Where is the train station?" into Spanish."""
    checks = run_checks("translate", "Where is the train station?", "El tradón es el cielo, el cielo es el cielo.",
                        CheckOptions(target_language="es"))
    assert by_name(checks, "language").passed is True
    assert by_name(checks, "repetition").passed is False


def test_a_truncated_translation_has_an_implausible_length() -> None:
    check = by_name(run_checks("translate", SOURCE_EN, "Le musée.", CheckOptions(target_language="fr")), "length")
    assert check.passed is False
    assert "missing" in check.detail


def test_an_empty_answer_is_one_failed_check() -> None:
    checks = run_checks("chat", "What is the capital of Peru?", "   ")
    assert [(c.name, c.passed) for c in checks] == [("empty", False)]


SOURCE_DOC = (
    "The city council of Millbrook approved a budget of 4.2 million euros for the new library on Tuesday. "
    "Construction will start in March and should take eighteen months. Mayor Ana Ortiz said the building "
    "would hold 60,000 books and a makerspace. Critics argued the money should go to road repairs instead. "
    "The old library, built in 1962, will become a community centre."
)


@pytest.mark.parametrize(
    ("length", "summary", "passed"),
    [
        ("sentence", "Millbrook approved 4.2 million euros for a new library, opening after eighteen months of work.",
         True),
        ("sentence", "Millbrook approved a new library. Work starts in March.", False),
        ("paragraph", "Millbrook approved 4.2 million euros for a library. Work starts in March. Mayor Ana Ortiz "
         "expects 60,000 books. Critics wanted road repairs.", True),
        ("paragraph", "Millbrook approved a library.", False),
        ("bullets", "- 4.2 million euros approved\n- Work starts in March\n- 60,000 books planned", True),
        ("bullets", "- 4.2 million euros approved\n- Work starts in March", False),
    ],
)
def test_summary_length_against_the_requested_form(length: str, summary: str, passed: bool) -> None:
    check = by_name(run_checks("summarize", SOURCE_DOC, summary, CheckOptions(summary_length=length)), "form")  # type: ignore[arg-type]
    assert check.passed is passed, check.detail


def test_a_summary_as_long_as_its_source_fails_the_form_check() -> None:
    check = by_name(run_checks("summarize", SOURCE_DOC, SOURCE_DOC + " Indeed.", CheckOptions()), "form")
    assert check.passed is False


def test_numbers_and_names_not_in_the_source_are_flagged() -> None:
    summary = "Millbrook approved 5 million euros. Mayor John Smith praised the library built in 1962."
    check = by_name(run_checks("summarize", SOURCE_DOC, summary, CheckOptions(summary_length="paragraph")),
                    "unsupported")
    assert check.passed is False
    assert check.score == 3.0  # 5, John, Smith
    assert "5" in check.detail and "John" in check.detail and "1962" not in check.detail


def test_a_number_written_as_a_word_in_the_source_supports_its_digits() -> None:
    """The bundled model wrote "18 months" for the source's "eighteen months"."""
    check = by_name(run_checks("summarize", SOURCE_DOC, "Construction takes 18 months.", CheckOptions()),
                    "unsupported")
    assert check.passed is True


def test_a_faithful_summary_has_no_unsupported_facts() -> None:
    summary = "Millbrook approved 4.2 million euros for a library holding 60,000 books, says Mayor Ana Ortiz."
    check = by_name(run_checks("summarize", SOURCE_DOC, summary, CheckOptions()), "unsupported")
    assert check.passed is True


def test_a_looping_answer_fails_the_repetition_check() -> None:
    loop = "The library is new. " + "The library is very good and the library is very good. " * 6
    check = by_name(run_checks("chat", "Tell me about the library.", loop), "repetition")
    assert check.passed is False
    assert check.score is not None and check.score > 0.2


def test_a_short_answer_saying_the_same_words_three_times_is_a_loop() -> None:
    """A real answer of the bundled model to "What is a volcano? Answer in French."."""
    check = by_name(run_checks("chat", "What is a volcano? Answer in French.",
                               "Le volcano est un pyéromat, un pyéromat, un pyéromat."), "repetition")
    assert check.passed is False
    assert "“un pyéromat” 3 times" in check.detail


def test_a_plain_answer_passes_the_repetition_check() -> None:
    answer = ("Lima is the capital of Peru. It lies on the Pacific coast and is home to about ten million people, "
              "a third of the country.")
    check = by_name(run_checks("chat", "What is the capital of Peru?", answer), "repetition")
    assert check.passed is True


def test_a_refusal_is_flagged() -> None:
    check = by_name(run_checks("chat", "What is 2+2?", "I'm sorry, but I can't help with that request."), "refused")
    assert check.passed is False


@pytest.mark.parametrize(
    ("prompt", "kind", "value"),
    [
        ("Explain photosynthesis in two sentences.", "sentences", 2),
        ("Describe Paris in exactly 3 sentences.", "sentences", 3),
        ("Name the planets closest to the sun as a list of three.", "items", 3),
        ("Give me five bullet points about sleep.", "items", 5),
        ("What is a rainbow? Answer in French.", "language", "fr"),
        ("Describe the sea in German.", "language", "de"),
        ("Explain inflation in under 50 words.", "words_max", 49),
        ("Explain inflation in no more than 30 words.", "words_max", 30),
        ("Describe the moon in one word.", "words_exact", 1),
        ("Is the Pacific the largest ocean? Answer yes or no.", "yes_no", "yes/no"),
    ],
)
def test_constraints_are_parsed_from_the_prompt(prompt: str, kind: str, value: object) -> None:
    constraints = parse_constraints(prompt)
    assert [(c.kind, c.value) for c in constraints] == [(kind, value)]


def test_a_question_about_a_word_in_french_is_not_a_language_constraint() -> None:
    assert parse_constraints("How do you say 'thank you' in French?") == ()


@pytest.mark.parametrize(
    ("prompt", "good", "bad"),
    [
        ("Explain photosynthesis in two sentences.",
         "Plants turn light into sugar. They release oxygen as they do it.",
         "Plants turn light into sugar. They release oxygen. They need water too."),
        ("Name three primary colours as a list of three.",
         "- Red\n- Blue\n- Yellow", "- Red\n- Blue"),
        ("What is a rainbow? Answer in French.",
         "Un arc-en-ciel est un phénomène optique causé par la lumière du soleil dans la pluie.",
         "A rainbow is an optical effect caused by sunlight shining through raindrops."),
        ("Explain inflation in under 10 words.",
         "Prices rise over time, so money buys less.",
         "Inflation is the general rise of prices over time, so the same money buys less."),
        ("Describe the moon in one word.", "Luminous.", "Bright and round."),
        ("Is the Pacific the largest ocean? Answer yes or no.", "Yes.", "The Pacific is the largest."),
    ],
)
def test_each_constraint_form_passes_when_met_and_fails_when_not(prompt: str, good: str, bad: str) -> None:
    def constraint(output: str):  # type: ignore[no-untyped-def]
        return next(c for c in run_checks("chat", prompt, output) if c.name.startswith("asked:"))

    assert constraint(good).passed is True, constraint(good).detail
    assert constraint(bad).passed is False, constraint(bad).detail


def test_sentence_splitting_keeps_abbreviations_and_decimals_together() -> None:
    assert len(tx.sentences("Dr. Smith paid 4.5 euros, e.g. for tea. Then he left!")) == 2


def test_numbers_are_normalised_for_comparison() -> None:
    assert tx.numbers("1,200 people, 1 200 seats, 3,5 km and 4.50 m") == ["1200", "1200", "3.5", "4.5"]


def test_an_unknown_task_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        run_checks("poetry", "a", "b")  # type: ignore[arg-type]
