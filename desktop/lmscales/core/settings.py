"""The user's settings: one typed schema, stored as JSON in the platform's config folder.

Every setting is a field of a frozen dataclass with a default and a description (for the settings
dialog, through `describe()`), and is validated when it is made, so a `Settings` in memory is always a
valid one. The file carries `schema_version`; older layouts are brought up to date by `MIGRATIONS`.

Loading never fails: a file that cannot be read, or was written by a newer LM Scales, is moved aside and
defaults are used; a single invalid value falls back to its default and the rest of the file is kept. In
both cases `load_settings` returns a one-sentence notice for the user, once.

The API key is not a setting: it lives in the system keyring (`lmscales.core.secrets`), never in this
file.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import time
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

import platformdirs

from lmscales.core.endpoints import PRESETS, Endpoint
from lmscales.core.engines.local import DEFAULT_N_CTX
from lmscales.core.files import write_atomically
from lmscales.core.tasks import DEFAULT_SYSTEM_PROMPTS, TaskName

_log = logging.getLogger(__name__)

APP_NAME = "LM Scales"
CONFIG_DIR_ENV = "LMSCALES_CONFIG_DIR"
SETTINGS_FILE = "settings.json"
SCHEMA_VERSION = 1

RunMode = Literal["parallel", "sequential"]
Theme = Literal["system", "light", "dark"]


class SettingValueError(ValueError):
    """A value a setting cannot take; `str(error)` is for the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path} {reason}")
        self.path = path
        self.reason = reason


class _Invalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Codec:
    """How a field that is not a plain value goes to and from JSON (the price overrides)."""

    type_name: str
    load: Callable[[Any, str, list[str]], Any]  # JSON value -> value; raises _Invalid, or notes bad entries
    dump: Callable[[Any], Any]
    normalize: Callable[[Any], Any]  # a Python value given to the constructor -> canonical; raises _Invalid


def _meta(
    description: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    check: Callable[[Any], str | None] | None = None,
    codec: _Codec | None = None,
) -> dict[str, Any]:
    return {
        "description": description,
        "minimum": minimum,
        "maximum": maximum,
        "choices": choices,
        "check": check,
        "codec": codec,
    }


_S = TypeVar("_S", bound="_Section")


