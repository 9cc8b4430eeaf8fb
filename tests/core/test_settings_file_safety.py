"""The settings file is the user's: saving keeps what this version does not know (or a copy of the file first),
a symbolic link stays a link, and a file nested too deeply to read is set aside with a note, never a traceback."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from lmscales.core.settings import SCHEMA_VERSION, Settings, load_settings, save_settings, settings_path


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    home.mkdir()
    monkeypatch.setenv("LMSCALES_CONFIG_DIR", str(home))
    return home


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def link_or_skip(link: Path, target: Path) -> None:
    try:
        os.symlink(target, link)
    except (OSError, NotImplementedError) as error:  # Windows without the privilege to make links
        pytest.skip(f"cannot make a symbolic link here: {error}")


def test_settings_this_version_does_not_know_are_kept_when_saving(caplog: pytest.LogCaptureFixture) -> None:
    path = write(settings_path(), {
        "schema_version": SCHEMA_VERSION, "theme": "dark", "future_section": {"knob": [1, 2]},
        "generation": {"temperature": 0.2, "future_sampler": "mirostat"},
        "price_overrides": {"m": {"input": 1, "output": 2}},
    })
    loaded = load_settings()
    assert loaded.notice is None
    with caplog.at_level(logging.INFO, logger="lmscales.core.settings.io"):
        save_settings(loaded.settings.with_value("generation.max_tokens", 77))  # as on close

    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["future_section"] == {"knob": [1, 2]}
    assert saved["generation"]["future_sampler"] == "mirostat"
    assert saved["generation"]["max_tokens"] == 77 and saved["theme"] == "dark"
    assert saved["price_overrides"] == {"m": {"input": 1.0, "output": 2.0}}  # a codec's value is not merged into
    assert "kept settings this version does not know: future_section, generation" in caplog.text
    assert load_settings().settings == loaded.settings.with_value("generation.max_tokens", 77)
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]  # nothing to back up


@pytest.mark.parametrize(("on_disk", "why"), [
    ("{ damaged after start", "can no longer be read"),
    (json.dumps({"schema_version": SCHEMA_VERSION + 1, "hologram": True}), "newer than this version"),
])
def test_a_file_that_cannot_be_kept_whole_is_copied_aside_before_saving(
        on_disk: str, why: str, caplog: pytest.LogCaptureFixture) -> None:
    path = write(settings_path(), on_disk)  # written after this version loaded (by hand, by a newer version)
    with caplog.at_level(logging.WARNING, logger="lmscales.core.settings.io"):
        save_settings(Settings().replace(theme="dark"))
    backups = [p for p in path.parent.iterdir() if p.name.startswith("settings.json.bak-")]
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == on_disk
    assert why in caplog.text and str(backups[0]) in caplog.text
    assert json.loads(path.read_text(encoding="utf-8"))["theme"] == "dark"


def test_a_linked_settings_file_is_written_through_the_link(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = write(dotfiles / "lmscales.json", {"schema_version": SCHEMA_VERSION, "theme": "light"})
    link = settings_path()
    link_or_skip(link, target)

    assert load_settings().settings.theme == "light"
    save_settings(Settings().replace(theme="dark"))
    assert link.is_symlink() and Path(os.readlink(link)) == target
    assert json.loads(target.read_text(encoding="utf-8"))["theme"] == "dark"
    assert sorted(p.name for p in link.parent.iterdir()) == ["settings.json"]  # no temporary file beside the link


def test_a_damaged_linked_file_is_set_aside_beside_its_target_and_the_link_kept(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = write(dotfiles / "lmscales.json", "{ not json")
    link = settings_path()
    link_or_skip(link, target)

    loaded = load_settings()
    assert loaded.notice is not None and "not valid JSON" in loaded.notice
    assert loaded.backup is not None and loaded.backup.parent == dotfiles
    assert loaded.backup.read_text(encoding="utf-8") == "{ not json"
    save_settings(loaded.settings)
    assert link.is_symlink() and json.loads(target.read_text(encoding="utf-8"))["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize("nested", [
    "[" * 100_000 + "]" * 100_000,
    '{"schema_version": 1, "generation": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001,
])
def test_a_file_nested_too_deeply_is_set_aside_with_a_note(nested: str) -> None:
    path = write(settings_path(), nested)
    loaded = load_settings()
    assert loaded.settings == Settings()
    assert loaded.notice is not None
    assert "nested too deeply to read" in loaded.notice and "default settings" in loaded.notice
    assert loaded.backup is not None and loaded.backup.name.startswith("settings.json.bad-")
    assert str(loaded.backup) in loaded.notice and loaded.backup.read_text(encoding="utf-8") == nested
    assert not path.exists()
    assert load_settings().notice is None  # said once
