"""One self-contained HTML report of an evaluation: verdicts, figures, charts, examples and metadata.

`render_eval_report(result)` returns a complete HTML document with inline CSS and inline SVG charts: no script, no
font, image or stylesheet from anywhere, so it opens the same in any browser, offline, and can be mailed as one
file. Every piece of text that came from a model, a set or a user (answers, inputs, labels, model names) is
escaped: answers are untrusted and may contain markup.

Charts: per task, box-and-strip plots of time to first token and decode rate per side (every run is a dot;
outliers by modified z-score are ringed, never dropped), and for the whole run one quality-against-cost chart
(each task's main score against money per 100 items, small and large joined by a line; energy or CPU time when
no side cost money). `lmscales.core.decision.report_html.render_report` adds the decision: per task "Which model
for this task" after its charts, and once the items where only one model was acceptable.
"""

from __future__ import annotations

from collections.abc import Mapping

from lmscales.core.method_card_html import CSS as METHOD_CSS
from lmscales.core.method_card_html import method_card_section
from lmscales.core.quality.report_charts import (
    TASK_TITLES,
    _e,
    _num,
    answer_block,
    cost_axis,
    distribution_svg,
    quality_cost_svg,
)
from lmscales.core.quality.results import (
    ITEM_NOUNS,
    SIDES,
    EvalResult,
    ItemResult,
    ScoreComparison,
    SideCost,
    TaskFigures,
    TaskResult,
    task_figures,
)
from lmscales.core.quality.stats import SeriesSummary

EXAMPLES_PER_TASK = 3
MAX_INPUT_CHARS = 700


def _signed(value: float, digits: int = 1) -> str:
    """+1.5 / −1.5 with a real minus sign."""
    return f"{value:+.{digits}f}".replace("-", "−")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _series_cell(summary: SeriesSummary | None, unit: str) -> str:
    if summary is None:
        return '<td class="na">—</td>'
    flags = []
    if summary.outliers:
        flags.append(f'<span class="flag" title="flagged by modified z-score over 3.5; kept in every figure">'
                     f"{len(summary.outliers)} outlier{'s' * (len(summary.outliers) != 1)}</span>")
    if summary.unstable and summary.cv is not None:
        flags.append(f'<span class="flag" title="coefficient of variation over 10 %: the runs vary a lot">'
                     f"CV {summary.cv:.0%}</span>")
    return (f'<td><b>{_num(summary.median)}</b> {_e(unit)}<div class="sub">p90 {_num(summary.p90)} · '
            f"{_num(summary.mean)} ± {_num(summary.sd, 2)} · n {summary.n}</div>{''.join(flags)}</td>")


def _ratio_cell(small: SeriesSummary | None, large: SeriesSummary | None, higher_is_better: bool) -> str:
    if small is None or large is None or small.median <= 0 or large.median <= 0:
        return '<td class="na">—</td>'
    ratio = small.median / large.median
    if higher_is_better:
        text = f"small decodes {ratio:.2g}× as fast"
    elif ratio <= 1:
        text = f"small {1 / ratio:.2g}× faster"
    else:
        text = f"small {ratio:.2g}× slower"
    return f'<td>{_e(text)}<div class="sub">ratio of medians</div></td>'


def _score_row(score: ScoreComparison, signatures: Mapping[str, str]) -> str:
    d = score.difference
    significant = "sig" if d.excludes_zero else "nsig"
    signature = signatures.get(score.name, "")
    title = f' title="{_e(signature)}"' if signature else ""
    return (f"<tr><th{title}>{_e(score.name)} <span class=\"unit\">mean, 0–100</span></th>"
            f"<td><b>{score.mean_small:.1f}</b></td><td><b>{score.mean_large:.1f}</b></td>"
            f'<td class="{significant}"><b>{_signed(d.mean_difference)}</b><div class="sub">95 % CI '
            f"{_signed(d.low)} to {_signed(d.high)} · {d.n} items, paired bootstrap</div></td></tr>")


def _money_cell(value: float | None, currency: str, provenance: str) -> str:
    if value is None:
        return '<td class="na">—</td>'
    marker = "~" if provenance == "estimated" and value else ""
    return f"<td>{marker}{_num(value)} {_e(currency)}</td>"


def _plain_cell(value: float | None, unit: str) -> str:
    return '<td class="na">—</td>' if value is None else f"<td>{_num(value)} {_e(unit)}</td>"


def _energy_cell(cost: SideCost | None) -> str:
    """Energy per 100 items and where it comes from (measured or estimated on this machine, or EcoLogits'
    estimate with its range for an API), so a reader never takes an estimate for a measurement."""
    if cost is None or cost.energy_wh_per_100 is None:
        return '<td class="na">—</td>'
    estimated = cost.energy_provenance not in (None, "measured")
    low, high = cost.energy_wh_per_100_low, cost.energy_wh_per_100_high
    spread = f" ({_num(low)}–{_num(high)})" if low is not None and high is not None else ""
    source = f'<div class="sub">{_e(cost.energy_provenance)}</div>' if cost.energy_provenance else ""
    return f"<td>{'~' if estimated else ''}{_num(cost.energy_wh_per_100)}{spread} Wh{source}</td>"


