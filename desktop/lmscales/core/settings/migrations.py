"""The settings file's schema version, and the steps that bring an older file up to date.

`MIGRATIONS` maps a version to a function that takes a dict of that version and returns one of the next
version; `migrate` runs them one at a time, so each step is written (and tested) once. They work on plain
dicts, before the file is read into `Settings`, so a step never depends on today's schema classes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

SCHEMA_VERSION = 1

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _v0_to_v1(old: dict[str, Any]) -> dict[str, Any]:
    """v0: a flat layout with no schema_version. No release wrote it; it keeps the migration path tested.

    {"preset", "base_url", "model", "max_tokens", "temperature", "top_p", "seed", "n_threads" (0 = auto),
     "n_ctx", "gguf_path" ("" = bundled), "parallel" (bool), "sample_hz", "dark_mode" (null = system),
     "prices": {model: [input, output]}}
    """
    new: dict[str, Any] = {"schema_version": 1}

    def move(section: str, pairs: dict[str, str]) -> None:
        moved = {new_key: old[old_key] for old_key, new_key in pairs.items() if old_key in old}
        if moved:
            new[section] = moved

    move("endpoint", {"preset": "preset", "base_url": "base_url", "model": "model"})
    move("generation", {k: k for k in ("max_tokens", "temperature", "top_p", "seed")})
    move("local_engine", {"n_threads": "threads", "n_ctx": "n_ctx", "gguf_path": "model_path"})
    move("sampler", {"sample_hz": "rate_hz"})
    engine = new.get("local_engine", {})
    if engine.get("threads") == 0:
        engine["threads"] = None
    if engine.get("model_path") == "":
        engine["model_path"] = None
    if "parallel" in old:
        new["run_mode"] = "parallel" if old["parallel"] else "sequential"
    if "dark_mode" in old:
        new["theme"] = {None: "system", True: "dark", False: "light"}.get(old["dark_mode"], old["dark_mode"])
    if isinstance(old.get("prices"), dict):
        new["price_overrides"] = {
            model: {"input": pair[0], "output": pair[1]} if isinstance(pair, list) and len(pair) == 2 else pair
            for model, pair in old["prices"].items()
        }
    return new


# version -> a function taking a dict of that version and returning one of the next version.
MIGRATIONS: dict[int, Migration] = {0: _v0_to_v1}


def migrate(
    data: dict[str, Any], migrations: Mapping[int, Migration] = MIGRATIONS, target: int = SCHEMA_VERSION
) -> dict[str, Any]:
    """`data` brought from its schema_version (0 when it has none) up to `target`, one step at a time."""
    version = data.get("schema_version", 0)
    while version < target:
        if version not in migrations:
            raise ValueError(f"no migration from settings schema {version}")
        data = migrations[version](dict(data))
        data["schema_version"] = version = version + 1
    return data
