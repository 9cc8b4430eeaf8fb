"""The method card: its fields read from this computer and from the real engine on the bundled model, the
CPU-model readers of the platforms that cannot run here (simulated), the hash cache, the fixed row order, the
definitions' sections in docs/figures.md, and the card in the HTML and Markdown exports. No QApplication."""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import json
import os
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

import psutil
import pytest

from lmscales import __version__
from lmscales.core import gguf, history
from lmscales.core.comparison_report import render_comparisons
from lmscales.core.engines import cpu_backends
from lmscales.core.engines.local import LocalEngine
from lmscales.core.events import EngineInfo
from lmscales.core.generation import GenerationParams
from lmscales.core.method_card import (
    DOCS_PAGE,
    FIGURE_DEFINITIONS,
    build_method_card,
    cpu_model,
    cpu_model_from_cpuinfo,
    file_sha256,
    method_markdown,
    method_rows,
)
from lmscales.core.method_card_html import method_card_section
from lmscales.core.method_card_trials import card_for_trials
from tests.support.trials import LARGE_INFO, large_side, small_side, trial

ROOT = Path(__file__).resolve().parents[2]
_VARIANT = re.compile(r"ggml-cpu-([A-Za-z0-9_.]+)\.(?:so|dll|dylib)$")


def _child_variant(pid: int) -> str | None:
    """Which CPU variant the engine's process has mapped, read from the outside (None where maps are hidden)."""
    try:
        maps = psutil.Process(pid).memory_maps(grouped=True)
    except (AttributeError, NotImplementedError, psutil.Error, OSError):
        return None
    return next((match[1] for region in maps if (match := _VARIANT.search(region.path))), None)


@pytest.mark.slow
def test_the_card_holds_this_machine_and_what_the_real_engine_loaded(engine: LocalEngine, bundled_model: Path) -> None:
    info = engine.info
    assert info is not None
    card = build_method_card([("small", "Small", info)], GenerationParams(max_tokens=64, temperature=0.0, seed=3),
                             warmups=1, repeats=2, concurrency="1: one side at a time")
    machine = card.machine
    assert machine.physical_cores == psutil.cpu_count(logical=False)
    assert machine.logical_cores == psutil.cpu_count()
    assert machine.ram_bytes == psutil.virtual_memory().total
    assert machine.architecture == platform.machine() and platform.release() in machine.os
    if sys.platform.startswith("linux"):
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        if names:
            assert machine.cpu_model == names[0]
    assert machine.cpu_model and machine.cpu_model != "unknown"
    assert card.app_version == __version__
    assert card.llama_cpp_python == metadata.version("llama_cpp_python")

    (side,) = card.sides
    assert side.file is not None
    assert side.file.name == bundled_model.name and side.file.size_bytes == bundled_model.stat().st_size
    assert side.file.sha256 == hashlib.sha256(bundled_model.read_bytes()).hexdigest()
    read = gguf.read_info(bundled_model)
    assert (side.file.quantization, side.file.parameters) == (read.quantization, read.parameters_label)
    assert side.threads == str(engine.n_threads)
    # The instruction sets: the variant the engine's own process mapped, with what that variant needs.
    mapped = _child_variant(engine.pid or 0)
    assert side.cpu_code is not None
    if mapped is not None:
        assert side.cpu_code.startswith(f"{mapped}: ")
        for feature in cpu_backends.VARIANT_NEEDS[mapped]:
            assert feature.replace("SSE42", "SSE4.2").replace("_", "-") in side.cpu_code
    elif cpu_backends.backend_folder() is None:
        assert side.cpu_code.startswith("built into llama.cpp")
    else:
        assert side.cpu_code.startswith("unknown: ")
    # llama.cpp's build, as its library says it (on Linux and macOS llama's library resolves ggml's symbols).
    from llama_cpp import llama_cpp as bindings

    if hasattr(bindings._lib, "ggml_version"):
        version = bindings._lib.ggml_version
        version.restype = ctypes.c_char_p
        assert side.llama_build is not None and f"ggml {version().decode()}," in side.llama_build
    assert side.sampler is not None and "top-k 40" in side.sampler

    rows = {(row.group, row.label): row.value for row in method_rows(card)}
    assert rows[("Small side", "SHA-256")] == side.file.sha256
    assert rows[("Large side", "model")] == "not used"
    assert rows[("Method", "generation parameters")] == "max tokens 64, temperature 0, top-p 0.95, seed 3"
    assert rows[("Method", "warm-up runs")] == "1 before measuring, discarded" and rows[("Method", "repeats")] == "2"


