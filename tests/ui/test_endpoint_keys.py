"""A key belongs to one host: switching presets in the endpoint dialog never carries it to another host,
checked in the request log of the host it must not reach."""

from __future__ import annotations

import pytest

from lmscales.core import tasks
from lmscales.core.endpoints import Endpoint, Preset
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.events import GenerationRequest
from tests.support.drive import run_to_end
from tests.support.fault_server import FaultServer

KEY = "sk" "-test-provider-A-0123456789abcdef"


def _authorizations(server: FaultServer) -> list[str]:
    return [{k.lower(): v for k, v in r[3].items()}.get("authorization", "") for r in server.requests]


def test_switching_the_preset_never_sends_a_key_to_the_new_host(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from lmscales.ui import endpoint_dialog
    from lmscales.ui.endpoint_dialog import EndpointDialog

    with FaultServer() as provider_a, FaultServer() as provider_b:
        presets = (Preset("Provider A", provider_a.url("ok"), True, "fault-model"),
                   Preset("Provider B", provider_b.url("ok"), True, "fault-model"),
                   Preset("Custom", "", False))
        monkeypatch.setattr(endpoint_dialog, "PRESETS", presets)
        monkeypatch.setattr(endpoint_dialog, "preset", lambda name: next(p for p in presets if p.name == name))
        monkeypatch.setattr(endpoint_dialog, "detect_local_servers", lambda: [])
        monkeypatch.delenv("LMSCALES_API_KEY", raising=False)
        dialog = EndpointDialog(Endpoint(provider_a.url("ok"), "fault-model", KEY, name="Provider A"))
        qtbot.addWidget(dialog)
        assert dialog.api_key.text() == KEY

        dialog.preset.setCurrentIndex(dialog.preset.findData("Provider B"))
        assert dialog.base_url.text() == provider_b.url("ok")
        assert dialog.api_key.text() == ""  # the field follows the host
        dialog.fetch_models()
        qtbot.waitUntil(lambda: "offers 2 models" in dialog.message.text(), timeout=5_000)
        chosen = dialog.endpoint()
        assert chosen is not None and chosen.api_key is None
        request = GenerationRequest(tasks.chat_messages([], "Hi"), max_tokens=4)
        assert run_to_end(RemoteEngine(chosen, RemoteOptions(read_timeout=5)), request).ok
        assert provider_b.requests and all(KEY not in auth for auth in _authorizations(provider_b))

        # typing another URL by hand is another host too
        dialog.preset.setCurrentIndex(dialog.preset.findData("Provider A"))
        assert dialog.api_key.text() == KEY  # back on its own host, the key is there again
        dialog.base_url.setText(provider_b.url("usage"))
        typed = dialog.endpoint()
        assert typed is not None and typed.api_key is None
        dialog.base_url.setText(provider_a.url("ok"))
        dialog.fetch_models()
        qtbot.waitUntil(lambda: "offers 2 models" in dialog.message.text(), timeout=5_000)
        assert _authorizations(provider_a)[-1] == f"Bearer {KEY}"


@pytest.mark.parametrize(("url", "account"), [
    ("https://API.openai.com/v1/", "https://api.openai.com"),
    ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080"),
    ("OpenAI", "OpenAI"),
])
def test_keys_are_kept_per_host(url: str, account: str) -> None:
    from lmscales.core.secrets import account as key_account

    assert key_account(url) == account
