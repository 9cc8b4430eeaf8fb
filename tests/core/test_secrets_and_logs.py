"""API keys in the keyring (or this session only), redaction, and a log file that never holds a key.

The real user keyring is never touched: each test installs an in-memory backend (or keyring's fail
backend), and the fail backend is left installed afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.errors
import platformdirs
import pytest

from lmscales.core import logs, secrets
from lmscales.core.logs import close_logging, format_exception_report, register_secret, setup_logging
from lmscales.core.secrets import REDACTED, SERVICE, delete_key, load_key, redact, store_key
from lmscales.core.settings import Settings, load_settings, save_settings, settings_path

KEY = "sk" "-proj-Zq8VhT3xK9LmN2pR7sWcY4bD"
OTHER_KEY = "gsk_f8Jw2QmZx7RtLp9KvN4sHc6Y"  # no sk- prefix: only registration can redact it
URL = "https://api.openai.com/v1"
HOST = "https://api.openai.com"  # keys are kept per host


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring in a dict, so tests never reach the user's real one."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None


class LockedKeyring(MemoryKeyring):
    """A keyring that is there but refuses, as a locked or denied one does."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked(f"the collection is locked (tried to store {password})")


class ForgetfulKeyring(MemoryKeyring):
    """Accepts a key and keeps nothing."""

    def set_password(self, service: str, username: str, password: str) -> None:
        pass


class EmptyChainer(keyring.backends.chainer.ChainerBackend):
    """What keyring picks when it finds no backend at all."""

    backends = ()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LMSCALES_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LMSCALES_LOG_DIR", str(tmp_path / "logs"))
    secrets.forget_session_keys()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    close_logging()
    secrets.forget_session_keys()
    keyring.set_keyring(keyring.backends.fail.Keyring())


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


# -- the keyring ------------------------------------------------------------------------------------------
def test_a_key_goes_into_the_keyring(memory_keyring: MemoryKeyring) -> None:
    result = store_key(URL + "/", KEY)
    assert result.persisted and "keyring" in result.message and KEY not in result.message
    assert memory_keyring.passwords == {(SERVICE, HOST): KEY}, "keyed by host, under the service LM Scales"

    secrets.forget_session_keys()  # as after a restart
    assert load_key(URL) == KEY
    assert load_key("Groq") is None

    assert delete_key(URL)
    assert memory_keyring.passwords == {}
    assert load_key(URL) is None
    assert not delete_key(URL)


def test_keys_are_per_host_and_an_older_versions_key_is_still_found(memory_keyring: MemoryKeyring) -> None:
    groq = "https://api.groq.com/openai/v1"
    memory_keyring.passwords[(SERVICE, URL)] = KEY  # where versions before per-host keys kept it
    assert load_key(URL) == KEY
    assert load_key(groq) is None  # another host never gets it
    assert store_key(groq, OTHER_KEY).persisted
    assert memory_keyring.passwords[(SERVICE, "https://api.groq.com")] == OTHER_KEY
    secrets.forget_session_keys()
    assert load_key(groq) == OTHER_KEY and load_key(URL) == KEY
    assert delete_key(URL) and load_key(URL) is None  # the older version's key is forgotten too


@pytest.mark.parametrize(
    "backend",
    [keyring.backends.fail.Keyring(), EmptyChainer(), LockedKeyring(), ForgetfulKeyring()],
    ids=["fail", "empty-chainer", "locked", "forgetful"],
)
def test_without_a_usable_keyring_the_key_lasts_the_session(backend: keyring.backend.KeyringBackend) -> None:
    keyring.set_keyring(backend)
    result = store_key("Custom", KEY)
    assert not result.persisted
    assert "will not be remembered" in result.message and "session" in result.message
    assert KEY not in result.message
    assert load_key("Custom") == KEY
    assert delete_key("Custom")
    assert load_key("Custom") is None


def test_a_keyring_that_fails_to_open_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> keyring.backend.KeyringBackend:
        raise RuntimeError("no D-Bus session")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    result = store_key(URL, KEY)
    assert not result.persisted and "no D-Bus session" in result.message
    assert load_key(URL) == KEY


# -- redaction --------------------------------------------------------------------------------------------
def test_redact() -> None:
    assert redact(f"key={OTHER_KEY}!", [OTHER_KEY]) == f"key={REDACTED}!"
    assert redact(f"{KEY} and sk-short", []) == f"{REDACTED} and sk-short"
    assert redact("Authorization: Bearer abcdefgh12345678") == f"Authorization: Bearer {REDACTED}"
    assert redact("temperature 0.7", ["", None, "0.7"[:2]]) == "temperature 0.7", "tiny strings are not secrets"
    assert redact("abcdef-and-more", ["abcdef", "abcdef-and-more"]) == REDACTED, "the longest secret goes whole"
    register_secret(OTHER_KEY)
    assert redact(f"got {OTHER_KEY}") == f"got {REDACTED}"


