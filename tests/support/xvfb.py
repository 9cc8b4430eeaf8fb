"""A private X server (Xvfb) for the tests that look at real windows."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def xvfb(size: tuple[int, int]) -> Iterator[str]:
    """Start Xvfb on a free display number of its own choosing (`-displayfd`: the server claims the first free
    number and writes it once it accepts connections, so two test processes starting servers at the same moment
    never share one); yields its name (":3"), stops it after."""
    read_end, write_end = os.pipe()
    try:
        server = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,),
            env=dict(os.environ, DISPLAY=""))
    finally:
        os.close(write_end)
    try:
        number = b""
        deadline = time.monotonic() + 20
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while not number.endswith(b"\n"):
                assert server.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
                ready, _, _ = select.select([pipe], [], [], 0.1)
                if ready:
                    chunk = pipe.read(16)
                    assert chunk, "Xvfb did not start"
                    number += chunk
        yield f":{int(number)}"
    finally:
        server.terminate()
        server.wait(timeout=10)
