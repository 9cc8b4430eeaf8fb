"""Checks that need no reference: cheap, explainable signs that an answer is wrong, run after every run.

Each check gives a `Check` with `passed` True/False, or None where it cannot tell (too short to identify a
language, no constraint in the prompt), a number where one helps, and a `detail` sentence written for the
tooltip under the pane. They flag; they do not grade: a translation can pass every check and still be poor.

- translate: the output is in the target language (py3langid, offline, restricted to the app's languages);
  it is not a copy of the source (chrF of output against source, or the source found inside the output);
  its length is plausible (characters, 0.5 to 2 times the source's); repetition ("el cielo es el cielo, el
  cielo" from the bundled model).
- summarize: its length fits the requested form (`tasks.SUMMARY_LENGTHS`); numbers and capitalised names that
  are not in the source (a cheap hallucination flag); repetition.
- chat: empty or refused; repetition; and each constraint stated in the prompt that can be verified:
  "in two sentences", "as a list of three", "in French", "under 50 words" (and "in one word", "answer yes or
  no").
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from lmscales.core.quality import text as tx
from lmscales.core.tasks import LANGUAGES, SUMMARY_LENGTHS, SummaryLength, TaskName

# Below this many letters, language identification is a guess: the check says it cannot tell.
MIN_LETTERS_FOR_LANGUAGE = 12
COPY_CHRF_THRESHOLD = 70.0
LENGTH_RATIO_RANGE = (0.5, 2.0)
REPEATED_NGRAM_LIMIT = 0.2  # share of repeated word 4-grams above which an answer is called repetitive


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool | None
    score: float | None
    detail: str


@dataclass(frozen=True)
class CheckOptions:
    """What a check needs beyond the input and the output: the run's task parameters."""

    target_language: str | None = None  # translate: ISO 639-1 code
    source_language: str | None = None  # translate: ISO 639-1 code, or None/"auto" when detected
    summary_length: SummaryLength = "paragraph"


# -- language identification ------------------------------------------------------------------------------

_identifier_lock = threading.Lock()
_identifier: Any = None


def _language_identifier() -> Any:
    """py3langid's model (shipped in the package, ~1 s to load once), restricted to the app's languages."""
    global _identifier
    with _identifier_lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            # py3langid 0.4 renamed the loader; both versions ship the model inside the package.
            loader = getattr(LanguageIdentifier, "from_model_file", None) or LanguageIdentifier.from_pickled_model
            identifier = loader(MODEL_FILE, norm_probs=True)
            identifier.set_languages([code for code in LANGUAGES if code in set(identifier.nb_classes)])
            _identifier = identifier
        return _identifier


def identify_language(text: str) -> tuple[str, float] | None:
    """(ISO 639-1 code, probability) among the app's languages, or None when the text is too short to tell."""
    letters = sum(ch.isalpha() for ch in text)
    if letters < MIN_LETTERS_FOR_LANGUAGE:
        return None
    code, probability = _language_identifier().classify(text)
    return str(code), float(probability)


def _name(code: str) -> str:
    return LANGUAGES.get(code, code)


def language_check(output: str, target: str, name: str = "language") -> Check:
    found = identify_language(output)
    if found is None:
        return Check(name, None, None, f"Too short to tell whether it is {_name(target)}.")
    code, probability = found
    if code == target:
        return Check(name, True, probability, f"Reads as {_name(target)} ({probability:.0%} sure).")
    return Check(name, False, probability,
                 f"Reads as {_name(code)} ({probability:.0%} sure), not {_name(target)}.")


# -- shared checks --------------------------------------------------------------------------------------------

def repetition_check(output: str) -> Check:
    """Share of word 4-grams that repeat an earlier one; a model stuck in a loop scores high. A short answer
    (under 30 words) that says the same two words three times ("un pyéromat, un pyéromat, un pyéromat") is a
    loop too."""
    tokens = [word.casefold() for word in tx.words(output)]
    if len(tokens) < 30:
        pairs = Counter(itertools.pairwise(tokens))
        if pairs:
            pair, count = pairs.most_common(1)[0]
            if count >= 3:
                return Check("repetition", False, float(count),
                             f"Repeats itself: “{' '.join(pair)}” {count} times in {len(tokens)} words.")
    grams = [tuple(tokens[i:i + 4]) for i in range(len(tokens) - 3)]
    if len(grams) < 8:
        return Check("repetition", True, 0.0, "No repetition.")
    counts = Counter(grams)
    repeated = sum(count - 1 for count in counts.values())
    share = repeated / len(grams)
    if share > REPEATED_NGRAM_LIMIT:
        phrase = " ".join(counts.most_common(1)[0][0])
        return Check("repetition", False, share,
                     f"Repeats itself: {share:.0%} of its four-word phrases occur earlier (e.g. “{phrase}”).")
    return Check("repetition", True, share, f"No loop: {share:.0%} of its four-word phrases repeat.")


