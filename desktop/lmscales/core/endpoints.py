"""Where the large model lives: endpoint presets, and finding OpenAI-compatible servers on loopback.

Detection probes `GET /v1/models` on this machine's loopback only (127.0.0.1), on the ports the local
presets name, with a short timeout; it never touches any other address.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lmscales.core.offline import is_loopback as loopback_host

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Preset:
    name: str
    base_url: str
    needs_key: bool
    default_model: str = ""

    @property
    def is_loopback(self) -> bool:
        return loopback_host(urlsplit(self.base_url).hostname or "")


PRESETS: tuple[Preset, ...] = (
    Preset("OpenAI", "https://api.openai.com/v1", True, "gpt-4o-mini"),
    Preset("OpenRouter", "https://openrouter.ai/api/v1", True, "openai/gpt-4o-mini"),
    Preset("Groq", "https://api.groq.com/openai/v1", True, "openai/gpt-oss-120b"),
    Preset("Together", "https://api.together.xyz/v1", True, "openai/gpt-oss-120b"),
    Preset("Ollama", f"http://{LOOPBACK}:11434/v1", False),
    Preset("LM Studio", f"http://{LOOPBACK}:1234/v1", False),
    Preset("llama.cpp server", f"http://{LOOPBACK}:8080/v1", False),
    Preset("vLLM", f"http://{LOOPBACK}:8000/v1", False),
    Preset("Custom", "", False),
)


def key_variables(endpoint_url: str) -> tuple[str, ...]:
    """The environment variables a key for this endpoint is read from, in order: LMSCALES_API_KEY for any,
    OPENAI_API_KEY only for OpenAI itself (it must not travel to a third party)."""
    host = (urlsplit(endpoint_url).hostname or "").lower()
    openai = host == "api.openai.com" or host.endswith(".openai.com")
    return ("LMSCALES_API_KEY", "OPENAI_API_KEY") if openai else ("LMSCALES_API_KEY",)


def env_api_key(endpoint_url: str) -> str | None:
    """A key from the environment for this endpoint (the first of `key_variables` that is set), stripped and
    registered for redaction."""
    from lmscales.core.secrets import register_secret

    key = next((value for name in key_variables(endpoint_url) if (value := os.environ.get(name, "").strip())), "")
    register_secret(key or None)
    return key or None


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
        netloc = parts.netloc.rsplit("@", 1)[-1]
        return netloc or self.base_url.rsplit("@", 1)[-1]

    @property
    def display_url(self) -> str:
        """The base URL without credentials or query (an `?api-key=` is a secret too)."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{self.host}{parts.path}" if parts.scheme else self.host

    @property
    def is_loopback(self) -> bool:
        return loopback_host(urlsplit(self.base_url).hostname or "")

    def problem(self) -> str | None:
        """Why this endpoint cannot be used, for the user; None when it looks usable."""
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"The base URL must start with http:// or https:// and name a host, e.g. {PRESETS[0].base_url}"
        try:
            parts.port  # noqa: B018 (raises for a port out of range)
        except ValueError:
            return f"The port in {self.display_url} is not a valid port number."
        if parts.username or parts.password:
            return "Put the API key in its own field, not in the base URL."
        if not self.model.strip():
            return "A model name is needed."
        return None


@dataclass(frozen=True)
class DetectedServer:
    preset: Preset
    models: tuple[str, ...]


def _probe(base_url: str, timeout: float) -> tuple[str, ...] | None:
    if not loopback_host(urlsplit(base_url).hostname or ""):
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
