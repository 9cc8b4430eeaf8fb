"""`lmscales eval …` as a terminal's foreground job: in a process group of its own (the engine joins it), its
stderr read on a thread so a test can wait for a line (an item done, the evaluation's id) and then signal it."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path


class EvalProcess:
    def __init__(self, data: Path, *arguments: str) -> None:
        env = {**os.environ, "LMSCALES_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "lmscales", "eval", *arguments],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                        start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """Until a line of stderr matches `pattern` (from its start)."""
        while True:
            line = self.lines.get(timeout=300)  # a guard against a hung process, not a measured wait
            assert line is not None, "eval ended first:\n" + "".join(self.seen)
            self.seen.append(line)
            found = pattern.match(line.rstrip("\n"))
            if found:
                return found

    def finish(self) -> tuple[int, str, str]:
        """Its exit status, stdout and whole stderr, once it has ended."""
        assert self.process.stdout is not None
        stdout = self.process.stdout.read()
        code = self.process.wait(timeout=300)
        while (line := self.lines.get(timeout=60)) is not None:
            self.seen.append(line)
        return code, stdout, "".join(self.seen)
