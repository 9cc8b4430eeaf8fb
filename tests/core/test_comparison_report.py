"""A session's comparisons as an HTML report (the presenter's E, the history's export): every input and answer
is there and escaped (markup in an answer shows as text), the figures and quality lines are the result card's
with the better side marked in words, recorded answers are marked, and the page loads nothing; headless
Chromium renders it with the answers as text."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from lmscales.core.comparison_report import render_comparisons
from lmscales.core.history import export_trials
from lmscales.core.quality.checks import Check
from lmscales.core.quality.scores import Score
from lmscales.core.trial import TaskInput
from tests.support.trials import failed_large, large_side, small_side, trial

INJECTION = '<script>alert("x")</script><img src="http://example.com/x.png" onerror="alert(1)">'


def _session() -> list:  # type: ignore[type-arg]
    first = trial(text="Translate: <b>good</b> morning & welcome", task="translate")
    first = dataclasses.replace(first, input=dataclasses.replace(first.input, reference="Bonjour & bienvenue"),
                                sides=(dataclasses.replace(small_side(), text="Bonjour " + INJECTION,
                                                           scores=(Score("chrF++", 41.5, "sig"),),
                                                           checks=(Check("language", False, None, "answer is en"),)),
                                       dataclasses.replace(large_side(), scores=(Score("chrF++", 63.0, "sig"),))))
    second = dataclasses.replace(trial(text="Name a colour.", created_at="2026-11-28T18:05:00+00:00"),
                                 id="f00d", sides=(dataclasses.replace(large_side(), recorded=True,
                                                                       text="Blue, as recorded."),))
    third = dataclasses.replace(trial(text="Once more.", created_at="2026-11-28T18:06:00+00:00"), id="beef",
                                sides=(small_side(), failed_large()))
    return [first, second, third]


def _section(page: str, trial_id: str) -> str:
    match = re.search(rf'<section class="trial" id="trial-{trial_id}">(.*?)</section>', page, re.S)
    assert match is not None, f"no section for trial {trial_id}"
    return match.group(1)


def test_the_session_report_holds_every_comparison_escaped() -> None:
    page = render_comparisons(_session())
    assert page.startswith("<!DOCTYPE html>") and "3 comparisons" in page
    first = _section(page, "a1b2c3d4e5f6")
    # The input, the reference and both answers, as text: the markup in the answer is not markup.
    assert "Translate: &lt;b&gt;good&lt;/b&gt; morning &amp; welcome" in first
    assert "Bonjour &amp; bienvenue" in first
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in first and "<script" not in page
    assert "<img" not in page and 'onerror="' not in page
    assert "The capital of France is **Paris**." in first
    # The figures are the card's, the better side marked with ★ and "wins"; the quality lines are there.
    assert re.search(r'<td class="win">★ [^<]+ wins</td>', first)
    assert "chrF++" in first and "41.5" in first and "63" in first
    assert "language: answer is en" in first  # a failed check, in words
    assert "into fr" in first


def test_recorded_answers_and_failures_are_marked() -> None:
    page = render_comparisons(_session())
    assert "1 of them holds answers replayed from a recording" in page
    recorded = _section(page, "f00d")
    assert recorded.count('<span class="badge">recorded</span>') == 3  # heading, figures column, answer
    assert "Blue, as recorded." in recorded
    live = _section(page, "a1b2c3d4e5f6")
    assert "badge" not in live
    failed = _section(page, "beef")
    assert "Failed: The API key was refused (401)." in failed


def test_the_report_loads_nothing_and_the_history_exports_it(tmp_path: Path) -> None:
    path = export_trials(_session(), tmp_path / "session.html")
    page = path.read_text("utf-8")
    assert "default-src 'none'" in page
    assert not re.search(r"<[^>]*\s(src|href)=", page)  # no image, script, style sheet or link to fetch
    with pytest.raises(ValueError, match=r"\.json, \.csv, \.md or \.html"):
        export_trials(_session(), tmp_path / "session.txt")


def test_an_empty_input_text_and_a_chat_conversation_render() -> None:
    chat = dataclasses.replace(trial(), input=TaskInput(task="chat", text=""))
    assert "1 comparison ·" in render_comparisons([chat])


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)")
def test_headless_chromium_shows_the_injected_answer_as_text(tmp_path: Path) -> None:
    page = tmp_path / "session.html"
    page.write_text(render_comparisons(_session()), encoding="utf-8")
    assert CHROMIUM is not None
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,2000"]
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([*flags, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                             capture_output=True, text=True, encoding="utf-8", timeout=180, check=True).stdout
    # The parsed page has no script or image element: the injection is text inside the answer.
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;" in dom
    assert dom.count('<section class="trial"') == 3
