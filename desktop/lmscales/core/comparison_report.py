"""A session's comparisons as one self-contained HTML report: what a presenter hands out after the talk.

`render_comparisons(trials)` is the evaluation report's page (`lmscales.core.quality.eval_report`: its style, its answer
blocks, its no-network policy) filled with one section per comparison: the input (and its reference), the
result card's figures (`lmscales.core.card`, the same rows, words and winners as the window's card and the
presenter's scoreboard, quality lines included), and both answers side by side. Every piece of text from a
model or a user is escaped, so an answer holding markup shows as text. A side replayed from a recording is
marked RECORDED in its figures' column, on its answer and in the comparison's heading.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from lmscales.core.card import card_rows
from lmscales.core.method_card import MethodCard
from lmscales.core.method_card_html import CSS as METHOD_CSS
from lmscales.core.method_card_html import method_card_section
from lmscales.core.method_card_trials import card_for_trials
from lmscales.core.quality.eval_report import html_page
from lmscales.core.quality.report_charts import answer_block
from lmscales.core.scoreboard import WINNER_MARK
from lmscales.core.secrets import redact
from lmscales.core.trial import SideResult, Trial

TASK_TITLES = {"translate": "Translation", "summarize": "Summary", "chat": "Chat"}
RECORDED = "recorded"

CSS = """
section.trial h2 .badge { font-size: 12px; vertical-align: middle; margin-left: 6px; }
.options { color: var(--muted); font-size: 13px; margin: 0 0 10px; }
pre.input-text { white-space: pre-wrap; word-wrap: break-word; font: 13.5px/1.45 system-ui, sans-serif;
  margin: 4px 0 0; max-height: 16em; overflow: auto; background: var(--bg); padding: 6px 8px; border-radius: 6px; }
table.figures td.win { font-weight: 700; }
table.figures td.words { color: var(--muted); font-size: 13px; }
table.figures { margin: 12px 0 4px; }
.legend { color: var(--muted); font-size: 13px; }
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _options(trial: Trial) -> str:
    parts = []
    if trial.input.target_lang:
        parts.append(f"into {trial.input.target_lang}")
    if trial.input.summary_length:
        parts.append(f"{trial.input.summary_length} summary")
    parts.append(f"at most {trial.params.max_tokens} tokens, temperature {trial.params.temperature:g}")
    return " · ".join(parts)


def _problem(result: SideResult) -> str:
    if result.skipped is not None:
        return f"Not run: {result.skipped}"
    if result.error is not None:
        return f"Failed: {result.error.message}"
    return ""


def _figures(trial: Trial) -> str:
    heads = "".join(f'<th class="{_e(result.side)}">{_e(result.label)}'
                    + (f' <span class="badge">{RECORDED}</span>' if result.recorded else "") + "</th>"
                    for result in trial.sides)
    rows = []
    for row in card_rows(trial):
        cells = "".join(f'<td class="win">{WINNER_MARK} {_e(value.text)} wins</td>' if value.better
                        else f"<td>{_e(value.text)}</td>" for value in row.values)
        rows.append(f"<tr><th>{_e(row.title)}</th>{cells}<td class=\"words\">{_e(row.verdict)}</td></tr>")
    return (f'<table class="figures"><thead><tr><th>figure</th>{heads}<th>in words</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _answer(result: SideResult) -> str:
    scores = {score.name: score.value for score in result.scores}
    notes = [f"{check.name}: {check.detail}" for check in result.checks if check.passed is False]
    # "small · Small" says nothing twice: the label only where the user named the side.
    label = result.model if result.label.lower() == result.side else f"{result.label} · {result.model}"
    return answer_block(result.side, label, redact(result.text), scores, notes,
                        badge=RECORDED if result.recorded else "", problem=_problem(result))


def _section(number: int, trial: Trial) -> str:
    recorded = any(result.recorded for result in trial.sides)
    badge = f'<span class="badge">{RECORDED}</span>' if recorded else ""
    when = trial.created_at.replace("T", " ")[:19]
    reference = (f'<div class="reference"><span class="label">reference</span> {_e(trial.input.reference)}</div>'
                 if trial.input.reference else "")
    answers = "".join(_answer(result) for result in trial.sides)
    return (f'<section class="trial" id="trial-{_e(trial.id)}"><h2>{number}. '
            f"{_e(TASK_TITLES.get(trial.task, trial.task))}{badge} <span class=\"sub\">{_e(when)} · trial "
            f"<code>{_e(trial.id)}</code></span></h2><p class=\"options\">{_e(_options(trial))}</p>"
            f'<div class="input"><span class="label">input</span><pre class="input-text">'
            f"{_e(redact(trial.input.text))}</pre></div>{reference}{_figures(trial)}"
            f'<div class="pair">{answers}</div></section>')


def render_comparisons(trials: Sequence[Trial], title: str = "LM Scales session",
                       method: MethodCard | None = None) -> str:
    """The comparisons, oldest first, as one HTML document (see the module docstring), ending with the method
    card (`method`, or one made now from the trials and this computer)."""
    models = dict.fromkeys(f"{result.label}: {result.model}" for trial in trials for result in trial.sides)
    span = ""
    if trials:
        first, last = trials[0].created_at.replace("T", " ")[:16], trials[-1].created_at.replace("T", " ")[:16]
        span = first if first == last else f"{first} to {last}"
    recorded = sum(1 for trial in trials if any(result.recorded for result in trial.sides))
    holds = "holds" if recorded == 1 else "hold"
    recorded_note = (f" {recorded} of them {holds} answers replayed from a recording, marked "
                     f'<span class="badge">{RECORDED}</span>: those were not generated in this session.'
                     if recorded else "")
    count = f"{len(trials)} comparison{'s' * (len(trials) != 1)}"
    body = (f"<h1>{_e(title)}</h1><p class=\"sides\">{_e(count)} · {_e(span)} · {_e(' · '.join(models))}</p>"
            f'<p class="legend">{WINNER_MARK} and "wins" mark the better side of a figure (only where the two '
            'differ by more than timing noise); "~" marks an estimated figure.' + recorded_note + "</p>"
            + "".join(_section(number, trial) for number, trial in enumerate(trials, 1))
            + method_card_section(method or card_for_trials(trials)))
    return html_page(title, body, CSS + METHOD_CSS)
