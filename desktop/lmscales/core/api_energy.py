"""The energy of an answer from a model behind an API, estimated offline with EcoLogits (MIT; its model table
and electricity mixes ship inside the package), and the size EcoLogits gives that model.

Nothing here reaches the network or installs EcoLogits' tracers: the estimate calls its lower-level function
(`ecologits.tracers.utils.llm_impacts`) with the provider, the model, the tokens generated and the request's
latency. The provider comes from the endpoint's host (api.openai.com → openai, …) or, where the host says
nothing (a proxy such as OpenRouter, a server on this computer), from the model's name in EcoLogits' table:
a "provider/" prefix is tried with and without, and a name several providers list is used only when their
entries give the same size. A model EcoLogits does not know gets no number, and `ApiEnergy.reason` says so.

EcoLogits is imported on the first estimate, not at start-up (it brings pydantic; the window starts without).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any

from lmscales.core import metrics
from lmscales.core.events import EngineInfo, Finished

JOULES_PER_KWH = 3.6e6

# Hosts whose provider EcoLogits has a table for (its provider names).
_PROVIDER_BY_HOST = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "api.mistral.ai": "mistralai",
    "generativelanguage.googleapis.com": "google_genai",
    "api.cohere.com": "cohere",
    "api.cohere.ai": "cohere",
    "router.huggingface.co": "huggingface_hub",
    "api-inference.huggingface.co": "huggingface_hub",
}
# A proxy's "provider/" prefix (OpenRouter's "openai/gpt-4o-mini") that names one of EcoLogits' providers.
_PROVIDER_BY_PREFIX = {"openai": "openai", "anthropic": "anthropic", "mistralai": "mistralai",
                       "google": "google_genai", "cohere": "cohere"}


def provider_for_host(host: str | None) -> str | None:
    """EcoLogits' provider for an endpoint's host[:port] (None: the host says nothing, e.g. a proxy)."""
    if not host:
        return None
    name = host.lower().rsplit("@", 1)[-1]
    if not name.startswith("["):
        name = name.split(":", 1)[0]
    return _PROVIDER_BY_HOST.get(name)


@dataclass(frozen=True)
class ApiModelSize:
    """A model's parameter count as EcoLogits' table gives it, in billions; a range where the maker has not
    published it, active and total for a mixture of experts."""

    provider: str
    name: str  # EcoLogits' name for it
    active_low_b: float
    active_high_b: float
    total_low_b: float
    total_high_b: float
    mixture_of_experts: bool = False

    @property
    def text(self) -> str:
        """"≈ 8–28 B parameters", or for a mixture of experts "≈ 44–132 B active of 440 B"."""
        active = _billions(self.active_low_b, self.active_high_b)
        if self.mixture_of_experts:
            return f"≈ {active} B active of {_billions(self.total_low_b, self.total_high_b)} B"
        return f"≈ {active} B parameters"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApiModelSize:
        return cls(str(data["provider"]), str(data["name"]), float(data["active_low_b"]),
                   float(data["active_high_b"]), float(data["total_low_b"]), float(data["total_high_b"]),
                   bool(data.get("mixture_of_experts", False)))


def _billions(low: float, high: float) -> str:
    def one(value: float) -> str:
        return f"{value:g}" if value < 10 else f"{value:.0f}"

    return one(low) if low == high else f"{one(low)}–{one(high)}"


@dataclass(frozen=True)
class ApiEnergy:
    """EcoLogits' estimate for one answer, or why there is none (`reason`; then every figure is None).

    Energy is in joules: `energy_j` is the middle of the range EcoLogits gives (`energy_low_j` to
    `energy_high_j`; the same three when it gives one value). Emissions (GWP) are in kgCO2eq with the
    electricity mix of `zone`; energy does not depend on the zone."""

    model: str  # as the side named it
    ecologits_version: str
    zone: str
    output_tokens: int
    latency_s: float
    energy_j: float | None = None
    energy_low_j: float | None = None
    energy_high_j: float | None = None
    gwp_kg: float | None = None
    gwp_low_kg: float | None = None
    gwp_high_kg: float | None = None
    size: ApiModelSize | None = None
    found_by: str = ""  # how the provider was found: "the host api.openai.com", "the model name (openai's entry)"
    warnings: tuple[str, ...] = ()  # EcoLogits' own, e.g. "The model architecture has not been released …"
    reason: str | None = None

    @property
    def known(self) -> bool:
        return self.energy_j is not None

    @property
    def provenance(self) -> str:
        return f"EcoLogits {self.ecologits_version} estimate"

    @property
    def label(self) -> str:
        """"estimated (EcoLogits 0.11.3, gpt-4o-mini ≈ 8–28 B parameters)"; the reason when there is no number."""
        if not self.known or self.size is None:
            return self.reason or f"EcoLogits does not know {self.model}"
        return f"estimated (EcoLogits {self.ecologits_version}, {self.size.name} {self.size.text})"

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["size"] = self.size.as_dict() if self.size is not None else None
        out["warnings"] = list(self.warnings)
        out["label"] = self.label  # for readers of an export; ignored when read back
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApiEnergy:
        known = {item.name for item in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        size = data.get("size")
        values["size"] = ApiModelSize.from_dict(size) if size else None
        values["warnings"] = tuple(str(w) for w in data.get("warnings") or ())
        for name in ("energy_j", "energy_low_j", "energy_high_j", "gwp_kg", "gwp_low_kg", "gwp_high_kg"):
            if values.get(name) is not None:
                values[name] = float(values[name])
        values["output_tokens"] = int(data.get("output_tokens") or 0)
        values["latency_s"] = float(data.get("latency_s") or 0.0)
        return cls(**values)


# -- EcoLogits, loaded once --------------------------------------------------------------------------------
@cache
def _ecologits() -> SimpleNamespace:
    previous = logging.getLoggerClass()
    import ecologits
    from ecologits.electricity_mix_repository import electricity_mixes
    from ecologits.model_repository import ParametersMoE, Providers, models
    from ecologits.tracers.utils import llm_impacts

    # Importing EcoLogits makes its logger class every new logger's; give the process its own back. Its warnings
    # ("architecture not released") are carried in each estimate rather than printed.
    logging.setLoggerClass(previous)
    logging.getLogger("ecologits").setLevel(logging.ERROR)
    return SimpleNamespace(version=ecologits.__version__, models=models, mixes=electricity_mixes,
                           moe=ParametersMoE, providers=tuple(p.value for p in Providers), llm_impacts=llm_impacts)


def ecologits_version() -> str:
    return str(_ecologits().version)


def _bounds(value: Any) -> tuple[float, float]:
    """A figure EcoLogits gives as one number or as a range (`RangeValue`, with min and max)."""
    if hasattr(value, "min") and hasattr(value, "max"):
        return float(value.min), float(value.max)
    return float(value), float(value)


def _size(entry: Any) -> ApiModelSize:
    eco = _ecologits()
    parameters = entry.architecture.parameters
    moe = isinstance(parameters, eco.moe)
    active = _bounds(parameters.active if moe else parameters)
    total = _bounds(parameters.total if moe else parameters)
    return ApiModelSize(entry.provider.value, entry.name, *active, *total, mixture_of_experts=moe)


@dataclass(frozen=True)
class _Found:
    entry: Any  # EcoLogits' `Model`
    found_by: str


def _find(host: str | None, model: str) -> _Found | str:
    """EcoLogits' entry for `model` behind `host`, or the reason there is none (a sentence)."""
    eco = _ecologits()
    prefix, _, bare = model.partition("/")
    names = [model] + ([bare] if bare else [])
    provider = provider_for_host(host)
    if provider is not None:
        for name in names:
            entry = eco.models.find_model(provider, name)
            if entry is not None:
                return _Found(entry, f"the host {host}")
        return f"EcoLogits does not know {model} (looked up among {provider}'s models, from the host {host})"
    for name in names:
        hinted = _PROVIDER_BY_PREFIX.get(prefix.lower()) if name == bare else None
        if hinted is not None and (entry := eco.models.find_model(hinted, name)) is not None:
            return _Found(entry, f"the model name ({hinted}'s entry)")
        found = [entry for p in eco.providers if (entry := eco.models.find_model(p, name)) is not None]
        if len(found) == 1:
            return _Found(found[0], f"the model name ({found[0].provider.value}'s entry)")
        if found:
            sizes = {_size(entry).text for entry in found}
            owners = ", ".join(entry.provider.value for entry in found)
            if len(sizes) > 1:
                return (f"EcoLogits lists {name} for {owners} with different sizes ({'; '.join(sorted(sizes))}), "
                        "so which one this is cannot be told")
            return _Found(found[0], f"the model name (the same size for {owners}; {found[0].provider.value}'s entry)")
    return f"EcoLogits does not know {model}"


