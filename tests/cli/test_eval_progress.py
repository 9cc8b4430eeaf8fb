"""`lmscales eval`'s progress: a live bar (items done, rate, ETA, the running score of each side) when stderr is a
terminal, tested through a pseudo-terminal; plain `[done/total] what` lines in a pipe. Against the bundled model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

COMMAND = [sys.executable, "-m", "lmscales", "eval", "--set", "translate-smoke", "--sides", "small", "--limit", "3",
           "--warmups", "0", "--threads", "1", "--max-tokens", "24", "--no-history"]


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX pseudo-terminal")
def test_a_terminal_gets_a_live_bar_with_rate_eta_and_running_scores(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))  # a terminal has a size
    env = {**os.environ, "LMSCALES_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(COMMAND, stdout=subprocess.PIPE, stderr=terminal, env=env)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process has ended
            break
        if not chunk:
            break
        seen += chunk
    process.communicate(timeout=300)
    os.close(controller)
    text = seen.decode("utf-8", "replace")
    assert process.returncode == 0, text
    assert "\r" in text  # redrawn in place, not a line per step
    # the bar's last state: all items, time spent and left, the rate
    assert re.search(r"3/3 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(item/s|s/item)", text), text
    assert re.search(r"small chrF\+\+ \d+\.\d", text), text
    assert not re.search(r"^\[\d+/\d+\]", text, re.MULTILINE), text  # no plain lines in a terminal


def test_a_pipe_gets_plain_lines_with_running_scores(tmp_path: Path) -> None:
    env = {**os.environ, "LMSCALES_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(COMMAND, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert lines[0] == "[0/3] repeat 1 of 1: translate " + lines[0].split()[-1]
    assert re.fullmatch(r"\[3/3\] done \(small chrF\+\+ \d+\.\d\)", lines[-1]), done.stderr
    assert "\r" not in done.stderr
