"""The app as a user starts it, in a real X server (Xvfb): typed into with xdotool, photographed with xwd.

Screenshots of the three tasks mid-comparison land in artifacts/screenshots/ (look at them). Skipped only
where there is no Xvfb (`python dev.py test` installs it on Debian-like CI machines).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import SERVER_MODEL
from tests.support.screen import Box, light_share
from tests.support.xvfb import xvfb

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not all(shutil.which(t) for t in ("Xvfb", "xdotool", "xwd", "convert")),
                       reason="needs Xvfb, xdotool, xwd and ImageMagick (Debian: xvfb xdotool x11-apps imagemagick)"),
]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
GUARD = ROOT / "tests" / "support" / "outside_guard"
SIZE = (1600, 1000)
WINDOW: Box = (0.0, 0.0, 1.0, (SIZE[1] - 40) / SIZE[1])  # where the tests put the main window on the screen


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb(SIZE) as name:
        yield name


def xdo(display: str, *args: str) -> str:
    return subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True,
                          text=True, check=False, timeout=60).stdout.strip()


def screenshot(display: str, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / f"{name}.png"
    xwd = subprocess.run(["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True, timeout=30)
    subprocess.run(["convert", "xwd:-", str(target)], input=xwd.stdout, check=True, timeout=60)
    return target


def distinct_colours(path: Path) -> int:
    out = subprocess.run(["identify", "-format", "%k", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def wait_for_screen(display: str, name: str, shows: Callable[[Path], bool], what: str,
                    timeout: float = 30.0) -> Path:
    """Photograph the screen until the picture `shows` what the test wants kept (the window has painted it),
    and keep that picture as `name`; fail naming `what` if it never does (the last picture stays, to look at)."""
    deadline = time.monotonic() + timeout
    while True:
        shot = screenshot(display, name)
        if shows(shot):
            return shot
        if time.monotonic() > deadline:
            raise AssertionError(f"the screen did not show {what} within {timeout:.0f} s (see {shot})")
        time.sleep(0.1)


def light(shot: Path, box: Box = WINDOW) -> bool:
    """The window is painted in a light theme: most of it is light (a dark theme's is mostly dark)."""
    return light_share(shot, box) > 0.75


def dark(shot: Path, box: Box = WINDOW) -> bool:
    return light_share(shot, box) < 0.25


def wait_for_window(display: str, pid: int, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        windows = xdo(display, "search", "--onlyvisible", "--pid", str(pid), "--name", "LM Scales").split()
        if windows:
            return windows[-1]
        time.sleep(0.2)
    raise AssertionError("the LM Scales window did not appear")


def type_text(display: str, text: str) -> None:
    xdo(display, "type", "--delay", "2", text)


def start_app(args: list[str], env: dict[str, str], output: Path) -> subprocess.Popen[str]:
    """The app with its terminal output in a file: a pipe nobody reads until the end fills up (64 KB of Qt
    warnings is enough) and then blocks the app's GUI thread on its next write."""
    with output.open("w", encoding="utf-8") as sink:
        return subprocess.Popen(args, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True)


def app_output(output: Path) -> str:
    return output.read_text("utf-8", errors="replace") if output.exists() else ""


def kept_trials(data_dir: Path) -> list[dict[str, object]]:
    """The comparisons the app kept in its history file (what a user finds again after a restart)."""
    path = data_dir / "history.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def wait_for_log(log_dir: Path, text: str, timeout: float = 120.0) -> None:
    """Wait until the app's log file says `text` (e.g. that a model has loaded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in path.read_text(errors="replace") for path in log_dir.glob("*.log*")):
            return
        time.sleep(0.2)
    raise AssertionError(f"the app's log did not say {text!r} within {timeout:.0f} s")


def send_and_wait(display: str, data_dir: Path, before: int, timeout: float = 120.0) -> None:
    """Ctrl+Enter until a comparison starts (the model may still be loading), then wait until it is kept."""
    deadline = time.monotonic() + timeout
    xdo(display, "key", "ctrl+Return")
    pressed = time.monotonic()
    while len(kept_trials(data_dir)) <= before:
        if time.monotonic() > deadline:
            raise AssertionError(f"no comparison was kept within {timeout:.0f} s")
        if time.monotonic() - pressed > 15:  # not started yet: a send while one runs is ignored, so press again
            xdo(display, "key", "ctrl+Return")
            pressed = time.monotonic()
        time.sleep(0.2)


def test_three_tasks_in_a_real_window(display: str, llama_server: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "LMSCALES_CONFIG_DIR": str(tmp_path),
           "LMSCALES_DATA_DIR": str(data_dir),
           "LMSCALES_LOG_DIR": str(tmp_path / "logs"), "QT_SCALE_FACTOR": os.environ.get("QT_SCALE_FACTOR", "1")}
    env.pop("OPENAI_API_KEY", None)
    app = start_app(
        [sys.executable, "-m", "lmscales", "--threads", "1", "--base-url", llama_server, "--remote-model",
         SERVER_MODEL, "--theme", "light"],
        env, tmp_path / "app-output.txt",
    )
    try:
        window = wait_for_window(display, app.pid)
        xdo(display, "windowsize", window, str(SIZE[0]), str(SIZE[1] - 40))
        xdo(display, "windowmove", window, "0", "0")
        xdo(display, "windowfocus", "--sync", window)  # no window manager here: focus, not activate
        wait_for_log(tmp_path / "logs", "small side: model")  # a send before that runs the large side only
        shots = {}
        scenarios = [
            ("chat", "ctrl+1", "Explain in two sentences why the sky is blue."),
            ("summarize", "ctrl+2", "The city council voted to turn the old rail yard into a park. The plan keeps "
                                    "two brick sheds for a market and a bicycle workshop, and adds meadows, a "
                                    "playground and a river path. Work starts in spring and takes three years."),
            ("translate", "ctrl+3", "The train to the airport leaves every twenty minutes from platform four."),
        ]
        for index, (name, shortcut, text) in enumerate(scenarios):
            # No wait between the two: the app takes X's key events in order, so the task switch (and the focus
            # it moves to the task's input) is done before the first typed key arrives.
            xdo(display, "key", shortcut)
            type_text(display, text)
            send_and_wait(display, data_dir, before=index)
            shots[name] = wait_for_screen(display, name, light, "the window in the light theme (--theme light)")
        shots["finished"] = wait_for_screen(display, "finished", light, "the window in the light theme")
        for name, path in shots.items():
            assert distinct_colours(path) > 200, f"{name}: the screenshot looks blank"
        assert app.poll() is None, "the app died"
        children = psutil.Process(app.pid).children(recursive=True)
        described = {child.pid: " ".join(child.cmdline())[-120:] for child in children}
        assert children, "the local engine should run in a child process"
        xdo(display, "key", "ctrl+q")
        assert app.wait(timeout=20) == 0
        _, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, f"processes outlived the app: {[described[p.pid] for p in alive]}"
        # Both panes answered each task: the kept trials say so, with the input as typed.
        trials = kept_trials(data_dir)
        assert [t["task"] for t in trials] == ["chat", "summarize", "translate"]
        for trial, (_, _, text) in zip(trials, scenarios, strict=True):
            assert trial["input"]["text"] == text  # type: ignore[index]
            sides = trial["sides"]
            assert set(sides) == {"small", "large"}  # type: ignore[arg-type]
            for side in sides.values():  # type: ignore[attr-defined]
                assert side["status"] in ("done", "length") and side["text"].strip(), side
    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
            app.wait(timeout=10)
    output = app_output(tmp_path / "app-output.txt")
    assert "Traceback" not in output, output[-3000:]


def test_offline_in_a_real_window_opens_no_outside_connection(display: str, tmp_path: Path) -> None:
    guard_log = tmp_path / "outside.log"
    data_dir = tmp_path / "data"
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "LMSCALES_CONFIG_DIR": str(tmp_path),
           "LMSCALES_DATA_DIR": str(data_dir), "LMSCALES_LOG_DIR": str(tmp_path / "logs"), "PYTHONPATH": str(GUARD),
           "LMSCALES_GUARD_LOG": str(guard_log), "OPENAI_API_KEY": "sk" "-real-window-SECRET-0123456789"}
    app = start_app(
        [sys.executable, "-m", "lmscales", "--offline", "--threads", "1", "--base-url", "https://api.openai.com/v1",
         "--remote-model", "gpt-4o-mini", "--theme", "dark"],
        env, tmp_path / "app-output.txt",
    )
    try:
        window = wait_for_window(display, app.pid)
        xdo(display, "windowsize", window, str(SIZE[0]), str(SIZE[1] - 40))
        xdo(display, "windowmove", window, "0", "0")
        xdo(display, "windowfocus", "--sync", window)
        wait_for_log(tmp_path / "logs", "small side: model")
        type_text(display, "What is the tallest mountain?")
        send_and_wait(display, data_dir, before=0)  # the comparison ran and was kept
        sides = kept_trials(data_dir)[0]["sides"]
        assert sides["small"]["text"].strip(), sides  # type: ignore[index]
        # offline: the remote side was not asked (left out of the comparison, or kept as skipped)
        assert "large" not in sides or sides["large"]["status"] == "skipped", sides  # type: ignore[index,operator]
        shot = wait_for_screen(display, "offline-dark", dark, "the window in the dark theme (--theme dark)")
        assert distinct_colours(shot) > 200
        assert app.poll() is None
        xdo(display, "key", "ctrl+q")
        assert app.wait(timeout=20) == 0
    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
            app.wait(timeout=10)
    assert not guard_log.exists() or guard_log.read_text() == "", guard_log.read_text()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != guard_log]
    assert any(p.suffix == ".log" for p in written)
    for path in written:
        assert "sk" "-real-window-SECRET" not in path.read_text(errors="replace"), path