class _Section:
    """Validation on construction and `replace` for every settings dataclass."""

    def __post_init__(self) -> None:
        for item, hint in _fields(type(self)):
            value = getattr(self, item.name)
            try:
                canonical = _normalize(item, hint, value)
            except _Invalid as error:
                raise SettingValueError(item.name, error.reason) from None
            if canonical is not value:
                object.__setattr__(self, item.name, canonical)

    def replace(self: _S, **changes: Any) -> _S:
        """A copy with `changes` applied (and validated); the original is untouched."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


# -- the schema -------------------------------------------------------------------------------------------
def _check_base_url(value: str) -> str | None:
    if not value:
        return None  # the "Custom" preset before the user has typed one
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "must be an http:// or https:// address"
    if parts.username or parts.password:
        # A password in the address would put a secret into this file; keys belong in the keyring.
        return "must not contain a user name or password (the API key is kept in the system keyring)"
    try:
        parts.port  # noqa: B018 (raises for a port out of range)
    except ValueError:
        return "has a port that is not a valid port number"
    return None


def _check_not_blank(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


_DEFAULT_PRESET = PRESETS[0]


@dataclass(frozen=True)
class EndpointSettings(_Section):
    preset: str = field(
        default=_DEFAULT_PRESET.name,
        metadata=_meta("The provider or local server preset the large side uses.",
                       choices=tuple(p.name for p in PRESETS)),
    )
    base_url: str = field(
        default=_DEFAULT_PRESET.base_url,
        metadata=_meta("Base URL of the OpenAI-compatible API, ending before /chat/completions.",
                       check=_check_base_url),
    )
    model: str = field(
        default=_DEFAULT_PRESET.default_model,
        metadata=_meta("Name of the large model, as the API knows it."),
    )
    configured: bool = field(
        default=False,
        metadata=_meta("Whether the large side has been set up; until then the app calls no API at all."),
    )

    def to_endpoint(self, api_key: str | None = None) -> Endpoint:
        return Endpoint(base_url=self.base_url, model=self.model, api_key=api_key, name=self.preset)


@dataclass(frozen=True)
class GenerationSettings(_Section):
    max_tokens: int = field(
        default=256, metadata=_meta("Largest number of tokens either side may generate per run.", minimum=1)
    )
    temperature: float = field(
        default=0.7, metadata=_meta("Sampling temperature; 0 always picks the likeliest token.", minimum=0.0,
                                    maximum=2.0)
    )
    top_p: float = field(
        default=0.95, metadata=_meta("Nucleus sampling: only tokens within this cumulative probability.",
                                     minimum=0.0, maximum=1.0)
    )
    seed: int | None = field(
        default=42,
        # llama.cpp reads 0xFFFFFFFF as "random"; the signed 32-bit range is safe on both sides.
        metadata=_meta("Random seed sent to both sides, so runs repeat; empty for a fresh seed each run.",
                       minimum=0, maximum=2**31 - 1),
    )


@dataclass(frozen=True)
class SystemPrompts(_Section):
    chat: str = field(
        default=DEFAULT_SYSTEM_PROMPTS["chat"],
        metadata=_meta("System prompt both sides receive for chat.", check=_check_not_blank),
    )
    summarize: str = field(
        default=DEFAULT_SYSTEM_PROMPTS["summarize"],
        metadata=_meta("System prompt both sides receive for summaries.", check=_check_not_blank),
    )
    translate: str = field(
        default=DEFAULT_SYSTEM_PROMPTS["translate"],
        metadata=_meta("System prompt both sides receive for translations.", check=_check_not_blank),
    )

    def for_task(self, task: TaskName) -> str:
        prompt: str = getattr(self, task)
        return prompt


@dataclass(frozen=True)
class LocalEngineSettings(_Section):
    threads: int | None = field(
        default=None,
        metadata=_meta("CPU threads llama.cpp uses; empty for one per physical core.", minimum=1, maximum=1024),
    )
    n_ctx: int = field(
        default=DEFAULT_N_CTX,
        metadata=_meta("Context window of the local model, in tokens (prompt and output together).",
                       minimum=256, maximum=1_048_576),
    )
    model_path: Path | None = field(
        default=None, metadata=_meta("A GGUF file to run locally; empty for the bundled SmolLM2-135M.")
    )


@dataclass(frozen=True)
class SamplerSettings(_Section):
    rate_hz: float = field(
        default=4.0, metadata=_meta("How often CPU and memory are sampled, per second.", minimum=0.5, maximum=20.0)
    )
    window_seconds: float = field(
        default=120.0, metadata=_meta("How many seconds of history the resource graphs show.", minimum=10.0,
                                      maximum=3600.0)
    )
    watts_per_core: float = field(
        default=10.0,
        metadata=_meta("Assumed power draw of one fully busy CPU core, in watts; energy is estimated from it.",
                       minimum=0.1, maximum=1000.0),
    )


@dataclass(frozen=True)
class PriceOverride(_Section):
    model: str = field(metadata=_meta("Model name, as the API knows it.", check=_check_not_blank))
    input_per_million: float = field(metadata=_meta("USD per million input tokens.", minimum=0.0))
    output_per_million: float = field(metadata=_meta("USD per million output tokens.", minimum=0.0))


def _load_prices(raw: Any, path: str, problems: list[str]) -> tuple[PriceOverride, ...]:
    if not isinstance(raw, dict):
        raise _Invalid("must map model names to {input, output} prices")
    prices: dict[str, PriceOverride] = {}
    for model, entry in raw.items():
        try:
            if not isinstance(entry, dict) or "input" not in entry or "output" not in entry:
                raise SettingValueError(model, "needs an input and an output price")
            if model.lower() in prices:
                raise SettingValueError(model, "is named twice")
            prices[model.lower()] = PriceOverride(model, entry["input"], entry["output"])
        except SettingValueError as error:
            problems.append(f"{path}[{model!r}]: {error.reason}")
    return tuple(prices.values())


def _dump_prices(prices: tuple[PriceOverride, ...]) -> dict[str, dict[str, float]]:
    return {p.model: {"input": p.input_per_million, "output": p.output_per_million} for p in prices}


def _normalize_prices(value: Any) -> tuple[PriceOverride, ...]:
    if isinstance(value, (Mapping, str, bytes)) or not isinstance(value, Iterable):
        raise _Invalid("must be a sequence of PriceOverride")
    prices = tuple(value)
    if not all(isinstance(p, PriceOverride) for p in prices):
        raise _Invalid("must be a sequence of PriceOverride")
    models = [p.model.lower() for p in prices]
    if len(set(models)) != len(models):
        raise _Invalid("names a model twice")
    return prices


_PRICES = _Codec("model → input/output USD per million tokens", _load_prices, _dump_prices, _normalize_prices)


@dataclass(frozen=True)
class Settings(_Section):
    """Everything LM Scales remembers between runs, except the API key."""

    schema_version: ClassVar[int] = SCHEMA_VERSION

    endpoint: EndpointSettings = field(
        default_factory=EndpointSettings, metadata=_meta("The large model behind an OpenAI-compatible API.")
    )
    generation: GenerationSettings = field(
        default_factory=GenerationSettings, metadata=_meta("Sampling settings both sides share.")
    )
    system_prompts: SystemPrompts = field(
        default_factory=SystemPrompts, metadata=_meta("The system prompt of each task.")
    )
    local_engine: LocalEngineSettings = field(
        default_factory=LocalEngineSettings, metadata=_meta("The small model, run by llama.cpp on this CPU.")
    )
    run_mode: RunMode = field(
        default="parallel",
        metadata=_meta("Run both sides at once, or one after the other so neither slows the other."),
    )
    sampler: SamplerSettings = field(
        default_factory=SamplerSettings, metadata=_meta("Resource measurement: CPU, memory and estimated energy.")
    )
    theme: Theme = field(default="system", metadata=_meta("Light or dark colours, or follow the system."))
    price_overrides: tuple[PriceOverride, ...] = field(
        default=(), metadata=_meta("Your own prices, used instead of the bundled price table.", codec=_PRICES)
    )
    offline: bool = field(
        default=False, metadata=_meta("Never contact the large side; only the local model runs.")
    )

    def price_override(self, model: str) -> PriceOverride | None:
        for price in self.price_overrides:
            if price.model.lower() == model.lower():
                return price
        return None

    def value(self, path: str) -> Any:
        """The value at a dotted path such as "generation.temperature"; KeyError for an unknown path."""
        current: Any = self
        for name in path.split("."):
            if not dataclasses.is_dataclass(current) or name not in {f.name for f in dataclasses.fields(current)}:
                raise KeyError(path)
            current = getattr(current, name)
        return current

    def with_value(self, path: str, value: Any) -> Settings:
        """A copy with one setting changed; SettingValueError (for the user) when the value is invalid."""
        updated = _with_value(self, path.split("."), value, path)
        assert isinstance(updated, Settings)
        return updated


# -- values -----------------------------------------------------------------------------------------------
_FIELDS: dict[type[Any], tuple[tuple[dataclasses.Field[Any], Any], ...]] = {}


def _fields(cls: type[Any]) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    """Each field with its resolved type (annotations are strings under `from __future__ import annotations`)."""
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = tuple((item, hints[item.name]) for item in dataclasses.fields(cls))
    return _FIELDS[cls]


def _is_section(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, _Section)


def _optional_inner(hint: Any) -> tuple[bool, Any]:
    """(None allowed, the other type) for `X | None`; (False, hint) for anything else."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(others) != 1:
            raise TypeError(f"unsupported settings type {hint!r}")
        return True, others[0]
    return False, hint