def _figures_table(task: TaskResult, fig: TaskFigures, result: EvalResult) -> str:
    rows = ['<table class="figures"><thead><tr><th>figure</th><th class="small">small</th><th class="large">large</th>'
            "<th>small − large</th></tr></thead><tbody>"]
    for title, samples, unit, higher in (("time to first token", fig.ttft, "s", False),
                                          ("decode rate", fig.decode_rate, "tok/s", True),
                                          ("end-to-end time", fig.end_to_end, "s", False)):
        rows.append(f"<tr><th>{title} <span class=\"unit\">median</span></th>"
                    f"{_series_cell(samples.get('small'), unit)}{_series_cell(samples.get('large'), unit)}"
                    f"{_ratio_cell(samples.get('small'), samples.get('large'), higher)}</tr>")
    for score in fig.scores:
        rows.append(_score_row(score, result.metadata.signatures))
    small_cost, large_cost = task.costs.get("small"), task.costs.get("large")
    if small_cost or large_cost:
        rows.append("<tr><th>money <span class=\"unit\">per 100 items</span></th>"
                    + "".join(_money_cell(c.cost_per_100 if c else None, c.currency if c else "", c.cost_provenance
                                          if c else "") for c in (small_cost, large_cost)) + "<td></td></tr>")
        rows.append("<tr><th>energy <span class=\"unit\">per 100 items</span></th>"
                    + "".join(_energy_cell(c) for c in (small_cost, large_cost)) + "<td></td></tr>")
        rows.append("<tr><th>CPU time <span class=\"unit\">per 100 items</span></th>"
                    + "".join(_plain_cell(c.cpu_seconds_per_100 if c else None, "CPU-s")
                              for c in (small_cost, large_cost)) + "<td></td></tr>")
    if task.judge is not None:
        judge = task.judge
        interval = fig.judge_interval
        ci = f"95 % CI {interval[0] * 100:.0f}–{interval[1] * 100:.0f} % (Wilson)" if interval else ""
        unread = f" · {judge.unparsed} unparsed, {judge.errors} failed" if judge.unparsed or judge.errors else ""
        rows.append(f"<tr><th>judge <span class=\"unit\">wins / ties / losses</span></th>"
                    f"<td>{judge.small_wins} wins</td><td>{judge.large_wins} wins</td>"
                    f"<td>{judge.ties} ties<div class=\"sub\">large preferred in {judge.large_wins} of "
                    f"{judge.tally.n}; {_e(ci)}{_e(unread)}</div></td></tr>")
    failed = {side: task.failed_runs.get(side, 0) for side in SIDES}
    if any(failed.values()):
        rows.append(f"<tr><th>failed runs</th><td>{failed['small']}</td><td>{failed['large']}</td><td></td></tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _answer_cell(side: str, item: ItemResult, result: EvalResult) -> str:
    label = next((info.label for info in result.sides if info.slot == side), side)
    return answer_block(side, label, item.outputs.get(side, ""), item.scores.get(side, {}),
                        item.check_notes.get(side, ()))


def largest_gaps(task: TaskResult, fig: TaskFigures, count: int = EXAMPLES_PER_TASK) -> list[ItemResult]:
    """The items whose main score differs most between the sides."""
    if fig.primary is None:
        return list(task.items[:count])
    name = fig.primary.name

    def gap(item: ItemResult) -> float:
        small, large = item.scores.get("small", {}).get(name), item.scores.get("large", {}).get(name)
        return -1.0 if small is None or large is None else abs(small - large)

    return sorted(task.items, key=gap, reverse=True)[:count]


def _examples(task: TaskResult, fig: TaskFigures, result: EvalResult) -> str:
    parts = [f'<h3>Largest gaps{f" in {_e(fig.primary.name)}" if fig.primary else ""}</h3>']
    judge_words = {"small": "judge preferred the small model", "large": "judge preferred the large model",
                   "tie": "judge: tie", "unparsed": "judge: verdict unreadable", "error": "judge: failed"}
    for item in largest_gaps(task, fig):
        judge = f'<span class="judge">{_e(judge_words.get(item.judge, ""))}</span>' if item.judge else ""
        reference = (f'<div class="reference"><span class="label">reference</span> {_e(item.reference)}</div>'
                     if item.reference else "")
        parts.append(f'<div class="example"><div class="example-head"><code>{_e(item.item_id)}</code>{judge}</div>'
                     f'<div class="input"><span class="label">input</span> {_e(_short(item.input, MAX_INPUT_CHARS))}'
                     f"</div>{reference}<div class=\"pair\">{_answer_cell('small', item, result)}"
                     f"{_answer_cell('large', item, result)}</div></div>")
    return "".join(parts)


def _task_section(task: TaskResult, fig: TaskFigures, result: EvalResult, extra: str = "") -> str:
    singular, plural = ITEM_NOUNS.get(task.task, ("item", "items"))
    title = TASK_TITLES.get(task.task, task.task)
    runs = (f"{len(task.items)} {singular if len(task.items) == 1 else plural} × {task.repeats} "
            f"repeat{'s' * (task.repeats != 1)}")
    sides = {info.slot: info for info in result.sides}
    charts = []
    if fig.ttft:
        charts.append(distribution_svg("Time to first token", "seconds", task.ttft, fig.ttft, sides))
    if fig.decode_rate:
        charts.append(distribution_svg("Decode rate", "tokens per second", task.decode_rate, fig.decode_rate, sides))
    return (f'<section class="task" id="task-{_e(task.task)}"><h2>{_e(title)} <span class="sub">set '
            f"“{_e(task.set_name)}”, {_e(runs)}</span></h2>"
            f'<p class="verdict">{_e(fig.verdict)}</p>{_figures_table(task, fig, result)}'
            f'<div class="charts">{"".join(charts)}</div>'
            f"{extra}{_examples(task, fig, result)}</section>")


# `Evaluation`'s parameters that the method card shows too.
IN_METHOD_CARD = frozenset({"max tokens", "temperature", "top-p", "seed", "repeats", "warm-ups"})


def _metadata(result: EvalResult) -> str:
    meta = result.metadata
    carded = result.method is not None  # the method card below says these, in more detail
    rows = [("created", meta.created)]
    if not carded:
        rows += [("machine", meta.machine), ("LM Scales", meta.app_version)]
    for info in result.sides:
        rows.append((f"{info.slot} side", f"{info.label} — model {info.model}, {info.kind}, {info.host}"))
    rows += [(key, value) for key, value in meta.parameters.items() if not (carded and key in IN_METHOD_CARD)]
    for task in result.tasks:
        if task.judge is not None:
            judge = task.judge
            rows.append((f"judge ({task.task})", f"{judge.model}, prompt {judge.prompt_version}, blind, both orders, "
                         "temperature 0; a win needs both orders to agree"
                         + ("; the judge is also a contestant (the large side)" if judge.is_contestant else "")))
    rows += [(f"signature: {name}", signature) for name, signature in meta.signatures.items()]
    rows += [("note", note) for note in meta.notes]
    body = "".join(f"<tr><th>{_e(key)}</th><td><code>{_e(value)}</code></td></tr>" if key.startswith("signature")
                   else f"<tr><th>{_e(key)}</th><td>{_e(value)}</td></tr>" for key, value in rows)
    return f'<section class="meta"><h2>How this was measured</h2><table class="meta">{body}</table></section>'


CSS = """
:root { color-scheme: light; --small: #c2561a; --large: #2563a8; --ink: #1d2330; --muted: #5d6778;
  --line: #dfe3ea; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 10px; }
h2 .sub, .sub { color: var(--muted); font-size: 12.5px; font-weight: normal; }
h3 { font-size: 15px; margin: 22px 0 8px; }
.sides { color: var(--muted); margin: 0 0 18px; }
.sides b.small, th.small { color: var(--small); } .sides b.large, th.large { color: var(--large); }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 20px 22px; margin: 0 0 22px; }
.summary ul { margin: 0; padding-left: 20px; } .summary li { margin: 6px 0; }
.verdict { font-size: 17px; border-left: 4px solid var(--large); padding: 4px 0 4px 12px; margin: 4px 0 16px; }
table { border-collapse: collapse; width: 100%; }
table.figures th, table.figures td { text-align: left; vertical-align: top; padding: 7px 10px;
  border-bottom: 1px solid var(--line); }
table.figures thead th { font-size: 13px; color: var(--muted); border-bottom: 2px solid var(--line); }
table.figures tbody th { font-weight: 600; width: 24%; }
.unit { color: var(--muted); font-weight: normal; font-size: 12px; }
td.sig b { color: #9b1c1c; } td.nsig b { color: var(--muted); } .na { color: var(--muted); }
.flag { display: inline-block; margin: 3px 4px 0 0; padding: 0 6px; border-radius: 8px; font-size: 11.5px;
  background: #fff4d6; color: #7a5300; border: 1px solid #f0d48a; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; margin-top: 18px; }
svg.chart { background: #fff; border: 1px solid var(--line); border-radius: 8px; max-width: 100%; height: auto; }
svg .chart-title { font: 600 14px system-ui, sans-serif; fill: var(--ink); }
svg .tick { font: 11px system-ui, sans-serif; fill: #5d6778; }
svg .axis-label { font: 12px system-ui, sans-serif; fill: #5d6778; }
svg .row-label { font: 600 13px system-ui, sans-serif; }
svg .point-label { font: 12px system-ui, sans-serif; fill: #1d2330; }
svg .grid { stroke: #eceff3; stroke-width: 1; }
svg .box { fill-opacity: 0.16; stroke: none; } svg .median { stroke-width: 2.5; } svg .whisker { stroke-width: 1.4; }
svg .dot { fill-opacity: 0.75; } svg .dot.outlier { stroke: #b42318; stroke-width: 2; fill-opacity: 1; }
svg .pair-line { stroke: #9aa3b2; stroke-width: 1.5; stroke-dasharray: 4 3; }
svg .point { stroke: #fff; stroke-width: 1.5; } svg .leader { stroke-width: 0.8; stroke-opacity: 0.6; }
.example { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin: 0 0 14px; }
.example-head { display: flex; justify-content: space-between; margin-bottom: 6px; }
.judge { font-size: 12.5px; color: var(--muted); }
.input, .reference { font-size: 13.5px; margin: 4px 0; }
.label { display: inline-block; min-width: 68px; font-size: 11px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin-top: 10px; }
.answer-cell { border-radius: 6px; padding: 8px 10px; background: var(--bg); border-top: 3px solid; }
.answer-cell.small { border-color: var(--small); } .answer-cell.large { border-color: var(--large); }
.answer-head { font-size: 12.5px; color: var(--muted); margin-bottom: 4px; }
.answer-head b { color: var(--ink); }
.chip { display: inline-block; font-size: 11.5px; padding: 0 7px; margin: 0 4px 4px 0; border-radius: 9px;
  background: #e8edf5; }
pre.answer { white-space: pre-wrap; word-wrap: break-word; font: 13.5px/1.45 system-ui, sans-serif; margin: 6px 0 0; }
ul.notes { margin: 6px 0 0; padding-left: 18px; font-size: 12px; color: #9b1c1c; }
.badge { display: inline-block; font-size: 11px; font-weight: 700; letter-spacing: .05em; text-transform: uppercase;
  padding: 0 6px; border: 1.5px solid var(--ink); border-radius: 4px; color: var(--ink); }
.problem { color: #9b1c1c; font-size: 13.5px; margin: 6px 0 0; }
table.meta th { text-align: left; font-weight: 600; width: 22%; padding: 5px 10px 5px 0; vertical-align: top;
  border-bottom: 1px solid var(--line); }
table.meta td { padding: 5px 0; border-bottom: 1px solid var(--line); font-size: 13.5px; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
footer { color: var(--muted); font-size: 12px; text-align: center; }
@media print { body { background: #fff; } section { break-inside: avoid; } }
"""


def render_eval_report(result: EvalResult, title: str = "LM Scales evaluation", *,
                       task_parts: Mapping[str, str] | None = None, after_tasks: str = "", css: str = "") -> str:
    """The whole report as one HTML document (see the module docstring). What the decision adds
    (`lmscales.core.decision.report_html`, which calls this): `task_parts`, HTML after each task's charts by task
    name; `after_tasks`, HTML after the tasks' sections; `css`, their style."""
    figures = [(task, task_figures(task)) for task in result.tasks]
    side_names = " · ".join(f'<b class="{_e(info.slot)}">{_e(info.slot)}</b>: {_e(info.label)}'
                            for info in result.sides)
    verdicts = "".join(f"<li><b>{_e(TASK_TITLES.get(task.task, task.task))}.</b> {_e(fig.verdict)}</li>"
                       for task, fig in figures)
    sections = "".join(_task_section(task, fig, result, (task_parts or {}).get(task.task, ""))
                       for task, fig in figures)
    return html_page(title, (
        f'<h1>{_e(title)}</h1><p class="sides">{side_names} · {_e(result.metadata.created)}</p>'
        f'<section class="summary"><h2>Verdict</h2><ul>{verdicts}</ul></section>'
        f'<section class="tradeoff"><h2>What size buys</h2>{quality_cost_svg(result, figures)}'
        f'<p class="sub">{_e(cost_axis(result, figures).caption)}</p></section>'
        f"{sections}{after_tasks}{_metadata(result)}{method_card_section(result.method)}"
    ), METHOD_CSS + css)


def html_page(title: str, body: str, css: str = "") -> str:
    """A whole self-contained document around `body` (already HTML): the report's style (plus `css`), a policy
    that lets it load nothing, and the footer that says so."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        f"<title>{_e(title)}</title><style>{CSS}{css}</style></head><body><main>{body}"
        "<footer>Made by LM Scales. Self-contained: no script, nothing loaded from the network.</footer>"
        "</main></body></html>\n"
    )
