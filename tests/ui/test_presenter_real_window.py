"""Presenter mode as a presenter starts it, in a real X server (Xvfb, 1920×1080): `lmscales demo run
translation` against the bundled model and llama-cpp-python's server on loopback, driven by keystrokes
(xdotool), photographed (xwd) in both themes at 100 % and 200 % scaling.

The screenshots land in artifacts/screenshots/presenter-*.png: look at them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import SERVER_MODEL
from tests.support.screen import WHOLE, Box, coloured_pixels
from tests.support.xvfb import xvfb
from tests.ui.test_real_window import (
    app_output,
    dark,
    distinct_colours,
    kept_trials,
    light,
    screenshot,
    start_app,
    wait_for_screen,
    xdo,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not all(shutil.which(t) for t in ("Xvfb", "xdotool", "xwd", "convert")),
                       reason="needs Xvfb, xdotool, xwd and ImageMagick (Debian: xvfb xdotool x11-apps imagemagick)"),
]

SIZE = (1920, 1080)
# Below the answers and left of the speed graph: the scoreboard, whose side headers are the only colour there
# (answers, figures and notes are grey). It is emptied when a step starts and filled when its trial reaches
# the window.
BOARD: Box = (0.0, 0.52, 0.55, 1.0)


def board_shown(shot: Path) -> bool:
    return coloured_pixels(shot, BOARD) > 300


def photograph_board(display: str, name: str, theme: Callable[[Path, Box], bool], theme_name: str) -> Path:
    """The presenter once its scoreboard shows on the screen, in `theme`: kept as `name`."""
    return wait_for_screen(display, name, lambda shot: board_shown(shot) and theme(shot, WHOLE),
                           f"the presenter's scoreboard in the {theme_name} theme")


@pytest.fixture(scope="module")
def full_hd() -> Iterator[str]:
    with xvfb(SIZE) as name:
        yield name


def wait_for(display: str, pid: int, name: str, timeout: float = 60) -> str:
    """The app's visible window whose title matches `name` (a regular expression). Each hit is checked against
    its title: while a window is being mapped `xdotool search --name` has answered with another of the app's
    windows (the main window, for the presenter: focused and photographed in its place)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        windows = xdo(display, "search", "--onlyvisible", "--pid", str(pid), "--name", name).split()
        named = [window for window in windows if re.search(name, xdo(display, "getwindowname", window))]
        if named:
            return named[-1]
        time.sleep(0.2)
    raise AssertionError(f"no window named {name!r} appeared")


def visible_names(display: str, pid: int) -> list[str]:
    shown = xdo(display, "search", "--onlyvisible", "--pid", str(pid), "--name", "LM Scales").split()
    return [xdo(display, "getwindowname", window) for window in shown]


def geometry(display: str, window: str) -> tuple[int, int, int, int]:
    fields = dict(line.split("=", 1) for line in xdo(display, "getwindowgeometry", "--shell", window).splitlines()
                  if "=" in line)
    return tuple(int(fields.get(name, "-1")) for name in ("X", "Y", "WIDTH", "HEIGHT"))  # type: ignore[return-value]


def focused(display: str) -> str:
    return xdo(display, "getwindowfocus")


def log_text(log_dir: Path) -> str:
    return "".join(path.read_text("utf-8", errors="replace") for path in sorted(log_dir.glob("*.log*")))


def diagnosis(display: str, app: subprocess.Popen[str], log_dir: Path) -> str:
    """What a failed step leaves to read in CI, where the screenshot is out of reach: is the app alive, which
    windows show, which one has the keyboard, and the end of its log (the presenter logs every problem it shows)."""
    focus = focused(display)
    logs = log_text(log_dir)
    shown = xdo(display, "search", "--onlyvisible", "--pid", str(app.pid), "--name", "LM Scales").split()
    windows = [f"{window} {xdo(display, 'getwindowname', window)!r} {geometry(display, window)}" for window in shown]
    return (f"app exit code: {app.poll()}; visible windows: {windows}; keyboard focus: "
            f"{focus} {xdo(display, 'getwindowname', focus) if focus else ''!r}\n--- log tail ---\n"
            f"{logs[-4000:]}\n--- output tail ---\n{app_output(log_dir.parent / 'app-output-1.txt')[-2000:]}")


def step_and_wait(display: str, app: subprocess.Popen[str], window: str, data_dir: Path, before: int,
                  timeout: float = 180.0) -> None:
    """One Space, as a presenter's clicker sends it, then wait until the comparison is kept (a press while the
    small model loads starts the step once it has loaded). Nothing here gives the presenter the keyboard: it
    takes it when entered and keeps it (no window manager runs to help)."""
    logs = data_dir.parent / "logs"
    assert focused(display) == window, "the presenter lost the keyboard: " + diagnosis(display, app, logs)
    xdo(display, "key", "space")
    deadline = time.monotonic() + timeout
    while len(kept_trials(data_dir)) <= before:
        if time.monotonic() > deadline or app.poll() is not None:
            screenshot(display, f"presenter-failed-step-{before + 1}")
            raise AssertionError(f"no comparison was kept within {timeout:.0f} s of one Space (see the failed-step "
                                 "screenshot): " + diagnosis(display, app, logs))
        time.sleep(0.2)
    assert f"presenter: step {before + 1} of 3 started" in log_text(logs)


