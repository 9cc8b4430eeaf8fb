"""The method card (`lmscales.core.method_card`) as an HTML section of a self-contained report: one labelled
row per field, in the card's fixed order, so two reports from different machines can be read side by side.
Every value is escaped (model names and labels come from users and servers). A definition links to its
section of the docs page; its one-line summary is there too, for a reader who has only the report."""

from __future__ import annotations

from html import escape

from lmscales.core.method_card import DOCS_PAGE, MethodCard, method_rows

CSS = """
section.method table.method th { text-align: left; font-weight: 600; width: 26%; padding: 4px 10px 4px 0;
  vertical-align: top; border-bottom: 1px solid var(--line); font-size: 13.5px; }
section.method table.method td { padding: 4px 0; border-bottom: 1px solid var(--line); font-size: 13.5px;
  overflow-wrap: anywhere; }
section.method tr.group th { padding-top: 14px; font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); border-bottom: 2px solid var(--line); }
section.method td code { font-size: 12px; }
section.method td .ref { color: var(--muted); font: 11.5px ui-monospace, Menlo, Consolas, monospace;
  margin-left: 6px; white-space: nowrap; }
"""

_HEX = frozenset("0123456789abcdef")


def method_card_section(card: MethodCard | None) -> str:
    """The card as a section titled "Method card"; a short note where a result carries none (an older one)."""
    if card is None:
        return ('<section class="method" id="method"><h2>Method card</h2><p class="na">This result carries no '
                "method card.</p></section>")
    rows: list[str] = []
    group = ""
    for row in method_rows(card):
        if row.group != group:
            group = row.group
            rows.append(f'<tr class="group"><th colspan="2">{escape(group)}</th></tr>')
        value = escape(row.value)
        if len(row.value) == 64 and set(row.value) <= _HEX:  # a digest reads best in a fixed-width font
            value = f"<code>{value}</code>"
        if row.link:  # a reference, not a link: the report is a file of its own, far from the docs
            value += f' <span class="ref">{escape(row.link)}</span>'
        rows.append(f"<tr><th>{escape(row.label)}</th><td>{value}</td></tr>")
    return (f'<section class="method" id="method"><h2>Method card <span class="sub">schema {card.schema_version}; '
            f"each figure is defined in {escape(DOCS_PAGE)} of LM Scales</span></h2>"
            f'<table class="method">{"".join(rows)}</table></section>')