def empty_check(output: str) -> Check | None:
    if not output.strip():
        return Check("empty", False, None, "The answer is empty.")
    return None


# -- translate --------------------------------------------------------------------------------------------------

def copy_check(source: str, output: str) -> Check:
    from lmscales.core.quality.scores import chrf

    similarity = chrf(output, [source]).value
    folded_source, folded_output = tx.fold(source), tx.fold(output)
    contained = len(tx.words(source)) >= 3 and folded_source in folded_output
    if contained:
        return Check("copy", False, similarity, "The source text appears unchanged inside the output.")
    if similarity >= COPY_CHRF_THRESHOLD:
        return Check("copy", False, similarity,
                     f"Nearly a copy of the source (chrF {similarity:.0f} against it; {COPY_CHRF_THRESHOLD:.0f} or "
                     "more is flagged).")
    return Check("copy", True, similarity, f"Not a copy of the source (chrF {similarity:.0f} against it).")


def length_ratio_check(source: str, output: str) -> Check:
    source_chars = len(source.strip())
    ratio = len(output.strip()) / max(source_chars, 1)
    low, high = LENGTH_RATIO_RANGE
    if source_chars < 20:  # "Hi!" -> "Bonjour !" is fine: short texts vary a lot
        low, high = low / 2, high * 2
    if low <= ratio <= high:
        return Check("length", True, ratio, f"{ratio:.1f}× the source's length: plausible.")
    if ratio < low:
        return Check("length", False, ratio, f"Only {ratio:.1f}× the source's length: parts may be missing.")
    return Check("length", False, ratio, f"{ratio:.1f}× the source's length: it likely adds text of its own.")


def translation_checks(source: str, output: str, options: CheckOptions) -> tuple[Check, ...]:
    if options.target_language is None:
        raise ValueError("translation checks need options.target_language")
    empty = empty_check(output)
    if empty is not None:
        return (empty,)
    return (language_check(output, options.target_language), copy_check(source, output),
            length_ratio_check(source, output), repetition_check(output))


# -- summarize ------------------------------------------------------------------------------------------------

def summary_form_check(source: str, output: str, length: SummaryLength) -> Check:
    requested = SUMMARY_LENGTHS[length]
    sentence_count = len(tx.sentences(output))
    items = tx.list_items(output)
    output_words = tx.word_count(output)
    if output_words >= tx.word_count(source):
        return Check("form", False, float(output_words),
                     f"As long as the text it summarizes ({output_words} words); asked {requested}.")
    if length == "sentence":
        ok = sentence_count == 1 and not items and output_words <= 60
        what = f"{sentence_count} sentence{'s' * (sentence_count != 1)}, {output_words} words"
    elif length == "paragraph":
        ok = 3 <= sentence_count <= 5 and len(items) < 2
        what = f"{sentence_count} sentence{'s' * (sentence_count != 1)}" + (
            f" in {len(items)} list items" if len(items) >= 2 else "")
    else:
        ok = 3 <= len(items) <= 5
        what = f"{len(items)} bullet point{'s' * (len(items) != 1)}"
    verdict = "as asked" if ok else "asked"
    return Check("form", ok, float(sentence_count if length != "bullets" else len(items)),
                 f"{what[0].upper()}{what[1:]}; {verdict} {requested}.")


_NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w’'-]*\b")
# Capitalised words that start sentences or are common in summaries without being names.
_COMMON_CAPITALS = {"i", "the", "a", "an", "this", "these", "it", "in", "on", "at", "by", "for", "overall", "however",
                    "summary", "text", "article", "author", "they", "he", "she", "we", "its", "their", "also", "both"}


