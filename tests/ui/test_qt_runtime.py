"""Guards on the Qt binding itself: the app emits a signal per streamed token, thousands per session."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Source(QObject):
    happened = Signal(object)
source = Source()
received = []
source.happened.connect(received.append)
before = sys.getrefcount(True)
for i in range(5000):
    source.happened.emit(i)
print(len(received), sys.getrefcount(True) - before)
"""


def test_signal_emit_does_not_corrupt_reference_counts() -> None:
    """PySide6 6.12.0 decremented True's refcount on every emit and aborted the process after ~500."""
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr[-500:]
    received, drift = map(int, result.stdout.split())
    assert received == 5000
    assert abs(drift) < 50
