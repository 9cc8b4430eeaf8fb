"""Whether an answer is acceptable, per task, by a rule the report prints (`definition`), and each side's pass
rate with its Wilson 95 % interval.

The rules read what evaluation kept per item and side (`ItemResult.checks` by check name, `ItemResult.scores`):

- translate: the language and copy checks did not fail (a check too short to tell does not fail it), and
  chrF++ against the reference is at least `translation_chrf_min`.
- summarize: the form check did not fail, and at least `summary_key_facts_min` % of the key facts are found;
  an item without key facts is decided by ROUGE-L (chrF for a summary not in English) against the reference;
  an item with neither is not counted.
- chat: where the item lists accepted answers, one is found (in every repeat: the score's mean is 100);
  otherwise at least one constraint of the prompt could be verified and no check failed (every constraint met,
  not a refusal, not a loop); an item with neither is not counted.
- every task: an empty answer is not acceptable; an item a side did not answer (its run failed) is left out of
  that side's rate and counted apart, as are items the rule cannot decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.quality.results import ItemResult
from lmscales.core.quality.stats import wilson_interval

CONSTRAINT_PREFIX = "asked: "  # the name of a check for a constraint the prompt states (quality.checks)
ANSWER_FOUND = 100.0 - 1e-9  # the "answer" score's mean over repeats when found in every repeat
_CHECK_FAILURES = {"language": "not in the target language", "copy": "a copy of the source",
                   "form": "not in the form asked for", "refused": "a refusal", "repetition": "repeats itself",
                   "empty": "empty"}


@dataclass(frozen=True)
class ItemVerdict:
    """One side's answer to one item: acceptable True/False, or None when the rule cannot decide (or there is no
    answer). `reasons` say why it is not acceptable, or why it is not decided."""

    acceptable: bool | None
    reasons: tuple[str, ...] = ()
    answered: bool = True


@dataclass(frozen=True)
class PassRate:
    side: str
    passed: int
    decided: int  # answered items the rule decided
    undecided: int  # answered items the rule could not decide
    unanswered: int  # items without an answer from this side (failed runs)
    rate: float | None  # passed / decided, 0-1; None when nothing was decided
    low: float | None  # Wilson 95 % interval of the rate
    high: float | None


def definition(task: str, settings: DecisionSettings) -> str:
    """The rule for `task` as the report prints it."""
    common = (" An empty answer is never acceptable. With repeats, a check that failed in any repeat counts as "
              "failed and scores are means over the repeats. An item a side did not answer (its run failed) is left "
              "out of that side's pass rate.")
    if task == "translate":
        return ("A translation is acceptable when it is in the target language and not a copy of the source (the "
                "language and copy checks did not fail; too short to tell counts as not failed) and its chrF++ "
                f"against the reference is at least {settings.translation_chrf_min:g}." + common)
    if task == "summarize":
        return ("A summary is acceptable when its form is as asked (one sentence, a paragraph of 3-5 sentences or "
                "3-5 bullet points: the form check did not fail) and it contains at least "
                f"{settings.summary_key_facts_min:g} % of the item's key facts. An item without key facts is "
                f"decided by ROUGE-L of at least {settings.summary_rouge_l_min:g} against the reference (chrF of at "
                f"least {settings.summary_chrf_min:g} for a summary not in English); one with neither is not "
                "counted." + common)
    if task == "chat":
        return ("A chat answer is acceptable when it contains the item's expected answer (in every repeat) where "
                "the item lists accepted answers; otherwise when every constraint the prompt states is met and no "
                "check failed (not a refusal, no loop). An item with neither accepted answers nor a constraint the "
                "checks can verify is not counted." + common)
    return f"No acceptability rule for the task {task!r}: its items are not counted."


def _failed_checks(checks: Mapping[str, bool | None], names: tuple[str, ...]) -> list[str]:
    return [_CHECK_FAILURES.get(name, f"the {name} check failed") for name in names if checks.get(name) is False]


def item_verdict(task: str, item: ItemResult, side: str, settings: DecisionSettings) -> ItemVerdict:
    """Whether `side`'s answer to `item` is acceptable under the rule of `task` (see the module docstring)."""
    if side not in item.outputs:
        return ItemVerdict(None, ("no answer (the run failed)",), answered=False)
    checks = item.checks.get(side, {})
    scores = item.scores.get(side, {})
    if checks.get("empty") is False:
        return ItemVerdict(False, ("the answer is empty",))
    if task == "translate":
        reasons = _failed_checks(checks, ("language", "copy"))
        chrf = scores.get("chrF++")
        if chrf is not None and chrf < settings.translation_chrf_min:
            reasons.append(f"chrF++ {chrf:.0f} is below {settings.translation_chrf_min:g}")
        if chrf is None and not reasons:
            return ItemVerdict(None, ("no chrF++ score",))
        return ItemVerdict(not reasons, tuple(reasons))
    if task == "summarize":
        return _summary_verdict(item, checks, scores, settings)
    if task == "chat":
        return _chat_verdict(item, checks, scores)
    return ItemVerdict(None, (f"no rule for the task {task!r}",))


