"""What the large side's pane shows for today's models and a real network's faults (the fault server plays
the model): thinking in its own collapsed section, parameters a model ignores, $0 on this computer, a captive
portal, a rate that cannot be measured, a stale price."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from lmscales.core import notices as core_notices
from lmscales.core import tasks
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.map_reduce import summarize
from lmscales.core.engines.remote import RemoteEngine, RemoteOptions
from lmscales.core.events import EngineInfo, Finished, GenerationRequest, Notice
from lmscales.core.pricing import Cost, Price
from lmscales.core.settings import Settings
from lmscales.core.trial import SideResult
from lmscales.core.workspace import Workspace
from lmscales.ui.main_window import MainWindow
from lmscales.ui.side_notes import lasting_notices, result_note
from tests.conftest import wait_idle
from tests.support.fault_server import THOUGHTS, WORDS, FaultServer


@pytest.fixture
def large_only(qtbot, tmp_path: Path) -> Iterator[tuple[MainWindow, FaultServer]]:  # type: ignore[no-untyped-def]
    """A window whose small side has no model: only the large side (the fault server) runs."""
    window = MainWindow(Workspace(), settings=Settings(), settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    with FaultServer() as server:
        yield window, server
    window.settings.set_offline(False, remember=False)


def ask(qtbot, window: MainWindow, server: FaultServer, mode: str) -> None:  # type: ignore[no-untyped-def]
    window.set_endpoint(Endpoint(server.url(mode), "fault-model"), RemoteOptions())
    window.tasks.chat_input.setPlainText("Hi")
    window.send(("large",))
    wait_idle(qtbot, window, timeout=20_000)


def test_thinking_has_its_own_collapsed_section_with_count_and_time(qtbot, large_only) -> None:  # type: ignore[no-untyped-def]
    window, server = large_only
    ask(qtbot, window, server, "reasoning")
    pane = window.panes["large"]
    assert pane.view.answer == "".join(WORDS)
    assert pane.thinking_text() == "".join(THOUGHTS)
    assert not pane.thinking_toggle.isHidden() and pane.thinking_view.isHidden()  # collapsed by default
    header = pane.thinking_toggle.text()
    assert header.startswith("Thinking · 40 tok · ") and header.endswith(" s")
    pane.thinking_toggle.click()
    assert not pane.thinking_view.isHidden()
    assert "+ 40 thinking" in pane.metrics.text()
    assert "First token of any kind" in pane.metrics.labels["ttft"].toolTip()
    # a server on this computer: no money, its energy instead
    assert "$0 ·" in pane.metrics.labels["cost"].text()
    assert "Served on this computer" in pane.status.text()


def test_hidden_thinking_is_counted_and_said(qtbot, large_only) -> None:  # type: ignore[no-untyped-def]
    window, server = large_only
    ask(qtbot, window, server, "hiddenreasoning")
    pane = window.panes["large"]
    assert "494 tok" in pane.thinking_toggle.text() and "not shown by the model" in pane.thinking_toggle.text()
    assert "+ 494 thinking" in pane.metrics.text()


def test_an_ignored_parameter_is_said_and_remembered(qtbot, large_only) -> None:  # type: ignore[no-untyped-def]
    window, server = large_only
    ask(qtbot, window, server, "notemp")
    status = window.panes["large"].status.text()
    assert "This model ignores temperature: it ran at its default" in status
    kept = window.settings.settings.endpoint.refused_parameters
    assert any(entry.endswith("|fault-model|temperature|") for entry in kept)
    trial = window.history_store.list()[-1]
    large = next(side for side in trial.sides if side.side == "large")
    assert large.finished is not None and large.finished.ignored_parameters == ("temperature",)
    # the trial's JSON (history, exports, run --json) carries it too
    assert large.to_dict()["finished"]["ignored_parameters"] == ["temperature"]


@pytest.mark.parametrize(("mode", "expected"), [
    ("html", "an HTML page titled 'Hotel Wi-Fi - Please log in'"),
    ("quota", "check your plan and billing"),
    ("burst", "No decode rate: every token arrived in one network read"),
    # the notice of a renamed token limit outlives the run instead of giving way to "Done."
    ("nomaxtokens", "does not take 'max_tokens': it takes 'max_completion_tokens' instead"),
])
def test_what_the_pane_says_for_each_fault(qtbot, large_only, mode: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    window, server = large_only
    ask(qtbot, window, server, mode)
    assert expected in window.panes["large"].status.text()


def test_a_stale_price_is_marked() -> None:
    finished = Finished(prompt_tokens=10, prompt_tokens_provenance="measured", output_tokens=5,
                        output_tokens_provenance="measured", submitted_at=0.0, deltas=((0.1, "a"), (0.2, "b")),
                        stop_reason="stop")
    price = Price("gpt-4o", 2.5, 10.0, "https://example.com/pricing", "2025-01-01")
    result = SideResult(side="large", label="Large", engine=EngineInfo("remote", "gpt-4o", 8192, "api.openai.com",
                                                                        loopback=False),
                        text="ab", started_at="", finished=finished, cost=Cost(0.0001, "measured", price))
    note = result_note(result)
    assert "Price: https://example.com/pricing, read 2025-01-01" in note and "stale" in note


def test_settings_show_timeouts_thinking_and_where_prices_come_from(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lmscales.ui.settings_dialog import SettingsDialog

    settings = Settings().with_value("endpoint.read_timeout", 7.5).with_value("generation.reasoning_effort", "low")
    window = MainWindow(Workspace(), settings=settings, settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.set_endpoint(Endpoint("http://127.0.0.1:9/v1", "m"))
    large = window.session.engines["large"]
    assert large is not None and large.options.read_timeout == 7.5  # type: ignore[attr-defined]
    assert window.generation_params().reasoning_effort == "low"
    dialog = SettingsDialog(window.settings.settings, "", window)
    qtbot.addWidget(dialog)
    for path in ("endpoint.connect_timeout", "endpoint.read_timeout", "generation.reasoning_effort"):
        assert path in dialog.fields, path
    table = dialog.known_prices
    rows = {table.item(r, 1).text(): [table.item(r, c).text() for c in range(6)] for r in range(table.rowCount())}
    provider, _, inp, out, source, age = rows["gpt-5-mini"]
    assert (provider, inp, out) == ("OpenAI", "0.25", "2")
    assert source.startswith("https://developers.openai.com/") and age.endswith(" d")


def test_the_thinking_choice_appears_for_models_that_think(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(Workspace(), settings=Settings(), settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    panel = window.generation
    panel.setVisible(True)
    shown = lambda: panel.reasoning_effort.isVisibleTo(panel) and panel.reasoning_label.isVisibleTo(panel)  # noqa: E731
    window.set_endpoint(Endpoint("http://127.0.0.1:9/v1", "gpt-4o-mini"))
    assert not shown()  # a model that does not think: nothing to choose
    for model in ("gpt-5-mini", "openai/gpt-oss-120b", "o3", "deepseek-reasoner"):
        window.set_endpoint(Endpoint("http://127.0.0.1:9/v1", model))
        assert shown(), model
    panel.reasoning_effort.setCurrentIndex(panel.reasoning_effort.findData("low"))
    window.set_endpoint(Endpoint("http://127.0.0.1:9/v1", "llama3"))
    assert shown()  # a choice already made stays in sight, so it can be seen and cleared
    panel.reasoning_effort.setCurrentIndex(0)
    assert not shown()
    # a GGUF on this CPU is never sent the effort, whatever its name says
    window.set_endpoint(None)
    window.session.set_engine("large", _DescribedOnly(EngineInfo("local", "Qwen3-4B-Q4_K_M", 4096)))
    window._update_actions()
    assert not shown()


class _DescribedOnly:
    """An engine that only describes itself: what the generation panel reads (it is never run here)."""

    def __init__(self, info: EngineInfo) -> None:
        self.info, self.pid = info, None

    def cpu_seconds(self) -> None:
        return None

    def generate(self, request: object) -> Iterator[object]:
        raise AssertionError("not run in this test")

    def cancel(self) -> None: ...

    def close(self) -> None: ...


def test_the_quality_line_under_the_pane_marks_each_check_and_says_why(qtbot, large_only) -> None:  # type: ignore[no-untyped-def]
    window, server = large_only
    window.set_endpoint(Endpoint(server.url("ok"), "fault-model"), RemoteOptions())
    window.tasks.set_task("translate")
    window.tasks.target_language.setCurrentIndex(window.tasks.target_language.findData("de"))
    window.tasks.translate_input.setPlainText("Der Zug nach Berlin fährt heute später ab, weil es schneit.")
    window.send(("large",))
    wait_idle(qtbot, window, timeout=20_000)
    line = window.panes["large"].quality
    assert line.isVisibleTo(window.panes["large"])
    # The server answers in English to a German target: the language check fails, and says so in words.
    by_name = {label.text().split(" ", 1)[1]: label for label in line.labels}
    assert by_name["language"].text() == "✗ language"
    assert by_name["language"].toolTip().endswith("not German.")
    assert by_name["copy"].text() == "✓ copy" and by_name["copy"].toolTip().startswith("Not a copy")
    assert all(label.toolTip() for label in line.labels)  # every mark explained
    # the trial in the history carries the same checks the line shows
    trial = window.history_store.list()[-1]
    large = trial.side("large")
    assert large is not None and {c.name for c in large.checks} == set(by_name)
    window.tasks.set_task("chat")
    window.tasks.chat_input.setPlainText("Hi")
    window.send(("large",))
    assert not line.isVisibleTo(window.panes["large"])  # a new run starts with no verdict of the old one
    wait_idle(qtbot, window, timeout=20_000)


def _notices(events: Iterable[object]) -> list[Notice]:
    return [event for event in events if isinstance(event, Notice)]


# Other words for every notice a run gives: the note must not depend on how the engines word them.
REWORDED = {"RATE_LIMITED": "429 von {host}; Versuch {attempt}/{attempts} in {retry_after:g} s",
            "MAP_REDUCE_PART": "Teil {part}/{parts}{round_note}", "MAP_REDUCE_COMBINE": "{parts} Teile zusammen",
            "PARAMETER_DROPPED": "{model}@{host} ohne {parameter}",
            "PARAMETER_RENAMED": "{model}@{host}: {replacement} statt {parameter}"}


@pytest.mark.parametrize("wording", ["as shipped", "reworded"])
def test_the_finished_note_keeps_what_lasts_and_drops_progress(fault_server: FaultServer, wording: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The notices from real runs (the fault server plays the model), read by their kind and fields: with the
    engines' sentences reworded (no "…", no "Rate limited by"), the note still drops progress and the 429
    retries and sums the retries up in its own words."""
    if wording == "reworded":
        for name, text in REWORDED.items():
            monkeypatch.setattr(core_notices, name, text)

    def engine(mode: str, **options: object) -> RemoteEngine:
        return RemoteEngine(Endpoint(fault_server.url(mode), "fault-model"), RemoteOptions(**options))  # type: ignore[arg-type]

    ask = GenerationRequest(tasks.chat_messages([], "Say hello."), max_tokens=24, temperature=0.0)
    long_text = " ".join(f"Sentence {index} of a long report says something about the harbour and the budget."
                         for index in range(120))
    progress = _notices(summarize(engine("ok"), long_text, "sentence", None, ask, context_tokens=600))
    rate_limited = _notices(engine("429", max_rate_limit_retries=2).generate(ask))
    renamed = _notices(engine("nomaxtokens").generate(ask))
    ignored = _notices(engine("notemp").generate(ask))
    assert len(progress) > 2 and len(rate_limited) == 2 and len(renamed) == 1 and len(ignored) == 1
    if wording == "reworded":
        assert rate_limited[0].message.startswith("429 von") and not progress[0].message.endswith("…")

    note = lasting_notices(progress + rate_limited + renamed + ignored, ignored=("temperature",))
    assert not any(notice.message in note for notice in progress)  # progress, said while it ran
    assert ignored[0].message not in note  # the note's own sentence says that one
    assert renamed[0].message in note  # still true once the run has ended
    # The retries after a 429, said once and in the past tense, not each "retry n of 2 in 0.2 s".
    assert not any(notice.message in note for notice in rate_limited)
    host = Endpoint(fault_server.url("429"), "fault-model").host
    assert note.count(f"{host} (429)") == 1 and f"{host} (429): answered after {len(rate_limited)} retries." in note
