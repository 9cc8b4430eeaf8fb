#!/usr/bin/env python3
"""Build what a user downloads: the PyInstaller bundle, then this platform's installer.

    python packaging/build.py                  the bundle, then the installer (into dist/)
    python packaging/build.py --bundle-only    only the bundle: dist/lmscales/ (and dist/LM Scales.app on macOS)
    python packaging/build.py --if-stale       reuse the bundle if it is newer than everything it is made of
    python packaging/build.py --self-test      then run the bundle's `lmscales self-test` the way a user's
                                               machine would (no venv, no PYTHONPATH, an empty HOME)

The installers: Linux, a tarball with a .desktop entry, AppStream metainfo, icons and `install.sh` (which
adds the menu entry for the user); Windows, an Inno Setup installer (needs ISCC.exe, Inno Setup 6); macOS,
a .dmg of `LM Scales.app` (hdiutil). PyInstaller runs in the project's venv (`python dev.py setup` makes
it; PyInstaller comes with the dev extras), so the bundle holds exactly what the app is tested with, and
the bundled model must have been fetched (`python -m lmscales models fetch`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import lzma
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
SPEC = PACKAGING / "lmscales.spec"
APP_ID = "io.github.lmscales.LMScales"
APP_NAME = "LM Scales"
WINDOWS = sys.platform == "win32"
MACOS = sys.platform == "darwin"
LINUX = sys.platform.startswith("linux")
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def say(message: str) -> None:
    print(f"[build] {message}", flush=True)


def version() -> str:
    text = (ROOT / "desktop" / "lmscales" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'__version__ = "([^"]+)"', text)
    if not match:
        sys.exit("build.py: no __version__ in desktop/lmscales/__init__.py")
    return match.group(1)


def venv_python() -> Path:
    venv = ROOT / ".venv"
    python = venv / ("Scripts/python.exe" if WINDOWS else "bin/python")
    return python if python.exists() else Path(sys.executable)


def bundle_dir() -> Path:
    """The folder that ships: the .app on macOS, the one-folder bundle elsewhere."""
    return DIST / f"{APP_NAME}.app" if MACOS else DIST / "lmscales"


def cli_executable(bundle: Path | None = None) -> Path:
    bundle = bundle or bundle_dir()
    if MACOS:
        return bundle / "Contents" / "MacOS" / "lmscales"
    return bundle / ("lmscales.exe" if WINDOWS else "lmscales")


def windowed_executable(bundle: Path | None = None) -> Path | None:
    """What the Start menu and Finder start: the same program built without a console (None on Linux)."""
    bundle = bundle or bundle_dir()
    if MACOS:
        return bundle / "Contents" / "MacOS" / APP_NAME
    if WINDOWS:
        return bundle / f"{APP_NAME}.exe"
    return None


# -- is the bundle older than what it is made of? -----------------------------------------------------------
def inputs() -> list[Path]:
    """Every file the bundle is made of, and the venv's package folder (installing or removing a package
    changes its modification time)."""
    found = [ROOT / "pyproject.toml"]
    for folder, pattern in (("desktop", "*.py"), ("resources", "*"), ("models", "*"), ("packaging", "*")):
        found += [path for path in (ROOT / folder).rglob(pattern)
                  if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".part", ".verified"}]
    site = subprocess.run([str(venv_python()), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=False).stdout.strip()
    if site:
        found.append(Path(site))
    return found


def bundle_is_fresh() -> bool:
    executable = cli_executable()
    if not executable.exists():
        return False
    built = executable.stat().st_mtime
    newer = [path for path in inputs() if path.stat().st_mtime > built]
    if newer:
        say(f"the bundle is older than {len(newer)} of its inputs, e.g. {newer[0]}")
    return not newer


# -- the bundle -----------------------------------------------------------------------------------------------
def build_bundle(clean: bool) -> float:
    python = venv_python()
    probe = subprocess.run([str(python), "-c", "import PyInstaller"], capture_output=True, check=False)
    if probe.returncode != 0:
        sys.exit(f"build.py: PyInstaller is not installed in {python}. Install the dev extras "
                 "(`python dev.py setup`) or `pip install pyinstaller` into that environment.")
    command = [str(python), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC)]
    if clean:
        command.insert(3, "--clean")
    say(f"PyInstaller ({python})")
    started = time.monotonic()
    # A clean environment for the analysis: nothing from PYTHONPATH may leak into the bundle.
    env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "PYTHONHOME"}}
    if LINUX:
        # The Python modules uncompressed in the bundle's archive (PyInstaller's archive writers read this):
        # compressed one by one with zlib, about 10 MB of them would pass through the tarball's xz as they are;
        # stored (24 MB), xz makes 6 MB of them. The unpacked bundle is about 14 MB bigger for it.
        env["PYINSTALLER_ZLIB_COMPRESSION_LEVEL"] = "0"
        # PyInstaller's cache would keep an archive written at another level: it is rebuilt (seconds).
        (WORK / "lmscales" / "PYZ-00.pyz").unlink(missing_ok=True)
    if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode != 0:
        sys.exit("build.py: PyInstaller failed; the output above says why.")
    return time.monotonic() - started


def tree_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


# -- running the bundle as a user would -----------------------------------------------------------------------
def clean_environment(home: Path) -> dict[str, str]:
    """What a user's session gives the app, minus anything of this checkout: no PYTHONPATH, no VIRTUAL_ENV,
    a HOME with nothing in it, and a PATH of system folders only."""
    if WINDOWS:
        system_root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        env = {"PATH": os.pathsep.join([rf"{system_root}\System32", system_root]), "SYSTEMROOT": system_root,
               "USERPROFILE": str(home), "HOME": str(home), "APPDATA": str(home / "AppData" / "Roaming"),
               "LOCALAPPDATA": str(home / "AppData" / "Local"), "TEMP": str(home), "TMP": str(home)}
    else:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def run_self_test(executable: Path | None = None, threads: int = 1, timeout: float = 900.0) -> dict[str, Any]:
    """Run `lmscales self-test` from the bundle in a clean environment and a folder outside the checkout.

    Returns the self-test's JSON plus what was seen: the exit code, the seconds it took, and the executables
    of the child processes it started (the engine must be the bundle's own executable, started again by
    multiprocessing: proof that `freeze_support()` works). Child processes are seen with psutil, when it
    is importable (it is in the project's venv)."""
    executable = (executable or cli_executable()).resolve()
    try:
        import psutil
    except ImportError:
        psutil = None  # type: ignore[assignment]
    # Output goes to files, not pipes: a pipe nobody reads while we watch the children could fill and stall it.
    with tempfile.TemporaryDirectory(prefix="lmscales-selftest-") as tmp, \
            tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        home = Path(tmp)
        started = time.monotonic()
        process = subprocess.Popen([str(executable), "self-test", "--threads", str(threads)],
                                   cwd=home, env=clean_environment(home), stdout=out, stderr=err)
        children: set[str] = set()
        while process.poll() is None and time.monotonic() - started < timeout:
            if psutil is not None:
                with contextlib.suppress(psutil.Error):  # a child that just ended, or the parent itself
                    children.update(child.exe() for child in psutil.Process(process.pid).children(recursive=True))
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
        process.wait()
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    try:
        summary: dict[str, Any] = json.loads(stdout.decode("utf-8", errors="replace"))
    except ValueError:
        summary = {"ok": False, "error": "no JSON on standard output"}
    summary["_exit_code"] = process.returncode
    summary["_seconds"] = round(seconds, 1)
    summary["_children"] = sorted(children)
    summary["_stderr"] = stderr.decode("utf-8", errors="replace")[-4000:]
    return summary


def self_test() -> None:
    executable = cli_executable()
    say(f"self-test: {executable} self-test (clean environment, offscreen)")
    result = run_self_test(executable)
    spawned_from_bundle = any(Path(child).resolve() == executable.resolve() for child in result["_children"])
    say(f"self-test: exit {result['_exit_code']}, ok={result.get('ok')}, {result['_seconds']} s, "
        f"engine process from the bundle: {spawned_from_bundle if result['_children'] else 'not checked'}")
    if result["_exit_code"] != 0 or result.get("ok") is not True:
        sys.stderr.write(result["_stderr"])
        sys.exit(f"build.py: the bundle's self-test failed: {result.get('error')}")
    windowed = windowed_executable()
    if windowed is not None:
        # The windowed build has no console: on Windows its standard output goes nowhere (sys.stdout is None),
        # so its exit code and its engine child are what show that it works.
        say(f"self-test: {windowed} self-test (the windowed executable)")
        result = run_self_test(windowed)
        spawned = any(Path(child).resolve() == windowed.resolve() for child in result["_children"])
        say(f"self-test (windowed): exit {result['_exit_code']}, {result['_seconds']} s, engine process from the "
            f"bundle: {spawned if result['_children'] else 'not checked'}")
        if result["_exit_code"] != 0:
            sys.stderr.write(result["_stderr"])
            sys.exit("build.py: the windowed executable's self-test failed")


def remote_test() -> None:
    """The frozen app's remote side (openai and httpx2 frozen, the bundled price table) against
    llama-cpp-python's own server on loopback, started from the project's venv."""
    sys.path.insert(0, str(ROOT / "desktop"))
    from lmscales.bench.servers import LlamaServer

    model = ROOT / "models" / json.loads((ROOT / "models" / "manifest.json").read_text("utf-8"))["bundled"]["file"]
    with LlamaServer(model) as server, tempfile.TemporaryDirectory(prefix="lmscales-remote-") as tmp:
        command = [str(cli_executable()), "run", "--task", "chat", "--side", "remote", "--base-url", server.base_url,
                   "--model", "gpt-4o-mini", "--max-tokens", "8", "--input", "-", "--json"]
        say(f"remote test: {' '.join(command[1:])}")
        result = subprocess.run(command, input="Say hello.", cwd=tmp, env=clean_environment(Path(tmp)),
                                capture_output=True, text=True, check=False, timeout=300)
    problem = remote_answer_problem(result.returncode, result.stdout)
    say(f"remote test: exit {result.returncode}, {problem or 'answered'}")
    if problem:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        sys.exit("build.py: the frozen app's remote side failed against llama-cpp-python's server")


def remote_answer_problem(returncode: int, stdout: str) -> str | None:
    """What is wrong with `lmscales run --side remote --json`'s output (a trial), or None if the large side
    answered."""
    if returncode != 0:
        return f"exit code {returncode}"
    try:
        large = json.loads(stdout)["sides"]["large"]
    except (ValueError, KeyError, TypeError):
        return "no trial with a large side in the output"
    if large.get("status") not in ("done", "length"):
        return f"the large side ended {large.get('status')!r}: {large.get('error')}"
    if not str(large.get("text", "")).strip():
        return "the large side's answer is empty"
    return None


# -- installers -----------------------------------------------------------------------------------------------
def machine() -> str:
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(arch, arch)


def check_metainfo(release: str) -> Path:
    metainfo = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
    if f'<release version="{release}"' not in metainfo.read_text(encoding="utf-8"):
        sys.exit(f"build.py: {metainfo.relative_to(ROOT)} has no <release version=\"{release}\">; add one "
                 "(AppStream shows it as the release history).")
    return metainfo


def linux_tarball(release: str) -> Path:
    """A tarball a user unpacks anywhere and runs; `install.sh` inside adds it to the application menu."""
    metainfo = check_metainfo(release)
    top = f"lmscales-{release}"
    target = DIST / f"LM-Scales-{release}-linux-{machine()}.tar.xz"
    icons = ROOT / "resources" / "icons"
    extras = {
        f"share/applications/{APP_ID}.desktop": PACKAGING / "linux" / f"{APP_ID}.desktop",
        f"share/metainfo/{APP_ID}.metainfo.xml": metainfo,
        f"share/icons/hicolor/scalable/apps/{APP_ID}.svg": icons / "lmscales.svg",
        "install.sh": PACKAGING / "linux" / "install.sh",
        "README.txt": PACKAGING / "linux" / "README.txt",
    }
    for size in ICON_SIZES:
        extras[f"share/icons/hicolor/{size}x{size}/apps/{APP_ID}.png"] = icons / f"lmscales-{size}.png"

    def owned_by_nobody(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if info.name.endswith(".verified"):  # a stamp left by running the bundle here
            return None  # type: ignore[return-value]
        return info

    say(f"tarball {target.name} (xz, a few minutes)")
    # xz rather than gzip: 48 MB less. Level 9 (a 64 MB window) lets llama.cpp's CPU variants, much alike,
    # compress against each other, and the x86 filter turns the libraries' relative jumps into absolute ones
    # first, which repeat more (3 MB less). The model barely compresses either way. `tar xf` reads it.
    filters: list[dict[str, Any]] = [{"id": lzma.FILTER_LZMA2, "preset": 9}]
    if machine() == "x86_64":
        filters.insert(0, {"id": lzma.FILTER_X86})
    with lzma.open(target, "wb", format=lzma.FORMAT_XZ, filters=filters) as packed, \
            tarfile.open(fileobj=packed, mode="w") as tar:
        tar.add(bundle_dir(), arcname=top, filter=owned_by_nobody)
        for name, source in extras.items():
            info = tar.gettarinfo(str(source), arcname=f"{top}/{name}")
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            with source.open("rb") as handle:
                tar.addfile(owned_by_nobody(info), handle)
    return target


def find_iscc() -> Path | None:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return Path(found)
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        if base and (Path(base) / "Inno Setup 6" / "ISCC.exe").exists():
            return Path(base) / "Inno Setup 6" / "ISCC.exe"
    return None


def windows_installer(release: str) -> Path:
    iscc = find_iscc()
    if iscc is None:
        sys.exit("build.py: Inno Setup 6 (ISCC.exe) was not found; install it (https://jrsoftware.org/isdl.php, "
                 "or `choco install innosetup`) or build with --bundle-only.")
    say(f"Inno Setup ({iscc})")
    command = [str(iscc), "/Q", f"/DAppVersion={release}", f"/DBundleDir={bundle_dir()}", f"/DOutputDir={DIST}",
               str(PACKAGING / "windows" / "lmscales.iss")]
    if subprocess.run(command, check=False).returncode != 0:
        sys.exit("build.py: Inno Setup failed; the output above says why.")
    return DIST / f"LM-Scales-{release}-windows-x64-setup.exe"


def macos_dmg(release: str) -> Path:
    target = DIST / f"LM-Scales-{release}-macos-{machine()}.dmg"
    say(f"disk image {target.name}")
    script = PACKAGING / "macos" / "make_dmg.sh"
    if subprocess.run(["sh", str(script), str(bundle_dir()), str(target), APP_NAME], check=False).returncode != 0:
        sys.exit("build.py: making the disk image failed; the output above says why.")
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle-only", action="store_true", help="stop after the PyInstaller bundle")
    parser.add_argument("--if-stale", action="store_true", help="reuse a bundle newer than all its inputs")
    parser.add_argument("--clean", action="store_true", help="clear PyInstaller's cache first")
    parser.add_argument("--self-test", action="store_true",
                        help="run the bundle's self-test afterwards (both executables on Windows and macOS)")
    parser.add_argument("--remote-test", action="store_true",
                        help="run the bundle's remote side against llama-cpp-python's server on loopback")
    args = parser.parse_args(argv)
    release = version()
    if args.if_stale and bundle_is_fresh():
        say(f"reusing {bundle_dir()} (newer than its inputs)")
    else:
        seconds = build_bundle(args.clean)
        say(f"bundle built in {seconds:.0f} s")
    say(f"{bundle_dir()}: {tree_size(bundle_dir()) / 1e6:.0f} MB unpacked")
    if args.self_test:
        self_test()
    if args.remote_test:
        remote_test()
    if args.bundle_only:
        return 0
    if LINUX:
        made = linux_tarball(release)
    elif WINDOWS:
        made = windows_installer(release)
    elif MACOS:
        made = macos_dmg(release)
    else:
        say(f"no installer for {sys.platform}; the bundle is {bundle_dir()}")
        return 0
    say(f"{made} ({made.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
