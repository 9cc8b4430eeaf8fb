"""What a user downloads: the About dialog, the icons and desktop metadata, and the frozen bundle itself.

The bundle tests build `dist/lmscales` with PyInstaller (about a minute on two cores; `packaging/build.py
--if-stale` reuses a bundle newer than its sources) and run it as a user's machine would: no venv, no
PYTHONPATH, an empty HOME, a folder outside the checkout. They run when LMSCALES_TEST_BUNDLE=1 is set or a
bundle is already there, and skip otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import ModuleType

import llama_cpp
import pytest
from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication, QImage

from lmscales import __version__
from lmscales.core.engines import cpu_backends
from lmscales.ui.about import AboutDialog
from tests.conftest import TEST_THREADS

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.lmscales.LMScales"
# 350 MB before llama.cpp shipped one CPU backend per instruction-set level (x86-64: 14 libraries, 19 MB),
# 368 MB with Hypothesis and others the app never imports, 347 MB once they were left out (issue 26).
BUNDLE_LIMIT_BYTES = 360_000_000


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"lmscales_packaging_{name}", PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = _load("build")


# -- About -------------------------------------------------------------------------------------------------
def test_about_dialog_states_versions_and_licences(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    text = dialog.text.toPlainText()
    assert __version__ in text
    assert f"llama-cpp-python {llama_cpp.__version__}" in text
    assert "ggml " in text  # the library's own build version, read from the loaded library
    assert qVersion() in text
    assert "Apache-2.0" in text  # the bundled model's licence, from the manifest
    assert "LGPL-3.0" in text and "download.qt.io" in text  # Qt's licence and where its source is
    dialog.copy_button.click()
    clipboard = QGuiApplication.clipboard()
    assert clipboard is not None and f"LM Scales: {__version__}" in clipboard.text()


# -- icons and desktop metadata ------------------------------------------------------------------------------
def test_icons_exist_at_every_size_and_load() -> None:
    icons = resources.files("lmscales.resources").joinpath("icons")
    for size in build.ICON_SIZES:
        image = QImage.fromData(icons.joinpath(f"lmscales-{size}.png").read_bytes())
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()
    assert icons.joinpath("lmscales.ico").read_bytes()[:4] == b"\0\0\1\0"
    assert icons.joinpath("lmscales.icns").read_bytes()[:4] == b"icns"
    assert b"<svg" in icons.joinpath("lmscales.svg").read_bytes()
    total = sum(path.stat().st_size for path in (ROOT / "resources" / "icons").iterdir())
    assert total < 200_000


def test_desktop_entry_and_metainfo_agree_with_the_app() -> None:
    desktop = (PACKAGING / "linux" / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    assert f"Icon={APP_ID}" in desktop and "Exec=lmscales" in desktop
    metainfo = ElementTree.parse(PACKAGING / "linux" / f"{APP_ID}.metainfo.xml").getroot()
    assert metainfo.findtext("id") == APP_ID
    assert metainfo.findtext("launchable") == f"{APP_ID}.desktop"
    releases = [release.get("version") for release in metainfo.iter("release")]
    assert __version__ in releases, "add a <release> for this version to the metainfo"
    plist = (PACKAGING / "macos" / "Info.plist").read_text(encoding="utf-8")
    assert f"<string>{APP_ID}</string>" in plist


# -- CI workflows and macOS targets -----------------------------------------------------------------------------
WORKFLOWS = ROOT / ".github" / "workflows"


def test_macos_deployment_target_matches_the_minimum_system_version() -> None:
    """What llama.cpp is compiled for (MACOSX_DEPLOYMENT_TARGET) and what the app claims to run on
    (LSMinimumSystemVersion) must agree, in every workflow that builds for macOS."""
    import plistlib

    minimum = plistlib.loads((PACKAGING / "macos" / "Info.plist").read_bytes())["LSMinimumSystemVersion"]
    for workflow in ("installers.yml", "tests.yml"):
        targets = re.findall(r'MACOSX_DEPLOYMENT_TARGET: "([^"]+)"', (WORKFLOWS / workflow).read_text("utf-8"))
        assert targets == [minimum], workflow


def test_workflows_cover_every_platform_and_both_macos_architectures() -> None:
    tests = (WORKFLOWS / "tests.yml").read_text(encoding="utf-8")
    for runner in ("windows-2022", "macos-14", "macos-15-intel", "ubuntu-22.04"):
        assert runner in tests
    assert "python dev.py test" in tests
    installers = (WORKFLOWS / "installers.yml").read_text(encoding="utf-8")
    for runner in ("windows-2022", "macos-14", "macos-15-intel", "ubuntu-22.04"):
        assert f"os: {runner}" in installers
    assert "--self-test --remote-test" in installers  # both executables, and the remote side on loopback
    # signing and notarisation only where their secrets exist
    assert "env.MACOS_CERTIFICATE != ''" in installers and "notarytool" in installers


def test_the_remote_test_of_the_installers_reads_the_trial_that_run_prints() -> None:
    """build.py --remote-test judges `run --json`'s trial: an answer passes, an empty or failed side is named."""
    def trial(**large: object) -> str:
        return json.dumps({"sides": {"large": large}})

    assert build.remote_answer_problem(0, trial(status="done", text="Hello!")) is None
    assert build.remote_answer_problem(0, trial(status="done", text=" ")) == "the large side's answer is empty"
    assert "ended 'error'" in str(build.remote_answer_problem(0, trial(status="error", text="", error="refused")))
    assert build.remote_answer_problem(0, '{"ok": true, "output": "hi"}') == "no trial with a large side in the output"
    assert build.remote_answer_problem(2, "") == "exit code 2"