def _names(text: str) -> list[str]:
    names = []
    for sentence in tx.sentences(text):
        matches = list(_NAME.finditer(sentence))
        for match in matches:
            if match.start() == 0:
                continue  # the first word of a sentence is capitalised anyway
            names.append(match.group(0))
    return names


def unsupported_facts_check(source: str, output: str) -> Check:
    """Numbers (in digits) and mid-sentence capitalised words in the summary that the source never mentions;
    a number the source writes as a word ("eighteen") supports the same number in digits."""
    source_numbers = tx.number_values(source)  # "eighteen months" in the source supports "18 months"
    source_words = {tx.fold(word) for word in tx.words(source)}
    folded_source = tx.fold(source)
    missing_numbers = [n for n in dict.fromkeys(tx.numbers(output)) if n not in source_numbers]
    missing_names = [
        name for name in dict.fromkeys(_names(output))
        if tx.fold(name) not in _COMMON_CAPITALS and tx.fold(name) not in source_words
        and tx.fold(name) not in folded_source
    ]
    unsupported = missing_numbers + missing_names
    if not unsupported:
        return Check("unsupported", True, 0.0, "Every number and name in it is in the source.")
    shown = ", ".join(unsupported[:5]) + (" …" if len(unsupported) > 5 else "")
    return Check("unsupported", False, float(len(unsupported)),
                 f"Not in the source: {shown} (possible invention; a check by string match, not by meaning).")


def summary_checks(source: str, output: str, options: CheckOptions) -> tuple[Check, ...]:
    empty = empty_check(output)
    if empty is not None:
        return (empty,)
    return (summary_form_check(source, output, options.summary_length), unsupported_facts_check(source, output),
            repetition_check(output))


# -- chat ---------------------------------------------------------------------------------------------------------

_REFUSALS = re.compile(
    r"\b(?:I(?:'m| am) (?:sorry|afraid),? (?:but )?I (?:can(?:'|no)t|cannot|am unable|won't)"
    r"|I (?:can(?:'|no)t|cannot|am unable to|won't) (?:help|assist|provide|answer|do that|comply)"
    r"|as an AI(?: language model)?,? I (?:can(?:'|no)t|cannot|don't|do not))",
    re.IGNORECASE,
)
_NUMBER_WORD = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a single|single)"
_LANGUAGE_NAMES = {name.casefold(): code for code, name in LANGUAGES.items()}
_LANGUAGE_ALTERNATION = "|".join(sorted((re.escape(name) for name in LANGUAGES.values()), key=len, reverse=True))


@dataclass(frozen=True)
class Constraint:
    """A verifiable demand found in a prompt; `kind` is sentences, items, language, words_max, words_exact or
    yes_no."""

    kind: str
    value: int | str
    phrase: str


_I = re.IGNORECASE
_SENTENCES = re.compile(rf"\b(?:in|using|with|write|exactly|of)\s+(?:exactly\s+)?{_NUMBER_WORD}\s+sentences?\b", _I)
_LIST_OF = re.compile(
    rf"\b(?:as|in|with)\s+a\s+(?:bulleted\s+|numbered\s+)?list\s+of\s+(?:exactly\s+)?{_NUMBER_WORD}\b", _I)
_LIST_N = re.compile(rf"\blist\s+(?:exactly\s+)?{_NUMBER_WORD}\b|\b{_NUMBER_WORD}\s+bullet\s*points?\b", _I)
_ANSWER_IN = re.compile(
    rf"\b(?:answer|reply|respond|write|written|say it|explain)\b[^.?!\n]*?\bin ({_LANGUAGE_ALTERNATION})\b", _I)
_ENDS_IN = re.compile(rf"\bin ({_LANGUAGE_ALTERNATION})\s*[.!]?\s*$", _I)  # "... in German." (not a question)
_WORDS_MAX = re.compile(
    r"\b(?:under|fewer than|less than|at most|no more than|not more than|maximum of|within|in)\s+(\d+)\s+words"
    r"(?:\s+or\s+(?:less|fewer))?\b", _I)
_ONE_WORD = re.compile(r"\b(?:in|with|using)\s+(?:exactly\s+)?(?:one|a single)\s+word\b|\bone[- ]word answer\b", _I)
_YES_NO = re.compile(r"\banswer\s+(?:only\s+)?(?:with\s+)?[\"“]?yes[\"”]?\s+or\s+[\"“]?no\b", _I)


