"""A light, offline look at a text before it is sent beyond this computer: e-mail addresses, phone numbers, IBANs
(mod-97 checked), payment card numbers (Luhn-checked) and strings that look like API keys.

It is conservative on purpose: what it names should be worth a second look, so plain numbers, years, dates and
prices are not phone numbers, a 16-digit number is a card only if it passes Luhn and starts like one, and a long
token is a key only if it is mixed-case, has digits and is as random as keys are. It keeps only masked samples:
the full value of what it found never goes into a message or a log.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

FindingKind = Literal["email", "phone", "iban", "card", "api_key"]
KIND_NAMES: dict[str, tuple[str, str]] = {  # one, several
    "email": ("an e-mail address", "e-mail addresses"),
    "phone": ("a phone number", "phone numbers"),
    "iban": ("an IBAN", "IBANs"),
    "card": ("a card number", "card numbers"),
    "api_key": ("an API key", "API keys"),
}


@dataclass(frozen=True)
class Finding:
    """Something sensitive in a text: its kind, where it is, and a masked sample safe to show or log."""

    kind: FindingKind
    masked: str
    start: int
    end: int


_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_INTERNATIONAL_PHONE = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w])")
_NATIONAL_PHONE = re.compile(r"(?<![\w.,/])(?:0\d{1,4}|\(0\d{1,4}\))(?:[ .-]?\d{2,4}){2,4}(?![\w.,/]?\d)")
_NANP_PHONE = re.compile(r"(?<![\w.,/$€£])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w.,/]?\d)")
_DATE = re.compile(r"^\d{1,4}([./-])\d{1,2}\1\d{1,4}$")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"(?<![\w.,])\d(?:[ -]?\d){12,18}(?![\w.,]?\d)")
_KNOWN_KEYS = re.compile(
    r"(?<![A-Za-z0-9])(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}"
    r"|github_pat_[A-Za-z0-9_]{40,}|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,})")
_TOKEN = re.compile(r"(?<![A-Za-z0-9_/+=-])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_/+=-])")


def scan(text: str) -> tuple[Finding, ...]:
    """Everything sensitive `text` holds, in the order it appears, none overlapping another."""
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: FindingKind, match: re.Match[str], masked: str) -> None:
        start, end = match.span()
        if any(start < other_end and other_start < end for other_start, other_end in taken):
            return
        taken.append((start, end))
        found.append(Finding(kind, masked, start, end))

    # Most specific first: a key or an IBAN holds digit runs that are not phone numbers.
    for match in _KNOWN_KEYS.finditer(text):
        add("api_key", match, _mask_token(match.group()))
    for match in _TOKEN.finditer(text):
        if _looks_random(match.group()):
            add("api_key", match, _mask_token(match.group()))
    for match in _EMAIL.finditer(text):
        add("email", match, _mask_email(match.group()))
    for match in _IBAN.finditer(text):
        if iban_valid(match.group()):
            add("iban", match, _mask_digits(match.group(), keep=4))
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if _card_like(digits):
            add("card", match, _mask_digits(match.group(), keep=4))
    for pattern in (_INTERNATIONAL_PHONE, _NANP_PHONE, _NATIONAL_PHONE):
        for match in pattern.finditer(text):
            if _phone_like(match.group(), text, match.start()):
                add("phone", match, _mask_digits(match.group(), keep=2))
    return tuple(sorted(found, key=lambda finding: finding.start))


def describe(findings: tuple[Finding, ...], samples: int = 1) -> str:
    """ "an e-mail address (j•••@e•••.com) and a phone number (+•• •• •• •• 78)": kinds with masked samples."""
    by_kind: dict[str, list[Finding]] = {}
    for finding in findings:
        by_kind.setdefault(finding.kind, []).append(finding)
    parts = []
    for kind, items in by_kind.items():
        one, several = KIND_NAMES[kind]
        name = one if len(items) == 1 else f"{len(items)} {several}"
        shown = ", ".join(item.masked for item in items[:samples])
        parts.append(f"{name} ({shown})")
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# -- checks ------------------------------------------------------------------------------------------------
def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """The ISO 13616 check: country letters and check digits moved to the end, letters as numbers, mod 97 is 1."""
    iban = text.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


def _card_like(digits: str) -> bool:
    # Issuers' first digits (Visa 4, Mastercard 2/5, Amex and Diners 3, Discover and UnionPay 6): a Luhn-valid
    # run of digits that starts otherwise is more likely an order or account number.
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and len(set(digits)) > 1 and luhn_valid(digits)


def _phone_like(candidate: str, text: str, start: int) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 9 <= len(digits) <= 15 or len(set(digits)) < 3:
        return False
    if _DATE.match(candidate.strip()):
        return False
    before = text[max(0, start - 2):start]
    return not any(symbol in before for symbol in "$€£¥")  # a price, not a number to call


def _looks_random(token: str) -> bool:
    """A generic secret: long, mixed-case letters with digits, and close to random (Shannon entropy)."""
    has_kinds = any(c.islower() for c in token) and any(c.isupper() for c in token) and any(c.isdigit() for c in token)
    if not has_kinds:
        return False
    counts = Counter(token)
    entropy = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return entropy >= 4.0


# -- masks -------------------------------------------------------------------------------------------------
def _mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    name, _, suffix = domain.rpartition(".")
    return f"{local[0]}•••@{name[:1]}•••.{suffix}"


def _mask_digits(text: str, keep: int) -> str:
    """Every letter and digit but the last `keep` digits as •, separators kept."""
    seen = 0
    out = []
    total = sum(1 for c in text if c.isalnum())
    for char in text:
        if char.isalnum():
            seen += 1
            out.append(char if seen > total - keep else "•")
        else:
            out.append(char)
    return "".join(out)


_KEY_PREFIX = re.compile(r"^(?:sk-(?:proj-|ant-)?|AKIA|gh[pousr]_|github_pat_|xox[abprs]-|AIza|hf_)")


def _mask_token(token: str) -> str:
    """A key's well-known prefix (which says whose it is) and its length; nothing of the secret part."""
    prefix = _KEY_PREFIX.match(token)
    return f"{prefix.group() if prefix else ''}… ({len(token)} characters)"