# -- measure_start.py ------------------------------------------------------------------------------------------
def _measure_start() -> ModuleType:
    """packaging/measure_start.py, which puts packaging/ on sys.path for its `from build import`: taken off
    again, so that no later import finds packaging/build.py under the name of PyPA's `build`."""
    path = list(sys.path)
    try:
        return _load("measure_start")
    finally:
        sys.path[:] = path
        sys.modules.pop("build", None)


def test_measure_start_stops_an_app_that_has_already_exited() -> None:
    """An app that exits before its window shows leaves no process group; stopping it must not raise
    ProcessLookupError over the reason the script is about to give."""
    app = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    assert app.wait(timeout=60) == 0
    _measure_start().stop_app(app)
    assert app.returncode == 0


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
def test_measure_start_stops_the_app_and_its_engine_process() -> None:
    """The app's group goes: the app and the child it started (the engine process, here a sleeper)."""
    app = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time; child = subprocess.Popen([sys.executable, '-c', "
         "'import time; time.sleep(600)']); print(child.pid, flush=True); time.sleep(600)"],
        start_new_session=True, stdout=subprocess.PIPE, text=True)
    assert app.stdout is not None
    child = int(app.stdout.readline())
    _measure_start().stop_app(app)
    assert app.returncode == -15  # SIGTERM
    # The orphaned child is reaped by init once it has died; until then kill(pid, 0) still finds it.
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the engine process outlived the app"


