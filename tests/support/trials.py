"""Hand-made trials with known figures, for the result card and the history dialog.

Each side's deltas are laid out so that its figures are round numbers: the first text arrives at `ttft`
seconds after submit, then one delta every `gap` seconds."""

from __future__ import annotations

from lmscales.core.events import EngineError, EngineInfo, Finished, Provenance
from lmscales.core.metrics import Figure
from lmscales.core.pricing import Cost, Price
from lmscales.core.resource_monitor import RunResourceSummary
from lmscales.core.trial import GenerationParams, SideResult, TaskInput, Trial

SMALL_INFO = EngineInfo(kind="local", model="SmolLM2-135M-Instruct", context_tokens=2048, threads=2)
LARGE_INFO = EngineInfo(kind="remote", model="gpt-4o-mini", context_tokens=128_000, host="api.openai.com",
                        endpoint_name="OpenAI", loopback=False)


def finished(ttft: float, tokens: int, gap: float = 0.1, provenance: Provenance = "measured",
             bytes_received: int | None = None) -> Finished:
    deltas = tuple((ttft + index * gap, f"w{index} ") for index in range(tokens))
    return Finished(prompt_tokens=20, prompt_tokens_provenance=provenance, output_tokens=tokens,
                    output_tokens_provenance=provenance, submitted_at=0.0, deltas=deltas, stop_reason="stop",
                    bytes_received=bytes_received)


def resources(energy_j: float | None, provenance: Provenance = "estimated") -> RunResourceSummary:
    return RunResourceSummary(
        0.0, 1.0, 4,
        engine_peak_rss=Figure(200e6, "B", "measured", ""),
        engine_mean_cpu=Figure(90.0, "%", "measured", ""),
        engine_cpu_seconds=Figure(1.2, "s", "measured", ""),
        energy=Figure(energy_j, "J", provenance, ""),
    )


def small_side(ttft: float = 0.1, tokens: int = 11, gap: float = 0.1, cpu_seconds: float | None = 1.2,
               energy_j: float | None = 1080.0) -> SideResult:
    return SideResult(side="small", label="Small", engine=SMALL_INFO, text="Paris is the capital of France.",
                      started_at="2026-11-28T18:00:00+00:00", finished=finished(ttft, tokens, gap),
                      cpu_seconds=cpu_seconds, resources=resources(energy_j))


def large_side(ttft: float = 0.41, tokens: int = 11, gap: float = 0.05, usd: float | None = 0.0004,
               provenance: Provenance = "measured", bytes_received: int | None = 3200) -> SideResult:
    price = Price("gpt-4o-mini", 0.15, 0.6, "bundled table")
    return SideResult(side="large", label="Large", engine=LARGE_INFO, text="The capital of France is **Paris**.",
                      started_at="2026-11-28T18:00:00+00:00",
                      finished=finished(ttft, tokens, gap, provenance, bytes_received),
                      cost=Cost(usd, provenance, price))


def failed_large() -> SideResult:
    return SideResult(side="large", label="Large", engine=LARGE_INFO, text="", started_at="2026-11-28T18:00:00+00:00",
                      error=EngineError("auth", "The API key was refused (401)."))


def trial(*sides: SideResult, text: str = "What is the capital of France?", task: str = "chat",
          created_at: str = "2026-11-28T18:00:00+00:00", params: GenerationParams | None = None) -> Trial:
    return Trial(id="a1b2c3d4e5f6", created_at=created_at,
                 input=TaskInput(task=task, text=text, target_lang="fr" if task == "translate" else None),  # type: ignore[arg-type]
                 params=params or GenerationParams(max_tokens=24, temperature=0.0, top_p=1.0, seed=7),
                 sides=sides or (small_side(), large_side()))
