"""Scripted demos: a scenario file is a titled sequence of steps, each one comparison with its talking points.

A presenter steps through a scenario instead of typing inputs live. The file is TOML (documented in
docs/scenarios.md), versioned by `version`, and read into frozen `Scenario`/`Step` values whose inputs are the
session's own `TaskInput` and `GenerationParams`, so a step runs exactly like a comparison typed by hand.

Every way a file can be wrong (not TOML, cut off, a missing field, an unknown task, a newer version) raises a
`ScenarioError` whose message names the file and the step, for the user to read.
"""

from __future__ import annotations

import math
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from lmscales.core.tasks import LANGUAGES, SUMMARY_LENGTHS, TASKS
from lmscales.core.trial import GenerationParams, TaskInput

if TYPE_CHECKING:
    from importlib.abc import Traversable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FORMAT = "lmscales-scenario"
VERSION = 1
SIDES = ("small", "large")
Extrapolation = Literal["million_answers"]
_EXTRAPOLATIONS: tuple[str, ...] = get_args(Extrapolation)
# "compare": the sides run in the open; "vote": blind, as A and B, until the room has voted (keys 1-4)
StepKind = Literal["compare", "vote"]
STEP_KINDS: tuple[str, ...] = get_args(StepKind)
_STEP_FIELDS = {
    "title", "talking_points", "task", "input", "input_file", "system_prompt", "target_language",
    "source_language", "summary_length", "reference", "params", "sides", "extrapolate", "kind",
}
_TOP_FIELDS = {"format", "version", "title", "description", "steps"}
# An input_file is text to send: a megabyte is a long report (the summarize task takes at most 200,000
# characters). The bound also keeps /dev/zero or a huge file from being read whole.
MAX_INPUT_FILE_BYTES = 1_000_000


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message says which file, which step and what is wrong."""


@dataclass(frozen=True)
class Step:
    """One comparison of a demo: what is sent, to which sides, and what the presenter says about it."""

    title: str
    input: TaskInput
    params: GenerationParams
    sides: tuple[str, ...] = SIDES
    talking_points: tuple[str, ...] = ()
    extrapolate: Extrapolation | None = None  # after the step: "cost of a million answers like this one"
    kind: StepKind = "compare"  # "vote": shown blind until the room votes


@dataclass(frozen=True)
class Scenario:
    title: str
    steps: tuple[Step, ...]
    description: str = ""
    source: str = ""  # the file it was read from, or "built-in: <name>"


# -- reading -----------------------------------------------------------------------------------------------
def parse(text: str, source: str = "scenario", base_dir: Traversable | None = None) -> Scenario:
    """A scenario from TOML text. `base_dir` is where `input_file` paths are looked up."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{source} is not a complete TOML file (it may be truncated or damaged): {error}") \
            from None
    return from_dict(data, source, base_dir)


def from_dict(data: Mapping[str, Any], source: str = "scenario", base_dir: Traversable | None = None) -> Scenario:
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        raise ScenarioError(f"{source} is not an LM Scales scenario (format is {fmt!r}, expected {FORMAT!r}).")
    version = data.get("version")
    if version is None:
        raise ScenarioError(f"{source} has no 'version' (this LM Scales reads scenario version {VERSION}).")
    if not isinstance(version, int) or version < 1:
        raise ScenarioError(f"{source}: 'version' must be a whole number, not {version!r}.")
    if version > VERSION:
        raise ScenarioError(f"{source} was written for a newer LM Scales (scenario version {version}; this version "
                            f"reads {VERSION}). Update LM Scales to run it.")
    unknown = sorted(set(data) - _TOP_FIELDS)
    if unknown:
        raise ScenarioError(f"{source} has unknown field(s) {', '.join(unknown)}; known at the top: "
                            f"{', '.join(sorted(_TOP_FIELDS))} (step fields go under [[steps]]).")
    title = _text(data, "title", source)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError(f"{source} has no steps: add at least one [[steps]] table.")
    steps = tuple(_step(raw, f"{source}, step {index}", base_dir) for index, raw in enumerate(raw_steps, 1))
    description = data.get("description", "")
    return Scenario(title=title, steps=steps, description=str(description), source=source)