def _alive(pid: int) -> bool:
    """Whether the process runs; a zombie (dead, not yet reaped by whoever adopted it) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")
    except (OSError, IndexError):
        return False  # it went between the two looks


def test_workflows_pass_actionlint() -> None:
    actionlint = Path(sys.executable).with_name("actionlint" + (".exe" if sys.platform == "win32" else ""))
    assert actionlint.exists(), "actionlint comes with the dev extras (python dev.py setup)"
    result = subprocess.run([str(actionlint), *sorted(map(str, WORKFLOWS.glob("*.yml")))], capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not (shutil.which("desktop-file-validate") and shutil.which("appstreamcli")),
                    reason="needs desktop-file-validate and appstreamcli (Debian: desktop-file-utils appstream)")
def test_desktop_entry_and_metainfo_validate() -> None:
    for command in (["desktop-file-validate", str(PACKAGING / "linux" / f"{APP_ID}.desktop")],
                    ["appstreamcli", "validate", "--no-net", str(PACKAGING / "linux" / f"{APP_ID}.metainfo.xml")]):
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


# -- the frozen bundle -----------------------------------------------------------------------------------------
needs_bundle = pytest.mark.skipif(
    not (os.environ.get("LMSCALES_TEST_BUNDLE") == "1" or build.cli_executable().exists()
         or (os.environ.get("CI") and sys.platform.startswith("linux"))),
    reason="set LMSCALES_TEST_BUNDLE=1 to build the frozen bundle (about a minute) and test it; "
    "a bundle already in dist/ is tested without it",
)


@pytest.fixture(scope="module")
def bundle() -> Iterator[Path]:
    """dist/lmscales (the .app on macOS), built now unless it is newer than every file it is made of."""
    result = subprocess.run([sys.executable, str(PACKAGING / "build.py"), "--bundle-only", "--if-stale"],
                            cwd=ROOT, capture_output=True, text=True, check=False, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield build.bundle_dir()


@pytest.mark.slow
@pytest.mark.timeout(1800)  # includes building the bundle
@needs_bundle
def test_frozen_app_self_test_spawns_its_engine_from_the_bundle(bundle: Path) -> None:
    executable = build.cli_executable(bundle)
    summary = build.run_self_test(executable, threads=TEST_THREADS, timeout=900)
    assert summary["_exit_code"] == 0, summary["_stderr"]
    assert summary["ok"] is True, summary.get("error")
    # The model is the bundle's own copy, and the engine ran in a child process that multiprocessing
    # started from the bundle's executable (freeze_support() at work), not from any Python on this machine.
    assert Path(summary["model"]["path"]).resolve().is_relative_to(bundle.resolve())
    assert summary["engine_pid"]
    assert str(executable.resolve()) in summary["_children"], summary["_children"]
    for task in ("chat", "summarize", "translate"):
        assert summary["tasks"][task]["text"].strip()


@pytest.mark.slow
@pytest.mark.timeout(1800)
@needs_bundle
def test_frozen_app_holds_what_it_needs_and_nothing_from_development(bundle: Path) -> None:
    files = [path for path in bundle.rglob("*") if path.is_file() and not path.is_symlink()]
    size = sum(path.stat().st_size for path in files)
    assert size < BUNDLE_LIMIT_BYTES, f"the bundle is {size / 1e6:.0f} MB"
    names = {path.relative_to(bundle).as_posix() for path in files}
    assert any(name.endswith("models/SmolLM2-135M-Instruct.Q4_1.gguf") for name in names)
    assert any(name.endswith("models/LICENSE-SmolLM2-Apache-2.0.txt") for name in names)
    assert any(name.endswith("lmscales/resources/prices.json") for name in names)
    assert any(name.endswith("licenses/LGPL-3.0.txt") for name in names)
    variants = cpu_backends.backend_folder()
    if variants is not None:  # a build with CPU variants: all ship, beside llama.cpp's libraries, but those
        # the engine never loads
        shipped = {Path(name).name for name in names if "llama_cpp/lib/" in name and "ggml-cpu-" in name}
        assert shipped == {cpu_backends.variant_file(variants, variant).name for variant in
                           cpu_backends.variants_in(variants) if variant not in cpu_backends.NEVER_LOADED}
    assert not [name for name in names if re.search(r"QtWebEngine|Qt6Quick|Qt6Qml|Qt6Pdf|/translations/", name)]
    # Nothing of the developer's machine: no venv, no caches, no test or server code (modules are in the
    # PYZ archive; the build's table of contents lists them).
    assert not [name for name in names if re.search(r"\.venv|__pycache__|site-packages|\.part$", name)]
    toc = (build.WORK / "lmscales" / "PYZ-00.toc").read_text(encoding="utf-8")
    for module in ("llama_cpp.server", "uvicorn", "fastapi", "pytest", "pytestqt", "PyInstaller", "tkinter",
                   "lmscales.bench", "hypothesis", "joblib", "lxml.objectify", "lxml.html",
                   "openai.resources.realtime", "openai.types.beta", "openai.resources.audio"):
        assert f"'{module}'" not in toc and f"'{module}." not in toc, module
    # What the app imports stays (rouge-score and nltk's stemmer; sacrebleu imports lxml.etree, a library,
    # when it starts).
    # tqdm too: `lmscales eval`'s progress bar in a terminal.
    for module in ("nltk.stem.porter", "rouge_score.rouge_scorer", "openai.resources.chat", "openai.resources.models",
                   "tqdm"):
        assert f"'{module}'" in toc, module
    assert [name for name in names if re.search(r"lxml/etree\.", name)]
    # Nor their libraries: the fuzzer's, lxml's beyond etree, Qt's kiosk input plugins (the TUIO one alone
    # pulled in QtNetwork and Kerberos) and image formats the app never reads.
    assert not [name for name in names if re.search(
        r"(^|/)(hypothesis|joblib)/|lxml/objectify|Qt6Network|libkrb5|plugins/generic/|"
        r"imageformats/\w*(jpeg|webp|tiff)", name)]


@pytest.mark.slow
@pytest.mark.timeout(1800)
@needs_bundle
def test_frozen_app_talks_to_an_openai_compatible_server(bundle: Path, llama_server: str, tmp_path: Path) -> None:
    """The remote side from the bundle: openai and httpx2 frozen, the price lookup working (the server answers
    to any model name; a server on this computer costs no money even under a priced model's name)."""
    env = build.clean_environment(tmp_path)
    result = subprocess.run(
        [str(build.cli_executable(bundle)), "run", "--task", "chat", "--side", "remote", "--base-url", llama_server,
         "--model", "gpt-4o-mini", "--max-tokens", "8", "--input", "-", "--json"],
        input="Say hello.", cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=240,
    )
    # the installer workflow's own check (build.py --remote-test) accepts it
    assert build.remote_answer_problem(result.returncode, result.stdout) is None, result.stdout + result.stderr
    large = json.loads(result.stdout)["sides"]["large"]
    # A server on this computer costs no money, whatever its model is called (the bundled table itself is
    # checked in the bundle by the test above).
    assert large["cost"]["usd"] == 0.0 and "on this computer" in large["cost"]["source"], large["cost"]
    # No energy measured here (the command line runs no monitor): EcoLogits' estimate for the model it names,
    # from the tables the bundle carries, offline.
    assert large["api_energy"]["label"].startswith("estimated (EcoLogits 0.11.3, gpt-4o-mini"), large["api_energy"]
    assert 0 < large["api_energy"]["energy_low_j"] < large["api_energy"]["energy_high_j"]


@pytest.mark.slow
@pytest.mark.timeout(1800)
@needs_bundle
@pytest.mark.parametrize(("evaluation_set", "score"), [("summarize-smoke", "ROUGE-L"), ("translate-smoke", "chrF++")])
def test_frozen_app_scores_answers_with_what_it_left_of_their_libraries(
        bundle: Path, tmp_path: Path, evaluation_set: str, score: str) -> None:
    """ROUGE-L is rouge-score with nltk's Porter stemmer, chrF++ is sacrebleu (which imports lxml.etree when
    it starts): the spec leaves out parts of nltk's, lxml's and their helpers' packages, and these still run."""
    result = subprocess.run(
        [str(build.cli_executable(bundle)), "eval", "--set", evaluation_set, "--sides", "small", "--limit", "1",
         "--warmups", "0", "--max-tokens", "32", "--threads", str(TEST_THREADS), "--json", "--no-history"],
        cwd=tmp_path, env=build.clean_environment(tmp_path), capture_output=True, text=True, check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    item = json.loads(result.stdout)["result"]["tasks"][0]["items"][0]
    assert 0 < item["scores"]["small"][score] <= 100, item["scores"]


def test_the_linux_tarball_is_xz_compressed_with_its_menu_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tarball's format and contents, from a stand-in bundle folder (building the real one takes minutes)."""
    bundle = tmp_path / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "lmscales").write_bytes(b"\x7fELF" + bytes(4096))
    (bundle / "_internal" / "model.verified").write_text("a stamp left by running the bundle here")
    monkeypatch.setattr(build, "bundle_dir", lambda: bundle)
    monkeypatch.setattr(build, "DIST", tmp_path / "dist")
    (tmp_path / "dist").mkdir()
    tarball = build.linux_tarball(build.version())
    assert tarball.name == f"LM-Scales-{build.version()}-linux-{build.machine()}.tar.xz"
    assert tarball.read_bytes()[:6] == b"\xfd7zXZ\x00"  # the xz magic number
    with tarfile.open(tarball, "r:xz") as tar:
        names = set(tar.getnames())
        top = f"lmscales-{build.version()}"
        assert {f"{top}/lmscales", f"{top}/install.sh", f"{top}/README.txt",
                f"{top}/share/applications/{APP_ID}.desktop"} <= names
        assert not [name for name in names if name.endswith(".verified")]
        assert {member.uid for member in tar.getmembers()} == {0}
