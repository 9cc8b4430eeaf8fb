"""The field framework under the settings schema: metadata, validation, dotted paths, description, JSON.

A section is a frozen dataclass deriving from `Section`; each field carries `meta(...)` (a description
and rules: minimum, maximum, choices, a check function, or a `Codec` for a value that is not a plain JSON
value). A section validates itself when it is made, so a section in memory is always a valid one. Nothing
here knows which settings exist: that is `schema.py`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar


class SettingValueError(ValueError):
    """A value a setting cannot take; `str(error)` is for the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path} {reason}")
        self.path = path
        self.reason = reason


class InvalidValue(Exception):
    """Raised inside the framework; turned into a `SettingValueError` or a load problem with the path added."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Codec:
    """How a field that is not a plain value goes to and from JSON (the price overrides)."""

    type_name: str
    load: Callable[[Any, str, list[str]], Any]  # JSON value -> value; raises InvalidValue, or notes bad entries
    dump: Callable[[Any], Any]
    normalize: Callable[[Any], Any]  # a Python value given to the constructor -> canonical; raises InvalidValue


def meta(
    description: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    check: Callable[[Any], str | None] | None = None,
    codec: Codec | None = None,
) -> dict[str, Any]:
    """The `metadata` of a settings field: its description for the user, and the rules its value obeys."""
    return {
        "description": description,
        "minimum": minimum,
        "maximum": maximum,
        "choices": choices,
        "check": check,
        "codec": codec,
    }


_S = TypeVar("_S", bound="Section")


class Section:
    """Validation on construction and `replace` for every settings dataclass."""

    def __post_init__(self) -> None:
        for item, hint in section_fields(type(self)):
            value = getattr(self, item.name)
            try:
                canonical = _normalize(item, hint, value)
            except InvalidValue as error:
                raise SettingValueError(item.name, error.reason) from None
            if canonical is not value:
                object.__setattr__(self, item.name, canonical)

    def replace(self: _S, **changes: Any) -> _S:
        """A copy with `changes` applied (and validated); the original is untouched."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


# -- values -----------------------------------------------------------------------------------------------
_FIELDS: dict[type[Any], tuple[tuple[dataclasses.Field[Any], Any], ...]] = {}


def section_fields(cls: type[Any]) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    """Each field with its resolved type (annotations are strings under `from __future__ import annotations`)."""
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = tuple((item, hints[item.name]) for item in dataclasses.fields(cls))
    return _FIELDS[cls]


def is_section(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, Section)


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
        raise InvalidValue("must not be empty")
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if isinstance(value, str) and value in choices:
            return value
        raise InvalidValue("must be one of " + ", ".join(repr(choice) for choice in choices))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise InvalidValue("must be true or false")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise InvalidValue("must be a whole number")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise InvalidValue("must be a number")
    if hint is str:
        if isinstance(value, str):
            return value
        raise InvalidValue("must be text")
    if hint is Path:
        if isinstance(value, Path) or (isinstance(value, str) and value):
            return Path(value)
        raise InvalidValue("must be a file path")
    raise TypeError(f"unsupported settings type {hint!r}")


def _format_number(number: float) -> str:
    return f"{number:g}"


def _check_rules(item: dataclasses.Field[Any], value: Any) -> None:
    if value is None:
        return
    minimum, maximum = item.metadata["minimum"], item.metadata["maximum"]
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise InvalidValue(f"must be between {_format_number(minimum)} and {_format_number(maximum)}")
    if minimum is not None and value < minimum:
        raise InvalidValue(f"must be at least {_format_number(minimum)}")
    if maximum is not None and value > maximum:
        raise InvalidValue(f"must be at most {_format_number(maximum)}")
    choices = item.metadata["choices"]
    if choices is not None and value not in choices:
        raise InvalidValue("must be one of " + ", ".join(repr(choice) for choice in choices))
    check = item.metadata["check"]
    if check is not None and (reason := check(value)) is not None:
        raise InvalidValue(reason)


def _normalize(item: dataclasses.Field[Any], hint: Any, value: Any) -> Any:
    """The canonical form of a value given to a constructor (3 -> 3.0, "a.gguf" -> Path), or InvalidValue."""
    codec: Codec | None = item.metadata["codec"]
    if codec is not None:
        return codec.normalize(value)
    if is_section(hint):
        if not isinstance(value, hint):
            raise InvalidValue(f"must be {hint.__name__}")
        return value
    canonical = _coerce(value, hint)
    _check_rules(item, canonical)
    return value if canonical == value and type(canonical) is type(value) else canonical


