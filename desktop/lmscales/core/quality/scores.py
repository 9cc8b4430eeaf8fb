"""Scores against a reference: chrF++, chrF and BLEU (sacrebleu), ROUGE-L (rouge-score), key facts, answers.

Every score is 0-100 and carries the sacrebleu signature (or a description of the rule) that produced it, so a
reader can reproduce it. Nothing here downloads anything: sacrebleu's tokenizers used are 13a, zh and char
(never flores/spm, which fetch models), and ROUGE-L uses rouge-score's default tokenizer with its bundled
Porter stemmer (never `split_summaries`, which needs an NLTK download).

ROUGE-L is for English only: rouge-score's default tokenizer keeps only [a-z0-9], so accented or non-Latin
text loses its words. Summaries in any other language are scored with chrF.

Key facts (`key_facts`): a fact counts as found when
- every number in it (digits, or an English number word up to twenty) appears among the output's numbers,
  compared after removing thousands separators ("1,200" = "1 200" = "1200"), and
- every content word in it (three letters or more, not a stop word) appears as a word of the output,
  compared without case or accents and with a final "s" ignored ("bridges" = "bridge"); the parts of a
  hyphenated word count as words too ("nine-month" contains "nine" and "month").
So write key facts as short noun phrases with their figures ("1,200 workers", "Lisbon", "opened in 1998").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lmscales.core.quality import text as tx

ROUGE_SIGNATURE = "rouge-score 0.1.2|rougeL|fmeasure|stemmer:porter|tokenizer:default"
KEY_FACT_RULE = "key-facts v1|numbers exact|content words case/accent-insensitive|final s ignored"
ANSWER_RULE = "answer v1|any accepted variant as whole words|case/accent-insensitive"


@dataclass(frozen=True)
class Score:
    """One reference score: `name` (chrF++, BLEU, chrF, ROUGE-L, key facts, answer), a 0-100 `value`, and the
    `signature` that says exactly how it was computed."""

    name: str
    value: float
    signature: str
    detail: str = ""


def _bleu_tokenizer(language: str | None) -> str:
    if language == "zh":
        return "zh"
    if language in {"ja", "ko", "th"}:
        return "char"  # ja-mecab/ko-mecab need extra packages; char is offline and still comparable
    return "13a"


@lru_cache(maxsize=8)
def _chrf_metric(word_order: int) -> Any:
    from sacrebleu.metrics.chrf import CHRF

    return CHRF(word_order=word_order)


@lru_cache(maxsize=8)
def _bleu_metric(tokenize: str, sentence: bool) -> Any:
    from sacrebleu.metrics.bleu import BLEU

    return BLEU(tokenize=tokenize, effective_order=sentence)


def _signature(metric: Any) -> str:
    return str(metric.get_signature().format())


def chrf(hypothesis: str, references: Sequence[str]) -> Score:
    """Sentence-level chrF (character n-grams only)."""
    metric = _chrf_metric(0)
    return Score("chrF", float(metric.sentence_score(hypothesis, list(references)).score), _signature(metric))


def chrf_pp(hypothesis: str, references: Sequence[str]) -> Score:
    """Sentence-level chrF++ (characters and word bigrams), the default translation score here."""
    metric = _chrf_metric(2)
    return Score("chrF++", float(metric.sentence_score(hypothesis, list(references)).score), _signature(metric))


def bleu(hypothesis: str, references: Sequence[str], language: str | None = None) -> Score:
    """Sentence-level BLEU with effective order (short sentences do not collapse to zero)."""
    metric = _bleu_metric(_bleu_tokenizer(language), True)
    return Score("BLEU", float(metric.sentence_score(hypothesis, list(references)).score), _signature(metric))


def corpus_chrf_pp(hypotheses: Sequence[str], references: Sequence[str]) -> Score:
    """chrF++ over a whole set (one reference each), as sacrebleu's CLI computes it."""
    metric = _chrf_metric(2)
    result = metric.corpus_score(list(hypotheses), [list(references)])
    return Score("chrF++", float(result.score), _signature(metric))


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], language: str | None = None) -> Score:
    metric = _bleu_metric(_bleu_tokenizer(language), False)
    result = metric.corpus_score(list(hypotheses), [list(references)])
    return Score("BLEU", float(result.score), _signature(metric))


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(hypothesis: str, reference: str) -> Score:
    """ROUGE-L F-measure ×100 (English only: see the module docstring)."""
    result = _rouge_scorer().score(reference, hypothesis)["rougeL"]
    return Score("ROUGE-L", float(result.fmeasure) * 100.0, ROUGE_SIGNATURE)


