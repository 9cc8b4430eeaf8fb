"""The settings schema: one frozen section per part of the app, and `Settings`, which holds them all.

Every setting is a field with a default, a description and its rules (see `fields.py`). Defaults that other
rooms share (generation parameters, the local context, sampling) come from `lmscales.core.defaults`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from lmscales.core.defaults import (
    DEFAULT_N_CTX,
    DEFAULT_RATE_HZ,
    DEFAULT_WATCHDOG_SECONDS,
    DEFAULT_WATTS_PER_CORE,
    DEFAULT_WINDOW_S,
    GENERATION_DEFAULTS,
    MAX_RATE_HZ,
    MAX_SEED,
    MAX_TEMPERATURE,
    MIN_RATE_HZ,
)
from lmscales.core.electricity import AUTO, DEFAULT_PRICE_USD_PER_KWH, ZONE_CHOICES
from lmscales.core.endpoints import PRESETS, Endpoint
from lmscales.core.generation import GenerationParams, ReasoningEffort
from lmscales.core.generation import RunMode as RunMode
from lmscales.core.settings.decision_section import DecisionSection
from lmscales.core.settings.fields import (
    Codec,
    InvalidValue,
    Section,
    SettingInfo,
    SettingValueError,
    changed_paths,
    describe_section,
    meta,
    value_at,
    with_value,
)
from lmscales.core.settings.migrations import SCHEMA_VERSION
from lmscales.core.tasks import DEFAULT_SYSTEM_PROMPTS, TaskName
from lmscales.core.thread_counts import PREFERENCES

Theme = Literal["system", "light", "dark"]


def _check_base_url(value: str) -> str | None:
    if not value:
        return None  # the "Custom" preset before the user has typed one
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "must be an http:// or https:// address"
    if parts.username or parts.password:
        # A password in the address would put a secret into this file; keys belong in the keyring.
        return "must not contain a user name or password (the API key is kept in the system keyring)"
    try:
        parts.port  # noqa: B018 (raises for a port out of range)
    except ValueError:
        return "has a port that is not a valid port number"
    return None


def _check_not_blank(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


_DEFAULT_PRESET = PRESETS[0]


def _load_strings(raw: Any, path: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise InvalidValue("must be a list of strings")
    kept = []
    for item in raw:
        if isinstance(item, str):
            kept.append(item)
        else:
            problems.append(f"{path}: {item!r} is not a string, left out")
    return tuple(kept)


def _normalize_strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise InvalidValue("must be a sequence of strings")
    items = tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise InvalidValue("must be a sequence of strings")
    return items


_STRINGS = Codec("list of strings", _load_strings, list, _normalize_strings)


@dataclass(frozen=True)
class EndpointSettings(Section):
    preset: str = field(
        default=_DEFAULT_PRESET.name,
        metadata=meta("The provider or local server preset the large side uses.",
                      choices=tuple(p.name for p in PRESETS)),
    )
    base_url: str = field(
        default=_DEFAULT_PRESET.base_url,
        metadata=meta("Base URL of the OpenAI-compatible API, ending before /chat/completions.",
                      check=_check_base_url),
    )
    model: str = field(
        default=_DEFAULT_PRESET.default_model,
        metadata=meta("Name of the large model, as the API knows it."),
    )
    configured: bool = field(
        default=False,
        metadata=meta("Whether the large side has been set up; until then the app calls no API at all."),
    )
    connect_timeout: float = field(
        default=10.0,
        metadata=meta("Seconds to wait for a connection to the API before giving up.", minimum=0.5, maximum=600.0),
    )
    read_timeout: float = field(
        default=60.0,
        metadata=meta("Seconds the API may send nothing (before the first token or between two) before the run "
                      "stops with a read timeout.", minimum=1.0, maximum=3600.0),
    )
    refused_parameters: tuple[str, ...] = field(
        default=(),
        metadata=meta("Request parameters a model refused, kept so the next run asks right the first time: "
                      "'host|model|parameter|replacement' (no replacement: left out).", codec=_STRINGS),
    )

    def to_endpoint(self, api_key: str | None = None) -> Endpoint:
        return Endpoint(base_url=self.base_url, model=self.model, api_key=api_key, name=self.preset)

    def refused(self) -> dict[tuple[str, str], dict[str, str | None]]:
        """`refused_parameters` as a `ParameterMemory` takes them: {(host, model): {parameter: replacement}}."""
        out: dict[tuple[str, str], dict[str, str | None]] = {}
        for entry in self.refused_parameters:
            host, model, parameter, replacement = [*entry.split("|"), "", "", "", ""][:4]
            if host and model and parameter:
                out.setdefault((host, model), {})[parameter] = replacement or None
        return out


def refused_entry(host: str, model: str, parameter: str, replacement: str | None) -> str:
    return f"{host}|{model}|{parameter}|{replacement or ''}"


@dataclass(frozen=True)
class GenerationSettings(Section):
    max_tokens: int = field(
        default=GENERATION_DEFAULTS.max_tokens,
        metadata=meta("Largest number of tokens either side may generate per run.", minimum=1),
    )
    temperature: float = field(
        default=GENERATION_DEFAULTS.temperature,
        metadata=meta("Sampling temperature; 0 always picks the likeliest token.", minimum=0.0,
                      maximum=MAX_TEMPERATURE),
    )
    top_p: float = field(
        default=GENERATION_DEFAULTS.top_p,
        metadata=meta("Nucleus sampling: only tokens within this cumulative probability.", minimum=0.0, maximum=1.0),
    )
    seed: int | None = field(
        default=GENERATION_DEFAULTS.seed,
        metadata=meta("Random seed sent to both sides, so runs repeat; empty for a fresh seed each run.",
                      minimum=0, maximum=MAX_SEED),
    )
    reasoning_effort: ReasoningEffort | None = field(
        default=None,
        metadata=meta("How hard a model that thinks (GPT-5, o-series, gpt-oss, ...) should think; empty sends "
                      "nothing (the model's own default). A model that does not take it runs without it, and the "
                      "pane says so."),
    )

    def params(self) -> GenerationParams:
        """The remembered values as the one shape a comparison runs with."""
        return GenerationParams(max_tokens=self.max_tokens, temperature=self.temperature, top_p=self.top_p,
                                seed=self.seed, reasoning_effort=self.reasoning_effort)


@dataclass(frozen=True)
class SystemPrompts(Section):
    chat: str = field(
        default=DEFAULT_SYSTEM_PROMPTS["chat"],
        metadata=meta("System prompt both sides receive for chat.", check=_check_not_blank),
    )
    summarize: str = field(
        default=DEFAULT_SYSTEM_PROMPTS["summarize"],
        metadata=meta("System prompt both sides receive for summaries.", check=_check_not_blank),
    )
    translate: str = field(
        default=DEFAULT_SYSTEM_PROMPTS["translate"],
        metadata=meta("System prompt both sides receive for translations.", check=_check_not_blank),
    )

    def for_task(self, task: TaskName) -> str:
        prompt: str = getattr(self, task)
        return prompt


@dataclass(frozen=True)
class LocalEngineSettings(Section):
    threads: int | None = field(
        default=None,
        metadata=meta("CPU threads llama.cpp decodes with; empty: chosen by measurement (the table below).",
                      minimum=1, maximum=1024),
    )
    threads_preference: str = field(
        default="fastest",
        metadata=meta("How the measured table picks the threads: 'fastest' takes the fewest threads within 3 % "
                      "of the best rate; 'efficient' the fewest CPU-seconds per 100 tokens.",
                      choices=PREFERENCES),
    )
    measure_threads: bool = field(
        default=True,
        metadata=meta("Measure decode and prompt rates for each thread count the first time a model file is "
                      "loaded (a few seconds, kept for next time)."),
    )
    adapt_threads: bool = field(
        default=True,
        metadata=meta("At the start of each run, use no more threads than there are idle cores: a thread that "
                      "shares its core with another busy program stalls all the others."),
    )
    reuse_prompt_cache: bool = field(
        default=True,
        metadata=meta("Keep the computed prompt of a chat's earlier turns (the KV cache), so the next turn "
                      "evaluates only its new tokens, as llama.cpp's server does."),
    )
    n_ctx: int = field(
        default=DEFAULT_N_CTX,
        metadata=meta("Context window of the local model, in tokens (prompt and output together).",
                      minimum=256, maximum=1_048_576),
    )
    model_path: Path | None = field(
        default=None, metadata=meta("A GGUF file to run locally; empty for the bundled SmolLM2-135M.")
    )
    watchdog_seconds: float = field(
        default=DEFAULT_WATCHDOG_SECONDS,
        metadata=meta("Seconds without any answer from the local engine during a run before it is called hung, "
                      "stopped and started again. Long enough for the slowest prompt evaluation.",
                      minimum=5, maximum=3600),
    )


@dataclass(frozen=True)
class SamplerSettings(Section):
    rate_hz: float = field(
        default=DEFAULT_RATE_HZ,
        metadata=meta("How often CPU and memory are sampled, per second.", minimum=MIN_RATE_HZ, maximum=MAX_RATE_HZ),
    )
    window_seconds: float = field(
        default=DEFAULT_WINDOW_S,
        metadata=meta("How many seconds of history the resource graphs show.", minimum=10.0, maximum=3600.0),
    )
    watts_per_core: float = field(
        default=DEFAULT_WATTS_PER_CORE,
        metadata=meta("Assumed power draw of one fully busy CPU core, in watts; energy is estimated from it.",
                      minimum=0.1, maximum=1000.0),
    )


@dataclass(frozen=True)
class EnergySettings(Section):
    electricity_zone: str = field(
        default=AUTO,
        metadata=meta("Electricity mix for the emissions of a large model's EcoLogits estimate: WOR (world), EEE "
                      "(Europe) or a country's three-letter code; auto: your locale's country where EcoLogits has "
                      "its mix, else the world's. The energy estimate itself does not depend on it.",
                      choices=ZONE_CHOICES),
    )
    electricity_price: float = field(
        default=DEFAULT_PRICE_USD_PER_KWH,
        metadata=meta("What a kWh of this computer's electricity costs, in USD: the money a model on this computer "
                      "costs. The default, 0.30, is near Europe's household price and above the US average, so a "
                      "local model's electricity is not made to look cheaper than it may be.",
                      minimum=0.0, maximum=10.0),
    )


@dataclass(frozen=True)
class PriceOverride(Section):
    model: str = field(metadata=meta("Model name, as the API knows it.", check=_check_not_blank))
    input_per_million: float = field(metadata=meta("USD per million input tokens.", minimum=0.0))
    output_per_million: float = field(metadata=meta("USD per million output tokens.", minimum=0.0))


def _load_prices(raw: Any, path: str, problems: list[str]) -> tuple[PriceOverride, ...]:
    if not isinstance(raw, dict):
        raise InvalidValue("must map model names to {input, output} prices")
    prices: dict[str, PriceOverride] = {}
    for model, entry in raw.items():
        try:
            if not isinstance(entry, dict) or "input" not in entry or "output" not in entry:
                raise SettingValueError(model, "needs an input and an output price")
            if model.lower() in prices:
                raise SettingValueError(model, "is named twice")
            prices[model.lower()] = PriceOverride(model, entry["input"], entry["output"])
        except SettingValueError as error:
            problems.append(f"{path}[{model!r}]: {error.reason}")
    return tuple(prices.values())


def _dump_prices(prices: tuple[PriceOverride, ...]) -> dict[str, dict[str, float]]:
    return {p.model: {"input": p.input_per_million, "output": p.output_per_million} for p in prices}


def _normalize_prices(value: Any) -> tuple[PriceOverride, ...]:
    if isinstance(value, (Mapping, str, bytes)) or not isinstance(value, Iterable):
        raise InvalidValue("must be a sequence of PriceOverride")
    prices = tuple(value)
    if not all(isinstance(p, PriceOverride) for p in prices):
        raise InvalidValue("must be a sequence of PriceOverride")
    models = [p.model.lower() for p in prices]
    if len(set(models)) != len(models):
        raise InvalidValue("names a model twice")
    return prices


_PRICES = Codec("model → input/output USD per million tokens", _load_prices, _dump_prices, _normalize_prices)


@dataclass(frozen=True)
class Settings(Section):
    """Everything LM Scales remembers between runs, except the API key."""

    schema_version: ClassVar[int] = SCHEMA_VERSION

    endpoint: EndpointSettings = field(
        default_factory=EndpointSettings, metadata=meta("The large model behind an OpenAI-compatible API.")
    )
    generation: GenerationSettings = field(
        default_factory=GenerationSettings, metadata=meta("Sampling settings both sides share.")
    )
    system_prompts: SystemPrompts = field(
        default_factory=SystemPrompts, metadata=meta("The system prompt of each task.")
    )
    local_engine: LocalEngineSettings = field(
        default_factory=LocalEngineSettings, metadata=meta("The small model, run by llama.cpp on this CPU.")
    )
    run_mode: RunMode = field(
        default="parallel",
        metadata=meta("Run both sides at once, or one after the other so neither slows the other."),
    )
    sampler: SamplerSettings = field(
        default_factory=SamplerSettings, metadata=meta("Resource measurement: CPU, memory and estimated energy.")
    )
    energy: EnergySettings = field(
        default_factory=EnergySettings, metadata=meta("Electricity: the zone of energy estimates and its price.")
    )
    decision: DecisionSection = field(
        default_factory=DecisionSection,
        metadata=meta("Which model for which task: what counts as acceptable, the volume, the hardware cost."),
    )
    theme: Theme = field(default="system", metadata=meta("Light or dark colours, or follow the system."))
    price_overrides: tuple[PriceOverride, ...] = field(
        default=(), metadata=meta("Your own prices, used instead of the bundled price table.", codec=_PRICES)
    )
    offline: bool = field(
        default=False, metadata=meta("Never contact the large side; only the local model runs.")
    )
    never_remote: bool = field(
        default=False,
        metadata=meta("Never send to a remote side: any side beyond this computer refuses to run, with a message "
                      "(fail closed). A model on this CPU or a server on this computer still runs."),
    )
    keep_history: bool = field(
        default=True,
        metadata=meta("Keep every comparison (input, answers and figures) in the history file, so it is still "
                      "there after a restart. Off: the history lasts for this session only."),
    )
    show_welcome: bool = field(
        default=True,
        metadata=meta("Show the welcome in the large side's pane (ways to set up a second side, examples to try) "
                      "while no large model is set up. Closing the welcome turns this off."),
    )

    def price_override(self, model: str) -> PriceOverride | None:
        for price in self.price_overrides:
            if price.model.lower() == model.lower():
                return price
        return None

    def value(self, path: str) -> Any:
        """The value at a dotted path such as "generation.temperature"; KeyError for an unknown path."""
        return value_at(self, path)

    def with_value(self, path: str, value: Any) -> Settings:
        """A copy with one setting changed; SettingValueError (for the user) when the value is invalid."""
        return with_value(self, path, value)


def describe() -> tuple[SettingInfo, ...]:
    """Every setting in schema order: its dotted path, type, default and description."""
    return describe_section(Settings())


def changed(old: Settings, new: Settings) -> tuple[str, ...]:
    """The dotted paths whose values differ, so a listener can react to the settings it cares about."""
    return changed_paths(old, new)
