"""When the large side cannot be reached at all, the app falls back to offline for this session, and the large
pane says why, that the small side keeps working, and the way back, each once (the parts are put together,
not cut out of another sentence)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lmscales.core import offline
from lmscales.core.endpoints import Endpoint
from lmscales.core.events import EngineError
from lmscales.core.settings import Settings
from lmscales.ui.settings_controller import SettingsController


@pytest.fixture
def controller(qtbot) -> Iterator[SettingsController]:  # type: ignore[no-untyped-def]
    # A large side beyond this computer, given for the session; nothing here connects to it.
    made = SettingsController(Settings(), session_endpoint=Endpoint("https://api.example.com/v1", "big-model"))
    yield made
    made.set_offline(False, remember=False)
    assert not offline.enabled()


def test_an_unreachable_large_side_switches_offline_and_says_why(controller: SettingsController) -> None:
    shown: list[tuple[object, object]] = []
    controller.endpointChanged.connect(lambda endpoint, placeholder: shown.append((endpoint, placeholder)))
    controller.on_remote_failed(EngineError("dns", "api.example.com could not be found (DNS)."))
    assert controller.offline and offline.enabled()
    endpoint, placeholder = shown[-1]
    assert endpoint is None and isinstance(placeholder, tuple)
    message, button = placeholder
    paragraphs = message.split("\n\n")
    assert paragraphs[0] == "The large side is unreachable: api.example.com could not be found (DNS)."
    assert paragraphs[1] == "Switched to offline mode for this session; the small side keeps working."
    assert message.count("still works offline") == 1 and message.count("Leave offline mode") == 1
    assert "Offline mode: only the small model runs" not in message  # the fallback says why in its own words
    assert button == "Work online"


def test_offline_by_choice_names_the_host_it_would_contact(controller: SettingsController) -> None:
    shown: list[tuple[object, object]] = []
    controller.endpointChanged.connect(lambda endpoint, placeholder: shown.append((endpoint, placeholder)))
    controller.set_offline(True, remember=False)
    message, _ = shown[-1][1]  # type: ignore[misc]
    assert message.startswith("Offline mode: only the small model runs")
    assert "(it would contact api.example.com)" in message
    assert message.count("still works offline") == 1
