"""llama.cpp's CPU code for this processor: finding it, loading it, and saying why when none fits.

On x86-64, dev.py builds llama-cpp-python with GGML_BACKEND_DL and GGML_CPU_ALL_VARIANTS: llama.cpp's
libraries then hold no CPU code of their own, and one CPU backend per instruction-set level
(`ggml-cpu-x64`, `-sse42`, `-sandybridge`, `-haswell`, `-skylakex`, ... `-zen4`, `-sapphirerapids`) sits in
a folder (the wheel's top-level `bin/`, i.e. `site-packages/bin`; `llama_cpp/lib` in the frozen app).
llama.cpp scores each one against the CPU and loads the best, but only when asked; llama-cpp-python never
asks, so the engine's child process does, once, before its first model. Without it `Llama(...)` fails with
"no backends are loaded". The engine makes llama.cpp's choice itself, with the same scores, and loads that one
file (`ggml_backend_load`), because one variant must never be chosen: `-sapphirerapids`, whose AMX kernels
died of an illegal instruction (`tilezero`) on every model run on a Sapphire Rapids CI machine, although the
CPU reports AMX and the kernel grants the tile permission. AVX-512 decodes no slower, so an AMX CPU gets
`-zen4` (AVX-512 with VBMI, VNNI and BF16).

A build without variants (Apple silicon, or `LMSCALES_LLAMA_BUILD=portable`) has its CPU backend built
in; on x86-64 that one is compiled for AVX2 (GGML_NATIVE=OFF turns AVX2, FMA, F16C and BMI2 on), so on a
CPU without them the child would die of an illegal instruction. Either way, when nothing can run, the
error names the missing instruction sets instead.

The CPU probe and the scoring mirror llama.cpp's (`ggml-cpu/arch/x86/cpu-feats.cpp`), so the choice can be
predicted, and checked, from a feature list.
"""

from __future__ import annotations

import contextlib
import ctypes
import platform
import re
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import psutil

# llama.cpp's feature names and the weight each adds to a variant's score (cpu-feats.cpp).
FEATURE_WEIGHTS = {
    "FMA": 1, "F16C": 2, "SSE42": 4, "BMI2": 8, "AVX": 16, "AVX2": 32, "AVX_VNNI": 64, "AVX512": 128,
    "AVX512_VBMI": 256, "AVX512_BF16": 512, "AVX512_VNNI": 1024, "AMX_INT8": 2048,
}
_HASWELL = ("SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2")
_AVX512 = (*_HASWELL, "AVX512")
# What each x86-64 variant needs (ggml/src/CMakeLists.txt, ggml_add_cpu_backend_variant).
VARIANT_NEEDS: dict[str, frozenset[str]] = {
    "x64": frozenset(),
    "sse42": frozenset({"SSE42"}),
    "sandybridge": frozenset({"SSE42", "AVX"}),
    "ivybridge": frozenset({"SSE42", "AVX", "F16C"}),
    "piledriver": frozenset({"SSE42", "AVX", "F16C", "FMA"}),
    "haswell": frozenset(_HASWELL),
    "skylakex": frozenset(_AVX512),
    "cannonlake": frozenset({*_AVX512, "AVX512_VBMI"}),
    "cascadelake": frozenset({*_AVX512, "AVX512_VNNI"}),
    "icelake": frozenset({*_AVX512, "AVX512_VBMI", "AVX512_VNNI"}),
    "cooperlake": frozenset({*_AVX512, "AVX512_VNNI", "AVX512_BF16"}),
    "zen4": frozenset({*_AVX512, "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"}),
    "alderlake": frozenset({*_HASWELL, "AVX_VNNI"}),
    "sapphirerapids": frozenset({*_AVX512, "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AMX_INT8"}),
}
# Variants that are never loaded, with the reason (see the module docstring).
NEVER_LOADED = {"sapphirerapids": "its AMX kernels die of an illegal instruction"}
# The built-in CPU backend of a portable (GGML_NATIVE=OFF) x86-64 build without variants.
BUILTIN_X86_NEEDS = frozenset(_HASWELL)

# /proc/cpuinfo flag -> llama.cpp feature. AVX512 stands for the five parts llama.cpp checks.
_LINUX_FLAGS = {
    "sse4_2": "SSE42", "avx": "AVX", "f16c": "F16C", "fma": "FMA", "avx2": "AVX2", "bmi2": "BMI2",
    "avx_vnni": "AVX_VNNI", "avx512vbmi": "AVX512_VBMI", "avx512_vnni": "AVX512_VNNI",
    "avx512_bf16": "AVX512_BF16", "amx_int8": "AMX_INT8",
}
_AVX512_PARTS = {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}
# macOS (Intel) sysctl machdep.cpu.features / leaf7_features words -> llama.cpp feature.
_MACOS_FLAGS = {
    "SSE4.2": "SSE42", "AVX1.0": "AVX", "F16C": "F16C", "FMA": "FMA", "AVX2": "AVX2", "BMI2": "BMI2",
    "AVX512VBMI": "AVX512_VBMI", "AVX512VNNI": "AVX512_VNNI", "AVX512BF16": "AVX512_BF16",
}
_MACOS_AVX512_PARTS = {"AVX512F", "AVX512CD", "AVX512VL", "AVX512DQ", "AVX512BW"}
# Windows IsProcessorFeaturePresent reports only these. F16C, FMA and BMI2 came with AVX2 on every x86-64
# CPU (x86-64-v3 names the four together), so a CPU with AVX2 is taken to have them: an unknown feature must
# never turn into a refusal.
_WINDOWS_FEATURES = {38: "SSE42", 39: "AVX", 40: "AVX2", 41: "AVX512"}
_WITH_AVX2 = frozenset({"F16C", "FMA", "BMI2"})

