"""Prices: by provider host and model, with sources and dates; $0 on this computer; OpenRouter's live prices."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from lmscales.core.events import EngineInfo, Finished
from lmscales.core.pricing import (
    OPENROUTER_CACHE_FILE,
    STALE_AFTER_DAYS,
    Price,
    PriceTable,
    PriceTableError,
    openrouter_prices,
)
from lmscales.core.session import cost_of
from tests.support.fault_server import FaultServer


def test_known_model_cost_with_its_source_and_date() -> None:
    cost = PriceTable.load().cost("gpt-4o-mini", prompt_tokens=1_000_000, output_tokens=500_000,
                                  provenance="measured", host="api.openai.com")
    assert cost.usd == pytest.approx(0.15 + 0.30)
    assert cost.price is not None and cost.price.source.startswith("https://")
    assert cost.price.taken == "2026-11-28" and cost.price.provider == "OpenAI"
    assert cost.format() == "$0.4500"
    assert cost.as_dict()["taken"] == "2026-11-28"


def test_every_bundled_price_names_its_source_and_the_date_it_was_read() -> None:
    bundled = json.loads(resources.files("lmscales.resources").joinpath("prices.json").read_text("utf-8"))
    assert bundled["schema_version"] == 2
    for host, provider in bundled["providers"].items():
        for model, entry in provider["models"].items():
            assert entry["source"].startswith("https://"), (host, model)
            date.fromisoformat(entry["read"])
            assert entry["output"] >= entry["input"] >= 0


def test_prices_are_looked_up_by_host() -> None:
    table = PriceTable.load()
    # the same name at another provider is not OpenAI's price
    assert table.lookup("gpt-4o-mini", host="api.example.com") is None
    groq = table.lookup("openai/gpt-oss-120b", host="api.groq.com")
    assert groq is not None and groq.provider == "Groq"
    assert table.lookup("gpt-5-mini", host="api.openai.com:443") is not None  # the port does not matter


def test_every_cloud_presets_default_model_has_a_price_at_its_host() -> None:
    # A user who picks a preset and keeps its model sees money, not "unknown", on the first run.
    from urllib.parse import urlsplit

    from lmscales.core.endpoints import PRESETS

    table = PriceTable.load()
    cloud = [preset for preset in PRESETS if preset.default_model and not preset.is_loopback]
    assert {preset.name for preset in cloud} >= {"OpenAI", "Groq", "Together"}
    for preset in cloud:
        if preset.name == "OpenRouter":  # its prices come live from its models endpoint
            continue
        price = table.lookup(preset.default_model, host=urlsplit(preset.base_url).netloc)
        assert price is not None, preset


def test_a_server_on_this_computer_costs_nothing_whatever_it_calls_its_model() -> None:
    table = PriceTable.load()
    cost = table.cost("gpt-4o-mini", 1000, 1000, "measured", host="127.0.0.1:8080", loopback=True)
    assert cost.usd == 0 and cost.format() == "$0" and cost.on_this_computer
    assert cost.price is not None and "energy is shown" in cost.price.source


def test_session_cost_counts_thinking_as_output_and_uses_the_host() -> None:
    finished = Finished(prompt_tokens=1000, prompt_tokens_provenance="measured", output_tokens=100,
                        output_tokens_provenance="measured", submitted_at=0.0, deltas=((0.1, "hi"),),
                        stop_reason="stop", reasoning_tokens=900)
    openai = EngineInfo(kind="remote", model="gpt-5-mini", context_tokens=8192, host="api.openai.com",
                        loopback=False)
    cost = cost_of(PriceTable.load(), openai, finished)
    assert cost is not None and cost.usd == pytest.approx((1000 * 0.25 + 1000 * 2.00) / 1e6)
    local = EngineInfo(kind="remote", model="gpt-5-mini", context_tokens=8192, host="127.0.0.1:8080")
    on_this_computer = cost_of(PriceTable.load(), local, finished)
    assert on_this_computer is not None and on_this_computer.usd == 0


def test_unknown_model_costs_unknown_never_a_guess() -> None:
    cost = PriceTable.load().cost("my-own-finetune", 100, 100, "measured", host="api.openai.com")
    assert cost.usd is None and cost.format() == "unknown"
    assert cost.as_dict()["usd"] is None


def test_cost_from_estimated_tokens_is_marked() -> None:
    cost = PriceTable.load().cost("gpt-4o", 1000, 1000, "estimated", host="api.openai.com")
    assert cost.provenance == "estimated" and cost.format().startswith("~$")


def test_age_and_staleness() -> None:
    today = date(2026, 11, 28)
    fresh = Price("m", 1.0, 2.0, "a page", "2026-11-25")
    old = Price("m", 1.0, 2.0, "a page", (today - timedelta(days=STALE_AFTER_DAYS + 1)).isoformat())
    assert fresh.age_days(today) == 3 and not fresh.stale(today)
    assert "read 2026-11-25 (3 days ago)" in fresh.describe(today)
    assert old.stale(today) and "stale" in old.describe(today)


def test_user_overrides(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {"gpt-4o": {"input": 1.0, "output": 2.0},
                                           "my-model": {"input": 0.5, "output": 0.5}}}))
    table = PriceTable.load(path)
    gpt = table.lookup("gpt-4o", host="api.openai.com")
    assert gpt is not None and gpt.input_per_million == 1.0 and "your override" in gpt.source
    assert table.lookup("my-model", host="anywhere.example") is not None
    assert table.with_override("x", 3.0, 4.0).cost("x", 10**6, 0, "measured").usd == pytest.approx(3.0)


def test_unreadable_overrides(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text("{not json")
    with pytest.raises(PriceTableError, match="unreadable"):
        PriceTable.load(path)


# -- OpenRouter's models endpoint (faked on loopback) --------------------------------------------------------


def test_openrouter_prices_are_fetched_cached_with_their_date_and_used_for_its_host(
        fault_server: FaultServer, tmp_path: Path) -> None:
    url = fault_server.url("openrouter") + "/models"
    cache = tmp_path / OPENROUTER_CACHE_FILE
    now = datetime(2026, 11, 28, 12, 0)
    prices = openrouter_prices(url, cache, lambda: False, now=now)
    assert prices is not None and "openrouter/auto" not in prices  # a router's "-1" is no price
    mini = prices["openai/gpt-5-mini"]
    assert (mini.input_per_million, mini.output_per_million) == (0.25, 2.0)
    assert mini.taken == "2026-11-28" and "models endpoint" in mini.source
    assert json.loads(cache.read_text())["fetched_at"].startswith("2026-11-28")
    fetches = sum(1 for r in fault_server.requests if r[0] == "openrouter")
    # within a day the cache answers; no second fetch
    assert openrouter_prices(url, cache, lambda: False, now=now + timedelta(hours=3)) is not None
    assert sum(1 for r in fault_server.requests if r[0] == "openrouter") == fetches
    table = PriceTable.load().with_host_prices("openrouter.ai", prices)
    cost = table.cost("deepseek/deepseek-r1", 10**6, 10**6, "measured", host="openrouter.ai")
    assert cost.usd == pytest.approx(0.4 + 2.0)


def test_openrouter_prices_are_never_fetched_offline(fault_server: FaultServer, tmp_path: Path) -> None:
    url = fault_server.url("openrouter") + "/models"
    before = len(fault_server.requests)
    assert openrouter_prices(url, tmp_path / OPENROUTER_CACHE_FILE, lambda: True) is None
    assert len(fault_server.requests) == before
    # an old cache is still used offline, at any age
    now = datetime(2026, 11, 28)
    openrouter_prices(url, tmp_path / OPENROUTER_CACHE_FILE, lambda: False, now=now - timedelta(days=30))
    before = len(fault_server.requests)
    cached = openrouter_prices(url, tmp_path / OPENROUTER_CACHE_FILE, lambda: True, now=now)
    assert cached is not None and cached["openai/gpt-5-mini"].taken == "2026-10-29"
    assert len(fault_server.requests) == before


def test_refresh_only_for_openrouter_and_never_offline(fault_server: FaultServer, tmp_path: Path) -> None:
    url = fault_server.url("openrouter") + "/models"
    table = PriceTable.load()
    other = EngineInfo(kind="remote", model="gpt-5-mini", context_tokens=8192, host="api.openai.com",
                       loopback=False)
    before = len(fault_server.requests)
    table.refresh_for(other, lambda: False, cache_dir=tmp_path, url=url)
    router = EngineInfo(kind="remote", model="openai/gpt-5-mini", context_tokens=8192, host="openrouter.ai",
                        loopback=False)
    table.refresh_for(router, lambda: True, cache_dir=tmp_path, url=url)
    assert len(fault_server.requests) == before
    assert table.lookup("openai/gpt-5-mini", host="openrouter.ai") is None
    fresh = PriceTable.load()
    fresh.refresh_for(router, lambda: False, cache_dir=tmp_path, url=url)
    price = fresh.lookup("openai/gpt-5-mini", host="openrouter.ai")
    assert price is not None and price.provider == "OpenRouter"