def api_model_size(host: str | None, model: str) -> ApiModelSize | None:
    """The size EcoLogits' table gives the model behind `host` (None: it does not know it)."""
    found = _find(host, model)
    return _size(found.entry) if isinstance(found, _Found) else None


def estimate_api_energy(host: str | None, model: str, output_tokens: int, latency_s: float,
                        zone: str) -> ApiEnergy:
    """EcoLogits' energy and emissions for one answer of `output_tokens` that took `latency_s` seconds from
    request to last token, with the electricity mix of `zone`; without a number (and with the reason) for a
    model it does not know."""
    eco = _ecologits()
    base = ApiEnergy(model=model, ecologits_version=str(eco.version), zone=zone, output_tokens=output_tokens,
                     latency_s=latency_s)
    found = _find(host, model)
    if isinstance(found, str):
        return dataclasses.replace(base, reason=found)
    entry = found.entry
    size = _size(entry)
    if eco.mixes.find_electricity_mix(zone) is None:
        return dataclasses.replace(base, size=size, found_by=found.found_by,
                                   reason=f"EcoLogits has no electricity mix for the zone {zone}")
    impacts = eco.llm_impacts(entry.provider.value, entry.name, output_tokens, latency_s, zone)
    if impacts.has_errors or impacts.energy is None:
        problems = "; ".join(str(error.message) for error in impacts.errors or ()) or "no energy figure"
        return dataclasses.replace(base, size=size, found_by=found.found_by, reason=f"EcoLogits: {problems}")
    low, high = (bound * JOULES_PER_KWH for bound in _bounds(impacts.energy.value))
    gwp_low = gwp_high = None
    if impacts.gwp is not None:
        gwp_low, gwp_high = _bounds(impacts.gwp.value)
    return dataclasses.replace(
        base, energy_j=(low + high) / 2, energy_low_j=low, energy_high_j=high,
        gwp_kg=(gwp_low + gwp_high) / 2 if gwp_low is not None and gwp_high is not None else None,
        gwp_low_kg=gwp_low, gwp_high_kg=gwp_high, size=size, found_by=found.found_by,
        warnings=tuple(str(warning.message) for warning in impacts.warnings or ()),
    )


