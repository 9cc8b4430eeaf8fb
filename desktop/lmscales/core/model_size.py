"""What size each side's model is, with where the figure comes from: "What size buys" should say what size it is.

A GGUF on this CPU says its own parameter count (its header, `GGUFInfo.parameters_label`, which the engine puts
in `EngineInfo.parameters`); a model behind an API has the figure EcoLogits' table gives it (labelled as
EcoLogits' figure: a range where the maker has not published it, active and total for a mixture of experts);
anything else is "unknown", never a guess from the name.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmscales.core.api_energy import ApiEnergy, ApiModelSize, api_model_size, ecologits_version
from lmscales.core.events import EngineInfo

UNKNOWN = "unknown"


@dataclass(frozen=True)
class SideSize:
    """One side's parameter count as text ("135M", "≈ 8–28 B parameters"), and its source (None: unknown)."""

    text: str
    source: str | None  # "GGUF file", "EcoLogits 0.11.3"
    api: ApiModelSize | None = None  # EcoLogits' figures, for an API model it knows

    @property
    def known(self) -> bool:
        return self.source is not None

    @property
    def label(self) -> str:
        """"135M parameters (GGUF file)", "EcoLogits: ≈ 8–28 B parameters", "unknown"."""
        if self.api is not None:
            return f"EcoLogits: {self.text}"
        return f"{self.text} parameters ({self.source})" if self.known else UNKNOWN


def side_size(info: EngineInfo | None, api_energy: ApiEnergy | None = None) -> SideSize:
    """The size of the model a side ran. `api_energy`: the side's estimate, whose size is used when it has one
    (the table is not looked up again)."""
    if info is None:
        return SideSize(UNKNOWN, None)
    if info.kind == "local":
        return SideSize(info.parameters, "GGUF file") if info.parameters else SideSize(UNKNOWN, None)
    size = api_energy.size if api_energy is not None else None
    version = api_energy.ecologits_version if api_energy is not None else None
    if size is None:
        try:
            size = api_model_size(info.host, info.model)
        except Exception:  # EcoLogits missing from a broken install: the size is unknown, nothing else breaks
            size = None
        if size is not None:
            version = ecologits_version()
    if size is None:
        return SideSize(UNKNOWN, None)
    return SideSize(size.text, f"EcoLogits {version}", size)