def test_cpu_names_are_read_the_way_each_platform_offers_them() -> None:
    x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz\n"
    arm = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd\n\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4\n"
    assert cpu_model_from_cpuinfo(x86) == "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz"
    assert cpu_model_from_cpuinfo(arm) == "BCM2835"
    assert cpu_model_from_cpuinfo("processor\t: 0\nprocessor\t: 1\n") is None  # an index is not a name
    assert cpu_model("linux", read_text=lambda _path: x86, processor=lambda: "x86_64") == (
        "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz")

    def unreadable(path: str) -> str:
        raise PermissionError(13, "Permission denied", path)

    assert cpu_model("linux", read_text=unreadable, processor=lambda: "x86_64") == "x86_64"
    # macOS: sysctl's brand string, on Apple silicon and Intel alike.
    assert cpu_model("darwin", sysctl=lambda name: {"machdep.cpu.brand_string": "Apple M2 Pro\n"}[name],
                     processor=lambda: "arm") == "Apple M2 Pro"
    assert cpu_model("darwin", sysctl=lambda _name: "", processor=lambda: "i386") == "i386"
    # Windows: the registry's name, else platform.processor()'s family line; nothing at all is "unknown".
    family = "AMD64 Family 25 Model 33 Stepping 0, AuthenticAMD"
    assert cpu_model("win32", registry=lambda: "AMD Ryzen 7 5800X 8-Core Processor   ",
                     processor=lambda: family) == "AMD Ryzen 7 5800X 8-Core Processor"
    assert cpu_model("win32", registry=lambda: None, processor=lambda: family) == family
    assert cpu_model("win32", registry=lambda: None, processor=lambda: "") == "unknown"
    assert cpu_model("freebsd14", processor=lambda: "amd64") == "amd64"


def test_the_instruction_sets_are_named_for_each_kind_of_build() -> None:
    assert cpu_backends.describe_cpu_code("haswell", built_in=False) == "haswell: AVX2, AVX, BMI2, SSE4.2, F16C, FMA"
    assert cpu_backends.describe_cpu_code("x64", built_in=False) == "x64: baseline x86-64 (SSE2)"
    assert cpu_backends.describe_cpu_code("", built_in=False).startswith("unknown: ")
    assert cpu_backends.describe_cpu_code("", built_in=True, machine="arm64", system="darwin") == (
        "built into llama.cpp, compiled for arm64")
    assert "x86-64-v3: AVX2" in cpu_backends.describe_cpu_code("", built_in=True, machine="AMD64", system="win32")


def test_a_model_file_is_hashed_once_per_path_size_and_modification_time(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"A" * 4096)
    first = file_sha256(model)
    assert first == hashlib.sha256(b"A" * 4096).hexdigest()
    stamp = model.stat().st_mtime_ns
    model.write_bytes(b"B" * 4096)  # same size; the same time set back: the remembered hash, not read again
    os.utime(model, ns=(stamp, stamp))
    assert file_sha256(model) == first
    os.utime(model, ns=(stamp + 10**9, stamp + 10**9))  # a new modification time: hashed again
    assert file_sha256(model) == hashlib.sha256(b"B" * 4096).hexdigest()
    assert file_sha256(tmp_path / "gone.gguf").startswith("unknown: the file cannot be read")