_VARIANT_FILE = re.compile(r"^(?:lib)?ggml-cpu-(?P<name>[A-Za-z0-9_.]+)\.(?:so|dll|dylib)$")
_lock = threading.Lock()
_loaded: str | None = None  # "" once loaded with the variant unknown, the variant's name when known


class CpuBackendError(Exception):
    """No llama.cpp CPU code can run here; `str(error)` is for the user and names what is missing."""


def is_x86_64(machine: str | None = None) -> bool:
    return (machine or platform.machine()).lower() in {"x86_64", "amd64", "x64"}


def features_from_cpuinfo(text: str) -> frozenset[str]:
    """llama.cpp's feature names from /proc/cpuinfo's first `flags` line."""
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            break
    found = {feature for flag, feature in _LINUX_FLAGS.items() if flag in flags}
    if flags >= _AVX512_PARTS:
        found.add("AVX512")
    return frozenset(found)


def features_from_sysctl(text: str) -> frozenset[str]:
    words = set(text.upper().split())
    found = {feature for word, feature in _MACOS_FLAGS.items() if word.upper() in words}
    if words >= _MACOS_AVX512_PARTS:
        found.add("AVX512")
    return frozenset(found)


def cpu_features() -> frozenset[str] | None:
    """This CPU's x86 features in llama.cpp's names; None where they cannot be read (or not x86-64)."""
    if not is_x86_64():
        return None
    try:
        if sys.platform.startswith("linux"):
            return features_from_cpuinfo(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
        if sys.platform == "darwin":
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
                                 capture_output=True, text=True, timeout=5, check=True).stdout
            return features_from_sysctl(out)
        if sys.platform == "win32":
            present = ctypes.windll.kernel32.IsProcessorFeaturePresent  # type: ignore[attr-defined]
            found = frozenset(name for code, name in _WINDOWS_FEATURES.items() if present(code))
            return found | _WITH_AVX2 if "AVX2" in found else found
    except (OSError, subprocess.SubprocessError):
        return None
    return None


def score(variant: str, features: frozenset[str]) -> int:
    """llama.cpp's score for a variant on a CPU with `features`: 0 if it cannot run there."""
    needs = VARIANT_NEEDS.get(variant)
    if needs is None or not needs <= features:
        return 0
    return 1 + sum(FEATURE_WEIGHTS.get(feature, 0) for feature in needs)


def best_variant(variants: Iterable[str], features: frozenset[str]) -> str | None:
    """The variant to load on a CPU with `features`: llama.cpp's choice, but never one of `NEVER_LOADED`;
    None if none can run."""
    scored = [(score(name, features), name) for name in variants if name not in NEVER_LOADED]
    best = max(scored, default=(0, ""))
    return best[1] if best[0] > 0 else None


def explain_missing(variants: Iterable[str], features: frozenset[str]) -> str:
    """Why none of `variants` can run on a CPU with `features`: the simplest one's missing features."""
    known = [name for name in variants if name in VARIANT_NEEDS]
    if not known:
        return "no llama.cpp CPU backend was found"
    simplest = min(known, key=lambda name: (len(VARIANT_NEEDS[name]), name))
    return _lacks(VARIANT_NEEDS[simplest] - features, f"the simplest CPU backend in this build ({simplest})")


def _lacks(missing: Iterable[str], what: str) -> str:
    return f"this processor lacks {_names(missing)}, which {what} needs"


