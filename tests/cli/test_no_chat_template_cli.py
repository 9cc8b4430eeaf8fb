"""`--gguf` with a model file without a chat template (issue 26): the command line says it is prompted as ChatML,
the trial's JSON carries the fact, and the answer ends where the model writes ChatML's end marker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmscales.core.engines.local_worker import CHATML_STOPS, NO_CHAT_TEMPLATE_NOTE
from tests.cli.test_cli import lmscales
from tests.support.gguf_copies import copy_without_chat_template

pytestmark = pytest.mark.slow


def test_run_says_a_model_has_no_chat_template(bundled_model: Path, tmp_path: Path) -> None:
    copy = copy_without_chat_template(bundled_model, tmp_path / "base-like.gguf", knows_chatml=False)
    result = lmscales("run", "--task", "chat", "--side", "small", "--gguf", str(copy), "--threads", "1",
                      "--max-tokens", "60", "--temperature", "0", "--json", "--input", "-",
                      stdin="What is the capital of France?")
    assert result.returncode == 0, result.stderr
    assert f"base-like.gguf: {NO_CHAT_TEMPLATE_NOTE}" in result.stderr
    side = json.loads(result.stdout)["sides"]["small"]
    assert side["engine"]["has_chat_template"] is False
    assert "Paris" in side["text"]
    assert not any(marker in side["text"] for marker in CHATML_STOPS), side["text"]
