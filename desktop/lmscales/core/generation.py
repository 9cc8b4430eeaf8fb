"""What both sides generate with, defined once: the parameters, their defaults, the thinking effort and how the
two sides take turns.

`GenerationParams` is the one shape of the parameters between layers: the generation panel gives one, the
settings' `generation` section turns into one, the command line builds one, a trial keeps one and the session
turns it into each side's `GenerationRequest`. Pure data: this module imports nothing of LM Scales.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

# How hard a model that thinks should think; None (not one of these) sends nothing: the model's own default.
ReasoningEffort = Literal["minimal", "low", "medium", "high"]
REASONING_EFFORTS: tuple[str, ...] = get_args(ReasoningEffort)
# Both sides at once, or one after the other (so neither slows the other's CPU figures).
RunMode = Literal["parallel", "sequential"]
RUN_MODES: tuple[str, ...] = get_args(RunMode)


@dataclass(frozen=True)
class GenerationParams:
    """What both sides are asked to generate with; the same for both, so the comparison is matched. The
    defaults here are the app's: what both sides generate with until the user says otherwise."""

    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int | None = 42  # a fixed seed, so runs repeat
    reasoning_effort: ReasoningEffort | None = None  # only for models that think; None: the model's default

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationParams:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


GENERATION_DEFAULTS = GenerationParams()
