"""Shared fixtures: the real bundled model and a real local engine running it."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from lmscales.core.engines.local import LocalEngine
from lmscales.core.model_files import load_manifest, verify

TEST_THREADS = 2


@pytest.fixture(scope="session")
def bundled_model() -> Path:
    """The verified bundled GGUF; `python dev.py test` fetched it, so its absence is a failure."""
    return verify(load_manifest())


@pytest.fixture(scope="module")
def engine(bundled_model: Path) -> Iterator[LocalEngine]:
    local = LocalEngine(n_ctx=4096, n_threads=TEST_THREADS)
    local.load(bundled_model)
    yield local
    local.close()


def write_gguf(path: Path, architecture: str, extra: dict[str, str] | None = None) -> Path:
    """A tiny, well-formed GGUF v3 file with one F32 tensor, for architectures llama.cpp lacks."""

    def string(text: str) -> bytes:
        data = text.encode()
        return struct.pack("<Q", len(data)) + data

    metadata = {"general.architecture": architecture, "general.name": "tiny test model", **(extra or {})}
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, len(metadata))
    for key, value in metadata.items():
        header += string(key) + struct.pack("<I", 8) + string(value)
    header += string("weight") + struct.pack("<I", 1) + struct.pack("<Q", 4) + struct.pack("<IQ", 0, 0)
    header += b"\0" * (-len(header) % 32)
    path.write_bytes(header + struct.pack("<4f", 1.0, 2.0, 3.0, 4.0))
    return path