def _summary_verdict(item: ItemResult, checks: Mapping[str, bool | None], scores: Mapping[str, float],
                     settings: DecisionSettings) -> ItemVerdict:
    reasons = _failed_checks(checks, ("form",))
    facts = scores.get("key facts")
    if facts is not None:
        if facts < settings.summary_key_facts_min:
            reasons.append(f"{facts:.0f} % of the key facts (at least {settings.summary_key_facts_min:g} % needed)")
        return ItemVerdict(not reasons, tuple(reasons))
    for name, minimum in (("ROUGE-L", settings.summary_rouge_l_min), ("chrF", settings.summary_chrf_min)):
        value = scores.get(name)
        if value is not None:
            if value < minimum:
                reasons.append(f"{name} {value:.0f} is below {minimum:g}")
            return ItemVerdict(not reasons, tuple(reasons))
    if reasons:
        return ItemVerdict(False, tuple(reasons))
    return ItemVerdict(None, ("no key facts and no reference to score against",))


def _chat_verdict(item: ItemResult, checks: Mapping[str, bool | None], scores: Mapping[str, float]) -> ItemVerdict:
    has_answers = any("answer" in side_scores for side_scores in item.scores.values())
    if has_answers:
        found = scores.get("answer")
        if found is None:
            return ItemVerdict(None, ("no answer score",))
        if found >= ANSWER_FOUND:
            return ItemVerdict(True)
        return ItemVerdict(False, ("the expected answer is not in it" if found == 0
                                   else "the expected answer is missing in some repeats",))
    constraints = [name for name, passed in checks.items() if name.startswith(CONSTRAINT_PREFIX) and passed is not None]
    if not constraints:
        return ItemVerdict(None, ("no accepted answer and no constraint the checks can verify",))
    reasons = tuple(f"not as asked: {name.removeprefix(CONSTRAINT_PREFIX)}" if name.startswith(CONSTRAINT_PREFIX)
                    else _CHECK_FAILURES.get(name, f"the {name} check failed")
                    for name, passed in checks.items() if passed is False)
    return ItemVerdict(not reasons, reasons)


def pass_rate(side: str, verdicts: tuple[ItemVerdict, ...]) -> PassRate:
    decided = [v for v in verdicts if v.acceptable is not None]
    passed = sum(1 for v in decided if v.acceptable)
    unanswered = sum(1 for v in verdicts if not v.answered)
    undecided = len(verdicts) - len(decided) - unanswered
    if not decided:
        return PassRate(side, 0, 0, undecided, unanswered, None, None, None)
    low, high = wilson_interval(passed, len(decided))
    return PassRate(side, passed, len(decided), undecided, unanswered, passed / len(decided), low, high)
