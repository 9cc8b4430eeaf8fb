"""`lmscales serve`: the bundled model as an OpenAI-compatible server on loopback, run as a user runs it (a
subprocess that prints where it listens and stops on Ctrl+C), and every way it refuses to start."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import IO

import psutil
import pytest

from lmscales.__main__ import main
from tests.conftest import free_port

STOPS = ["SIGTERM"] if sys.platform == "win32" else ["SIGINT", "SIGTERM"]
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def start_serving(*args: str) -> tuple[subprocess.Popen[str], str, str, IO[str]]:
    """`lmscales serve --port 0 ...` as a subprocess, read until the end of what it prints once it answers.
    Returns the process, what it printed, the base URL and the file its stderr goes to."""
    errors = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (closed by `stop`)
    process = subprocess.Popen([sys.executable, "-m", "lmscales", "serve", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=errors, text=True, encoding="utf-8")
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:  # ends with the banner's last line, or when the process ends without it
        lines.append(line.rstrip("\n"))
        if "Press Ctrl+C to stop the server." in line:
            break
    url = re.search(r"Base URL:\s+(http://127\.0\.0\.1:\d+/v1)\n", "\n".join(lines) + "\n")
    if not url or not lines[-1].startswith("Press Ctrl+C"):
        process.kill()
        process.wait()
        errors.seek(0)
        pytest.fail("lmscales serve printed no base URL:\n" + "\n".join(lines) + errors.read())
    return process, "\n".join(lines), url.group(1), errors


def stop(process: subprocess.Popen[str], errors: IO[str], how: str) -> tuple[str, str]:
    """Send Ctrl+C (SIGINT) or SIGTERM (on Windows: terminate) and return the rest of stdout, and stderr."""
    if sys.platform == "win32":
        process.terminate()
    else:
        process.send_signal(getattr(signal, how))
    rest, _ = process.communicate(timeout=60)
    errors.seek(0)
    text = errors.read()
    errors.close()
    return rest, text


@pytest.mark.slow
@pytest.mark.parametrize("how", STOPS)
def test_serve_answers_models_and_a_streamed_chat_on_loopback_and_stops_cleanly(how: str) -> None:
    process, banner, base_url, stderr = start_serving("--threads", "1", "--n-ctx", "1024")
    try:
        model = re.search(r"Model:\s+(\S+)", banner)
        assert model is not None, banner
        name = model.group(1)
        assert name == "SmolLM2-135M-Instruct.Q4_1"  # the bundled model, by default, under its file's name
        assert "on this computer only (127.0.0.1)" in banner
        # What the user pastes into the app: the base URL and model name, and the same as a command line.
        assert f"lmscales --base-url {base_url} --remote-model {name}" in banner
        # Where it listens: loopback only, never a LAN address.
        listening = [conn.laddr for conn in psutil.Process(process.pid).net_connections(kind="inet")
                     if conn.status == psutil.CONN_LISTEN]
        assert listening and {address.ip for address in listening} == {"127.0.0.1"}, listening

        with OPENER.open(base_url + "/models", timeout=30) as response:
            assert [entry["id"] for entry in json.load(response)["data"]] == [name]

        request = urllib.request.Request(
            base_url + "/chat/completions", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"model": name, "stream": True, "max_tokens": 8, "temperature": 0,
                             "messages": [{"role": "user", "content": "Say hello."}]}).encode(),
        )
        events = []
        with OPENER.open(request, timeout=60) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            for raw in response:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    events.append(line[len("data: "):])
        assert events[-1] == "[DONE]"
        chunks = [json.loads(event) for event in events[:-1]]
        text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
        assert len(chunks) > 2 and text.strip(), events  # streamed: several chunks, a real answer
    except BaseException:
        process.kill()
        raise
    rest, errors = stop(process, stderr, how)
    if sys.platform != "win32":  # terminate() on Windows ends the process outright
        assert process.returncode == 0, rest + errors
        assert "The server has stopped." in rest
        assert "Traceback" not in errors and "Error" not in errors, errors
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 2):
        pass  # nothing listens there any more


def test_serve_without_llama_cpp_server_says_what_is_missing_and_how_to_get_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # A module set to None in sys.modules cannot be imported: as if the package were not installed.
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.setitem(sys.modules, "sse_starlette", None)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "lmscales serve needs llama-cpp-python's server, and these packages are missing: uvicorn, sse-starlette." \
        in err
    assert "-m pip install \"llama-cpp-python[server]==" in err and sys.executable in err


def test_serve_in_the_installed_app_says_it_leaves_the_server_out(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "this installed app leaves out (uvicorn)" in err
    assert "pip" not in err and "Ollama, LM Studio or llama.cpp's llama-server" in err


def test_serve_refuses_a_busy_port_before_loading_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    out, err = capsys.readouterr()
    assert f"Port {port} on this computer is in use or not allowed (another server?)" in err
    assert "--port 0 for a free one" in err
    assert "Loading" not in out


def test_serve_names_a_model_file_that_is_not_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--model", str(tmp_path / "missing.gguf")]) == 2
    assert f"lmscales: Model file not found: {tmp_path / 'missing.gguf'}" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--port", "70000", "70000 is not a port number (0 to 65535; 0 picks a free one)"),
    ("--port", "http", "'http' is not a port number"),
    ("--threads", "0", "0 is not a positive whole number"),
    ("--n-ctx", "-5", "-5 is not a positive whole number"),
])
def test_serve_refuses_impossible_options(option: str, value: str, message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", option, value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_serve_says_a_file_that_is_no_model_cannot_be_loaded(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 64)
    result = subprocess.run([sys.executable, "-m", "lmscales", "serve", "--model", str(damaged), "--port",
                             str(free_port())], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "lmscales: Could not load damaged.gguf: it may not be a GGUF model file, or it is damaged" in result.stderr
    assert "Traceback" not in result.stderr
