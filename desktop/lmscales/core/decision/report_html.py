"""The decision in the HTML evaluation report: per task "Which model for this task" (the advice and its evidence,
a routing table per tag, acceptable answers with their pass rates, money/energy/CPU/time per acceptable answer with
where each figure comes from, the break-even sentence and a chart of monthly cost against volume), and once "Where
only one model was acceptable" (both answers side by side, filterable by task and tag).

`render_report(result, decisions)` is the report with all of it (`eval_report.render_eval_report` plus these
parts). Like the rest of the report it loads nothing: the filter is radio buttons and CSS (`:checked ~`), no script
(the page's policy allows none). Every text from a model, a set or a user is escaped; a figure that is not known
reads "unknown" with its reason, never a number.
"""

from __future__ import annotations

from collections.abc import Sequence

from lmscales.core.decision import wording
from lmscales.core.decision.decide import TaskDecision, decide_all
from lmscales.core.decision.disagreements import Disagreement
from lmscales.core.decision.per_answer import PerAnswerFigure
from lmscales.core.decision.settings import DecisionSettings
from lmscales.core.decision.view_text import CostChart, cost_chart, cost_chart_unknown, pass_rate_text
from lmscales.core.quality.eval_report import MAX_INPUT_CHARS, render_eval_report
from lmscales.core.quality.report_charts import COLOURS, TASK_TITLES, _e, _num, _Scale, answer_block
from lmscales.core.quality.results import SIDES, EvalResult
from lmscales.core.vote_report import CSS as VOTES_CSS
from lmscales.core.vote_report import votes_parts

FIGURE_NAMES = {"money": "money", "energy": "energy", "cpu_time": "CPU time", "time": "time"}
OPEN_PER_TASK = 2  # disagreements shown open per task; the rest are one click away


def _figure_value(value: float, unit: str) -> str:
    if unit in wording.SYMBOLS or (len(unit) == 3 and unit.isupper()):  # a currency code
        return wording.money(value, unit)
    return f"{_num(value)} {unit}"


def _is_estimate(provenance: str) -> bool:
    return "estimat" in provenance.lower()


def _figure_cell(figure: PerAnswerFigure) -> str:
    """Per acceptable answer (per answer below it), marked "~" when estimated, with its provenance and range."""
    provenance = f'<div class="sub">{_e(figure.provenance)}</div>'
    if figure.per_acceptable is None:
        known = (f'<div class="sub">per answer: {_e(_figure_value(figure.per_answer, figure.unit))}</div>'
                 if figure.per_answer is not None else "")
        return (f'<td><b class="na">unknown</b><div class="sub">{_e(figure.reason or "not known")}</div>{known}'
                f"{provenance}</td>")
    marker = "~" if _is_estimate(figure.provenance) and figure.per_acceptable else ""
    low_high = figure.per_acceptable_range
    spread = (f'<div class="sub">range {_e(_figure_value(low_high[0], figure.unit))} to '
              f"{_e(_figure_value(low_high[1], figure.unit))}</div>" if low_high else "")
    per_answer = (f'<div class="sub">per answer: {marker}{_e(_figure_value(figure.per_answer, figure.unit))}</div>'
                  if figure.per_answer is not None else "")
    return (f"<td><b>{marker}{_e(_figure_value(figure.per_acceptable, figure.unit))}</b>{per_answer}{spread}"
            f"{provenance}</td>")


