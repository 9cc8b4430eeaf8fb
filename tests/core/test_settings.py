"""The settings schema and its file: defaults, validation, migrations, and a bad file said once."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from lmscales.core import settings as settings_module
from lmscales.core.defaults import DEFAULT_N_CTX, GENERATION_DEFAULTS
from lmscales.core.events import GenerationRequest, Message
from lmscales.core.settings import (
    MIGRATIONS,
    SCHEMA_VERSION,
    GenerationSettings,
    PriceOverride,
    Settings,
    SettingsChange,
    SettingsStore,
    SettingValueError,
    changed,
    config_dir,
    describe,
    from_dict,
    load_settings,
    migrate,
    save_settings,
    settings_path,
    to_dict,
)
from lmscales.core.tasks import DEFAULT_SYSTEM_PROMPTS, TASKS
from lmscales.core.trial import GenerationParams


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's config folder is a temporary one: nothing here may touch the real home config."""
    home = tmp_path / "config"
    monkeypatch.setenv("LMSCALES_CONFIG_DIR", str(home))
    return home


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


# -- the schema -------------------------------------------------------------------------------------------
def test_defaults_are_the_documented_ones() -> None:
    s = Settings()
    assert (s.endpoint.preset, s.endpoint.base_url, s.endpoint.model) == (
        "OpenAI", "https://api.openai.com/v1", "gpt-4o-mini")
    assert s.generation == GenerationSettings(max_tokens=256, temperature=0.7, top_p=0.95, seed=42)
    assert all(s.system_prompts.for_task(task) == DEFAULT_SYSTEM_PROMPTS[task] for task in TASKS)
    assert (s.local_engine.threads, s.local_engine.n_ctx, s.local_engine.model_path) == (None, DEFAULT_N_CTX, None)
    assert s.run_mode == "parallel"
    assert (s.sampler.rate_hz, s.sampler.window_seconds, s.sampler.watts_per_core) == (4.0, 120.0, 10.0)
    assert (s.theme, s.price_overrides, s.offline) == ("system", (), False)
    assert s.schema_version == SCHEMA_VERSION == 1


def test_describe_lists_every_setting_with_a_description() -> None:
    infos = {info.path: info for info in describe()}
    assert len(infos) == len(describe()), "paths are unique"
    assert {"endpoint.base_url", "generation.temperature", "system_prompts.translate", "local_engine.threads",
            "run_mode", "sampler.rate_hz", "sampler.watts_per_core", "theme", "price_overrides", "offline"} <= set(
        infos)
    for path, info in infos.items():
        assert info.description.strip().endswith("."), path
        assert info.default == Settings().value(path)
    assert (infos["generation.temperature"].minimum, infos["generation.temperature"].maximum) == (0.0, 2.0)
    assert infos["theme"].choices == ("system", "light", "dark")
    assert infos["local_engine.threads"].optional and infos["local_engine.threads"].type == "int | None"
    assert "Custom" in infos["endpoint.preset"].choices


def test_the_api_key_is_not_a_setting() -> None:
    assert not [info.path for info in describe() if "key" in info.path.lower() or "secret" in info.path.lower()]
    with pytest.raises(SettingValueError, match="keyring"):
        Settings().with_value("endpoint.base_url", "https://me:sk-secretsecret@api.example.com/v1")


