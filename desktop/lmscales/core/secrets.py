"""API keys: kept in the operating system's keyring, never in the settings file or a log.

A key is stored per host (scheme://host[:port] of the endpoint's base URL, or its preset name when it has
no URL yet) under the service name "LM Scales": a key belongs to one provider and is never offered to
another. Keys stored by older versions under the whole base URL are still found. Where no usable keyring
exists (a headless Linux without a Secret Service, a keyring that is locked or refuses), the key is held
in memory for this session only and the caller is told so.

Every key this module sees is registered as a secret, and `redact` removes registered secrets (and
anything shaped like an OpenAI-style key) from text; the log filter in `lmscales.core.logs` runs every
record through it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null

_log = logging.getLogger(__name__)

SERVICE = "LM Scales"
REDACTED = "[redacted]"
# Shorter strings are not redacted: replacing every "abc" in a log would destroy it, and real keys are long.
MIN_SECRET_LENGTH = 4

_KEY_PATTERN = re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,}")
_BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")

_lock = threading.Lock()
_known_secrets: set[str] = set()
_session_keys: dict[str, FoundKey] = {}  # account -> a key this session stored, and where it is kept


# -- redaction --------------------------------------------------------------------------------------------
def register_secret(value: str | None) -> None:
    """Remember `value` as a secret, so `redact` (and so every log record) removes it from now on."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _known_secrets.add(value)


def known_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_known_secrets)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with `secrets`, every registered secret, and anything like `sk-…` or a bearer token replaced."""
    candidates = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH} | known_secrets()
    # Longest first, so a secret that contains another is removed whole.
    for secret in sorted(candidates, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _KEY_PATTERN.sub(REDACTED, text)
    return _BEARER_PATTERN.sub(lambda match: match.group(1) + REDACTED, text)


# -- the keyring ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoreResult:
    persisted: bool  # True: in the system keyring; False: in memory until LM Scales quits
    message: str  # for the user; never contains the key


@dataclass(frozen=True)
class FoundKey:
    """A key and where it is kept, so what the app says about it can be true."""

    key: str = field(repr=False)
    kept_in: Literal["keyring", "session"]  # the system keyring, or this process's memory until it quits
    detail: str  # the keyring's name, or why the key could not go into one


def account(endpoint: str) -> str:
    """The keyring user name for an endpoint: scheme://host[:port] of its URL (lower case), or a preset name."""
    text = endpoint.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.hostname:
        host = parts.hostname.lower()
        if ":" in host:
            host = f"[{host}]"
        try:
            port = parts.port
        except ValueError:
            port = None
        return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    return text


def _legacy_account(endpoint: str) -> str | None:
    """Where versions before per-host keys kept this endpoint's key (the whole base URL), if different."""
    old = endpoint.strip().rstrip("/")
    return old if old != account(endpoint) else None


def _usable_keyring() -> tuple[keyring.backend.KeyringBackend | None, str]:
    """The keyring backend, or None and why not."""
    try:
        backend = keyring.get_keyring()
        if isinstance(backend, (keyring.backends.fail.Keyring, keyring.backends.null.Keyring)):
            return None, "no system keyring is available"
        if isinstance(backend, keyring.backends.chainer.ChainerBackend) and not backend.backends:
            return None, "no system keyring is available"
    except Exception as error:  # discovery itself can fail (D-Bus, a broken keyringrc)
        return None, f"the system keyring could not be opened ({_describe(error)})"
    return backend, ""


def _describe(error: BaseException) -> str:
    return redact(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)


def store_key(endpoint: str, key: str) -> StoreResult:
    """Keep `key` for `endpoint`: in the system keyring if one works, otherwise for this session only."""
    name = account(endpoint)
    register_secret(key)
    backend, reason = _usable_keyring()
    if backend is not None:
        try:
            backend.set_password(SERVICE, name, key)
            # Some backends accept a key and keep nothing; only a key that reads back is remembered.
            if backend.get_password(SERVICE, name) == key:
                _log.info("API key for %s stored in the keyring (%s)", name, type(backend).__name__)
                with _lock:
                    _session_keys[name] = FoundKey(key, "keyring", backend.name)
                return StoreResult(True, f"The API key is saved in the system keyring ({backend.name}).")
            reason = "the system keyring did not keep it"
        except Exception as error:  # a locked, refused or broken keyring: fall back, never crash
            reason = f"the system keyring refused it ({_describe(error)})"
    with _lock:
        _session_keys[name] = FoundKey(key, "session", reason)
    _log.warning("API key for %s kept for this session only: %s", name, reason)
    return StoreResult(
        False, f"The API key will not be remembered after LM Scales quits: {reason}, so it is kept for this "
        "session only."
    )


def find_key(endpoint: str) -> FoundKey | None:
    """The key for `endpoint` from this session or the keyring, with where it is kept; None if there is none."""
    name = account(endpoint)
    with _lock:
        found = _session_keys.get(name)
    if found is None:
        backend, _ = _usable_keyring()
        if backend is not None:
            for candidate in (name, _legacy_account(endpoint)):
                if candidate is None:
                    continue
                key = None
                try:
                    key = backend.get_password(SERVICE, candidate)
                except Exception as error:
                    _log.warning("could not read the API key for %s from the keyring: %s", name, _describe(error))
                if key is not None:
                    found = FoundKey(key, "keyring", backend.name)
                    break
    register_secret(found.key if found is not None else None)
    return found


def load_key(endpoint: str) -> str | None:
    """The key for `endpoint` from this session or the keyring, or None."""
    found = find_key(endpoint)
    return found.key if found is not None else None


def delete_key(endpoint: str) -> bool:
    """Forget the key for `endpoint` everywhere; True if one was found."""
    name = account(endpoint)
    with _lock:
        found = _session_keys.pop(name, None) is not None
    backend, _ = _usable_keyring()
    if backend is not None:
        for candidate in (name, _legacy_account(endpoint)):  # an older version's key goes too
            if candidate is None:
                continue
            try:
                if backend.get_password(SERVICE, candidate) is not None:
                    backend.delete_password(SERVICE, candidate)
                    found = True
            except Exception as error:
                _log.warning("could not delete the API key for %s from the keyring: %s", name, _describe(error))
    return found


def forget_session_keys() -> None:
    """Drop the keys held in memory (the keyring is untouched); registered secrets stay redacted."""
    with _lock:
        _session_keys.clear()