def load(path: str | Path) -> Scenario:
    """A scenario from a file; `ScenarioError` for a file that is missing, unreadable or wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"No scenario file at {path}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"Cannot read the scenario file {path}: {error}") from None
    return parse(text, path.name, path.parent)


def builtin_names() -> list[str]:
    """The built-in scenarios, by file name without `.toml` (e.g. "speed")."""
    folder = resources.files("lmscales.resources").joinpath("scenarios")
    return sorted(entry.name[: -len(".toml")] for entry in folder.iterdir() if entry.name.endswith(".toml"))


def load_builtin(name: str) -> Scenario:
    folder = resources.files("lmscales.resources").joinpath("scenarios")
    entry = folder.joinpath(f"{name}.toml")
    if not entry.is_file():
        raise ScenarioError(f"No built-in scenario {name!r}; the built-in ones are: {', '.join(builtin_names())}.")
    return parse(entry.read_text(encoding="utf-8"), f"built-in: {name}", folder)


def find(file_or_name: str) -> Scenario:
    """`lmscales demo run FILE|NAME`: a path to a file if one exists there, else a built-in scenario's name,
    or its title (case-insensitive)."""
    path = Path(file_or_name)
    if path.suffix == ".toml" or path.exists():
        return load(path)
    names = builtin_names()
    if file_or_name in names:
        return load_builtin(file_or_name)
    for name in names:
        scenario = load_builtin(name)
        if scenario.title.casefold() == file_or_name.casefold():
            return scenario
    raise ScenarioError(f"No scenario file or built-in scenario called {file_or_name!r}; the built-in ones are: "
                        f"{', '.join(names)}.")


# -- one step ---------------------------------------------------------------------------------------------
def _step(raw: Any, where: str, base_dir: Traversable | None) -> Step:
    if not isinstance(raw, Mapping):
        raise ScenarioError(f"{where} must be a table ([[steps]]).")
    unknown = sorted(set(raw) - _STEP_FIELDS)
    if unknown:
        raise ScenarioError(f"{where} has unknown field(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(_STEP_FIELDS))}.")
    title = _text(raw, "title", where)
    task = raw.get("task")
    if task is None:
        raise ScenarioError(f"{where} ({title}) has no 'task' (one of {', '.join(TASKS)}).")
    if task not in TASKS:
        raise ScenarioError(f"{where} ({title}): unknown task {task!r}; it must be one of {', '.join(TASKS)}.")
    text = _input_text(raw, where, title, base_dir)
    target = raw.get("target_language")
    if task == "translate" and target is None:
        raise ScenarioError(f"{where} ({title}) translates but has no 'target_language' (e.g. \"fr\").")
    for key in ("target_language", "source_language"):
        value = raw.get(key)
        if value is not None and value not in LANGUAGES and not (key == "source_language" and value == "auto"):
            raise ScenarioError(f"{where} ({title}): unknown {key} {value!r}; use an ISO 639-1 code such as "
                                "\"fr\" or \"de\".")
    length = raw.get("summary_length")
    if length is not None and length not in SUMMARY_LENGTHS:
        raise ScenarioError(f"{where} ({title}): summary_length must be one of {', '.join(SUMMARY_LENGTHS)}, "
                            f"not {length!r}.")
    sides = raw.get("sides", list(SIDES))
    if (not isinstance(sides, list) or not sides or any(side not in SIDES for side in sides)
            or len(set(sides)) != len(sides)):
        raise ScenarioError(f"{where} ({title}): sides must be a list of \"small\" and/or \"large\", not {sides!r}.")
    points = raw.get("talking_points", [])
    if isinstance(points, str):
        points = [points]
    if not isinstance(points, list) or not all(isinstance(point, str) for point in points):
        raise ScenarioError(f"{where} ({title}): talking_points must be a list of strings.")
    extrapolate = raw.get("extrapolate")
    if extrapolate is not None and extrapolate not in _EXTRAPOLATIONS:
        raise ScenarioError(f"{where} ({title}): extrapolate must be one of {', '.join(_EXTRAPOLATIONS)}, "
                            f"not {extrapolate!r}.")
    kind = raw.get("kind", "compare")
    if kind not in STEP_KINDS:
        raise ScenarioError(f"{where} ({title}): kind must be one of {', '.join(STEP_KINDS)}, not {kind!r}.")
    if kind == "vote" and set(sides) != set(SIDES):
        raise ScenarioError(f"{where} ({title}) is a vote between two answers: its sides must be both "
                            "(leave out 'sides').")
    return Step(
        title=title,
        input=TaskInput(task=task, text=text, system_prompt=raw.get("system_prompt"),
                        target_lang=target, source_lang=raw.get("source_language"),
                        summary_length=length if task == "summarize" else None,
                        reference=raw.get("reference")),
        params=_params(raw.get("params", {}), where, title),
        sides=tuple(side for side in SIDES if side in sides),
        talking_points=tuple(points),
        extrapolate=extrapolate,
        kind=kind,
    )


def _input_text(raw: Mapping[str, Any], where: str, title: str, base_dir: Traversable | None) -> str:
    text, file = raw.get("input"), raw.get("input_file")
    if text is not None and file is not None:
        raise ScenarioError(f"{where} ({title}) has both 'input' and 'input_file'; keep one.")
    if file is not None:
        data = _input_file(file, f"{where} ({title})", base_dir)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ScenarioError(f"{where} ({title}): input_file {file} is not UTF-8 text (byte {error.start} "
                                "cannot be decoded).") from None
    if not isinstance(text, str) or not text.strip():
        raise ScenarioError(f"{where} ({title}) has no 'input' (the text to send) or 'input_file'.")
    return text


def _input_file(file: object, where: str, base_dir: Traversable | None) -> bytes:
    """The bytes of a step's input_file: a regular file inside the scenario's folder, symlinks resolved, of at
    most MAX_INPUT_FILE_BYTES. A scenario is a file people share, and a step's input is sent to the large
    side's API when a presenter advances: it must not be able to pick up /etc/…, ~/.ssh/… or ../secret, nor
    read /dev/zero forever."""
    if not isinstance(file, str) or not file.strip():
        raise ScenarioError(f"{where}: input_file must be a file name (a string), not {file!r}.")
    outside = (f"{where}: input_file {file} is outside the scenario's folder; only files in the folder of the "
               "scenario (or below it) can be read.")
    relative = Path(file)
    if relative.is_absolute() or relative.drive or ".." in relative.parts:
        raise ScenarioError(outside)
    if base_dir is None:
        raise ScenarioError(f"{where}: input_file {file} needs a scenario read from a file (its folder is where "
                            "the file is looked up); use 'input' instead.")
    if isinstance(base_dir, Path):
        folder = base_dir.resolve()
        path = (folder / relative).resolve()  # symlinks resolved: a link inside may point anywhere
        if not path.is_relative_to(folder):
            raise ScenarioError(outside)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise ScenarioError(f"{where}: cannot read input_file {file}: there is no such file beside the "
                                "scenario.") from None
        except OSError as error:
            raise ScenarioError(f"{where}: cannot read input_file {file}: {error.strerror or error}.") from None
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(f"{where}: input_file {file} is not a regular file (a folder, device or pipe).")
        if info.st_size > MAX_INPUT_FILE_BYTES:
            raise ScenarioError(_too_big(where, file, info.st_size))
        entry: Traversable = path
    else:  # a built-in scenario inside a package or an archive: no symlinks, no devices
        entry = base_dir
        for part in relative.parts:  # Traversable.joinpath takes one name at a time before Python 3.11
            entry = entry.joinpath(part)
        if not entry.is_file():
            raise ScenarioError(f"{where}: cannot read input_file {file}: there is no such file beside the "
                                "scenario.")
    try:
        with entry.open("rb") as stream:
            data: bytes = stream.read(MAX_INPUT_FILE_BYTES + 1)  # bounded even if the file grew since stat
    except OSError as error:
        raise ScenarioError(f"{where}: cannot read input_file {file}: {error.strerror or error}.") from None
    if len(data) > MAX_INPUT_FILE_BYTES:
        raise ScenarioError(_too_big(where, file))
    return data


def _too_big(where: str, file: str, size: int | None = None) -> str:
    shown = f" ({size / 1e6:.1f} MB)" if size is not None else ""
    return (f"{where}: input_file {file} is larger than {MAX_INPUT_FILE_BYTES / 1e6:.0f} MB{shown}; use a "
            "shorter text.")


def _params(raw: Any, where: str, title: str) -> GenerationParams:
    if not isinstance(raw, Mapping):
        raise ScenarioError(f"{where} ({title}): params must be a table ([steps.params]).")
    known = {"max_tokens": int, "temperature": float, "top_p": float, "seed": int}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ScenarioError(f"{where} ({title}): unknown params {', '.join(unknown)}; known: {', '.join(known)}.")
    values: dict[str, Any] = {}
    for key, kind in known.items():
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and
                                                                                  not isinstance(value, int)):
                raise ScenarioError(f"{where} ({title}): params.{key} must be a number, not {value!r}.")
            if not math.isfinite(value):  # TOML has nan and inf; neither is a temperature or a probability
                raise ScenarioError(f"{where} ({title}): params.{key} must be a finite number, not {value!r}.")
            values[key] = kind(value)
    params = GenerationParams(**values)
    if params.max_tokens < 1 or not 0.0 <= params.top_p <= 1.0 or params.temperature < 0.0:
        raise ScenarioError(f"{where} ({title}): params out of range (max_tokens ≥ 1, 0 ≤ top_p ≤ 1, "
                            "temperature ≥ 0).")
    return params


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        raise ScenarioError(f"{where} has no '{key}'.")
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{where}: '{key}' must be a non-empty string.")
    return value.strip()