def _coerce(value: Any, hint: Any) -> Any:
    optional, hint = _optional_inner(hint)
    if value is None:
        if optional:
            return None
        raise _Invalid("must not be empty")
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if isinstance(value, str) and value in choices:
            return value
        raise _Invalid("must be one of " + ", ".join(repr(choice) for choice in choices))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _Invalid("must be true or false")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Invalid("must be a whole number")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise _Invalid("must be a number")
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Invalid("must be text")
    if hint is Path:
        if isinstance(value, Path) or (isinstance(value, str) and value):
            return Path(value)
        raise _Invalid("must be a file path")
    raise TypeError(f"unsupported settings type {hint!r}")


def _format_number(number: float) -> str:
    return f"{number:g}"


def _check_rules(item: dataclasses.Field[Any], value: Any) -> None:
    if value is None:
        return
    minimum, maximum = item.metadata["minimum"], item.metadata["maximum"]
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise _Invalid(f"must be between {_format_number(minimum)} and {_format_number(maximum)}")
    if minimum is not None and value < minimum:
        raise _Invalid(f"must be at least {_format_number(minimum)}")
    if maximum is not None and value > maximum:
        raise _Invalid(f"must be at most {_format_number(maximum)}")
    choices = item.metadata["choices"]
    if choices is not None and value not in choices:
        raise _Invalid("must be one of " + ", ".join(repr(choice) for choice in choices))
    check = item.metadata["check"]
    if check is not None and (reason := check(value)) is not None:
        raise _Invalid(reason)