def test_frozen_replace_and_with_value() -> None:
    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.theme = "dark"  # type: ignore[misc]
    darker = s.replace(theme="dark")
    assert (s.theme, darker.theme) == ("system", "dark")
    hotter = s.with_value("generation.temperature", 1)
    assert hotter.generation.temperature == 1.0 and isinstance(hotter.generation.temperature, float)
    assert s.generation.temperature == 0.7
    assert hotter.with_value("local_engine.model_path", "/models/x.gguf").local_engine.model_path == Path(
        "/models/x.gguf")
    assert changed(s, hotter.replace(offline=True)) == ("generation.temperature", "offline")
    with pytest.raises(KeyError):
        s.with_value("generation.nope", 1)
    with pytest.raises(KeyError):
        s.value("theme.colour")


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("generation.temperature", 2.5, "between 0 and 2"),
        ("generation.temperature", float("nan"), "must be a number"),
        ("generation.top_p", -0.1, "between 0 and 1"),
        ("generation.max_tokens", 0, "at least 1"),
        ("generation.max_tokens", 12.5, "whole number"),
        ("generation.max_tokens", True, "whole number"),
        ("sampler.rate_hz", 0.2, "between 0.5 and 20"),
        ("sampler.rate_hz", "fast", "must be a number"),
        ("theme", "purple", "one of"),
        ("run_mode", None, "must not be empty"),
        ("offline", "yes", "true or false"),
        ("endpoint.preset", "Nonesuch", "one of"),
        ("endpoint.base_url", "ftp://example.com", "http"),
        ("system_prompts.chat", "  ", "must not be empty"),
    ],
)
def test_invalid_values_are_refused_with_a_reason(path: str, value: Any, reason: str) -> None:
    with pytest.raises(SettingValueError, match=reason) as raised:
        Settings().with_value(path, value)
    assert raised.value.path == path and str(raised.value).startswith(path)


def test_price_overrides() -> None:
    s = Settings().replace(price_overrides=[PriceOverride("GPT-4o", 2.5, 10)])
    assert isinstance(s.price_overrides, tuple)
    assert s.price_override("gpt-4o") == PriceOverride("GPT-4o", 2.5, 10.0)
    assert s.price_override("other") is None
    with pytest.raises(SettingValueError, match="twice"):
        s.replace(price_overrides=(PriceOverride("gpt-4o", 1, 1), PriceOverride("GPT-4o", 2, 2)))
    with pytest.raises(SettingValueError, match="at least 0"):
        PriceOverride("m", -1, 1)


