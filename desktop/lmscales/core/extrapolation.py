""""Cost of a million answers": measured trials scaled up, and labelled as the extrapolation it is.

A demo wants one big number per side. It is computed only from what was measured in the trials given (tokens
counted, the cost the price table gave them, CPU-seconds and energy read on this machine), multiplied out; a
side that measured no figure gets None for it, never a guess. `label` says how many answers it rests on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lmscales.core.trial import Trial

MILLION = 1_000_000
JOULES_PER_KWH = 3_600_000.0


@dataclass(frozen=True)
class MillionAnswers:
    """One side's figures for a million answers like the measured ones."""

    side: str
    label: str
    model: str
    measured_answers: int  # how many answers the figures rest on
    prompt_tokens: float  # per answer, mean
    output_tokens: float
    usd: float | None  # a million answers, at the price table's prices (None: no price, or a local model)
    cpu_hours: float | None  # a million answers' CPU time on the measured machine
    energy_kwh: float | None
    generation_hours: float | None  # one after the other, at the measured pace
    estimated: bool  # some token counts or energy figures were estimates, not measurements

    @property
    def label_text(self) -> str:
        return (f"Extrapolated from {self.measured_answers} measured answer{'s' if self.measured_answers != 1 else ''}"
                " × 1,000,000" + (" (includes estimated figures)" if self.estimated else ""))


def million_answers(trials: Sequence[Trial]) -> list[MillionAnswers]:
    """Per side (in the trials' side order), the measured answers scaled to a million. Sides that never
    finished an answer are left out."""
    order: list[str] = []
    for trial in trials:
        for result in trial.sides:
            if result.side not in order:
                order.append(result.side)
    out: list[MillionAnswers] = []
    for side in order:
        results = [r for t in trials if (r := t.side(side)) is not None and r.ok and r.finished is not None]
        if not results:
            continue
        count = len(results)
        finished = [r.finished for r in results if r.finished is not None]
        prompt = sum(f.prompt_tokens for f in finished) / count
        output = sum(f.output_tokens for f in finished) / count
        estimated = any("estimated" in (f.prompt_tokens_provenance, f.output_tokens_provenance) for f in finished)
        costs = [r.cost.usd for r in results if r.cost is not None and r.cost.usd is not None]
        usd = sum(costs) / len(costs) * MILLION if len(costs) == count else None
        cpu = [r.cpu_seconds for r in results if r.cpu_seconds is not None]
        cpu_hours = sum(cpu) / len(cpu) * MILLION / 3600.0 if len(cpu) == count else None
        energy = [r.energy_j for r in results if r.energy_j is not None]
        energy_kwh = sum(energy) / len(energy) * MILLION / JOULES_PER_KWH if len(energy) == count else None
        if energy_kwh is not None and any(r.resources is not None and r.resources.energy.provenance == "estimated"
                                          for r in results):
            estimated = True
        if usd is not None and any(r.cost is not None and r.cost.provenance == "estimated" for r in results):
            estimated = True
        durations = [m.end_to_end.value for r in results
                     if (m := r.metrics) is not None and m.end_to_end.value is not None]
        hours = sum(durations) / len(durations) * MILLION / 3600.0 if len(durations) == count else None
        first = results[0]
        out.append(MillionAnswers(side=side, label=first.label, model=first.model, measured_answers=count,
                                  prompt_tokens=prompt, output_tokens=output, usd=usd, cpu_hours=cpu_hours,
                                  energy_kwh=energy_kwh, generation_hours=hours, estimated=estimated))
    return out


def million_answers_text(figures: Sequence[MillionAnswers]) -> str:
    """The figures in words for a slide, one side after the other, with what they rest on on a second line
    ("" when no side measured an answer)."""
    if not figures:
        return ""
    parts = []
    for figure in figures:
        bits = []
        if figure.usd is not None:
            bits.append(f"${figure.usd:,.0f}")
        if figure.cpu_hours is not None:
            bits.append(f"{figure.cpu_hours:,.0f} CPU-hours")
        if figure.energy_kwh is not None:
            bits.append(f"{figure.energy_kwh:,.1f} kWh")
        if figure.generation_hours is not None:
            bits.append(f"{figure.generation_hours:,.0f} h one after the other")
        parts.append(f"{figure.label}: " + (", ".join(bits) or "no measured figure"))
    return ("A million answers like this one — " + " · ".join(parts)
            + f"\n{figures[0].label_text}; prices from the price table.")
