#!/usr/bin/env python3
"""How long the frozen app takes from launch to a visible window, on Linux, in a real X server (Xvfb).

    python packaging/measure_start.py [--runs 6] [--drop-caches] [--executable dist/lmscales/lmscales]

Starts the bundle as a user would (a clean environment: no venv, no PYTHONPATH, an empty HOME), polls
`xdotool search --onlyvisible --pid PID --name "LM Scales"` every 20 ms, and stops the app once its
window is mapped. The first run is the cold one, the median of the others (five by default) the warm start;
`--drop-caches` (root only) first empties the kernel's page cache so that it really reads the bundle from disk.
Needs Xvfb and xdotool (Debian: xvfb xdotool).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import clean_environment, cli_executable

POLL_SECONDS = 0.02


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    number = next(n for n in range(130, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                  and not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if server.poll() is not None or time.monotonic() > deadline:
            sys.exit("measure_start.py: Xvfb did not start")
        time.sleep(0.05)
    return server, f":{number}"


def drop_caches() -> None:
    subprocess.run(["sync"], check=False)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def _signal_app(app: subprocess.Popen[bytes], *, hard: bool) -> None:
    """Asks the app's whole process group (the app and its engine process) to stop, or kills it when `hard`;
    where there are no process groups (Windows), the app alone."""
    if hasattr(os, "killpg"):
        # An empty group (the app and its engine have exited already) leaves nothing to stop.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(app.pid, signal.SIGKILL if hard else signal.SIGTERM)
    elif app.poll() is None:
        if hard:
            app.kill()
        else:
            app.terminate()


def stop_app(app: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Stops a started app: SIGTERM to its group, SIGKILL if it is still there after `grace` seconds. The
    group may be gone already (the app exited before showing a window), which must not hide why it did."""
    _signal_app(app, hard=False)
    try:
        app.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_app(app, hard=True)
        app.wait()


def time_to_window(executable: Path, display: str, timeout: float) -> float:
    with tempfile.TemporaryDirectory(prefix="lmscales-start-") as tmp:
        env = clean_environment(Path(tmp))
        env.pop("QT_QPA_PLATFORM")
        env["DISPLAY"] = display
        started = time.perf_counter()
        app = subprocess.Popen([str(executable)], cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            while time.perf_counter() - started < timeout:
                found = subprocess.run(
                    ["xdotool", "search", "--onlyvisible", "--pid", str(app.pid), "--name", "LM Scales"],
                    env={"DISPLAY": display, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                    capture_output=True, text=True, check=False,
                ).stdout.split()
                if found:
                    return time.perf_counter() - started
                if app.poll() is not None:
                    sys.exit(f"measure_start.py: the app exited with {app.returncode} before showing a window")
                time.sleep(POLL_SECONDS)
            sys.exit(f"measure_start.py: no window within {timeout:.0f} s")
        finally:
            stop_app(app)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executable", type=Path, default=cli_executable())
    parser.add_argument("--runs", type=int, default=6, help="the first is cold; the median of the rest is printed")
    parser.add_argument("--drop-caches", action="store_true", help="empty the page cache before the first run")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if not all(shutil.which(tool) for tool in ("Xvfb", "xdotool")):
        sys.exit("measure_start.py: needs Xvfb and xdotool (Debian: apt-get install xvfb xdotool)")
    if not args.executable.exists():
        sys.exit(f"measure_start.py: no bundle at {args.executable}; run packaging/build.py first")
    server, display = start_xvfb()
    try:
        times = []
        for run in range(args.runs):
            if run == 0 and args.drop_caches:
                drop_caches()
            times.append(time_to_window(args.executable, display, args.timeout))
            print(f"run {run + 1}: window shown after {times[-1]:.2f} s", flush=True)
            time.sleep(1.0)
    finally:
        server.terminate()
        server.wait(timeout=10)
    warm = times[1:] or times
    print(f"first (cold{' page cache' if args.drop_caches else ''}) {times[0]:.2f} s; "
          f"later runs median {statistics.median(warm):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