def backend_folder() -> Path | None:
    """Where the CPU variants are: in the frozen app beside llama.cpp's libraries, else `site-packages/bin`
    (the wheel's top-level `bin/`). None when this build has none (its CPU backend is built in)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        folder = Path(bundle) / "llama_cpp" / "lib"
    else:
        import llama_cpp

        folder = Path(llama_cpp.__file__).resolve().parent.parent / "bin"
    return folder if variants_in(folder) else None


def variants_in(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    found = (_VARIANT_FILE.match(path.name) for path in folder.iterdir())
    return sorted(match["name"] for match in found if match)


def variant_file(folder: Path, variant: str) -> Path:
    for path in folder.iterdir():
        match = _VARIANT_FILE.match(path.name)
        if match and match["name"] == variant:
            return path
    raise FileNotFoundError(f"no {variant} CPU backend in {folder}")


def loaded_variant() -> str | None:
    """The CPU variant this process has mapped (from its memory maps), where the platform shows them."""
    try:
        maps = psutil.Process().memory_maps(grouped=True)
    except (AttributeError, NotImplementedError, psutil.Error, OSError):
        return None
    for region in maps:
        match = _VARIANT_FILE.match(Path(region.path).name)
        if match:
            return match["name"]
    return None


def _cpu_backend_registered(lib: ctypes.CDLL) -> bool:
    by_name = lib.ggml_backend_reg_by_name
    by_name.argtypes, by_name.restype = [ctypes.c_char_p], ctypes.c_void_p
    return bool(by_name(b"CPU"))


def ensure_loaded(folder: Path | None = None, features: frozenset[str] | None = None) -> str:
    """Load the best CPU backend for this processor, once per process, before the first model.

    Returns the variant loaded ("" for a build with its CPU backend built in, or when the platform does not
    show which); raises `CpuBackendError`, naming the missing instruction sets, when none can run."""
    global _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        folder = folder or backend_folder()
        features = features if features is not None else cpu_features()
        if folder is None:  # the CPU backend is built in
            if is_x86_64() and sys.platform != "darwin" and features is not None:
                missing = BUILTIN_X86_NEEDS - features
                if missing:
                    raise CpuBackendError(
                        "The local engine cannot run on this computer: "
                        + _lacks(missing, "this build of llama.cpp (x86-64-v3)") + "."
                    )
            _loaded = ""
            return _loaded
        variants = variants_in(folder)
        chosen = best_variant(variants, features) if features is not None else None
        if features is not None and chosen is None:
            raise CpuBackendError(f"The local engine cannot run on this computer: "
                                  f"{explain_missing(variants, features)}.")
        from llama_cpp import llama_cpp as bindings

        if chosen is not None:
            load = bindings._lib.ggml_backend_load
            load.argtypes, load.restype = [ctypes.c_char_p], ctypes.c_void_p
            load(str(variant_file(folder, chosen)).encode())
        else:  # features unknown: llama.cpp's own choice, from its own probe
            bindings._lib.ggml_backend_load_all_from_path(str(folder).encode())
        if not _cpu_backend_registered(bindings._lib):
            reason = explain_missing(variants, features) if features is not None else (
                f"none of llama.cpp's CPU backends in {folder} ({', '.join(variants)}) could be loaded")
            raise CpuBackendError(f"The local engine cannot run on this computer: {reason}.")
        _loaded = loaded_variant() or ""
        return _loaded


def describe_cpu_code(variant: str, built_in: bool, machine: str | None = None,
                      system: str | None = None) -> str:
    """The instruction sets llama.cpp's CPU code uses, for the method card: the variant loaded and what it needs
    ("haswell: AVX2, FMA, F16C, BMI2, AVX, SSE4.2"), the built-in backend of a build without variants, or
    "unknown" and why. `variant` is what `ensure_loaded` returned; `machine` and `system` are for tests."""
    machine = machine or platform.machine()
    system = system or sys.platform
    if built_in:
        if is_x86_64(machine) and system != "darwin":
            return "built into llama.cpp, compiled for x86-64-v3: " + _names(BUILTIN_X86_NEEDS)
        return f"built into llama.cpp, compiled for {machine or 'this processor'}"
    if not variant:
        return "unknown: this platform does not show which of llama.cpp's CPU variants was loaded"
    needs = VARIANT_NEEDS.get(variant)
    if needs is None:
        return f"{variant} (a CPU variant LM Scales does not know)"
    return f"{variant}: {_names(needs)}" if needs else f"{variant}: baseline x86-64 (SSE2)"


def _names(features: Iterable[str]) -> str:
    ordered = sorted(features, key=lambda feature: FEATURE_WEIGHTS.get(feature, 0), reverse=True)
    return ", ".join(name.replace("SSE42", "SSE4.2").replace("_", "-") for name in ordered)


def llama_build() -> str:
    """The llama.cpp (ggml) build this process runs: its version and commit, as ggml reports them; "unknown"
    where the library does not say. On Windows llama.dll does not export ggml's functions, so ggml-base beside
    it is asked too."""
    from llama_cpp import llama_cpp as bindings

    libraries: list[ctypes.CDLL] = [bindings._lib]
    folder = Path(getattr(bindings._lib, "_name", "") or ".").parent
    for name in ("ggml-base.dll", "libggml-base.so", "libggml-base.dylib"):
        if (folder / name).is_file():
            with contextlib.suppress(OSError):
                libraries.append(ctypes.CDLL(str(folder / name)))
    for library in libraries:
        try:
            version, commit = library.ggml_version, library.ggml_commit
        except AttributeError:
            continue
        version.restype = commit.restype = ctypes.c_char_p
        version.argtypes = commit.argtypes = []
        number = (version() or b"").decode("utf-8", errors="replace")
        revision = (commit() or b"").decode("utf-8", errors="replace")
        if number or revision:
            return f"ggml {number or 'unknown'}, commit {revision or 'unknown'}"
    return "unknown: this llama.cpp library does not report its version"

