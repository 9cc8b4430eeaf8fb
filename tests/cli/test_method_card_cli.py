"""The method card through the command line: `lmscales eval --json` and its HTML report with the bundled model
against llama-cpp-python's server on loopback (an API key in the environment reaches neither), and
`lmscales run --json`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from lmscales.core.trial import Trial
from tests.conftest import SERVER_MODEL

pytestmark = pytest.mark.slow

SECRET = "sk" "-method-card-cli-secret-9f8e7d6c5b4a"


def lmscales(*args: str, data_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LMSCALES_DATA_DIR": str(data_dir), "LMSCALES_API_KEY": SECRET}
    return subprocess.run([sys.executable, "-m", "lmscales", *args], capture_output=True, text=True, check=False,
                          timeout=600, env=env, input=stdin, encoding="utf-8")


def test_eval_json_and_report_carry_the_card_and_never_the_key(llama_server: str, bundled_model: Path,
                                                                tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    result = lmscales("eval", "--set", "translate-smoke", "--limit", "1", "--threads", "1", "--max-tokens", "16",
                      "--base-url", llama_server, "--model", SERVER_MODEL, "--json", "--report", str(report),
                      "--no-history", "--quiet", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    method = out["method"]
    assert "method" not in out["result"]  # once, at the top
    assert method["machine"]["logical_cores"] == psutil.cpu_count()
    assert method["machine"]["ram_bytes"] == psutil.virtual_memory().total
    small, large = method["sides"]
    assert small["slot"] == "small" and small["file"]["name"] == bundled_model.name
    assert small["file"]["sha256"] == hashlib.sha256(bundled_model.read_bytes()).hexdigest()
    assert small["threads"] == "1" and small["cpu_code"] and small["llama_build"].startswith("ggml ")
    assert large["slot"] == "large" and large["model"] == SERVER_MODEL
    assert large["endpoint"] == urlsplit(llama_server).netloc and large["file"] is None
    assert (method["warmups"], method["repeats"]) == (1, 1)
    assert method["params"]["max_tokens"] == 16 and method["params"]["temperature"] == 0
    assert method["concurrency"].startswith("1: the sides ran one after the other")
    assert [d["link"] for d in method["definitions"]][:2] == ["docs/figures.md#ttft", "docs/figures.md#decode-rate"]
    html = report.read_text("utf-8")
    card = html[html.index('<section class="method"'):]
    assert small["file"]["sha256"] in card and urlsplit(llama_server).netloc in card
    assert "instruction set used" in card and small["cpu_code"] in card
    for text in (result.stdout, result.stderr, html):
        assert SECRET not in text


def test_run_json_carries_the_card_beside_the_trial(bundled_model: Path, tmp_path: Path) -> None:
    result = lmscales("run", "--task", "translate", "--side", "small", "--target-lang", "fr", "--input", "-",
                      "--threads", "1", "--max-tokens", "8", "--temperature", "0", "--json",
                      data_dir=tmp_path / "data", stdin="Good morning.")
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    (side,) = out["method"]["sides"]
    assert side["file"]["sha256"] == hashlib.sha256(bundled_model.read_bytes()).hexdigest()
    assert out["method"]["params"]["max_tokens"] == 8 and out["method"]["warmups"] is None
    assert Trial.from_dict(out).side("small") is not None  # still the trial's schema, with the card beside it
    assert SECRET not in result.stdout