def _per_answer_table(decision: TaskDecision) -> str:
    figures = decision.per_acceptable_answer
    if not all(side in figures for side in SIDES):
        return ""
    rows = ['<table class="figures decision"><thead><tr><th>per acceptable answer</th><th class="small">small</th>'
            '<th class="large">large</th></tr></thead><tbody>']
    notes = {"money": "API price; a side on this computer pays electricity, counted in the break-even"}
    for name, title in FIGURE_NAMES.items():
        note = f'<div class="sub">{notes[name]}</div>' if name in notes else ""
        rows.append(f"<tr><th>{title}{note}</th>"
                    + "".join(_figure_cell(getattr(figures[side], name)) for side in SIDES) + "</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _acceptable(decision: TaskDecision) -> str:
    acceptable = decision.acceptable
    texts = {side: pass_rate_text(side, getattr(acceptable, side)).removeprefix(f"{side}: ") for side in SIDES}
    rates = "".join(f'<li><b class="{side}">{side}</b>: {_e(texts[side])}</li>' for side in SIDES)
    d = acceptable.difference
    difference = ("<li>difference: none can be given (no item was decided on both sides)</li>" if d is None else
                  f"<li>small − large: <b>{_e(wording.signed_points(d.difference))} points</b> (95 % CI "
                  f"{_e(wording.points(d.low, d.high))}) on {d.n} items decided on both sides; {d.small_only} only "
                  f"the small model got right, {d.large_only} only the large one <span class=\"sub\">"
                  f"{_e(d.method)}</span></li>")
    return (f'<h4>Acceptable answers</h4><p class="definition">{_e(acceptable.definition)}</p>'
            f'<ul class="rates">{rates}{difference}</ul>')


def _routing(decision: TaskDecision) -> str:
    if not decision.routing:
        return ""
    rows = "".join(f'<tr><th>{_e(row.tag)}</th><td class="route {_e(row.route)}">{_e(row.route)}</td>'
                   f'<td>{_e(row.advice.headline)}<div class="sub">{_e(row.advice.evidence)}</div></td></tr>'
                   for row in decision.routing)
    return ('<h4>By tag</h4><table class="figures routing"><thead><tr><th>tag</th><th>route</th><th>advice</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>")


def cost_chart_svg(chart: CostChart, currency: str) -> str:
    """Monthly money against monthly volume, one line per side, the user's volume and the crossing marked."""
    width, height, left, right, top, bottom = 580, 280, 70, 530, 36, 226
    x_scale = _Scale([0.0, chart.volumes[-1]], left, right, log=False)
    end = x_scale.high  # the axis ends on a round tick past the data: the straight lines are drawn to it

    def at(values: tuple[float, ...], volume: float) -> float:
        slope = (values[-1] - values[0]) / (chart.volumes[-1] or 1.0)
        return values[0] + slope * volume

    lines = {side: (at(values, 0.0), at(values, end)) for side, values in (("small", chart.small),
                                                                          ("large", chart.large))}
    y_scale = _Scale([0.0, *lines["small"], *lines["large"]], bottom, top, log=False)
    title = "Money a month against volume"
    parts = [f'<svg class="chart cost" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg" aria-label="{title}"><title>{title}</title>',
             f'<text x="8" y="20" class="chart-title">{title}</text>']
    for tick in y_scale.ticks:
        y = y_scale(tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 8}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                     f"{_e(wording.money(tick, currency) if tick else '0')}</text>")
    for tick in x_scale.ticks:
        x = x_scale(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" class="grid"/>'
                     f'<text x="{x:.1f}" y="{bottom + 16}" class="tick" text-anchor="middle">'
                     f"{_e(wording.count(tick))}</text>")
    parts.append(f'<text x="{(left + right) / 2:.0f}" y="{bottom + 36}" class="axis-label" text-anchor="middle">'
                 f"{_e(chart.x_label)}</text>")
    label_y = {side: y_scale(lines[side][1]) - 6 for side in SIDES}
    if abs(label_y["small"] - label_y["large"]) < 14:  # the two labels apart, the higher line's above
        higher, lower = sorted(SIDES, key=lambda side: label_y[side])
        label_y[lower] = label_y[higher] + 16
    for side in SIDES:
        start, stop = lines[side]
        parts.append(f'<polyline points="{x_scale(0.0):.1f},{y_scale(start):.1f} {x_scale(end):.1f},'
                     f'{y_scale(stop):.1f}" fill="none" stroke="{COLOURS[side]}" stroke-width="2.5">'
                     f"<title>{side}</title></polyline>"
                     f'<text x="{right - 4}" y="{label_y[side]:.1f}" class="line-label" '
                     f'text-anchor="end" fill="{COLOURS[side]}">{side}</text>')
    x = x_scale(chart.volume)
    parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" class="you"/>'
                 f'<text x="{x + 4:.1f}" y="{top + 12}" class="tick">your volume: {_e(wording.count(chart.volume))}'
                 "</text>")
    if chart.crossover is not None:
        cx = x_scale(chart.crossover)
        cy = y_scale(at(chart.large, chart.crossover))
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" class="crossing"><title>the lines cross at about '
                     f"{_e(wording.count(chart.crossover))}</title></circle>"
                     f'<text x="{cx + 8:.1f}" y="{cy + 16:.1f}" class="tick">cheaper from here</text>')
    parts.append(f'<text x="16" y="{(top + bottom) / 2:.0f}" class="axis-label" text-anchor="middle" '
                 f'transform="rotate(-90 16 {(top + bottom) / 2:.0f})">{_e(chart.y_label)}</text></svg>')
    return "".join(parts)


