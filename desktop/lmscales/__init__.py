"""LM Scales: a small language model on this CPU beside a large one behind an API."""

from __future__ import annotations

__version__ = "0.1.0"
