"""What a remote run cost: a dated price table shipped in resources/, live OpenRouter prices, and the user's own.

Prices are looked up by provider host and model: the same model name costs what its provider charges, and a
server on this computer costs $0 in money (its energy is shown instead), whatever it calls its model. Every
price says where it comes from and when it was read; one older than `STALE_AFTER_DAYS` is marked stale.

OpenRouter publishes its per-token prices at `GET /api/v1/models`; they are fetched at most once a day (never
in offline mode), cached in the data folder with the date they were fetched, and used for OpenRouter's host.

An unknown model costs "unknown", never a made-up number, and a cost computed from estimated token
counts is itself marked estimated.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from lmscales.core.events import EngineInfo, Provenance
from lmscales.core.storage import data_dir

log = logging.getLogger(__name__)

STALE_AFTER_DAYS = 180
OPENROUTER_HOST = "openrouter.ai"
OPENROUTER_MODELS_URL = "https://openrouter.ai/api/v1/models"
OPENROUTER_CACHE_FILE = "openrouter-prices.json"
OPENROUTER_MAX_AGE = timedelta(days=1)
ON_THIS_COMPUTER = "a server on this computer: no money is paid (its energy is shown instead)"


@dataclass(frozen=True)
class Price:
    model: str
    input_per_million: float
    output_per_million: float
    source: str  # where the figure comes from, shown beside every cost
    taken: str | None = None  # ISO date the figure was read or fetched
    provider: str | None = None

    def age_days(self, today: date | None = None) -> int | None:
        if not self.taken:
            return None
        try:
            taken = date.fromisoformat(self.taken[:10])
        except ValueError:
            return None
        return ((today or date.today()) - taken).days

    def stale(self, today: date | None = None) -> bool:
        age = self.age_days(today)
        return age is not None and age > STALE_AFTER_DAYS

    def describe(self, today: date | None = None) -> str:
        """"source, read 2026-11-28 (3 days ago)" and "stale" past the limit, for the pane and the settings."""
        age = self.age_days(today)
        if age is None:
            return self.source
        when = "today" if age <= 0 else f"{age} day{'s' if age != 1 else ''} ago"
        stale = f"; stale: older than {STALE_AFTER_DAYS} days, check the provider's page" if age > STALE_AFTER_DAYS \
            else ""
        return f"{self.source}, read {self.taken} ({when}{stale})"


LOCAL_PRICE = Price("", 0.0, 0.0, ON_THIS_COMPUTER)


@dataclass(frozen=True)
class Cost:
    usd: float | None
    provenance: Provenance
    price: Price | None

    @property
    def on_this_computer(self) -> bool:
        return self.price is not None and self.price.source == ON_THIS_COMPUTER

    def format(self) -> str:
        if self.usd is None:
            return "unknown"
        if self.usd == 0:
            return "$0"
        mark = "~" if self.provenance == "estimated" else ""
        return f"{mark}${self.usd:.6f}" if self.usd < 0.01 else f"{mark}${self.usd:.4f}"

    def as_dict(self) -> dict[str, Any]:
        price = self.price
        return {
            "usd": self.usd,
            "provenance": self.provenance,
            "source": price.source if price else None,
            "input_per_million": price.input_per_million if price else None,
            "output_per_million": price.output_per_million if price else None,
            "taken": price.taken if price else None,
            "age_days": price.age_days() if price else None,
            "stale": price.stale() if price else None,
        }


def _bare_host(host: str | None) -> str:
    name = (host or "").lower()
    if name.startswith("["):  # [::1]:8080
        return name.split("]", 1)[0] + "]"
    return name.rsplit(":", 1)[0] if name.count(":") == 1 else name


class PriceTable:
    """Prices by host and model (the bundled table, live OpenRouter prices), and host-free prices of the
    user's own, which win wherever they name the model."""

    def __init__(self, prices: Mapping[str, Price] | None = None,
                 by_host: Mapping[str, Mapping[str, Price]] | None = None) -> None:
        self._prices = {name.lower(): price for name, price in (prices or {}).items()}
        self._by_host = {_bare_host(host): {name.lower(): price for name, price in table.items()}
                         for host, table in (by_host or {}).items()}
        self._lock = threading.Lock()
        self._live_checked: set[str] = set()

    @classmethod
    def load(cls, overrides: Path | None = None) -> PriceTable:
        """The bundled table, then the user's overrides file on top."""
        bundled = json.loads(resources.files("lmscales.resources").joinpath("prices.json").read_text("utf-8"))
        by_host = _parse_providers(bundled)
        prices: dict[str, Price] = {}
        if overrides is not None and overrides.exists():
            try:
                data = json.loads(overrides.read_text("utf-8"))
                source = f"your override ({overrides.name})"
                prices.update(_parse_models(data.get("models", {}), source, None))
                for host, table in _parse_providers(data, source).items():
                    by_host.setdefault(host, {}).update(table)
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise PriceTableError(f"The price overrides in {overrides} are unreadable: {error}") from None
        return cls(prices, by_host)

    def with_override(self, model: str, input_per_million: float, output_per_million: float) -> PriceTable:
        prices = dict(self._prices)
        prices[model.lower()] = Price(model, input_per_million, output_per_million, "your override",
                                      date.today().isoformat())
        return PriceTable(prices, self._by_host)

    def with_host_prices(self, host: str, prices: Mapping[str, Price]) -> PriceTable:
        by_host = {name: dict(table) for name, table in self._by_host.items()}
        by_host[_bare_host(host)] = dict(prices)
        return PriceTable(self._prices, by_host)

    def set_host_prices(self, host: str, prices: Mapping[str, Price]) -> None:
        """Replace one host's prices in place (live prices arriving while the session holds this table)."""
        with self._lock:
            self._by_host[_bare_host(host)] = {name.lower(): price for name, price in prices.items()}

    def entries(self) -> list[tuple[str, Price]]:
        """(host or "any host", price) of every known price, for the settings' table."""
        with self._lock:
            rows = [("any host", price) for price in self._prices.values()]
            for host, table in sorted(self._by_host.items()):
                rows.extend((host, price) for _, price in sorted(table.items()))
        return rows

    def lookup(self, model: str, host: str | None = None, loopback: bool = False) -> Price | None:
        """The user's own price for the model first; then, for a server on this computer, $0; then the price
        of the model at that host (exactly, then without a router prefix). Without a host, any host's."""
        own = _find(self._prices, model)
        if own is not None:
            return own
        if loopback:
            return replace(LOCAL_PRICE, model=model)
        with self._lock:
            if host is not None:
                table = self._by_host.get(_bare_host(host))
                return _find(table, model) if table else None
            for table in self._by_host.values():
                found = _find(table, model)
                if found is not None:
                    return found
        return None

    def cost(self, model: str, prompt_tokens: int, output_tokens: int, provenance: Provenance,
             host: str | None = None, loopback: bool = False) -> Cost:
        """`output_tokens` are all the billed ones: a reasoning model's thinking is billed as output."""
        price = self.lookup(model, host, loopback)
        if price is None:
            return Cost(None, provenance, None)
        usd = (prompt_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1e6
        return Cost(usd, provenance, price)

    def refresh_for(self, info: EngineInfo, is_offline: Callable[[], bool],
                    cache_dir: Path | None = None, url: str = OPENROUTER_MODELS_URL) -> None:
        """Before a run on OpenRouter: its live prices, from the cache or fetched once a day (never offline).
        Failures leave the table as it was (the cost is then "unknown" or the bundled figure)."""
        host = _bare_host(info.host)
        if host != OPENROUTER_HOST:
            return
        with self._lock:
            if host in self._live_checked and host in self._by_host:
                return
            self._live_checked.add(host)
        live = openrouter_prices(url, (cache_dir or data_dir()) / OPENROUTER_CACHE_FILE, is_offline)
        if live:
            self.set_host_prices(host, live)


class PriceTableError(ValueError):
    """An overrides file that cannot be read; the message is for the user."""


def _find(table: Mapping[str, Price] | None, model: str) -> Price | None:
    if not table:
        return None
    key = model.lower()
    if key in table:
        return table[key]
    if "/" in key:
        return table.get(key.rsplit("/", 1)[1])
    return None


def _parse_models(models: Mapping[str, Any], source: str | None, taken: str | None,
                  provider: str | None = None) -> dict[str, Price]:
    return {
        name: Price(name, float(entry["input"]), float(entry["output"]),
                    source or str(entry.get("source") or "bundled table"),
                    str(entry.get("read") or taken) if (entry.get("read") or taken) else None, provider)
        for name, entry in models.items()
    }


def _parse_providers(data: Mapping[str, Any], source: str | None = None) -> dict[str, dict[str, Price]]:
    taken = data.get("taken")
    return {
        _bare_host(host): _parse_models(entry.get("models", {}), source, taken, entry.get("name"))
        for host, entry in (data.get("providers") or {}).items()
    }


# -- OpenRouter's live prices -------------------------------------------------------------------------------
def parse_openrouter_models(data: Any, fetched: str) -> dict[str, Price]:
    """`GET /api/v1/models` → prices per million tokens. Prices there are USD per token, as strings; a
    negative one (a router whose price depends on the model it picks) is no price."""
    out: dict[str, Price] = {}
    items = data.get("data") if isinstance(data, dict) else None
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict) or not isinstance(item.get("pricing"), dict) or "id" not in item:
            continue
        try:
            prompt = float(item["pricing"]["prompt"])
            completion = float(item["pricing"]["completion"])
        except (KeyError, TypeError, ValueError):
            continue
        if prompt < 0 or completion < 0:
            continue
        name = str(item["id"])
        out[name] = Price(name, round(prompt * 1e6, 6), round(completion * 1e6, 6),
                          "OpenRouter's models endpoint (/api/v1/models)", fetched, "OpenRouter")
    return out


