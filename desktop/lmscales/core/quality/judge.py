"""The blind pairwise judge: a third model (or the large side, labelled as a contestant) compares two answers.

As MT-Bench and Arena-Hard do it: the answers are shown as "Answer 1" and "Answer 2" with no model names, once
in each order, at temperature 0, with a per-task rubric, and the judge must end with one strict verdict token:
`[[1]]`, `[[2]]` or `[[TIE]]`. A side wins an item only when both orders prefer it; any disagreement (or a tie
in either order) is a tie. A reply without exactly one verdict token is reported as "unparsed" with its raw
text, never guessed; an engine error is reported as "error" with the user-facing message.

The judge is given any object with the engine's `generate(GenerationRequest) -> Iterator[Event]` (the remote
engine in practice); it never builds one. The small local model is never a judge: `Judge` refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from lmscales.core.events import EngineError, EngineInfo, Event, Finished, GenerationRequest, Message, TextDelta
from lmscales.core.tasks import LANGUAGES, TaskName

PROMPT_VERSION = "lmscales-judge-2026-11-v1"
VERDICT_TOKEN = re.compile(r"\[\[\s*(1|2|TIE)\s*\]\]", re.IGNORECASE)

Outcome = Literal["a", "b", "tie", "unparsed", "error"]
OrderVerdict = Literal["1", "2", "tie"]

RUBRICS: dict[TaskName, str] = {
    "translate": (
        "Judge the two translations on:\n"
        "- Adequacy: does it convey all the meaning of the source, adding and omitting nothing?\n"
        "- Fluency: is it natural, grammatical text in the target language?\n"
        "A translation in the wrong language, or one that copies the source, is poor whatever its fluency."
    ),
    "summarize": (
        "Judge the two summaries on:\n"
        "- Coherence: is it well organised and easy to follow?\n"
        "- Consistency: does it state only facts supported by the text (no invented names, numbers or claims)?\n"
        "- Fluency: is it well written?\n"
        "- Relevance: does it keep the important points and leave out the unimportant ones?\n"
        "It should also follow the requested length or form."
    ),
    "chat": (
        "Judge the two answers on:\n"
        "- Helpfulness: does it do what the user asked, including any stated constraint (length, form, language)?\n"
        "- Correctness: is every factual statement in it true?\n"
        "A short correct answer beats a long one with an error."
    ),
}

SYSTEM_PROMPT = (
    "You are an impartial judge comparing two AI assistants' answers to the same request. Do not let the order "
    "of the answers, their length or their style sway you. Do not favour either assistant by name: they have "
    "none. Explain your judgement briefly, then give your verdict on the last line as exactly one of: [[1]] if "
    "Answer 1 is better, [[2]] if Answer 2 is better, [[TIE]] if they are equally good or equally bad."
)


class JudgeRefused(ValueError):
    """A judge that must not be used; the message is for the user."""


SMALL_MODEL_REFUSED = ("The small local model cannot be the judge: it would grade answers it cannot itself get right. "
                       "Choose a third endpoint, or the large side (labelled “judge is also a contestant”).")


class Generates(Protocol):
    """The part of an engine the judge uses (`lmscales.core.engines.base.Engine` satisfies it)."""

    def generate(self, request: GenerationRequest) -> Iterator[Event]: ...


class DescribedEngine(Generates, Protocol):
    """An engine that says what it is (every engine of LM Scales does, through `info`)."""

    @property
    def info(self) -> EngineInfo | None: ...


@dataclass(frozen=True)
class JudgeContext:
    """What the request was: the task, the user's text, and the task's parameters as shown to the judge."""

    task: TaskName
    input_text: str
    target_language: str | None = None
    summary_form: str | None = None  # e.g. tasks.SUMMARY_LENGTHS["bullets"]


@dataclass(frozen=True)
class OrderResult:
    """One presentation: which answer was shown first, the raw reply, and the parsed token (None: unparsed)."""

    first_shown: Literal["a", "b"]
    verdict: OrderVerdict | None
    raw: str
    error: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The judge's verdict on one item. `outcome` "a"/"b" is the side preferred in both orders."""

    outcome: Outcome
    orders: tuple[OrderResult, ...]
    judge_model: str
    prompt_version: str
    judge_is_contestant: bool
    detail: str


def parse_verdict(reply: str) -> OrderVerdict | None:
    """The one verdict token in `reply`; None when there is none or when different tokens appear."""
    tokens = {match.group(1).upper() for match in VERDICT_TOKEN.finditer(reply)}
    if len(tokens) != 1:
        return None
    token = tokens.pop()
    return "tie" if token == "TIE" else ("1" if token == "1" else "2")


def _request_text(context: JudgeContext) -> str:
    if context.task == "translate":
        target = LANGUAGES.get(context.target_language or "", context.target_language or "the target language")
        return f"Translate the following text into {target}.\n\n{context.input_text}"
    if context.task == "summarize":
        form = f" {context.summary_form}" if context.summary_form else ""
        return f"Summarize the following text{form}.\n\n{context.input_text}"
    return context.input_text