def _break_even(decision: TaskDecision) -> str:
    result = decision.break_even
    chart = cost_chart(result)
    drawn = (f'{cost_chart_svg(chart, result.currency)}<p class="sub">{_e(chart.caption)} Each line is the side\'s '
             "fixed money a month (the hardware cost spread over its months, small side only) plus its money per "
             "answer (API price; electricity for a side on this computer) times the volume.</p>"
             if chart is not None else f'<p class="na">{_e(cost_chart_unknown(result))}</p>')
    return f'<h4>Break-even</h4><p class="break-even">{_e(result.sentence)}</p>{drawn}'


def decision_section(decision: TaskDecision) -> str:
    """One task's "Which model for this task"."""
    advice = decision.advice
    count = len(decision.disagreements)
    only_one = (f'<p class="sub">{count} item{"s" * (count != 1)} where only one model was acceptable: see '
                "“Where only one model was acceptable” below.</p>" if count else "")
    return (f'<div class="decision" id="decision-{_e(decision.task)}"><h3>Which model for this task</h3>'
            f'<p class="advice {_e(advice.route)}">Advice: <b>{_e(advice.headline)}</b></p>'
            f'<p class="evidence">{_e(advice.evidence)}</p>{_routing(decision)}{_acceptable(decision)}'
            f"<h4>Per acceptable answer</h4>{_per_answer_table(decision)}{_break_even(decision)}{only_one}</div>")


def _disagreement(d: Disagreement, task_index: int, tag_index: dict[str, int], labels: dict[str, str],
                  opened: bool) -> str:
    classes = " ".join(["dis", f"task-{task_index}", *(f"tag-{tag_index[tag]}" for tag in d.tags)])
    tags = f' · tags: {_e(", ".join(d.tags))}' if d.tags else ""
    why = "; ".join(d.reasons) or "not acceptable by the rule"
    notes = tuple(note for note in d.notes if note not in d.reasons)
    cells = "".join(answer_block(side, labels.get(side, side), d.outputs.get(side, ""),
                                 notes=notes if side == d.failed else (), badge="acceptable" if side == d.passed
                                 else "not acceptable") for side in SIDES)
    input_text = d.input if len(d.input) <= MAX_INPUT_CHARS else d.input[: MAX_INPUT_CHARS - 1] + "…"
    return (f'<details class="{classes}"{" open" if opened else ""}><summary><code>{_e(d.item_id)}</code> · '
            f"{_e(TASK_TITLES.get(d.task, d.task))}{tags} · only <b class=\"{_e(d.passed)}\">{_e(d.passed)}</b> "
            f"acceptable; {_e(d.failed)}: {_e(why)}</summary>"
            f'<div class="input"><span class="label">input</span> {_e(input_text)}</div>'
            f'<div class="pair">{cells}</div></details>')


def _radio_group(name: str, title: str, options: Sequence[tuple[str, str]]) -> str:
    """Radio buttons (siblings of the list, for the CSS filter) with "all" first and checked."""
    radios = [f'<span class="filter-name">{_e(title)}</span>',
              f'<input type="radio" name="{name}" id="{name}-all" checked><label for="{name}-all">all</label>']
    radios += [f'<input type="radio" name="{name}" id="{name}-{key}"><label for="{name}-{key}">{_e(text)}</label>'
               for key, text in options]
    return "".join(radios) + "<br>"


