"""Guards on the Qt binding itself: the app emits a signal per streamed token, thousands per session."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Source(QObject):
    happened = Signal(object)
    flagged = Signal(bool)
source = Source()
received = []
source.happened.connect(lambda value: received.append(1))
source.flagged.connect(lambda value: received.append(1))
payload = object()  # mortal on every Python, unlike True from 3.12 on
before = {"payload": sys.getrefcount(payload), "true": sys.getrefcount(True), "source": sys.getrefcount(source)}
for i in range(5000):
    source.happened.emit(payload)
    source.flagged.emit(True)
drift = {"payload": sys.getrefcount(payload) - before["payload"], "true": sys.getrefcount(True) - before["true"],
         "source": sys.getrefcount(source) - before["source"]}
# The control: a receiver that keeps what it is given must show as drift, or the measurement is blind.
kept = []
control = Source()
control.happened.connect(kept.append)
start = sys.getrefcount(payload)
for i in range(100):
    control.happened.emit(payload)
print(json.dumps({"received": len(received), "drift": drift, "control": sys.getrefcount(payload) - start}))
"""


def test_signal_emit_does_not_corrupt_reference_counts() -> None:
    """PySide6 6.12.0 decremented True's refcount on every emit and aborted the process after ~500. From Python
    3.12 True is immortal (its count never moves), so the probe also watches a mortal payload and the sender,
    and proves with a control that it can see a drift at all."""
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr[-500:]
    probe = json.loads(result.stdout)
    assert probe["received"] == 10_000
    assert probe["control"] == 100  # the measurement sees references that are kept
    assert abs(probe["drift"]["payload"]) < 50
    assert abs(probe["drift"]["source"]) < 50
    if sys.version_info < (3, 12):
        assert abs(probe["drift"]["true"]) < 50
