"""Numbers as a reader sees them in the decision's sentences: money, energy, per cent, percentage points."""

from __future__ import annotations

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
# What a month of a task's answers is called in a sentence ("10,000 translations a month").
VOLUME_NOUNS = {"translate": ("translation", "translations"), "summarize": ("summary", "summaries"),
                "chat": ("chat answer", "chat answers")}


def volume_noun(task: str, count: float) -> str:
    singular, plural = VOLUME_NOUNS.get(task, ("answer", "answers"))
    return singular if count == 1 else plural


def money(value: float, currency: str) -> str:
    """$41.20, $1,234, $0.0123: cents where they matter, three significant digits below one unit."""
    magnitude = abs(value)
    text = (f"{magnitude:,.0f}" if magnitude >= 1000 else f"{magnitude:,.2f}" if magnitude >= 1
            else f"{magnitude:.3g}")
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def energy_kwh(value: float) -> str:
    """kWh from 0.1 kWh up, Wh below (a month of a few hundred answers is a few Wh)."""
    magnitude = abs(value)
    if magnitude >= 10:
        return f"{magnitude:,.0f} kWh"
    if magnitude >= 0.1:
        return f"{magnitude:.1f} kWh"
    watt_hours = magnitude * 1000
    return f"{watt_hours:.0f} Wh" if watt_hours >= 10 else f"{watt_hours:.2g} Wh"


def percent(proportion: float) -> str:
    return f"{proportion * 100:.0f} %"


def points(low: float, high: float) -> str:
    """A difference of proportions as signed percentage points, "−40 to −17"; with decimals where whole points
    would make an interval that excludes zero look as if it reached it ("−0.4", never "−0")."""
    digits = 0
    if low > 0 or high < 0:
        nearest = min(abs(low), abs(high)) * 100
        while digits < 3 and round(nearest, digits) == 0:
            digits += 1
    return f"{low * 100:+.{digits}f} to {high * 100:+.{digits}f}".replace("-", "−")


def signed(value: float, digits: int = 1) -> str:
    """+1.5, −12.3: with a real minus sign (score names such as ROUGE-L keep their hyphen)."""
    return f"{value:+.{digits}f}".replace("-", "−")


def signed_points(difference: float) -> str:
    return signed(difference * 100, 0)


def count(value: float) -> str:
    return f"{value:,.0f}"
