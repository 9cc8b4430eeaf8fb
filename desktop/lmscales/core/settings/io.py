"""The settings file: where it lives, its JSON form, saving atomically, and loading that never fails.

Loading never fails: a file that cannot be read, or was written by a newer LM Scales, is moved aside and
defaults are used; a single invalid value falls back to its default and the rest of the file is kept. In
both cases `load_settings` returns a one-sentence notice for the user, once. A file from an older schema is
migrated (`migrations.py`) and rewritten, with the old one kept beside it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from lmscales.core.files import write_atomically
from lmscales.core.settings.fields import dump_section, load_section
from lmscales.core.settings.migrations import SCHEMA_VERSION, migrate
from lmscales.core.settings.schema import Settings

_log = logging.getLogger(__name__)

APP_NAME = "LM Scales"
CONFIG_DIR_ENV = "LMSCALES_CONFIG_DIR"
SETTINGS_FILE = "settings.json"


# -- JSON -------------------------------------------------------------------------------------------------
def to_dict(settings: Settings) -> dict[str, Any]:
    """The JSON form of `settings`, with its schema_version."""
    return {"schema_version": SCHEMA_VERSION, **dump_section(settings)}


def from_dict(data: Mapping[str, Any]) -> tuple[Settings, tuple[str, ...]]:
    """Settings from a current-schema dict, and the problems found ("generation.top_p: must be ...").

    Unknown keys are ignored, missing keys take their defaults, and an invalid value takes its default.
    """
    problems: list[str] = []
    settings = load_section(Settings, data, "", problems)
    return settings, tuple(problems)


# -- files ------------------------------------------------------------------------------------------------
def config_dir() -> Path:
    """$LMSCALES_CONFIG_DIR, or the platform's config folder for LM Scales."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


@dataclass(frozen=True)
class LoadResult:
    settings: Settings
    notice: str | None = None  # one sentence for the user, when the file was not used as it was
    backup: Path | None = None  # where the previous file was kept, if it was


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (a temporary file, then os.replace): a crash never leaves half a file."""
    path = path or settings_path()
    text = json.dumps(to_dict(settings), indent=2, ensure_ascii=False) + "\n"
    write_atomically(path, text.encode("utf-8"))
    return path


def _backup_path(path: Path, label: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.{label}-{stamp}")
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{label}-{stamp}-{counter}")
        counter += 1
    return candidate


def _set_aside(path: Path, label: str, reason: str) -> LoadResult:
    """Defaults, with the file moved aside so the next start is quiet."""
    try:
        backup = _backup_path(path, label)
        os.replace(path, backup)
    except OSError as error:
        _log.warning("settings file %s %s; could not move it aside: %s", path, reason, error)
        return LoadResult(
            Settings(),
            f"Your settings file {path} {reason}, so LM Scales started with default settings; the file could not "
            f"be moved aside ({error.strerror or error}) and will be replaced when settings are next saved.",
        )
    _log.warning("settings file %s %s; moved to %s", path, reason, backup)
    return LoadResult(
        Settings(),
        f"Your settings file {reason}, so LM Scales started with default settings; the old file was kept as "
        f"{backup}.",
        backup,
    )


def _rewrite(settings: Settings, path: Path, label: str) -> Path | None:
    """Keep a copy of the file as it was, then write `settings` over it."""
    try:
        backup = _backup_path(path, label)
        shutil.copy2(path, backup)
        save_settings(settings, path)
    except OSError as error:
        _log.warning("could not rewrite settings file %s: %s", path, error)
        return None
    return backup


def load_settings(path: Path | None = None) -> LoadResult:
    """The saved settings, or defaults; never raises for a bad file (see the module docstring)."""
    path = path or settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadResult(Settings())
    except UnicodeDecodeError:
        return _set_aside(path, "bad", "is not text")
    except OSError as error:
        _log.warning("cannot read settings file %s: %s", path, error)
        return LoadResult(
            Settings(),
            f"Your settings file {path} could not be opened ({error.strerror or error}), so LM Scales is using "
            "default settings for now.",
        )
    try:
        data = json.loads(text)
    except ValueError as error:
        where = f" at line {error.lineno}" if isinstance(error, json.JSONDecodeError) else ""
        return _set_aside(path, "bad", f"is not valid JSON{where}")
    if not isinstance(data, dict):
        return _set_aside(path, "bad", "does not hold a JSON object")
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        return _set_aside(path, "bad", "has an invalid schema_version")
    if version > SCHEMA_VERSION:
        return _set_aside(
            path, "newer", f"was written by a newer version of LM Scales (settings schema {version}, this version "
            f"reads {SCHEMA_VERSION})"
        )
    if version < SCHEMA_VERSION:
        try:
            data = migrate(data)
        except Exception as error:  # a migration meeting a value it did not expect
            _log.warning("cannot migrate settings file %s from schema %s", path, version, exc_info=True)
            return _set_aside(path, "bad", f"could not be updated from settings schema {version} ({error})")
    settings, problems = from_dict(data)
    if problems:
        _log.warning("settings file %s: reset to defaults: %s", path, "; ".join(problems))
        backup = _rewrite(settings, path, "bad")
        kept = f"; the previous file was kept as {backup}" if backup else ""
        return LoadResult(
            settings,
            f"Some settings were invalid and were reset to their defaults ({'; '.join(problems)}){kept}.",
            backup,
        )
    if version < SCHEMA_VERSION:
        _log.info("settings file %s updated from schema %s to %s", path, version, SCHEMA_VERSION)
        return LoadResult(settings, None, _rewrite(settings, path, f"v{version}"))
    return LoadResult(settings)