# -- the file ---------------------------------------------------------------------------------------------
def test_the_config_dir_comes_from_the_environment_or_platformdirs(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings_path() == config_home / "settings.json"
    monkeypatch.delenv("LMSCALES_CONFIG_DIR")
    assert config_dir() == Path(platformdirs.user_config_dir("LM Scales", appauthor=False))


def test_a_missing_file_gives_defaults_quietly() -> None:
    result = load_settings()
    assert (result.settings, result.notice, result.backup) == (Settings(), None, None)
    assert not settings_path().exists(), "loading alone writes nothing"


def test_save_and_load_round_trip(config_home: Path) -> None:
    original = (
        Settings()
        .with_value("endpoint.preset", "Ollama")
        .with_value("endpoint.base_url", "http://127.0.0.1:11434/v1")
        .with_value("endpoint.model", "qwen2.5:7b")
        .with_value("generation.seed", None)
        .with_value("local_engine.threads", 3)
        .with_value("local_engine.model_path", config_home / "tiny.gguf")
        .with_value("system_prompts.translate", "Translate. Nothing else.")
        .replace(run_mode="sequential", theme="dark", offline=True,
                 price_overrides=(PriceOverride("qwen2.5:7b", 0, 0), PriceOverride("gpt-4o", 2.5, 10)))
    )
    path = save_settings(original)
    assert path == config_home / "settings.json"
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["schema_version"] == SCHEMA_VERSION
    assert stored["price_overrides"]["gpt-4o"] == {"input": 2.5, "output": 10.0}
    assert stored["local_engine"]["model_path"] == str(config_home / "tiny.gguf")
    result = load_settings()
    assert (result.settings, result.notice) == (original, None)
    assert siblings(path) == ["settings.json"], "no temporary or backup files are left behind"


def test_save_is_atomic(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_settings(Settings().replace(theme="light"))
    before = path.read_bytes()

    def failing_replace(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        save_settings(Settings().replace(theme="dark"))
    assert path.read_bytes() == before
    assert siblings(path) == ["settings.json"], "the temporary file is cleaned up"


def test_unknown_keys_are_ignored_and_missing_keys_take_defaults() -> None:
    write(settings_path(), {"schema_version": 1, "theme": "dark", "future_thing": {"x": 1},
                            "generation": {"temperature": 0.2, "mystery": True}})
    result = load_settings()
    assert result.notice is None
    assert result.settings == Settings().replace(theme="dark").with_value("generation.temperature", 0.2)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"schema_version": 1, "theme": ', "not valid JSON"),
        ("[1, 2, 3]", "JSON object"),
        ('{"schema_version": "one"}', "schema_version"),
        (b"\xff\xfe\x00garbage", "not text"),
    ],
)
def test_a_corrupt_file_is_moved_aside_and_said_once(content: str | bytes, why: str) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    original = path.read_bytes()

    first = load_settings()
    assert first.settings == Settings()
    assert first.notice is not None and why in first.notice and "default settings" in first.notice
    assert first.backup is not None and first.backup.name.startswith("settings.json.bad-")
    assert str(first.backup) in first.notice
    assert first.backup.read_bytes() == original
    assert not path.exists()

    second = load_settings()
    assert (second.settings, second.notice) == (Settings(), None)


def test_a_file_from_a_newer_version_is_kept_aside() -> None:
    write(settings_path(), {"schema_version": SCHEMA_VERSION + 1, "theme": "dark", "hologram": True})
    first = load_settings()
    assert first.settings == Settings()
    assert first.notice is not None and "newer version" in first.notice
    assert first.backup is not None and first.backup.name.startswith("settings.json.newer-")
    assert json.loads(first.backup.read_text())["hologram"] is True
    assert load_settings().notice is None


def test_invalid_values_fall_back_one_by_one_and_are_said_once() -> None:
    write(settings_path(), {
        "schema_version": 1,
        "theme": "dark",
        "generation": {"temperature": 9, "top_p": 0.5, "max_tokens": "many"},
        "sampler": "fast",
        "price_overrides": {"good": {"input": 1, "output": 2}, "bad": {"input": -1, "output": 2}, "odd": 3},
    })
    first = load_settings()
    s = first.settings
    assert s.theme == "dark" and s.generation.top_p == 0.5, "the valid values are kept"
    assert s.generation.temperature == 0.7 and s.generation.max_tokens == 256, "the invalid ones take defaults"
    assert s.sampler == Settings().sampler
    assert s.price_overrides == (PriceOverride("good", 1, 2),)
    notice = first.notice
    assert notice is not None
    for mentioned in ("generation.temperature", "between 0 and 2", "generation.max_tokens", "sampler",
                      "price_overrides['bad']", "price_overrides['odd']"):
        assert mentioned in notice
    assert "top_p" not in notice and "theme" not in notice
    assert first.backup is not None and str(first.backup) in notice
    assert json.loads(first.backup.read_text())["generation"]["temperature"] == 9

    second = load_settings()
    assert (second.settings, second.notice) == (s, None)


def test_an_unreadable_folder_does_not_crash(config_home: Path) -> None:
    config_home.mkdir()
    (config_home / "settings.json").mkdir()  # reading a directory fails with an OSError
    result = load_settings()
    assert result.settings == Settings() and result.notice is not None and "could not be opened" in result.notice


# -- migrations -------------------------------------------------------------------------------------------
V0_FILE = {
    "preset": "LM Studio",
    "base_url": "http://127.0.0.1:1234/v1",
    "model": "qwen2.5-7b-instruct",
    "max_tokens": 128,
    "temperature": 0.3,
    "seed": 7,
    "n_threads": 0,
    "n_ctx": 2048,
    "gguf_path": "",
    "parallel": False,
    "sample_hz": 2,
    "dark_mode": True,
    "prices": {"qwen2.5-7b-instruct": [0.1, 0.2]},
    "window_geometry": "abc",
}


def test_a_v0_file_is_migrated_and_rewritten() -> None:
    assert 0 in MIGRATIONS
    path = write(settings_path(), V0_FILE)
    result = load_settings()
    s = result.settings
    assert result.notice is None
    assert (s.endpoint.preset, s.endpoint.base_url, s.endpoint.model) == (
        "LM Studio", "http://127.0.0.1:1234/v1", "qwen2.5-7b-instruct")
    assert (s.generation.max_tokens, s.generation.temperature, s.generation.top_p, s.generation.seed) == (
        128, 0.3, 0.95, 7)
    assert (s.local_engine.threads, s.local_engine.n_ctx, s.local_engine.model_path) == (None, 2048, None)
    assert (s.run_mode, s.sampler.rate_hz, s.theme) == ("sequential", 2.0, "dark")
    assert s.price_overrides == (PriceOverride("qwen2.5-7b-instruct", 0.1, 0.2),)

    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION, "the file is brought up to date"
    assert result.backup is not None and result.backup.name.startswith("settings.json.v0-")
    assert json.loads(result.backup.read_text()) == V0_FILE
    assert load_settings() == settings_module.LoadResult(s)


def test_a_v0_file_with_a_bad_value_migrates_the_rest() -> None:
    write(settings_path(), {**V0_FILE, "dark_mode": "sometimes"})
    result = load_settings()
    assert result.settings.run_mode == "sequential"
    assert result.settings.theme == "system"
    assert result.notice is not None and "theme" in result.notice


def test_migrations_run_step_by_step() -> None:
    def v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
        return {"steps": [*data.get("steps", []), "0->1"]}

    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "steps": [*data["steps"], "1->2"]}

    steps = {0: v0_to_v1, 1: v1_to_v2}
    assert migrate({}, steps, target=2) == {"steps": ["0->1", "1->2"], "schema_version": 2}
    assert migrate({"schema_version": 1, "steps": []}, steps, target=2)["steps"] == ["1->2"]
    assert migrate({"schema_version": 2}, steps, target=2) == {"schema_version": 2}
    with pytest.raises(ValueError, match="no migration from settings schema 1"):
        migrate({"schema_version": 1}, {0: v0_to_v1}, target=2)