def estimate_for_side(info: EngineInfo, finished: Finished, energy_here: float | None,
                      zone: str) -> ApiEnergy | None:
    """The EcoLogits estimate a side's result carries, or None where it does not apply.

    It applies to a model behind an endpoint whose energy this computer did not measure: an API beyond this
    computer, always; a server on this computer only when no energy was measured or estimated here for it (no
    resource monitor, as on the command line): then the only figure there can be is the one for the model it
    names, which is what a proxy on this computer (LiteLLM, a gateway to an API) really runs. A server here
    whose energy was measured keeps that figure. A model on this CPU never gets one."""
    if info.kind != "remote" or info.recorded:
        return None
    if info.on_this_computer and energy_here is not None:
        return None
    end_to_end = metrics.end_to_end(finished.submitted_at, finished.deltas)
    latency = end_to_end if end_to_end is not None else 0.0
    try:
        return estimate_api_energy(info.host, info.model, finished.billed_output_tokens, latency, zone)
    except Exception as error:  # a broken install must not end a run: the side says why it has no figure
        logging.getLogger(__name__).exception("EcoLogits estimate failed")
        return ApiEnergy(model=info.model, ecologits_version="?", zone=zone, output_tokens=finished.output_tokens,
                         latency_s=latency, reason=f"EcoLogits could not estimate it ({type(error).__name__}: {error})")