def disagreements_section(decisions: Sequence[TaskDecision], result: EvalResult) -> str:
    """Once per report: every task's items where only one side's answer was acceptable."""
    if not decisions:
        return ""
    found = [(index, d) for index, decision in enumerate(decisions) for d in decision.disagreements]
    head = '<section class="disagreements" id="only-one"><h2>Where only one model was acceptable</h2>'
    if not found:
        return (f'{head}<p>On every item decided on both sides, both answers or neither were acceptable.</p>'
                "</section>")
    tags = list(dict.fromkeys(tag for _, d in found for tag in d.tags))
    tag_index = {tag: index for index, tag in enumerate(tags)}
    labels = {info.slot: info.label for info in result.sides}
    counts = {index: sum(1 for i, _ in found if i == index) for index in range(len(decisions))}
    task_options = [(str(i), f"{TASK_TITLES.get(decisions[i].task, decisions[i].task)} ({counts[i]})")
                    for i in range(len(decisions)) if counts[i]]
    rules = [f"#dis-task-{i}:checked ~ .dis-list .dis:not(.task-{i}) {{ display: none; }}" for i, _ in
             enumerate(decisions)]
    rules += [f"#dis-tag-{i}:checked ~ .dis-list .dis:not(.tag-{i}) {{ display: none; }}" for i in tag_index.values()]
    shown: dict[int, int] = {}
    items = []
    for index, d in found:
        shown[index] = shown.get(index, 0) + 1
        items.append(_disagreement(d, index, tag_index, labels, shown[index] <= OPEN_PER_TASK))
    filters = _radio_group("dis-task", "Task:", task_options)
    if tags:
        filters += _radio_group("dis-tag", "Tag:", [(str(i), tag) for tag, i in tag_index.items()])
    return (f'{head}<p class="sub">Both answers side by side, with why the other was not acceptable. Choose a task '
            f"or a tag to see only its items (no script: the page loads nothing).</p><style>{' '.join(rules)}</style>"
            f'<div class="filters">{filters}<div class="dis-list">{"".join(items)}</div></div></section>')


CSS = """
.decision { border-top: 2px solid var(--line); margin-top: 22px; padding-top: 6px; }
.decision h4 { font-size: 14px; margin: 16px 0 6px; }
.advice { font-size: 17px; margin: 6px 0; padding: 4px 0 4px 12px; border-left: 4px solid var(--muted); }
.advice.small { border-color: var(--small); } .advice.large { border-color: var(--large); }
.evidence, .definition { font-size: 13.5px; color: var(--muted); margin: 4px 0 8px; }
ul.rates { margin: 4px 0; padding-left: 20px; font-size: 14px; } ul.rates b.small { color: var(--small); }
ul.rates b.large { color: var(--large); }
td.route { font-weight: 600; } td.route.small { color: var(--small); } td.route.large { color: var(--large); }
.break-even { font-size: 15px; margin: 4px 0 10px; }
svg .line-label { font: 600 12.5px system-ui, sans-serif; }
svg .you { stroke: var(--ink); stroke-width: 1; stroke-dasharray: 3 3; }
svg .crossing { fill: #fff; stroke: var(--ink); stroke-width: 2; }
.filters input { margin: 0 3px 0 10px; } .filter-name { font-size: 13px; color: var(--muted); }
.dis-list { margin-top: 10px; }
details.dis { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; margin: 0 0 8px; }
details.dis summary { cursor: pointer; font-size: 13.5px; }
details.dis b.small { color: var(--small); } details.dis b.large { color: var(--large); }
"""


def default_settings() -> DecisionSettings:
    """The decision's defaults (no electricity price: a local side's money is unknown, never assumed)."""
    return DecisionSettings()


def render_report(result: EvalResult, decisions: Sequence[TaskDecision] | None = None,
                  title: str = "LM Scales evaluation") -> str:
    """The evaluation report with the decision (`decide_all(result, settings)` under the user's settings; without
    them, `default_settings()`). A run of one side has nothing to decide, and gets the report without it."""
    both = any(set(SIDES) <= set(item.outputs) for task in result.tasks for item in task.items)
    chosen = tuple(decisions) if decisions is not None else decide_all(result, default_settings()) if both else ()
    parts = votes_parts(result)  # a person's blind votes first, beside the judge's figures; then the decision
    for decision in chosen:
        parts[decision.task] = parts.get(decision.task, "") + decision_section(decision)
    return render_eval_report(result, title, task_parts=parts, after_tasks=disagreements_section(chosen, result),
                              css=CSS + VOTES_CSS)