def summary_score(hypothesis: str, reference: str, language: str = "en") -> Score:
    """ROUGE-L for English summaries, chrF for any other language."""
    return rouge_l(hypothesis, reference) if language == "en" else chrf(hypothesis, [reference])


# -- key facts and short answers ---------------------------------------------------------------------------

_STOP_WORDS = {
    "the", "and", "for", "with", "from", "that", "this", "was", "were", "are", "has", "have", "had", "its", "into",
    "than", "then", "their", "there", "been", "will", "would", "about", "over", "under", "after", "before",
    "per", "but", "not", "all", "any", "each", "which", "who", "whom", "what", "when", "where", "while", "since",
    "les", "des", "une", "und", "der", "die", "das", "los", "las", "del",
}


def _stem(word: str) -> str:
    folded = tx.fold(word)
    return folded[:-1] if len(folded) > 3 and folded.endswith("s") else folded


def _content_words(text: str) -> list[str]:
    return [
        _stem(word) for word in tx.words(text)
        if len(word) >= 3 and not re.fullmatch(r"[\d.,]+", word) and tx.fold(word) not in _STOP_WORDS
        and tx.fold(word) not in tx.NUMBER_WORDS
    ]


def fact_found(fact: str, output: str) -> bool:
    """The rule in the module docstring, for one fact."""
    output_numbers = tx.number_values(output)
    output_words = {_stem(word) for word in tx.word_parts(output)}
    return tx.number_values(fact) <= output_numbers and all(word in output_words for word in _content_words(fact))


@dataclass(frozen=True)
class FactResult:
    found: tuple[str, ...]
    missed: tuple[str, ...]

    @property
    def score(self) -> Score:
        total = len(self.found) + len(self.missed)
        value = 100.0 * len(self.found) / total if total else 0.0
        detail = f"{len(self.found)} of {total} key facts found" + (
            f"; missed: {'; '.join(self.missed)}" if self.missed else "")
        return Score("key facts", value, KEY_FACT_RULE, detail)


def key_facts(output: str, facts: Sequence[str]) -> FactResult:
    found = tuple(fact for fact in facts if fact_found(fact, output))
    return FactResult(found, tuple(fact for fact in facts if fact not in found))


def answer_found(output: str, accepted: Sequence[str]) -> Score:
    """100 when any accepted answer appears in the output as whole words (case/accent-insensitive), else 0.

    Accepted answers that are numbers match the output's numbers (so "8849" matches "8,849 m")."""
    folded = " " + " ".join(tx.fold(word) for word in tx.words(output)) + " "
    output_numbers = set(tx.numbers(output))
    for variant in accepted:
        variant_numbers = tx.numbers(variant)
        only_a_number = len(variant_numbers) == 1 and not any(ch.isalpha() for ch in variant)
        if only_a_number and variant_numbers[0] in output_numbers:
            return Score("answer", 100.0, ANSWER_RULE, f"Found the expected answer “{variant}”.")
        needle = " " + " ".join(tx.fold(word) for word in tx.words(variant)) + " "
        if needle.strip() and needle in folded:
            return Score("answer", 100.0, ANSWER_RULE, f"Found the expected answer “{variant}”.")
    return Score("answer", 0.0, ANSWER_RULE, f"Expected {' or '.join(f'“{a}”' for a in accepted[:3])}; not found.")


def reference_scores(
    task: str,
    output: str,
    *,
    reference: str | None = None,
    target_language: str | None = None,
    key_fact_list: Sequence[str] = (),
    answers: Sequence[str] = (),
) -> tuple[Score, ...]:
    """The reference scores that apply to one answer: translate -> chrF++ and BLEU; summarize -> ROUGE-L (English)
    or chrF, and key facts; chat -> answer found (when accepted answers are given) and chrF++ (when a reference
    is given)."""
    scores: list[Score] = []
    if task == "translate":
        if reference is None:
            raise ValueError("a translation score needs a reference")
        scores += [chrf_pp(output, [reference]), bleu(output, [reference], target_language)]
    elif task == "summarize":
        if reference is not None:
            scores.append(summary_score(output, reference, target_language or "en"))
        if key_fact_list:
            scores.append(key_facts(output, key_fact_list).score)
    elif task == "chat":
        if answers:
            scores.append(answer_found(output, answers))
        if reference is not None:
            scores.append(chrf_pp(output, [reference]))
    else:
        raise ValueError(f"unknown task {task!r}")
    return tuple(scores)