# -- dotted paths -----------------------------------------------------------------------------------------
def value_at(section: Section, path: str) -> Any:
    """The value (a leaf, or a whole section) at a dotted path; KeyError for an unknown path."""
    current: Any = section
    for name in path.split("."):
        if not is_section(type(current)) or name not in {item.name for item, _ in section_fields(type(current))}:
            raise KeyError(path)
        current = getattr(current, name)
    return current


def with_value(section: _S, path: str, value: Any) -> _S:
    """A copy of `section` with the setting at `path` changed; SettingValueError (for the user) when invalid."""
    return typing.cast(_S, _with_value(section, path.split("."), value, path))


def _with_value(section: Any, names: list[str], value: Any, path: str) -> Any:
    by_name = {item.name: hint for item, hint in section_fields(type(section))}
    name = names[0]
    if name not in by_name:
        raise KeyError(path)
    if len(names) > 1:
        if not is_section(by_name[name]):
            raise KeyError(path)
        value = _with_value(getattr(section, name), names[1:], value, path)
    try:
        return dataclasses.replace(section, **{name: value})
    except SettingValueError as error:
        raise SettingValueError(path, error.reason) from None


def leaves(section: Section, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field[Any], Any, Any]]:
    """(dotted path, field, type, value) of every setting that is not itself a section, in schema order."""
    for item, hint in section_fields(type(section)):
        value = getattr(section, item.name)
        if is_section(hint):
            yield from leaves(value, f"{prefix}{item.name}.")
        else:
            yield f"{prefix}{item.name}", item, hint, value


def changed_paths(old: Section, new: Section) -> tuple[str, ...]:
    """The dotted paths of the settings whose values differ between two sections of one type."""
    return tuple(path for path, _, _, value in leaves(new) if value_at(old, path) != value)


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


def describe_section(defaults: Section) -> tuple[SettingInfo, ...]:
    """Every setting under `defaults` in schema order: its dotted path, type, default and description."""
    infos = []
    for path, item, hint, default in leaves(defaults):
        optional, inner = _optional_inner(hint)
        codec: Codec | None = item.metadata["codec"]
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


# -- JSON -------------------------------------------------------------------------------------------------
def dump_section(section: Section) -> dict[str, Any]:
    """The JSON form of a section: sections as objects, paths as text, codec fields as the codec writes them."""
    data: dict[str, Any] = {}
    for item, hint in section_fields(type(section)):
        value = getattr(section, item.name)
        codec: Codec | None = item.metadata["codec"]
        if codec is not None:
            data[item.name] = codec.dump(value)
        elif is_section(hint):
            data[item.name] = dump_section(value)
        elif isinstance(value, Path):
            data[item.name] = str(value)
        else:
            data[item.name] = value
    return data


def load_section(cls: type[_S], raw: Mapping[str, Any], prefix: str, problems: list[str]) -> _S:
    """A section from its JSON form. Unknown keys are ignored, missing keys take their defaults, and an
    invalid value takes its default with a line added to `problems` ("generation.top_p: must be ...")."""
    values: dict[str, Any] = {}
    for item, hint in section_fields(cls):
        if item.name not in raw:
            continue
        path, value = prefix + item.name, raw[item.name]
        codec: Codec | None = item.metadata["codec"]
        try:
            if codec is not None:
                values[item.name] = codec.load(value, path, problems)
            elif is_section(hint):
                if not isinstance(value, dict):
                    raise InvalidValue("must be a group of settings")
                values[item.name] = load_section(hint, value, path + ".", problems)
            else:
                canonical = _coerce(value, hint)
                _check_rules(item, canonical)
                values[item.name] = canonical
        except InvalidValue as error:
            problems.append(f"{path}: {error.reason}")
    return cls(**values)


def unknown_entries(cls: type[Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """What a section's JSON holds that the schema does not know (a newer version's settings, a key typed by
    hand), sections inside it included, so writing the file keeps it rather than dropping it."""
    fields = {item.name: hint for item, hint in section_fields(cls)}
    unknown: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            unknown[key] = value
        elif is_section(fields[key]) and isinstance(value, Mapping):
            inner = unknown_entries(fields[key], value)
            if inner:
                unknown[key] = inner
    return unknown


def merge_unknown(data: dict[str, Any], unknown: Mapping[str, Any]) -> dict[str, Any]:
    """`data` (a section's JSON) with `unknown` added where it names nothing `data` already has."""
    for key, value in unknown.items():
        if key not in data:
            data[key] = value
        elif isinstance(data[key], dict) and isinstance(value, Mapping):
            merge_unknown(data[key], value)
    return data
