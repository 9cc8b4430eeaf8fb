"""Tests only: a parent process for the local engine that the test then kills with SIGKILL.

    python -m tests.support.orphan_driver PHASE MODEL [FIFO]

Starts a `LocalEngine`, brings it to PHASE (idle, loading, prefill or decode), prints "child PID" and then
"ready PHASE" on standard output, and waits to be killed. "loading" loads from FIFO, a named pipe nobody
writes to, so the child is held inside llama.cpp's native file reading for as long as the test wants.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from lmscales.core import tasks
from lmscales.core.engines.local import LocalEngine
from lmscales.core.events import GenerationRequest, TextDelta

LONG_PROMPT = " ".join(f"Sentence number {i} talks about rivers, hills and towns." for i in range(250))


def say(line: str) -> None:
    print(line, flush=True)


def main(phase: str, model: str, fifo: str | None = None) -> None:
    engine = LocalEngine(n_ctx=4096, n_threads=1)
    if phase == "loading":
        assert fifo is not None
        engine._spawn()
        say(f"child {engine.pid}")
        engine._send(("load", str(Path(fifo)), 512, 1))  # the child blocks opening the pipe, in native code
        time.sleep(0.5)
        say("ready loading")
    else:
        engine.load(model)
        say(f"child {engine.pid}")
        if phase == "idle":
            say("ready idle")
        else:
            first_delta = threading.Event()
            text = LONG_PROMPT if phase == "prefill" else "Write a very long story about a dragon."
            request = GenerationRequest(tasks.chat_messages([], text), max_tokens=400)

            def run() -> None:
                for event in engine.generate(request):
                    if isinstance(event, TextDelta):
                        first_delta.set()

            threading.Thread(target=run, daemon=True).start()
            if phase == "decode":
                first_delta.wait()
            else:  # prefill: the child has spent CPU on this prompt and not yet answered
                before = engine.cpu_seconds() or 0.0
                deadline = time.monotonic() + 120
                while (engine.cpu_seconds() or 0.0) - before < 0.3 and time.monotonic() < deadline:
                    time.sleep(0.02)
                if first_delta.is_set() or time.monotonic() >= deadline:
                    say("missed prefill")
            say(f"ready {phase}")
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main(*sys.argv[1:])
