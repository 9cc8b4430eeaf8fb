"""Read the facts of a GGUF model file without loading it, and catch broken files early.

A pure-Python reader of the GGUF header (magic, metadata, tensor table). It answers the model card's
questions (architecture, parameter count, quantization, size, context length, licence, chat template)
and refuses files llama.cpp would choke on (missing, empty, not GGUF, truncated) with a message a user
can act on, before any native code sees them.
"""

from __future__ import annotations

import os
import struct
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# ggml_type -> (name, elements per block, bytes per block); from ggml.h / ggml.c type_traits.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17),
}

# llama_ftype (general.file_type) -> the name users know.
FILE_TYPES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M",
    30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}

# GGUF metadata value types: id -> struct format (scalars only).
_SCALARS: dict[int, str] = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# Arrays longer than this are skipped over rather than kept (the tokenizer's 50k-entry vocabulary).
_KEEP_ARRAY_MAX = 64
# Sanity bounds far above any real model, so that a damaged header fails fast instead of reading forever.
_MAX_COUNT = 1_000_000
_MAX_STRING = 100_000_000


class GGUFError(Exception):
    """A model file that cannot be used; `str(error)` is the message shown to the user."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class GGUFInfo:
    path: str
    file_size: int
    gguf_version: int
    architecture: str
    name: str | None
    parameter_count: int
    quantization: str
    context_length: int | None
    license: str | None
    has_chat_template: bool
    tensor_count: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def parameters_label(self) -> str:
        count = self.parameter_count
        for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
            if count >= scale:
                return f"{count / scale:.3g}{suffix}"
        return str(count)


class _Reader:
    def __init__(self, handle: BinaryIO, name: str, size: int) -> None:
        self._handle = handle
        self._name = name
        self._size = size

    def read(self, count: int) -> bytes:
        data = self._handle.read(count)
        if len(data) != count:
            raise GGUFError(
                "truncated",
                f"{self._name} is truncated: its header ends early at byte {self._handle.tell()} of "
                f"{self._size:,}. The download or copy was probably interrupted; get the file again.",
            )
        return data

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.scalar("<Q")
        if length > _MAX_STRING:
            raise GGUFError("corrupt", f"{self._name} is damaged: a header string claims {length:,} bytes.")
        return self.read(length).decode("utf-8", errors="replace")

    def value(self, value_type: int) -> Any:
        if value_type in _SCALARS:
            return self.scalar(_SCALARS[value_type])
        if value_type == _STRING:
            return self.string()
        if value_type == _ARRAY:
            item_type = self.scalar("<I")
            count = self.scalar("<Q")
            if count > _MAX_COUNT * 100:
                raise GGUFError("corrupt", f"{self._name} is damaged: an array claims {count:,} items.")
            if count > _KEEP_ARRAY_MAX:
                self.skip_array(item_type, count)
                return _SkippedArray(count)
            return [self.value(item_type) for _ in range(count)]
        raise GGUFError("corrupt", f"{self._name} is damaged: unknown metadata type {value_type}.")

    def skip(self, count: int) -> None:
        """Move `count` bytes on, which must lie within the file (a damaged length must not seek anywhere)."""
        target = self._handle.tell() + count
        if target > self._size:
            raise GGUFError(
                "truncated",
                f"{self._name} is truncated: its header needs byte {target:,} but the file has {self._size:,}. "
                "The download or copy was probably interrupted; get the file again.",
            )
        self._handle.seek(target)

    def skip_array(self, item_type: int, count: int) -> None:
        if item_type in _SCALARS:
            self.skip(struct.calcsize(_SCALARS[item_type]) * count)
        elif item_type == _STRING:
            for _ in range(count):
                self.skip(self.scalar("<Q"))
        else:
            for _ in range(count):
                self.value(item_type)

    def tell(self) -> int:
        return self._handle.tell()


@dataclass(frozen=True)
class _SkippedArray:
    length: int


def _tensor_bytes(ggml_type: int, elements: int) -> int | None:
    traits = GGML_TYPES.get(ggml_type)
    if traits is None:
        return None
    _, block, size = traits
    return (elements // block) * size


def read_info(path: str | os.PathLike[str]) -> GGUFInfo:
    """Facts of the GGUF at `path`, or `GGUFError` with a message for the user (and never another error:
    the header is untrusted input, see tests/core/test_fuzz_gguf.py)."""
    name = Path(path).name or str(path)
    try:
        return _read_info(Path(path))
    except GGUFError:
        raise
    except (OverflowError, ValueError, RecursionError, MemoryError, struct.error) as error:
        raise GGUFError("corrupt", f"{name} is damaged: its header cannot be read ({type(error).__name__}).") from None
    except OSError as error:
        raise GGUFError("unreadable", f"{name} could not be read: {error.strerror or error}.") from None


def _read_info(file: Path) -> GGUFInfo:
    name = file.name or str(file)
    if not file.exists():
        raise GGUFError("missing", f"Model file not found: {file}. Check the path or pick the file again.")
    if file.is_dir():
        raise GGUFError("not_gguf", f"{file} is a folder, not a model file. Pick the .gguf file inside it.")
    size = file.stat().st_size
    if size == 0:
        raise GGUFError(
            "empty", f"{name} is empty (0 bytes), so it holds no model. Download or copy it again."
        )
    with file.open("rb") as handle:
        reader = _Reader(handle, name, size)
        magic = handle.read(4)
        if magic != MAGIC:
            raise GGUFError(
                "not_gguf",
                f"{name} is not a GGUF model file (it starts with {magic!r}, not b'GGUF'). "
                "LM Scales runs llama.cpp GGUF models: pick a .gguf file.",
            )
        if size < 24:
            raise GGUFError("truncated", f"{name} is truncated: only {size} bytes. Get the file again.")
        version = reader.scalar("<I")
        if version not in (2, 3):
            raise GGUFError(
                "unsupported",
                f"{name} is GGUF version {version}; this llama.cpp reads versions 2 and 3. "
                "Convert the model again with a current llama.cpp.",
            )
        tensor_count = reader.scalar("<Q")
        kv_count = reader.scalar("<Q")
        if tensor_count > _MAX_COUNT or kv_count > _MAX_COUNT:
            raise GGUFError("corrupt", f"{name} is damaged: its header counts are impossible.")
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = reader.string()
            metadata[key] = reader.value(reader.scalar("<I"))
        parameters = 0
        data_end_needed = 0
        tensor_types: Counter[int] = Counter()
        tensors: list[tuple[int, int, int]] = []
        for _ in range(tensor_count):
            reader.string()
            n_dims = reader.scalar("<I")
            if n_dims > 8:
                raise GGUFError("corrupt", f"{name} is damaged: a tensor claims {n_dims} dimensions.")
            elements = 1
            for _ in range(n_dims):
                elements *= reader.scalar("<Q")
            ggml_type = reader.scalar("<I")
            offset = reader.scalar("<Q")
            parameters += elements
            tensor_types[ggml_type] += elements
            tensors.append((ggml_type, elements, offset))
        alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0:
            alignment = DEFAULT_ALIGNMENT
        data_start = -(-reader.tell() // alignment) * alignment
        for ggml_type, elements, offset in tensors:
            nbytes = _tensor_bytes(ggml_type, elements) or 0
            data_end_needed = max(data_end_needed, data_start + offset + nbytes)
    if data_end_needed > size:
        raise GGUFError(
            "truncated",
            f"{name} is truncated: it is {size:,} bytes but its tensors need {data_end_needed:,}. "
            "The download or copy was probably interrupted; get the file again.",
        )
    architecture = metadata.get("general.architecture")
    if not isinstance(architecture, str) or not architecture:
        raise GGUFError("corrupt", f"{name} names no model architecture (general.architecture).")
    file_type = metadata.get("general.file_type")
    if isinstance(file_type, int) and file_type in FILE_TYPES:
        quantization = FILE_TYPES[file_type]
    elif tensor_types:
        dominant = tensor_types.most_common(1)[0][0]
        quantization = GGML_TYPES.get(dominant, (f"type {dominant}", 0, 0))[0]
    else:
        quantization = "unknown"
    context_length = metadata.get(f"{architecture}.context_length")
    license_name = metadata.get("general.license")
    model_name = metadata.get("general.name")
    return GGUFInfo(
        path=str(file),
        file_size=size,
        gguf_version=version,
        architecture=architecture,
        name=model_name if isinstance(model_name, str) else None,
        parameter_count=parameters,
        quantization=quantization,
        context_length=context_length if isinstance(context_length, int) else None,
        license=license_name if isinstance(license_name, str) else None,
        has_chat_template=isinstance(metadata.get("tokenizer.chat_template"), str),
        tensor_count=tensor_count,
    )