def openrouter_prices(url: str, cache_path: Path, is_offline: Callable[[], bool],
                      now: datetime | None = None, timeout: float = 5.0) -> dict[str, Price] | None:
    """OpenRouter's prices: the cache while it is younger than a day; otherwise fetched from `url` and cached
    with the date, unless offline (then the cache at any age, or None)."""
    now = now or datetime.now()
    cached = _read_cache(cache_path)
    if cached is not None:
        fetched_at, prices = cached
        if now - fetched_at < OPENROUTER_MAX_AGE or is_offline():
            return prices
    if is_offline():
        return None
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.loads(response.read(20_000_000))
    except (OSError, ValueError) as error:
        log.info("OpenRouter prices could not be fetched: %s", error)
        return cached[1] if cached is not None else None
    prices = parse_openrouter_models(data, now.date().isoformat())
    if not prices:
        return cached[1] if cached is not None else None
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps({
            "fetched_at": now.isoformat(timespec="seconds"), "url": url,
            "models": {name: {"input": p.input_per_million, "output": p.output_per_million}
                       for name, p in prices.items()},
        }), "utf-8")
    except OSError as error:
        log.info("OpenRouter prices could not be cached: %s", error)
    return prices


def _read_cache(path: Path) -> tuple[datetime, dict[str, Price]] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
        fetched_at = datetime.fromisoformat(data["fetched_at"])
        taken = fetched_at.date().isoformat()
        prices = {name: Price(name, float(entry["input"]), float(entry["output"]),
                              "OpenRouter's models endpoint (/api/v1/models)", taken, "OpenRouter")
                  for name, entry in data["models"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return fetched_at, prices
