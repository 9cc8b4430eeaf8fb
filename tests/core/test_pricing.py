"""The dated price table: known, unknown, estimated, overridden."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmscales.core.pricing import PriceTable, PriceTableError


def test_known_model_cost_and_source() -> None:
    cost = PriceTable.load().cost("gpt-4o-mini", prompt_tokens=1_000_000, output_tokens=500_000,
                                  provenance="measured")
    assert cost.usd == pytest.approx(0.15 + 0.30)
    assert cost.price is not None and "bundled table, taken 20" in cost.price.source
    assert cost.format() == "$0.4500"


def test_router_prefix_is_understood() -> None:
    assert PriceTable.load().lookup("openai/gpt-4o-mini") is not None


def test_unknown_model_costs_unknown_never_a_guess() -> None:
    cost = PriceTable.load().cost("my-own-finetune", 100, 100, "measured")
    assert cost.usd is None and cost.format() == "unknown"
    assert cost.as_dict()["usd"] is None


def test_cost_from_estimated_tokens_is_marked() -> None:
    cost = PriceTable.load().cost("gpt-4o", 1000, 1000, "estimated")
    assert cost.provenance == "estimated" and cost.format().startswith("~$")


def test_user_overrides(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {"gpt-4o": {"input": 1.0, "output": 2.0},
                                           "my-model": {"input": 0.5, "output": 0.5}}}))
    table = PriceTable.load(path)
    gpt = table.lookup("gpt-4o")
    assert gpt is not None and gpt.input_per_million == 1.0 and "your override" in gpt.source
    assert table.lookup("my-model") is not None
    assert table.with_override("x", 3.0, 4.0).cost("x", 10**6, 0, "measured").usd == pytest.approx(3.0)


def test_unreadable_overrides(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text("{not json")
    with pytest.raises(PriceTableError, match="unreadable"):
        PriceTable.load(path)