def test_a_failing_migration_sets_the_file_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: dict[str, Any]) -> dict[str, Any]:
        raise TypeError("unexpected layout")

    monkeypatch.setitem(MIGRATIONS, 0, broken)
    write(settings_path(), {"something": 1})
    result = load_settings()
    assert result.settings == Settings()
    assert result.notice is not None and "unexpected layout" in result.notice
    assert result.backup is not None and result.backup.name.startswith("settings.json.bad-")


def test_to_dict_and_from_dict_agree() -> None:
    s = Settings().replace(price_overrides=(PriceOverride("m", 1, 2),))
    assert from_dict(json.loads(json.dumps(to_dict(s)))) == (s, ())


def test_nothing_is_written_outside_the_config_folder(config_home: Path, tmp_path: Path) -> None:
    write(settings_path(), "{broken")
    load_settings()
    save_settings(Settings())
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"config"}
    assert os.environ["LMSCALES_CONFIG_DIR"] == str(config_home)


def test_generation_defaults_have_one_owner() -> None:
    """The schema and every request start from `core.defaults` (the panel and the CLI are tested in their rooms)."""
    expected = dataclasses.asdict(GENERATION_DEFAULTS)
    assert dataclasses.asdict(Settings().generation) == expected
    request = GenerationRequest((Message("user", "hi"),))
    assert {name: getattr(request, name) for name in expected} == expected
    assert GenerationParams().as_dict() == expected


def test_the_package_keeps_the_old_single_module_api() -> None:
    """`core/settings.py` became a package; everything callers imported from it is still there."""
    assert not (Path(settings_module.__file__).parent.parent / "settings.py").exists()
    for name in ("Settings", "EndpointSettings", "GenerationSettings", "SystemPrompts", "LocalEngineSettings",
                 "SamplerSettings", "PriceOverride", "SettingInfo", "SettingValueError", "LoadResult", "MIGRATIONS",
                 "SCHEMA_VERSION", "changed", "describe", "config_dir", "settings_path", "load_settings",
                 "save_settings", "to_dict", "from_dict", "migrate", "SettingsStore"):
        assert hasattr(settings_module, name), name