def test_keys_the_app_sees_are_registered(memory_keyring: MemoryKeyring) -> None:
    unusual = "ollama-local-9f8e7d"
    memory_keyring.set_password(SERVICE, "http://127.0.0.1:11434/v1", unusual)
    assert load_key("http://127.0.0.1:11434/v1") == unusual
    assert unusual in secrets.known_secrets()
    assert redact(f"using {unusual}") == f"using {REDACTED}"


# -- the log file -----------------------------------------------------------------------------------------
def test_log_dir_comes_from_the_environment_or_platformdirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = setup_logging()
    assert path == tmp_path / "logs" / "lmscales.log" and path.exists()
    assert logs.current_log_file() == path
    monkeypatch.delenv("LMSCALES_LOG_DIR")
    assert logs.log_dir() == Path(platformdirs.user_log_dir("LM Scales", appauthor=False))


def test_the_log_is_redacted_everywhere(tmp_path: Path) -> None:
    register_secret(OTHER_KEY)
    path = setup_logging(tmp_path / "elsewhere")
    log = logging.getLogger("lmscales.test")
    log.info("plain message with %s", KEY)
    log.warning(f"formatted in advance: {OTHER_KEY}")
    log.info("in a structure: %r", {"headers": {"Authorization": f"Bearer {OTHER_KEY}"}})
    try:
        raise ValueError(f"the server rejected {KEY}")
    except ValueError:
        log.exception("request failed")
    log.info("stack", stack_info=True)
    logging.getLogger("httpx").info("a library too: %s", OTHER_KEY)
    close_logging()

    text = path.read_text(encoding="utf-8")
    assert KEY not in text and OTHER_KEY not in text
    assert text.count(REDACTED) >= 5
    assert "ValueError: the server rejected [redacted]" in text
    assert "a library too" in text and "plain message with [redacted]" in text


def test_a_record_that_cannot_be_formatted_is_still_redacted() -> None:
    record = logging.LogRecord("lmscales.test", logging.INFO, __file__, 1, "a bad format %d", (KEY,), None)
    assert logs.RedactingFilter().filter(record)
    assert KEY not in record.getMessage() and "a bad format" in record.getMessage()


def test_the_log_rotates(tmp_path: Path) -> None:
    path = setup_logging(max_bytes=2_000, backup_count=2)
    log = logging.getLogger("lmscales.test")
    for number in range(100):
        log.info("line %d of many, with the key %s", number, KEY)
    close_logging()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["lmscales.log", "lmscales.log.1", "lmscales.log.2"]
    assert all(KEY not in (path.parent / name).read_text() for name in files)


def test_setup_twice_keeps_one_handler() -> None:
    setup_logging()
    setup_logging()
    ours = [h for h in logging.getLogger().handlers if any(isinstance(f, logs.RedactingFilter) for f in h.filters)]
    assert len(ours) == 1
    close_logging()
    assert logs.current_log_file() is None


def test_the_crash_report(tmp_path: Path) -> None:
    path = setup_logging()

    def fail() -> None:
        raise ConnectionError(f"401 for key {KEY}")

    try:
        fail()
    except ConnectionError as error:
        report = format_exception_report(error)
    assert "ConnectionError: 401 for key [redacted]" in report
    assert "in fail" in report and str(path) in report
    assert KEY not in report
    close_logging()
    assert "No log file" in format_exception_report(RuntimeError("x"))


# -- the whole promise ------------------------------------------------------------------------------------
def test_the_key_is_in_no_file_the_app_wrote(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    setup_logging()
    log = logging.getLogger("lmscales")
    assert store_key(URL, KEY).persisted
    assert store_key("OpenRouter", OTHER_KEY).persisted
    save_settings(Settings().with_value("endpoint.model", "gpt-4o"))
    settings_path().write_text('{"broken": ', encoding="utf-8")
    notice = load_settings().notice  # a backup of a bad file
    assert notice is not None
    save_settings(Settings().replace(theme="dark"))
    write_error = None
    try:
        save_settings(Settings().with_value("endpoint.base_url", f"https://u:{KEY}@example.com/v1"))
    except ValueError as error:
        write_error = error
        log.error("settings refused: %s", error)
    assert write_error is not None
    log.info("calling %s with key %s and %s", URL, KEY, OTHER_KEY)
    log.debug("debug too: %s", KEY)
    log.warning("an endpoint: %r", Settings().endpoint.to_endpoint(api_key=KEY))
    close_logging()

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.parent.name for p in written} == {"config", "logs"}
    assert any(".bad-" in p.name for p in written)
    for file in written:
        content = file.read_bytes()
        assert KEY.encode() not in content and OTHER_KEY.encode() not in content, file
    assert memory_keyring.passwords[(SERVICE, HOST)] == KEY
