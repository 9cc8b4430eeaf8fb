"""The settings file: where it lives, its JSON form, saving atomically, and loading that never fails.

Loading never fails: a file that cannot be read (not text, not JSON, nested too deeply to parse), or was
written by a newer LM Scales, is moved aside and defaults are used; a single invalid value falls back to its
default and the rest of the file is kept. In both cases `load_settings` returns a one-sentence notice for the
user, once. A file from an older schema is migrated (`migrations.py`) and rewritten, with the old one kept
beside it.

Saving keeps what this version does not know: settings a newer version or a person added to the file stay
in it. Where they cannot be kept (the file on disk is no longer readable, or from a newer schema), the file
is first copied to `settings.json.bak-<date>` and the log says so. A `settings.json` that is a symbolic link
(a dotfiles repository) is read and written through the link: its target is replaced atomically, the link
stays.
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

from lmscales.core.settings.fields import dump_section, load_section, merge_unknown, unknown_entries
from lmscales.core.settings.migrations import SCHEMA_VERSION, migrate
from lmscales.core.settings.schema import Settings
from lmscales.core.storage import write_atomically

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


def _through_link(path: Path) -> Path:
    """The file a symbolic link at `path` leads to (written in its place, so the link stays), else `path`."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _on_disk(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """What the file holds that this version does not know, and why it cannot be kept if it cannot."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        return None, f"it can no longer be read ({type(error).__name__})"
    if not isinstance(data, dict):
        return None, "it does not hold a JSON object"
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        return None, f"it is from settings schema {version!r}, newer than this version's {SCHEMA_VERSION}"
    if version < SCHEMA_VERSION:
        return None, None  # a migration, which kept the old file beside it: the old layout is meant to go
    unknown = unknown_entries(Settings, data)
    unknown.pop("schema_version", None)
    return unknown, None


def _keep_copy(path: Path, reason: str) -> None:
    try:
        backup = _backup_path(path, "bak")
        shutil.copy2(path, backup)
    except OSError as error:
        _log.warning("settings file %s: %s; could not copy it aside before saving: %s", path, reason, error)
        return
    _log.warning("settings file %s: %s, so what this version does not know cannot be kept in it; the file as "
                 "it was is kept as %s", path, reason, backup)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (a temporary file, then os.replace): a crash never leaves half a file. Settings this
    version does not know are kept (see the module docstring)."""
    path = _through_link(path or settings_path())
    data = to_dict(settings)
    unknown, problem = _on_disk(path)
    if unknown:
        merged = merge_unknown(to_dict(settings), unknown)
        try:
            text = json.dumps(merged, indent=2, ensure_ascii=False) + "\n"
        except (RecursionError, ValueError, TypeError) as error:
            problem = f"its unknown settings cannot be written back ({type(error).__name__})"
        else:
            _log.info("settings file %s: kept settings this version does not know: %s", path,
                      ", ".join(sorted(unknown)))
            write_atomically(path, text.encode("utf-8"))
            return path
    if problem:
        _keep_copy(path, problem)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
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
    path = _through_link(path or settings_path())
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
    except RecursionError:  # e.g. thousands of nested brackets: damaged, or made to break the reader
        return _set_aside(path, "bad", "is nested too deeply to read")
    try:
        return _read(data, path)
    except RecursionError:  # nesting just within the parser's limit, too deep for what reads it next
        _log.warning("settings file %s is nested too deeply", path, exc_info=True)
        return _set_aside(path, "bad", "is nested too deeply to read")


def _read(data: Any, path: Path) -> LoadResult:
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
