"""dev.py, the one script a new contributor runs: what it says when the llama.cpp build cannot start."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lmscales_dev_script", ROOT / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("platform", "named"), [
    ("win32", 'Visual Studio Build Tools 2022 with the workload "Desktop development with C++"'),
    ("darwin", "xcode-select --install"),
    ("linux", "build-essential"),
])
def test_a_failed_llama_cpp_build_names_the_compiler_this_platform_installs(platform: str, named: str) -> None:
    assert named in _dev().build_tools(platform)


def test_the_build_failure_message_uses_the_platforms_hint(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    dev = _dev()
    monkeypatch.setattr(dev.sys, "platform", "win32")
    monkeypatch.setattr(dev, "cache_root", lambda: tmp_path)
    monkeypatch.setattr(dev, "interpreter_tag", lambda: "cp311-win_amd64")
    monkeypatch.setattr(dev, "interpreter_machine", lambda: "AMD64")
    monkeypatch.setattr(dev, "run", lambda command, **kwargs: 1)  # the compiler is missing
    with pytest.raises(SystemExit) as stopped:
        dev.ensure_llama_wheel()
    assert "Desktop development with C++" in str(stopped.value)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """A fresh Debian or Ubuntu has no `python`: CI runs the command the README gives, `python3 dev.py test`."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^(python3? dev\.py test)\b", readme, flags=re.MULTILINE)
    assert commands == ["python3 dev.py test"]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert f"exec {commands[0]}" in ci_lines


def test_ci_mode_installs_every_missing_test_package_even_with_xvfb_and_chromium_present(
        monkeypatch: pytest.MonkeyPatch) -> None:
    dev = _dev()
    monkeypatch.setattr(dev.sys, "platform", "linux")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(dev.os, "geteuid", lambda: 0, raising=False)
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")  # Xvfb and chromium are on the PATH
    installed = set(dev.LINUX_TEST_PACKAGES) - {"desktop-file-utils", "appstream"}

    def dpkg_query(command: list[str], **kwargs: object) -> object:
        status = "install ok installed" if command[-1] in installed else ""
        return type("Done", (), {"returncode": 0 if status else 1, "stdout": status})()

    monkeypatch.setattr(dev.subprocess, "run", dpkg_query)
    commands: list[list[str]] = []
    monkeypatch.setattr(dev, "run", lambda command, **kwargs: commands.append(command) or 0)
    dev.ensure_linux_test_tools()
    assert commands[-1][-2:] == ["desktop-file-utils", "appstream"]
    assert commands[-1][:4] == ["apt-get", "install", "-y", "-qq"]

    commands.clear()
    installed.update({"desktop-file-utils", "appstream"})
    dev.ensure_linux_test_tools()
    assert commands == []  # nothing missing: no apt-get at all


@pytest.mark.parametrize(("extra", "cores", "added"), [
    ([], 2, ["-n", "3", "--dist", "loadfile"]),  # one more than the cores: most tests wait, not compute
    (["tests/core"], 8, ["-n", "4", "--dist", "loadfile"]),  # at most four processes
    ([], 1, []),  # one core: one process
    (["-n", "0"], 2, []),  # the arguments choose
    (["-n=3"], 2, []),
    (["--dist", "load"], 2, []),
    (["-p", "no:xdist"], 2, []),
])
def test_pytest_runs_one_process_per_core_unless_told_otherwise(extra: list[str], cores: int,
                                                                added: list[str]) -> None:
    assert _dev().pytest_workers(extra, cores) == added