def judge_messages(context: JudgeContext, answer_1: str, answer_2: str) -> tuple[Message, ...]:
    """The judge's prompt for one order: rubric, the request, and the two answers under neutral labels."""
    user = (
        f"{RUBRICS[context.task]}\n\n"
        f"[Request]\n{_request_text(context)}\n[End of request]\n\n"
        f"[Answer 1]\n{answer_1}\n[End of Answer 1]\n\n"
        f"[Answer 2]\n{answer_2}\n[End of Answer 2]\n\n"
        "Give a short explanation, then the verdict token on the last line."
    )
    return (Message("system", SYSTEM_PROMPT), Message("user", user))


def collect_text(engine: Generates, request: GenerationRequest) -> tuple[str, EngineError | None]:
    """All text of one generation; stops at Finished or at the first EngineError (returned with partial text)."""
    parts: list[str] = []
    for event in engine.generate(request):
        if isinstance(event, TextDelta):
            if event.kind == "answer":  # a judge that thinks: only its answer holds the verdict
                parts.append(event.text)
        elif isinstance(event, Finished):
            return "".join(parts) or event.text, None
        elif isinstance(event, EngineError):
            return "".join(parts) or event.partial_text, event
    return "".join(parts), None


def combine(first: OrderResult, second: OrderResult) -> tuple[Outcome, str]:
    """Both orders -> an outcome for answers a/b, with a sentence saying why."""
    for result in (first, second):
        if result.error is not None:
            return "error", f"The judge failed: {result.error}"
    for result in (first, second):
        if result.verdict is None:
            return "unparsed", "The judge's reply had no single verdict token ([[1]], [[2]] or [[TIE]])."

    def preferred(result: OrderResult) -> str:
        if result.verdict == "tie":
            return "tie"
        shown_first = result.first_shown
        other = "b" if shown_first == "a" else "a"
        return shown_first if result.verdict == "1" else other

    one, two = preferred(first), preferred(second)
    if one == two and one != "tie":
        return ("a" if one == "a" else "b"), f"Answer {one} preferred in both orders."
    if one == two:
        return "tie", "A tie in both orders."
    return "tie", f"The orders disagree ({one} then {two}): counted as a tie."


class Judge:
    """Judges pairs with one engine; construct once per evaluation and call `judge` per item.

    `engine_is_local` must be True when the engine is the small local model: the constructor then refuses.
    `is_contestant` marks the large side judging itself; it is stored with every verdict for the report.
    With `offline` the judge is refused unless its server is `on_this_computer` (a loopback endpoint)."""

    def __init__(
        self,
        engine: Generates,
        model: str,
        *,
        engine_is_local: bool,
        is_contestant: bool = False,
        offline: bool = False,
        on_this_computer: bool = False,
        max_tokens: int = 512,
    ) -> None:
        if offline and not on_this_computer:
            raise JudgeRefused(
                "Offline mode keeps every connection on this computer, so the judge is off: choose a judge served "
                "on this computer, or leave offline mode."
            )
        if engine_is_local:
            raise JudgeRefused(SMALL_MODEL_REFUSED)
        if not model.strip():
            raise JudgeRefused("The judge needs a model name so each verdict can say who judged it.")
        self.engine = engine
        self.model = model
        self.is_contestant = is_contestant
        self.max_tokens = max_tokens

    @classmethod
    def from_engine(cls, engine: DescribedEngine, *, is_contestant: bool = False, offline: bool = False,
                    max_tokens: int = 512) -> Judge:
        """A judge for an engine that describes itself: its model, whether it is local, and whether its server is
        on this computer all come from `engine.info`."""
        info = engine.info
        if info is None:
            raise JudgeRefused("The judge's engine is not ready yet: it has no model loaded.")
        return cls(engine, info.model, engine_is_local=info.model_runs == "this_cpu", is_contestant=is_contestant,
                   offline=offline, on_this_computer=info.on_this_computer, max_tokens=max_tokens)

    def _ask(self, context: JudgeContext, first: str, second: str, first_shown: Literal["a", "b"]) -> OrderResult:
        request = GenerationRequest(judge_messages(context, first, second), max_tokens=self.max_tokens,
                                    temperature=0.0, top_p=1.0, seed=0)
        raw, error = collect_text(self.engine, request)
        if error is not None:
            return OrderResult(first_shown, None, raw, error.message)
        return OrderResult(first_shown, parse_verdict(raw), raw)

    def judge(self, context: JudgeContext, answer_a: str, answer_b: str) -> Verdict:
        """Both orders: a as Answer 1 then b as Answer 1. An error in the first order skips the second."""
        first = self._ask(context, answer_a, answer_b, "a")
        if first.error is not None:
            orders: tuple[OrderResult, ...] = (first,)
            outcome, detail = combine(first, first)
        else:
            second = self._ask(context, answer_b, answer_a, "b")
            orders = (first, second)
            outcome, detail = combine(first, second)
        return Verdict(outcome, orders, self.model, PROMPT_VERSION, self.is_contestant, detail)
