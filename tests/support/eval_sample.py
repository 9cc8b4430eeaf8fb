"""A realistic, hand-made `EvalResult` for report tests and the README screenshot.

Its answers are written, not generated: the large side answers with the set's reference (or a close variant),
the small side with the kinds of answers the bundled 135M model really gives (a copy of the source, a chatty
preface, a wrong fact, the text's first sentences as a "summary"). Scores are then computed by the real
scoring code, so the figures and the verdict are what the report would show for such answers. Timings are
drawn from a seeded generator around values measured on a 2-core machine (local TTFT ~0.1 s, decode ~40 tok/s;
loopback/remote TTFT ~0.5 s), with one planted outlier.
"""

from __future__ import annotations

import numpy as np

from lmscales.core.quality import text as tx
from lmscales.core.quality.checks import CheckOptions, checks_passed, run_checks
from lmscales.core.quality.results import (
    EvalResult,
    ItemResult,
    JudgeSummary,
    RunMetadata,
    SideCost,
    SideInfo,
    TaskResult,
)
from lmscales.core.quality.scores import ROUGE_SIGNATURE, chrf_pp, reference_scores
from lmscales.core.quality.sets import EvalItem, load_set

SIDES = (
    SideInfo("small", "SmolLM2-135M on this CPU", "SmolLM2-135M-Instruct Q4_1", "this computer", "local"),
    SideInfo("large", "gpt-4o-mini via API", "gpt-4o-mini", "api.example.test", "remote"),
)


def _small_translation(item: EvalItem, index: int) -> str:
    if index % 4 == 0:
        return f"I am happy to translate this. {item.input}"
    if index % 4 == 1:
        return item.input
    if index % 4 == 2:
        words = (item.reference or "").split()
        return " ".join(words[: max(2, len(words) // 2)])
    return item.reference or ""


def _large_translation(item: EvalItem, index: int) -> str:
    """Right, but not word for word: references are not the only correct translation."""
    words = (item.reference or "").split()
    if index % 3 == 0 and len(words) > 4:
        words[1], words[2] = words[2], words[1]
        return " ".join(words)
    if index % 3 == 1 and len(words) > 4:
        return " ".join([*words[:-2], words[-1]])
    return " ".join(words).replace(",", "")


def _large_summary(item: EvalItem, index: int) -> str:
    sentences = tx.sentences(item.reference or "")
    if len(sentences) > 2 and index % 2:
        return " ".join(sentences[:-1])
    return item.reference or ""


def _scores(task: str, item: EvalItem, output: str) -> dict[str, float]:
    scores = {s.name: s.value for s in reference_scores(
        task, output, reference=item.reference, target_language=item.target_language,
        key_fact_list=item.key_facts, answers=item.answers)}
    options = CheckOptions(target_language=item.target_language, summary_length=item.summary_length)
    passed = checks_passed(run_checks(task, item.input, output, options))  # type: ignore[arg-type]
    if passed is not None:
        scores["checks passed"] = passed
    return scores


def _notes(task: str, item: EvalItem, output: str) -> tuple[str, ...]:
    options = CheckOptions(target_language=item.target_language, summary_length=item.summary_length)
    return tuple(c.detail for c in run_checks(task, item.input, output, options)  # type: ignore[arg-type]
                 if c.passed is False)


def _timings(rng: np.random.Generator, n: int, small: tuple[float, float], large: tuple[float, float],
             outlier: float | None = None) -> dict[str, tuple[float, ...]]:
    small_values = rng.lognormal(np.log(small[0]), small[1], n)
    large_values = rng.lognormal(np.log(large[0]), large[1], n)
    if outlier is not None:
        large_values[n // 3] = outlier
    return {"small": tuple(float(v) for v in small_values), "large": tuple(float(v) for v in large_values)}


def _task(task: str, items: tuple[EvalItem, ...], small_answer, large_answer, judge_split: tuple[int, int, int],  # type: ignore[no-untyped-def]
          rng: np.random.Generator, repeats: int, cost: float) -> TaskResult:
    results = []
    large_wins, ties, small_wins = judge_split
    outcomes = ["large"] * large_wins + ["tie"] * ties + ["small"] * small_wins + ["unparsed"]
    for index, item in enumerate(items):
        outputs = {"small": small_answer(item, index), "large": large_answer(item, index)}
        results.append(ItemResult(
            item.id, item.input, item.reference or (" / ".join(item.answers) or None), outputs,
            {side: _scores(task, item, output) for side, output in outputs.items()},
            judge=outcomes[index % len(outcomes)],
            check_notes={side: _notes(task, item, output) for side, output in outputs.items()},
        ))
    runs = len(items) * repeats
    return TaskResult(
        task=task, set_name=task, repeats=repeats, items=tuple(results),
        ttft=_timings(rng, runs, (0.09, 0.25), (0.52, 0.18), outlier=2.7),
        decode_rate=_timings(rng, runs, (41.0, 0.08), (88.0, 0.2)),
        end_to_end=_timings(rng, runs, (1.6, 0.35), (1.3, 0.3)),
        costs={"small": SideCost(0.0, 1.9, 240.0), "large": SideCost(cost, None, 6.5)},
        judge=JudgeSummary("gpt-4o", "lmscales-judge-2026-11-v1", False, large_wins, ties, small_wins, unparsed=1),
    )


def sample_result() -> EvalResult:
    rng = np.random.default_rng(2026)
    translate = load_set("translate").items[:60]
    summarize = load_set("summarize").items
    chat = load_set("chat").items[:40]

    def small_summary(item: EvalItem, index: int) -> str:
        first = tx.sentences(item.input)
        return " ".join(first[:2]) if index % 3 else " ".join(first[:1])

    def small_chat(item: EvalItem, index: int) -> str:
        if item.id == "chat-02":
            return "The tallest mountain in the world is Mount Olympus, which is located in Greece."
        if index % 3 == 0 and item.answers:
            return f"The answer is {item.answers[0]}."
        return "I'm sorry, but I can't help with that request." if index % 7 == 0 else "That is a great question."

    def large_chat(item: EvalItem, index: int) -> str:
        if item.answers:
            return f"{item.answers[0]}."
        return "Here is a short answer that follows the request."

    tasks = (
        _task("translate", translate, _small_translation, _large_translation, (54, 3, 2), rng, 2, 0.021),
        _task("summarize", summarize, small_summary, _large_summary, (16, 2, 1), rng, 2, 0.094),
        _task("chat", chat, small_chat, large_chat, (32, 5, 2), rng, 2, 0.043),
    )
    return EvalResult(
        sides=SIDES, tasks=tasks,
        metadata=RunMetadata(
            created="2026-11-28 18:40 UTC", machine="Linux x86_64 · 2 cores · 24 GiB · Python 3.11",
            app_version="0.1.0",
            parameters={"max tokens": "256", "temperature": "0.0", "seed": "42", "repeats": "2 (after 1 warm-up)",
                        "order": "sides and items interleaved", "large-side concurrency": "1"},
            signatures={"chrF++": chrf_pp("a", ["a"]).signature,
                        "BLEU": "nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0",
                        "ROUGE-L": ROUGE_SIGNATURE},
            notes=("Energy is the local machine's estimate; the large side's energy is not known.",),
        ),
    )