def parse_constraints(prompt: str) -> tuple[Constraint, ...]:
    """The constraints stated in a chat prompt (see the module docstring for the forms understood)."""
    found: list[Constraint] = []
    match = _SENTENCES.search(prompt)
    count = tx.number_word_value(match.group(1)) if match else None
    if match and count:
        found.append(Constraint("sentences", count, match.group(0)))
    match = _LIST_OF.search(prompt) or _LIST_N.search(prompt)
    count = tx.number_word_value(next(group for group in match.groups() if group)) if match else None
    if match and count:
        found.append(Constraint("items", count, match.group(0)))
    match = _ANSWER_IN.search(prompt) or _ENDS_IN.search(prompt.strip())
    if match:
        found.append(Constraint("language", _LANGUAGE_NAMES[match.group(1).casefold()], match.group(0)))
    match = _WORDS_MAX.search(prompt)
    if match:
        limit = int(match.group(1))
        strict = match.group(0).lower().split()[0] in {"under", "fewer", "less"}
        found.append(Constraint("words_max", limit - 1 if strict else limit, match.group(0)))
    match = _ONE_WORD.search(prompt)
    if match:
        found.append(Constraint("words_exact", 1, match.group(0)))
    match = _YES_NO.search(prompt)
    if match:
        found.append(Constraint("yes_no", "yes/no", match.group(0)))
    return tuple(found)


def constraint_check(constraint: Constraint, output: str) -> Check:
    name = f"asked: {constraint.phrase.strip()}"
    if constraint.kind == "sentences":
        count = len(tx.sentences(output))
        ok = count == constraint.value
        return Check(name, ok, float(count), f"{count} sentence{'s' * (count != 1)}; asked for {constraint.value}.")
    if constraint.kind == "items":
        count = len(tx.list_items(output))
        ok = count == constraint.value
        return Check(name, ok, float(count), f"{count} list item{'s' * (count != 1)}; asked for {constraint.value}.")
    if constraint.kind == "language":
        return language_check(output, str(constraint.value), name)
    if constraint.kind in {"words_max", "words_exact"}:
        count = tx.word_count(output)
        if constraint.kind == "words_max":
            ok = count <= int(constraint.value)
            asked = f"at most {constraint.value}"
        else:
            ok = count == constraint.value
            asked = f"exactly {constraint.value}"
        return Check(name, ok, float(count), f"{count} word{'s' * (count != 1)}; asked for {asked}.")
    if constraint.kind == "yes_no":
        first = tx.words(output)[:1]
        ok = bool(first) and first[0].casefold() in {"yes", "no"}
        return Check(name, ok, None, "Starts with yes or no." if ok else "Does not start with yes or no.")
    raise ValueError(f"unknown constraint kind {constraint.kind!r}")


def refusal_check(output: str) -> Check:
    match = _REFUSALS.search(output)
    if match:
        return Check("refused", False, None, f"Looks like a refusal: “{match.group(0)}…”.")
    return Check("refused", True, None, "Answers rather than refuses.")


def chat_checks(prompt: str, output: str) -> tuple[Check, ...]:
    empty = empty_check(output)
    if empty is not None:
        return (empty,)
    return (refusal_check(output), repetition_check(output),
            *(constraint_check(constraint, output) for constraint in parse_constraints(prompt)))


def checks_passed(checks: tuple[Check, ...]) -> float | None:
    """Share of the checks that could decide (passed is not None) that passed, 0-100; None when none could."""
    decided = [check for check in checks if check.passed is not None]
    if not decided:
        return None
    return 100.0 * sum(bool(check.passed) for check in decided) / len(decided)


def run_checks(task: TaskName, input_text: str, output_text: str, options: CheckOptions | None = None
               ) -> tuple[Check, ...]:
    """All reference-free checks for one answer. `input_text` is the user's text (source, document or prompt)."""
    options = options or CheckOptions()
    if task == "translate":
        return translation_checks(input_text, output_text, options)
    if task == "summarize":
        return summary_checks(input_text, output_text, options)
    if task == "chat":
        return chat_checks(input_text, output_text)
    raise ValueError(f"unknown task {task!r}")
