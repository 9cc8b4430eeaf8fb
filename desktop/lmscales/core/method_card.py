"""The method card: how a set of figures was measured, so that two reports from different machines can be
compared by reading them side by side.

A `MethodCard` is plain frozen data: this computer (CPU model, cores, RAM, operating system), the software
(LM Scales, llama-cpp-python, llama.cpp's build and the CPU variant it loaded), each side's model (a local
file with its SHA-256, quantization and threads; an endpoint's host and model, never its key), the generation
parameters, warm-up runs, repeats and concurrency, and where each figure is defined (`docs/figures.md`).
`method_rows` lays it out as labelled rows in one fixed order, whatever the card holds, so the HTML card
(`method_card_html`), a `--json` export and a reader comparing two cards all see the same fields in the same
places.

Everything here is read from this computer or from what the engines reported; what cannot be known is
"unknown" with the reason, never a guess. The local engine runs in a child process, which reports the CPU
variant and llama.cpp's build when it loads a model (`EngineInfo.cpu_code`, `EngineInfo.llama_build`).
Hashing a model file takes a while (about a third of a second per 100 MB), so each file is hashed once per
process and remembered by path, size and modification time.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

import psutil

from lmscales import __version__
from lmscales.core.events import EngineInfo
from lmscales.core.generation import GenerationParams

SCHEMA_VERSION = 1
DOCS_PAGE = "docs/figures.md"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class FigureDefinition:
    """Where a figure is defined: a section of `DOCS_PAGE` (`link`, ending in the section's anchor), and the
    definition in one line for a reader who has only the report."""

    figure: str
    link: str
    summary: str


def _defined(figure: str, anchor: str, summary: str) -> FigureDefinition:
    return FigureDefinition(figure, f"{DOCS_PAGE}#{anchor}", summary)


# In the order of docs/figures.md; each anchor is a heading there (tests/core/test_method_card.py checks it).
FIGURE_DEFINITIONS: tuple[FigureDefinition, ...] = (
    _defined("time to first token (TTFT)", "ttft",
                     "first non-empty answer text minus the moment the request was submitted"),
    _defined("decode rate", "decode-rate",
                     "(tokens − 1) / (last streamed piece − first): the wait before the first token is left out"),
    _defined("end-to-end time", "end-to-end", "last answer text minus the moment the request was submitted"),
    _defined("CPU-seconds", "cpu-seconds",
                     "user + system CPU time of the local engine's process between the run's start and end"),
    _defined("energy", "energy",
                     "RAPL package energy where readable (measured), else CPU-seconds × watts per core "
                     "(estimated); an API's from EcoLogits (estimated)"),
    _defined("money", "money", "tokens × the dated price table's price per million; $0 on this computer"),
    _defined("acceptable answer", "acceptable-answer", "per task: the checks and the score threshold an "
                     "answer must meet to count as useful"),
    _defined("pass rate and Wilson interval", "pass-rate-and-wilson-interval",
                     "share of acceptable answers, with its 95 % Wilson score interval"),
    _defined("paired difference and bootstrap interval", "paired-difference-and-bootstrap-interval",
                     "mean of per-item score differences small − large, 95 % percentile bootstrap over items"),
    _defined("break-even", "break-even",
                     "the monthly volume from which the small side costs less than the large one"),
    _defined("advice", "advice-rules",
                     "small is enough / use large / not enough evidence, only where the intervals support it"),
)


@dataclass(frozen=True)
class MachineFacts:
    cpu_model: str
    physical_cores: int | None
    logical_cores: int | None
    ram_bytes: int | None
    os: str
    architecture: str
    python: str


@dataclass(frozen=True)
class ModelFile:
    name: str  # the file's name; its folder says nothing about the method and may name the user
    size_bytes: int | None
    sha256: str  # hex digest, or "unknown: <why>"
    quantization: str | None
    parameters: str | None  # "135M"


@dataclass(frozen=True)
class SideMethod:
    """One side as the card shows it. A local side has a `file`, threads and llama.cpp's details; a remote one
    an `endpoint` host (never a URL with credentials, never a key)."""

    slot: str
    label: str
    runs: str  # "llama.cpp on this CPU", "a server on this computer", "an API beyond this computer", ...
    model: str
    context_tokens: int
    endpoint: str | None = None
    endpoint_name: str | None = None
    file: ModelFile | None = None
    threads: str | None = None
    cpu_code: str | None = None
    llama_build: str | None = None
    sampler: str | None = None


@dataclass(frozen=True)
class MethodCard:
    created: str  # when the measuring began (an evaluation's start, the newest comparison's time)
    app_version: str
    llama_cpp_python: str
    machine: MachineFacts
    sides: tuple[SideMethod, ...]
    params: GenerationParams | None  # None: the comparisons in an export differ (each says its own)
    warmups: int | None  # None: not an evaluation (no warm-up runs)
    repeats: int | None
    concurrency: str
    sent: str | None = None  # what left this computer over the runs (`lmscales.core.egress`); None: not known
    definitions: tuple[FigureDefinition, ...] = FIGURE_DEFINITIONS
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True)
class MethodRow:
    group: str  # "This computer", "Software", "Small side", "Large side", "Method", "Definitions"
    label: str
    value: str
    link: str | None = None  # a definition's section in DOCS_PAGE


# -- this computer -------------------------------------------------------------------------------------------

def cpu_model_from_cpuinfo(text: str) -> str | None:
    """Linux /proc/cpuinfo: x86's "model name"; ARM boards name the chip in "Hardware" or "Model" instead."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            fields.setdefault(key.strip().lower(), value.strip())
    for key in ("model name", "hardware", "model", "cpu model", "processor"):
        value = fields.get(key, "")
        if value and not value.isdigit():  # "processor : 0" is an index, not a name
            return value
    return None


def cpu_model_from_sysctl(text: str) -> str | None:
    """macOS `sysctl -n machdep.cpu.brand_string` ("Apple M2 Pro", "Intel(R) Core(TM) i7-9750H ...")."""
    return text.strip() or None


def cpu_model_windows(registry_name: str | None, processor: str) -> str | None:
    """Windows: the registry's ProcessorNameString ("AMD Ryzen 7 5800X 8-Core Processor"), else
    platform.processor()'s family/model/stepping line, which is all Windows offers without it."""
    return (registry_name or "").strip() or processor.strip() or None


def _windows_registry_name() -> str | None:
    if sys.platform != "win32":  # mypy then checks the rest on Windows only, where winreg exists
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0") as key:
            value, _kind = winreg.QueryValueEx(key, "ProcessorNameString")
        return str(value)
    except OSError:
        return None


def _sysctl(name: str) -> str:
    try:
        return subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5,
                              check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_model(system: str | None = None, read_text: Callable[[str], str] | None = None,
              sysctl: Callable[[str], str] = _sysctl, registry: Callable[[], str | None] = _windows_registry_name,
              processor: Callable[[], str] = platform.processor) -> str:
    """This CPU's name, read the way each system offers it, platform.processor() as the fallback everywhere;
    "unknown" when nothing says. The readers are parameters so each platform's path can be tested anywhere."""
    system = system or sys.platform
    found: str | None = None
    if system.startswith("linux"):
        reader = read_text or (lambda path: Path(path).read_text(encoding="utf-8", errors="replace"))
        try:
            found = cpu_model_from_cpuinfo(reader("/proc/cpuinfo"))
        except OSError:
            found = None
    elif system == "darwin":
        found = cpu_model_from_sysctl(sysctl("machdep.cpu.brand_string"))
    elif system == "win32":
        found = cpu_model_windows(registry(), processor())
    return found or processor().strip() or UNKNOWN


def os_description(system: str | None = None) -> str:
    """"Ubuntu 24.04.1 LTS (Linux 6.8.0-45-generic)", "macOS 14.5", "Windows 11 (10.0.22631)"."""
    system = system or sys.platform
    if system == "darwin":
        version = platform.mac_ver()[0]
        return f"macOS {version}" if version else f"macOS (Darwin {platform.release()})"
    if system == "win32":
        return f"Windows {platform.release()} ({platform.version()})"
    kernel = f"{platform.system()} {platform.release()}"
    try:
        pretty = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except (OSError, AttributeError):
        pretty = ""
    return f"{pretty} ({kernel})" if pretty else kernel


def machine_facts() -> MachineFacts:
    try:
        ram: int | None = int(psutil.virtual_memory().total)
    except (OSError, psutil.Error):
        ram = None
    return MachineFacts(
        cpu_model=cpu_model(), physical_cores=psutil.cpu_count(logical=False), logical_cores=psutil.cpu_count(),
        ram_bytes=ram, os=os_description(), architecture=platform.machine() or UNKNOWN,
        python=f"{platform.python_implementation()} {platform.python_version()}",
    )


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:  # a frozen app may carry no metadata for it
        return f"{UNKNOWN}: no package metadata for {name}"


# -- model files ---------------------------------------------------------------------------------------------

_hashes: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def file_sha256(path: str | Path) -> str:
    """The file's SHA-256, computed once per path, size and modification time in this process; "unknown: …"
    when it cannot be read."""
    try:
        resolved = Path(path).resolve()
        stat = resolved.stat()
    except OSError as error:
        return f"{UNKNOWN}: the file cannot be read ({error.strerror or error})"
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:  # one hash of a file at a time, and never twice
        if key in _hashes:
            return _hashes[key]
        digest = hashlib.sha256()
        try:
            with resolved.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError as error:
            return f"{UNKNOWN}: the file cannot be read ({error.strerror or error})"
        _hashes[key] = digest.hexdigest()
        return _hashes[key]


# -- the card ------------------------------------------------------------------------------------------------

_RUNS = {"this_cpu": "llama.cpp on this CPU, in its own process", "this_computer": "a server on this computer",
         "remote": "an API beyond this computer"}


def side_method(slot: str, label: str, info: EngineInfo, threads_used: Iterable[int] = ()) -> SideMethod:
    runs = "a recording played back (no model ran)" if info.recorded else _RUNS[info.model_runs]
    if info.kind != "local":
        return SideMethod(slot, label, runs, info.model, info.context_tokens, endpoint=info.host or UNKNOWN,
                          endpoint_name=info.endpoint_name,
                          sampler="the server's own beyond the shared parameters (not visible to LM Scales)")
    file = None
    if info.path:
        file = ModelFile(Path(info.path).name, info.file_size_bytes, file_sha256(info.path), info.quantization,
                         info.parameters)
    return SideMethod(slot, label, runs, info.model, info.context_tokens, file=file,
                      threads=_threads(info.threads, threads_used), cpu_code=info.cpu_code or UNKNOWN,
                      llama_build=info.llama_build or UNKNOWN, sampler=info.sampler or UNKNOWN)


def _threads(configured: int | None, used: Iterable[int]) -> str:
    counts = sorted(set(used))
    text = str(configured) if configured else UNKNOWN
    if counts and counts != [configured]:
        span = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        text += f"; runs used {span} (cut to the idle cores at each run)"
    return text


def build_method_card(sides: Sequence[tuple[str, str, EngineInfo]], params: GenerationParams | None, *,
                      warmups: int | None, repeats: int | None, concurrency: str,
                      threads_used: Mapping[str, Iterable[int]] | None = None,
                      created: str | None = None) -> MethodCard:
    """The card for `sides` ((slot, label, engine info) of each side that took part), read from this computer
    now. Each local model file is hashed here, once per process (see `file_sha256`)."""
    used = threads_used or {}
    return MethodCard(
        created=created or datetime.now().astimezone().isoformat(timespec="seconds"),
        app_version=__version__, llama_cpp_python=package_version("llama_cpp_python"), machine=machine_facts(),
        sides=tuple(side_method(slot, label, info, used.get(slot, ())) for slot, label, info in sides),
        params=params, warmups=warmups, repeats=repeats, concurrency=concurrency,
    )


SEQUENTIAL = "1: the sides ran one after the other, never at the same time"
PARALLEL = "2: both sides ran at the same time, sharing this computer"


def concurrency_of(modes: Iterable[str], sides: int) -> str:
    kinds = set(modes)
    if sides < 2 or kinds == {"sequential"}:
        return "1: one side at a time" if sides < 2 else SEQUENTIAL
    if kinds == {"parallel"}:
        return PARALLEL
    return "varies: some comparisons ran the sides at the same time, others one after the other"


# -- rows ----------------------------------------------------------------------------------------------------

def _gib(size: int | None) -> str:
    return f"{size / 2**30:.1f} GiB" if size else UNKNOWN


def _mb(size: int | None) -> str:
    return f"{size / 1e6:.1f} MB ({size:,} bytes)" if size else UNKNOWN


def _params(params: GenerationParams | None) -> str:
    if params is None:
        return "vary between the comparisons: each comparison states its own"
    seed = "none (a fresh seed each run)" if params.seed is None else str(params.seed)
    text = (f"max tokens {params.max_tokens}, temperature {params.temperature:g}, top-p {params.top_p:g}, "
            f"seed {seed}")
    return text + (f", reasoning effort {params.reasoning_effort}" if params.reasoning_effort else "")


def _side_rows(side: SideMethod) -> list[tuple[str, str]]:
    rows = [("model", f"{side.model} ({side.label}): {side.runs}"), ("context", f"{side.context_tokens} tokens")]
    if side.endpoint is not None:
        rows.append(("endpoint", side.endpoint + (f" ({side.endpoint_name})" if side.endpoint_name else "")))
    if side.file is not None:
        file = side.file
        rows += [("model file", f"{file.name}, {_mb(file.size_bytes)}"), ("SHA-256", file.sha256),
                 ("quantization", f"{file.quantization or UNKNOWN}, {file.parameters or UNKNOWN} parameters")]
    for label, value in (("threads", side.threads), ("instruction set used", side.cpu_code),
                         ("llama.cpp build", side.llama_build), ("sampling", side.sampler)):
        if value is not None:
            rows.append((label, value))
    return rows


def method_rows(card: MethodCard) -> tuple[MethodRow, ...]:
    """The card as labelled rows in one fixed order: this computer, the software, each side (small first),
    the method, then the definitions (each with its link)."""
    machine = card.machine
    cores = (f"{machine.physical_cores if machine.physical_cores is not None else UNKNOWN} physical, "
             f"{machine.logical_cores if machine.logical_cores is not None else UNKNOWN} logical")
    rows = [MethodRow("This computer", label, value) for label, value in (
        ("CPU", machine.cpu_model), ("cores", cores), ("RAM", _gib(machine.ram_bytes)),
        ("operating system", f"{machine.os}, {machine.architecture}"))]
    rows += [MethodRow("Software", label, value) for label, value in (
        ("LM Scales", card.app_version), ("llama-cpp-python", card.llama_cpp_python), ("Python", machine.python))]
    for slot in dict.fromkeys(["small", "large", *(side.slot for side in card.sides)]):
        group, described = f"{slot.capitalize()} side", [side for side in card.sides if side.slot == slot]
        if not described:  # every card has both sides' rows, so two cards line up
            rows.append(MethodRow(group, "model", "not used"))
        for side in described:
            rows += [MethodRow(group, label, value) for label, value in _side_rows(side)]
    rows += [MethodRow("Method", label, value) for label, value in (
        ("generation parameters", _params(card.params)),
        ("warm-up runs", "none (single comparisons)" if card.warmups is None else
         f"{card.warmups} before measuring, discarded"),
        ("repeats", "1 (single comparisons)" if card.repeats is None else str(card.repeats)),
        ("concurrency", card.concurrency), ("measured", card.created))]
    if card.sent is not None:
        rows.append(MethodRow("Method", "sent over the network", card.sent))
    rows += [MethodRow("Definitions", definition.figure, definition.summary, definition.link)
             for definition in card.definitions]
    return tuple(rows)


def method_markdown(card: MethodCard) -> str:
    """The card as a Markdown section: the same rows, in the same order, as the HTML card."""
    out = ["## Method card", "", "| | |", "| --- | --- |"]
    group = ""
    for row in method_rows(card):
        if row.group != group:
            group = row.group
            out.append(f"| **{group}** | |")
        value = " ".join(row.value.replace("|", "\\|").split())
        out.append(f"| {row.label} | {value}{f' ({row.link})' if row.link else ''} |")
    return "\n".join(out) + "\n"

