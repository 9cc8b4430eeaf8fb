"""Fuzzing the GGUF reader: mutated and truncated headers end in a `GGUFError` for the user, never in any
other exception (which would reach the app as a crash) and never in a hang."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from lmscales.core import gguf
from tests.support.fuzzing import FUZZ, Tally, run_fuzz


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def rich_gguf() -> bytes:
    """A small, well-formed GGUF v3 with every kind of metadata value and two tensors."""
    kvs: list[bytes] = [
        _string("general.architecture") + struct.pack("<I", 8) + _string("llama"),
        _string("general.name") + struct.pack("<I", 8) + _string("tiny fuzz model"),
        _string("general.alignment") + struct.pack("<II", 4, 32),
        _string("general.file_type") + struct.pack("<II", 4, 3),
        _string("llama.context_length") + struct.pack("<II", 4, 2048),
        _string("llama.rope.freq_base") + struct.pack("<If", 6, 10000.0),
        _string("llama.use_parallel") + struct.pack("<I?", 7, True),
        _string("general.size") + struct.pack("<IQ", 10, 12345),
        _string("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 3) + _string("a") + _string("b") + _string("c"),
        _string("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 70) + struct.pack("<70f", *range(70)),
        _string("tokenizer.chat_template") + struct.pack("<I", 8) + _string("{{ messages }}"),
    ]
    tensors = [
        _string("a.weight") + struct.pack("<I", 1) + struct.pack("<Q", 4) + struct.pack("<IQ", 0, 0),
        _string("b.weight") + struct.pack("<I", 2) + struct.pack("<QQ", 2, 32) + struct.pack("<IQ", 3, 32),
    ]
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(tensors)
    header += b"\0" * (-len(header) % 32)
    return header + b"\x01" * 96


BASE = rich_gguf()
INTERESTING = [0, 1, 2**7, 2**8 - 1, 2**16, 2**31, 2**32 - 1, 2**63, 2**64 - 1, 8, 9, 12, 100_000_001]


def _check(path: Path, data: bytes, tally: Tally) -> None:
    path.write_bytes(data)
    try:
        info = gguf.read_info(path)
    except gguf.GGUFError as error:
        assert str(error).strip(), "an error with no message"
        assert path.name in str(error)
        tally(f"error:{error.kind}")
    else:
        assert info.file_size == len(data)
        tally("read")


def test_mutated_gguf_headers_end_in_a_clear_error(tmp_path: Path) -> None:
    assert gguf.read_info(_write(tmp_path / "base.gguf", BASE)).architecture == "llama"  # the seed is valid
    path = tmp_path / "fuzzed.gguf"

    def body(tally: Tally) -> None:
        @FUZZ
        @given(
            flips=st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, 255)), max_size=6),
            words=st.lists(st.tuples(st.integers(0, len(BASE) - 8), st.sampled_from(INTERESTING)), max_size=3),
            cut=st.one_of(st.none(), st.integers(0, len(BASE))),
        )
        def case(flips: list[tuple[int, int]], words: list[tuple[int, int]], cut: int | None) -> None:
            data = bytearray(BASE)
            for position, value in flips:
                data[position] = value
            for position, value in words:  # counts, lengths and types are 4- and 8-byte fields
                width = 8 if value >= 2**32 or position % 2 else 4
                data[position:position + width] = value.to_bytes(8, "little")[:width]
            _check(path, bytes(data[:cut]), tally)

        case()

    tally = run_fuzz("gguf mutated headers", body)
    assert tally.cases >= 20


def test_truncated_real_model_headers_end_in_a_clear_error(bundled_model: Path, tmp_path: Path) -> None:
    with bundled_model.open("rb") as source:
        head = source.read(256 * 1024)
    path = tmp_path / "truncated.gguf"

    def body(tally: Tally) -> None:
        @FUZZ
        @given(cut=st.integers(0, len(head)), flips=st.lists(
            st.tuples(st.integers(0, 4095), st.integers(0, 255)), max_size=4))
        def case(cut: int, flips: list[tuple[int, int]]) -> None:
            data = bytearray(head[:cut])
            for position, value in flips:
                if position < len(data):
                    data[position] = value
            _check(path, bytes(data), tally)

        case()

    tally = run_fuzz("gguf truncated real headers", body)
    assert tally.outcomes.get("read", 0) == 0  # a prefix of the model is never taken for a whole model


def test_arbitrary_bytes_are_not_a_model() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.gguf"

        def body(tally: Tally) -> None:
            @FUZZ
            @given(data=st.binary(max_size=2048), gguf_magic=st.booleans())
            def case(data: bytes, gguf_magic: bool) -> None:
                _check(path, (b"GGUF" + data) if gguf_magic else data, tally)

            case()

        run_fuzz("gguf arbitrary bytes", body)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
