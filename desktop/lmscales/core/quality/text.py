"""Small text helpers the checks and scores share: words, sentences, list items, numbers, normalisation.

They are deliberately simple and documented, because a user reads their results in a tooltip and should be
able to predict them: a sentence ends at `.`, `!` or `?` followed by a space or the end (common abbreviations
and decimals do not end one); a list item is a line starting with `-`, `*`, `•` or `1.`/`1)`.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·‣–]|\(?\d{1,2}[.)])\s+\S")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "approx.", "no.", "fig.",
                  "p.ex.", "z.b.", "bzw.", "usw.", "ca.", "sr.", "sra.", "m.", "mme.")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»”)\]]*\s+|(?<=[.!?…])[\"'»”)\]]*$")

NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "a single": 1, "single": 1,
}
# A number as written in running text: 1,200 / 1 200 / 3.5 / 3,5 / 12%; thousands separators are removed.
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:[,  ]\d{3})+(?:\.\d+)?(?![\d])|(?<![\w.,])\d+(?:[.,]\d+)?(?![\d])")


def words(text: str) -> list[str]:
    """The words of `text`, punctuation and list markers left out (numbers count as words)."""
    return _WORD.findall(text)


def word_count(text: str) -> int:
    return len(words(text))


def strip_list_marker(line: str) -> str:
    return re.sub(r"^\s*(?:[-*•·‣–]|\(?\d{1,2}[.)])\s+", "", line)


def list_items(text: str) -> list[str]:
    """Lines that look like list items (bullets or numbered)."""
    return [strip_list_marker(line) for line in text.splitlines() if _LIST_ITEM.match(line)]


def sentences(text: str) -> list[str]:
    """Sentences of running text; each list item or non-empty line without end punctuation counts as one."""
    found: list[str] = []
    for line in text.splitlines():
        line = strip_list_marker(line).strip()
        if not line:
            continue
        protected = line
        for abbreviation in _ABBREVIATIONS:
            protected = re.sub(rf"(?i)(?<![\w]){re.escape(abbreviation)}", lambda m: m.group(0).replace(".", "\0"),
                               protected)
        protected = re.sub(r"(?<=\d)\.(?=\d)", "\0", protected)
        for part in _SENTENCE_END.split(protected):
            part = part.replace("\0", ".").strip()
            if words(part):
                found.append(part)
    return found


def fold(text: str) -> str:
    """Case- and accent-insensitive form: NFKD, accents dropped, casefolded, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def normalise_number(raw: str) -> str:
    """'1,200' and '1 200' -> '1200'; '3,5' -> '3.5'; '3.50' -> '3.5'."""
    compact = raw.replace(" ", "").replace(" ", "")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", compact):
        compact = compact.replace(",", "")
    compact = compact.replace(",", ".")
    if "." in compact:
        compact = compact.rstrip("0").rstrip(".")
    return compact.lstrip("0") or "0"


def numbers(text: str) -> list[str]:
    """Every number written with digits in `text`, normalised (see `normalise_number`)."""
    return [normalise_number(match.group(0)) for match in _NUMBER.finditer(text)]


def word_parts(text: str) -> list[str]:
    """Words, with hyphenated compounds also split ("nine-month" -> "nine-month", "nine", "month")."""
    parts: list[str] = []
    for word in words(text):
        parts.append(word)
        if "-" in word:
            parts.extend(piece for piece in word.split("-") if piece)
    return parts


def number_values(text: str) -> set[str]:
    """Numbers written with digits (normalised) and English number words up to twenty, as digit strings."""
    found = set(numbers(text))
    for word in word_parts(text):
        value = NUMBER_WORDS.get(word.casefold())
        if value is not None:
            found.add(str(value))
    return found


def number_word_value(word: str) -> int | None:
    """'three' -> 3, '3' -> 3, 'a single' -> 1; None for anything else."""
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)
