"""What a remote run cost: a dated price table shipped in resources/, overridable by the user.

An unknown model costs "unknown", never a made-up number, and a cost computed from estimated token
counts is itself marked estimated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from lmscales.core.events import Provenance


@dataclass(frozen=True)
class Price:
    model: str
    input_per_million: float
    output_per_million: float
    source: str  # where the figure comes from, shown beside every cost


@dataclass(frozen=True)
class Cost:
    usd: float | None
    provenance: Provenance
    price: Price | None

    def format(self) -> str:
        if self.usd is None:
            return "unknown"
        mark = "~" if self.provenance == "estimated" else ""
        return f"{mark}${self.usd:.6f}" if self.usd < 0.01 else f"{mark}${self.usd:.4f}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "usd": self.usd,
            "provenance": self.provenance,
            "source": self.price.source if self.price else None,
            "input_per_million": self.price.input_per_million if self.price else None,
            "output_per_million": self.price.output_per_million if self.price else None,
        }


class PriceTable:
    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = {name.lower(): price for name, price in prices.items()}

    @classmethod
    def load(cls, overrides: Path | None = None) -> PriceTable:
        """The bundled table, then the user's overrides file (same shape) on top."""
        bundled = json.loads(resources.files("lmscales.resources").joinpath("prices.json").read_text("utf-8"))
        prices = _parse(bundled, f"bundled table, taken {bundled['taken']}")
        if overrides is not None and overrides.exists():
            try:
                data = json.loads(overrides.read_text("utf-8"))
                prices.update(_parse(data, f"your override ({overrides.name})"))
            except (ValueError, KeyError, TypeError) as error:
                raise PriceTableError(f"The price overrides in {overrides} are unreadable: {error}") from None
        return cls(prices)

    def with_override(self, model: str, input_per_million: float, output_per_million: float) -> PriceTable:
        prices = dict(self._prices)
        prices[model.lower()] = Price(model, input_per_million, output_per_million, "your override")
        return PriceTable(prices)

    def lookup(self, model: str) -> Price | None:
        """Exact name first, then without a router prefix ("openai/gpt-4o-mini" -> "gpt-4o-mini")."""
        key = model.lower()
        if key in self._prices:
            return self._prices[key]
        if "/" in key:
            return self._prices.get(key.rsplit("/", 1)[1])
        return None

    def cost(self, model: str, prompt_tokens: int, output_tokens: int, provenance: Provenance) -> Cost:
        price = self.lookup(model)
        if price is None:
            return Cost(None, provenance, None)
        usd = (prompt_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1e6
        return Cost(usd, provenance, price)


class PriceTableError(ValueError):
    """An overrides file that cannot be read; the message is for the user."""


def _parse(data: Mapping[str, Any], source: str) -> dict[str, Price]:
    return {
        name: Price(name, float(entry["input"]), float(entry["output"]), source)
        for name, entry in data["models"].items()
    }