def test_a_remote_side_shows_its_host_and_model_and_never_its_key() -> None:
    key = "sk" "-method-card-secret-0123456789"
    remote = EngineInfo(kind="remote", model="gpt-4o-mini", context_tokens=128_000, host="127.0.0.1:8765",
                        endpoint_name="llama.cpp server")
    card = build_method_card([("large", "Large", remote)], None, warmups=None, repeats=None, concurrency="1")
    (side,) = card.sides
    assert (side.endpoint, side.model, side.file, side.threads) == ("127.0.0.1:8765", "gpt-4o-mini", None, None)
    rows = {(row.group, row.label): row.value for row in method_rows(card)}
    assert rows[("Large side", "endpoint")] == "127.0.0.1:8765 (llama.cpp server)"
    assert rows[("Small side", "model")] == "not used"
    assert key not in json.dumps(dataclasses.asdict(card)) + method_card_section(card)


def test_every_card_has_the_same_rows_in_the_same_order() -> None:
    """Two cards from different runs line up row by row: the same groups and labels, whichever sides ran."""
    both = card_for_trials([trial(small_side(), large_side())])
    small_only = card_for_trials([trial(small_side())])
    groups = [row.group for row in method_rows(both)]
    assert list(dict.fromkeys(groups)) == ["This computer", "Software", "Small side", "Large side", "Method",
                                           "Definitions"]
    assert [row.label for row in method_rows(both) if row.group == "This computer"] == [
        "CPU", "cores", "RAM", "operating system"]
    assert [row.label for row in method_rows(both) if row.group == "Method"] == [
        "generation parameters", "warm-up runs", "repeats", "concurrency", "measured"]
    assert [(r.group, r.label) for r in method_rows(small_only) if r.group != "Large side"] == [
        (r.group, r.label) for r in method_rows(both) if r.group != "Large side"]
    assert list(dict.fromkeys(row.group for row in method_rows(small_only))) == list(dict.fromkeys(groups))


def test_each_definition_links_to_a_section_of_the_docs_page() -> None:
    page = (ROOT / DOCS_PAGE).read_text(encoding="utf-8")
    # GitHub's anchors: the heading in lower case, spaces to hyphens, punctuation other than hyphens dropped.
    anchors = {re.sub(r"[^\w\- ]", "", line[3:].strip().lower()).replace(" ", "-")
               for line in page.splitlines() if line.startswith("## ")}
    for definition in FIGURE_DEFINITIONS:
        page_name, _, anchor = definition.link.partition("#")
        assert page_name == DOCS_PAGE and anchor in anchors, definition
    wanted = {"ttft", "decode-rate", "end-to-end", "cpu-seconds", "energy", "money", "acceptable-answer",
              "pass-rate-and-wilson-interval", "paired-difference-and-bootstrap-interval", "break-even",
              "advice-rules"}
    assert wanted <= {definition.link.partition("#")[2] for definition in FIGURE_DEFINITIONS}


def test_the_comparison_exports_end_with_the_card() -> None:
    trials = [trial(small_side(), large_side()), trial(small_side(), large_side(), text="Second question")]
    page = render_comparisons(trials)
    section = page[page.index('<section class="method"'):]
    assert "Method card" in section and "api.openai.com (OpenAI)" in section
    assert section.index(">Small side<") < section.index(">Large side<") < section.index(">Method<")
    assert "docs/figures.md#ttft" in section
    exported = json.loads(history.to_json(trials))
    assert exported["method"]["sides"][1]["endpoint"] == LARGE_INFO.host
    assert exported["method"]["machine"]["logical_cores"] == psutil.cpu_count()
    markdown = history.to_markdown(trials)
    assert "## Method card" in markdown and "| endpoint | api.openai.com (OpenAI) |" in markdown
    assert markdown.endswith(method_markdown(card_for_trials(trials)))