def _normalize(item: dataclasses.Field[Any], hint: Any, value: Any) -> Any:
    """The canonical form of a value given to a constructor (3 -> 3.0, "a.gguf" -> Path), or _Invalid."""
    codec: _Codec | None = item.metadata["codec"]
    if codec is not None:
        return codec.normalize(value)
    if _is_section(hint):
        if not isinstance(value, hint):
            raise _Invalid(f"must be {hint.__name__}")
        return value
    canonical = _coerce(value, hint)
    _check_rules(item, canonical)
    return value if canonical == value and type(canonical) is type(value) else canonical


def _with_value(section: Any, names: list[str], value: Any, path: str) -> Any:
    by_name = {item.name: hint for item, hint in _fields(type(section))}
    name = names[0]
    if name not in by_name:
        raise KeyError(path)
    if len(names) > 1:
        if not _is_section(by_name[name]):
            raise KeyError(path)
        value = _with_value(getattr(section, name), names[1:], value, path)
    try:
        return dataclasses.replace(section, **{name: value})
    except SettingValueError as error:
        raise SettingValueError(path, error.reason) from None


# -- describing the schema --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SettingInfo:
    """One setting, for a settings dialog."""

    path: str  # "generation.temperature"
    type: str  # "float", "int | None", "'system' | 'light' | 'dark'"
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False  # empty (None) is a valid value


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is Literal:
        return " | ".join(repr(arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return "None"
    return str(getattr(hint, "__name__", hint))


def _leaves(section: Any, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field[Any], Any, Any]]:
    for item, hint in _fields(type(section)):
        value = getattr(section, item.name)
        if _is_section(hint):
            yield from _leaves(value, f"{prefix}{item.name}.")
        else:
            yield f"{prefix}{item.name}", item, hint, value


def describe() -> tuple[SettingInfo, ...]:
    """Every setting in schema order: its dotted path, type, default and description."""
    infos = []
    for path, item, hint, default in _leaves(Settings()):
        optional, inner = _optional_inner(hint)
        codec: _Codec | None = item.metadata["codec"]
        if typing.get_origin(inner) is Literal:
            choices: tuple[str, ...] = typing.get_args(inner)
        else:
            choices = item.metadata["choices"] or ()
        infos.append(
            SettingInfo(
                path=path,
                type=codec.type_name if codec else _type_name(hint),
                default=default,
                description=item.metadata["description"],
                minimum=item.metadata["minimum"],
                maximum=item.metadata["maximum"],
                choices=choices,
                optional=optional,
            )
        )
    return tuple(infos)


def changed(old: Settings, new: Settings) -> tuple[str, ...]:
    """The dotted paths whose values differ, so a listener can react to the settings it cares about."""
    return tuple(path for path, _, _, value in _leaves(new) if old.value(path) != value)


# -- JSON -------------------------------------------------------------------------------------------------
def to_dict(settings: Settings) -> dict[str, Any]:
    """The JSON form of `settings`, with its schema_version."""
    return {"schema_version": SCHEMA_VERSION, **_dump_section(settings)}


def _dump_section(section: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item, hint in _fields(type(section)):
        value = getattr(section, item.name)
        codec: _Codec | None = item.metadata["codec"]
        if codec is not None:
            data[item.name] = codec.dump(value)
        elif _is_section(hint):
            data[item.name] = _dump_section(value)
        elif isinstance(value, Path):
            data[item.name] = str(value)
        else:
            data[item.name] = value
    return data


def from_dict(data: Mapping[str, Any]) -> tuple[Settings, tuple[str, ...]]:
    """Settings from a current-schema dict, and the problems found ("generation.top_p: must be ...").

    Unknown keys are ignored, missing keys take their defaults, and an invalid value takes its default.
    """
    problems: list[str] = []
    settings = _load_section(Settings, data, "", problems)
    return settings, tuple(problems)


def _load_section(cls: type[_S], raw: Mapping[str, Any], prefix: str, problems: list[str]) -> _S:
    values: dict[str, Any] = {}
    for item, hint in _fields(cls):
        if item.name not in raw:
            continue
        path, value = prefix + item.name, raw[item.name]
        codec: _Codec | None = item.metadata["codec"]
        try:
            if codec is not None:
                values[item.name] = codec.load(value, path, problems)
            elif _is_section(hint):
                if not isinstance(value, dict):
                    raise _Invalid("must be a group of settings")
                values[item.name] = _load_section(hint, value, path + ".", problems)
            else:
                canonical = _coerce(value, hint)
                _check_rules(item, canonical)
                values[item.name] = canonical
        except _Invalid as error:
            problems.append(f"{path}: {error.reason}")
    return cls(**values)


# -- migrations -------------------------------------------------------------------------------------------
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
