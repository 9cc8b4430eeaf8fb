"""Where the large model lives: endpoint presets, and finding OpenAI-compatible servers on loopback.

Detection probes `GET /v1/models` on this machine's loopback only (127.0.0.1), on the ports the local
presets name, with a short timeout; it never touches any other address.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Preset:
    name: str
    base_url: str
    needs_key: bool
    default_model: str = ""

    @property
    def is_loopback(self) -> bool:
        return urlsplit(self.base_url).hostname in {LOOPBACK, "localhost", "::1"}


PRESETS: tuple[Preset, ...] = (
    Preset("OpenAI", "https://api.openai.com/v1", True, "gpt-4o-mini"),
    Preset("OpenRouter", "https://openrouter.ai/api/v1", True, "openai/gpt-4o-mini"),
    Preset("Groq", "https://api.groq.com/openai/v1", True, "llama-3.3-70b-versatile"),
    Preset("Together", "https://api.together.xyz/v1", True, "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    Preset("Ollama", f"http://{LOOPBACK}:11434/v1", False),
    Preset("LM Studio", f"http://{LOOPBACK}:1234/v1", False),
    Preset("llama.cpp server", f"http://{LOOPBACK}:8080/v1", False),
    Preset("vLLM", f"http://{LOOPBACK}:8000/v1", False),
    Preset("Custom", "", False),
)


def preset(name: str) -> Preset:
    for item in PRESETS:
        if item.name.lower() == name.lower():
            return item
    raise KeyError(name)


@dataclass(frozen=True)
class Endpoint:
    """A configured large side. The key is kept out of `repr` so it never lands in a log or a traceback."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    name: str = "Custom"

    @property
    def host(self) -> str:
        """host[:port] only: never credentials a user put in the URL."""
        parts = urlsplit(self.base_url)
        if not parts.hostname:
            return self.base_url.split("@")[-1]
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return f"{host}:{parts.port}" if parts.port else host

    @property
    def is_loopback(self) -> bool:
        return urlsplit(self.base_url).hostname in {LOOPBACK, "localhost", "::1"}


@dataclass(frozen=True)
class DetectedServer:
    preset: Preset
    models: tuple[str, ...]


def _probe(base_url: str, timeout: float) -> tuple[str, ...] | None:
    if urlsplit(base_url).hostname not in {LOOPBACK, "localhost", "::1"}:
        raise ValueError(f"refusing to probe a non-loopback address: {base_url}")
    # A direct opener: no proxy may turn a loopback probe into an outside connection.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(base_url.rstrip("/") + "/models", timeout=timeout) as response:
            data = json.loads(response.read(1_000_000))
    except (urllib.error.URLError, OSError, ValueError):
        return None
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    return tuple(str(item["id"]) for item in items if isinstance(item, dict) and "id" in item)


def detect_local_servers(
    presets: tuple[Preset, ...] = PRESETS, timeout: float = 0.3
) -> list[DetectedServer]:
    """The loopback presets that answer `GET /models` like an OpenAI-compatible server."""
    candidates = [p for p in presets if p.base_url and p.is_loopback]
    with ThreadPoolExecutor(max_workers=max(1, len(candidates))) as pool:
        answers = list(pool.map(lambda p: _probe(p.base_url, timeout), candidates))
    return [DetectedServer(p, models) for p, models in zip(candidates, answers, strict=True) if models is not None]
