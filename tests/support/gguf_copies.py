"""Tests only: copies of a real GGUF with header bytes changed in place, to play models we do not ship.

A GGUF header string is a little-endian u64 length and its bytes. A key or vocabulary entry renamed to another
of the same length keeps every offset in the file, so llama.cpp loads the copy as it would the original:
- `tokenizer.chat_template` → `tokenizer.chat_templatX`: a model file without a chat template;
- the ChatML markers `<|im_start|>`/`<|im_end|>` in the vocabulary renamed as well: a model that does not
  know them (a base model, another family's), which reads them as plain text and writes them out as text.
"""

from __future__ import annotations

import struct
from pathlib import Path

from lmscales.core import gguf

CHAT_TEMPLATE_KEY = (b"tokenizer.chat_template", b"tokenizer.chat_templatX")
CHATML_MARKERS = ((b"<|im_start|>", b"<|im_staXt|>"), (b"<|im_end|>", b"<|im_enX|>"))


def _rename_header_string(data: bytearray, old: bytes, new: bytes, header_end: int) -> None:
    assert len(old) == len(new)
    needle = struct.pack("<Q", len(old)) + old
    at = data.find(needle, 0, header_end)
    assert at >= 0, f"{old!r} is not a header string of this file"
    assert data.find(needle, at + 1, header_end) < 0, f"{old!r} is in the header more than once"
    data[at + 8:at + 8 + len(old)] = new


def copy_without_chat_template(source: Path, target: Path, knows_chatml: bool = True) -> Path:
    """`source` copied to `target` with its chat template key renamed (and with `knows_chatml` False, its
    ChatML markers too). The copy's header is read back: it must say it has no chat template."""
    data = bytearray(source.read_bytes())
    header_end = data.find(b"token_embd.weight")  # the first tensor's name: metadata comes before it
    assert header_end > 0
    renames = [CHAT_TEMPLATE_KEY, *(() if knows_chatml else CHATML_MARKERS)]
    for old, new in renames:
        _rename_header_string(data, old, new, header_end)
    target.write_bytes(bytes(data))
    assert not gguf.read_info(target).has_chat_template
    return target