# -- change subscriptions ---------------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.changes: list[SettingsChange] = []

    def __call__(self, change: SettingsChange) -> None:
        self.changes.append(change)

    @property
    def paths(self) -> list[tuple[str, ...]]:
        return [change.paths for change in self.changes]


def test_a_subscriber_hears_only_the_settings_it_subscribed_to() -> None:
    store = SettingsStore()
    sampler, max_tokens, both = Recorder(), Recorder(), Recorder()
    store.subscribe("sampler", sampler)
    store.subscribe("generation.max_tokens", max_tokens)
    store.subscribe(["sampler.window_seconds", "theme"], both)

    first = store.current
    faster = first.with_value("sampler.rate_hz", 10.0)
    assert store.replace(faster) == ("sampler.rate_hz",)
    assert store.current is faster
    assert sampler.changes == [SettingsChange(first, faster, ("sampler.rate_hz",))]
    assert max_tokens.changes == [] and both.changes == []

    longer = faster.with_value("generation.max_tokens", 99)
    store.replace(longer)
    assert sampler.paths == [("sampler.rate_hz",)], "a generation change does not reach the sampler"
    assert max_tokens.paths == [("generation.max_tokens",)]

    several = longer.with_value("sampler.window_seconds", 30.0).replace(theme="dark", offline=True)
    assert store.replace(several) == ("sampler.window_seconds", "theme", "offline")
    assert sampler.paths[-1] == ("sampler.window_seconds",)
    assert both.paths == [("sampler.window_seconds", "theme")], "one call per change, with only its paths"

    assert store.replace(several) == () and len(sampler.changes) == 2, "no change, no call"


def test_the_store_is_current_when_subscribers_are_called() -> None:
    store = SettingsStore(Settings().replace(theme="light"))
    seen: list[str] = []
    store.subscribe("theme", lambda change: seen.append(store.current.theme))
    store.replace(store.current.replace(theme="dark"))
    assert seen == ["dark"]


def test_unsubscribe_stops_the_calls() -> None:
    store = SettingsStore()
    recorder, other = Recorder(), Recorder()
    unsubscribe = store.subscribe("generation", recorder)
    store.subscribe("generation", other)
    store.replace(store.current.with_value("generation.seed", 7))
    unsubscribe()
    unsubscribe()  # a second call is harmless
    store.replace(store.current.with_value("generation.seed", None))
    assert recorder.paths == [("generation.seed",)]
    assert other.paths == [("generation.seed",), ("generation.seed",)]


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(caplog: pytest.LogCaptureFixture) -> None:
    store = SettingsStore()
    before, after = Recorder(), Recorder()

    def broken(change: SettingsChange) -> None:
        raise RuntimeError("listener bug")

    store.subscribe("sampler", before)
    store.subscribe("sampler", broken)
    store.subscribe("sampler.rate_hz", after)
    with caplog.at_level(logging.ERROR):
        store.replace(store.current.with_value("sampler.rate_hz", 2.0))
    assert before.paths == after.paths == [("sampler.rate_hz",)]
    assert store.current.sampler.rate_hz == 2.0
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "sampler.rate_hz" in record.getMessage()
    assert record.exc_info is not None and "listener bug" in str(record.exc_info[1])


@pytest.mark.parametrize(
    ("keys", "error"),
    [("sampler.rate", KeyError), ("nope", KeyError), (["generation", "generation.temprature"], KeyError),
     ("theme.colour", KeyError), ([], ValueError)],
)
def test_subscribing_to_an_unknown_setting_is_refused(keys: str | list[str], error: type[Exception]) -> None:
    """A typo would otherwise be a subscription that silently never fires."""
    store = SettingsStore()
    recorder = Recorder()
    with pytest.raises(error):
        store.subscribe(keys, recorder)
    store.replace(Settings().with_value("generation.max_tokens", 1).replace(theme="dark"))
    assert recorder.changes == []