def wait_until(condition: Callable[[], bool], timeout: float, failure: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(failure())
        time.sleep(0.1)


def launch(display: str, llama_server: str, tmp_path: Path, scale: str) -> tuple[subprocess.Popen[str], Path]:
    data_dir = tmp_path / f"data-{scale}"
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "LMSCALES_CONFIG_DIR": str(tmp_path),
           "LMSCALES_DATA_DIR": str(data_dir), "LMSCALES_LOG_DIR": str(tmp_path / "logs"),
           "QT_SCALE_FACTOR": scale}
    env.pop("OPENAI_API_KEY", None)
    app = start_app(
        [sys.executable, "-m", "lmscales", "--threads", "1", "--base-url", llama_server, "--remote-model",
         SERVER_MODEL, "--theme", "dark", "demo", "run", "translation"],
        env, tmp_path / f"app-output-{scale}.txt",
    )
    return app, data_dir


@pytest.mark.parametrize("scale", ["1", "2"])
def test_a_scenario_in_presenter_mode_driven_by_keys(full_hd: str, llama_server: str, tmp_path: Path,
                                                     scale: str) -> None:
    app, data_dir = launch(full_hd, llama_server, tmp_path, scale)
    percent = f"{int(scale) * 100}"
    logs = tmp_path / "logs"
    try:
        presenter = wait_for(full_hd, app.pid, "LM Scales — presenter")
        # Full screen and the keyboard, by itself: no window manager here does either for it.
        wait_until(lambda: geometry(full_hd, presenter) == (0, 0, *SIZE), 30,
                   lambda: f"the presenter ({presenter}) does not cover the screen: {geometry(full_hd, presenter)}; "
                           + diagnosis(full_hd, app, logs))
        wait_until(lambda: focused(full_hd) == presenter, 30,
                   lambda: "the presenter did not take the keyboard: " + diagnosis(full_hd, app, logs))
        step_and_wait(full_hd, app, presenter, data_dir, before=0)
        dark_shot = photograph_board(full_hd, f"presenter-dark-{percent}", dark, "dark")  # --theme dark
        xdo(full_hd, "key", "t")
        light_shot = photograph_board(full_hd, f"presenter-light-{percent}", light, "light")
        for shot in (dark_shot, light_shot):
            assert distinct_colours(shot) > 30, f"{shot.name} looks blank"
        steps = 3
        for index in range(1, steps):
            step_and_wait(full_hd, app, presenter, data_dir, before=index)
        photograph_board(full_hd, f"presenter-light-{percent}-last-step", light, "light")
        assert geometry(full_hd, presenter) == (0, 0, *SIZE), "three answers later the presenter outgrew the screen"
        xdo(full_hd, "key", "n")  # the notes window, for a second screen
        notes = wait_for(full_hd, app.pid, "presenter notes")
        _x, _y, width, height = geometry(full_hd, notes)  # in a corner of the screen, as on a second one
        corner = (SIZE[0] - width, SIZE[1] - height)
        xdo(full_hd, "windowmove", notes, *map(str, corner))
        wait_until(lambda: geometry(full_hd, notes)[:2] == corner, 30,
                   lambda: f"the notes window did not move to {corner}: {geometry(full_hd, notes)}")
        # ... and painted there: in the app's dark theme (--theme dark) on the light presenter.
        wait_for_screen(full_hd, f"presenter-notes-{percent}",
                        lambda shot: dark(shot, (corner[0] / SIZE[0], corner[1] / SIZE[1], 1.0, 1.0)),
                        "the notes window painted in its corner")
        assert focused(full_hd) == presenter, "the notes window took the presenter's keys"
        xdo(full_hd, "key", "Escape")  # leaves presenter mode (the keys stayed with it): the main window is back
        deadline = time.monotonic() + 10
        while any("presenter" in name for name in visible_names(full_hd, app.pid)):
            assert time.monotonic() < deadline, f"Esc did not leave presenter mode: {visible_names(full_hd, app.pid)}"
            time.sleep(0.2)
        main = wait_for(full_hd, app.pid, "LM Scales$")
        assert app.poll() is None, "the app died"
        xdo(full_hd, "windowfocus", "--sync", main)
        xdo(full_hd, "key", "ctrl+q")
        assert app.wait(timeout=30) == 0
    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
            app.wait(timeout=10)
    output = app_output(tmp_path / f"app-output-{scale}.txt")
    assert "Traceback" not in output, output[-3000:]
    trials = kept_trials(data_dir)
    assert len(trials) == steps
    assert [t["input"]["target_lang"] for t in trials] == ["fr", "de", "fi"][:steps]  # type: ignore[index]
    for trial in trials:
        sides = trial["sides"]
        assert set(sides) == {"small", "large"}  # type: ignore[arg-type]
        for side in sides.values():  # type: ignore[attr-defined]
            assert side["status"] in ("done", "length") and side["text"].strip(), side
