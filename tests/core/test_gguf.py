"""GGUF facts from the real bundled model, and clear refusals of broken files."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from lmscales.core.gguf import GGUFError, read_info
from tests.conftest import write_gguf


def test_bundled_model_facts(bundled_model: Path) -> None:
    info = read_info(bundled_model)
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.file_size == 98_362_432
    assert 130e6 < info.parameter_count < 140e6
    assert info.parameters_label == "135M"
    assert info.context_length == 8192
    assert info.license == "apache-2.0"
    assert info.has_chat_template


def test_missing(tmp_path: Path) -> None:
    with pytest.raises(GGUFError, match="not found") as caught:
        read_info(tmp_path / "nope.gguf")
    assert caught.value.kind == "missing"


def test_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.write_bytes(b"")
    with pytest.raises(GGUFError, match=r"empty \(0 bytes\)"):
        read_info(path)


def test_not_gguf(tmp_path: Path) -> None:
    path = tmp_path / "notes.gguf"
    path.write_text("these are my notes, not a model\n" * 10)
    with pytest.raises(GGUFError, match="not a GGUF model file"):
        read_info(path)


@pytest.mark.parametrize("keep", [100, 5_000_000])
def test_truncated(tmp_path: Path, bundled_model: Path, keep: int) -> None:
    path = tmp_path / "cut.gguf"
    with bundled_model.open("rb") as source:
        path.write_bytes(source.read(keep))
    with pytest.raises(GGUFError, match="truncated") as caught:
        read_info(path)
    assert "get the file again" in str(caught.value)


def test_synthetic_file_reads(tmp_path: Path) -> None:
    info = read_info(write_gguf(tmp_path / "tiny.gguf", "notarealarch", {"general.license": "mit"}))
    assert info.architecture == "notarealarch"
    assert info.parameter_count == 4
    assert info.license == "mit"
    assert not info.has_chat_template


@pytest.mark.parametrize("length", [2**63, 2**64 - 1, 10**9])
def test_a_damaged_length_in_a_skipped_array_is_a_clear_error(tmp_path: Path, length: int) -> None:
    """Found by tests/core/test_fuzz_gguf.py: a string length inside a long (skipped) array was used as a seek
    distance as it stood, and a huge one raised OSError or OverflowError instead of a GGUFError."""

    def string(text: str) -> bytes:
        return struct.pack("<Q", len(text)) + text.encode()

    tokens = [string(f"t{i}") for i in range(100)]
    tokens[50] = struct.pack("<Q", length) + b"t50"
    header = (b"GGUF" + struct.pack("<IQQ", 3, 0, 2)
              + string("general.architecture") + struct.pack("<I", 8) + string("llama")
              + string("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, len(tokens)) + b"".join(tokens))
    path = tmp_path / "damaged.gguf"
    path.write_bytes(header + b"\0" * 64)
    with pytest.raises(GGUFError) as caught:
        read_info(path)
    assert caught.value.kind == "truncated" and "damaged.gguf is truncated" in str(caught.value)
