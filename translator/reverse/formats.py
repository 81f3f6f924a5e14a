"""Render a reverse FirewallTable: terminal text, Markdown, CSV, HTML (templates/reverse*).

Every value shown comes from the policies and the inventory (labels, names, annotations), so
each is passed through io.safe_text.escaped first: no newline, ESC sequence or bidi override
reaches the output, in any format.  Markdown cells also escape pipes and markup, HTML is
autoescaped, and a CSV cell that a spreadsheet would read as a formula (starting with =, +, -,
@) gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..io.resources import templates_dir
from ..io.safe_text import escaped
from .table import COLUMNS, FirewallTable

FORMATS = ("table", "markdown", "csv", "html", "rules")
TEMPLATES = {"table": "reverse_table.txt.j2", "markdown": "reverse.md.j2", "html": "reverse.html.j2"}
SHOWN = ("action", "source", "destination", "service", "policy")
# columns are padded to their longest cell up to this width; a longer cell pushes the rest of its row
# (padding every row to a cell of thousands of peers made the text rows x that cell long)
MAX_WIDTH = 60


def _md(text) -> str:
    """A Markdown table cell: pipes, markup characters and newlines made harmless."""
    out = escaped(text).replace("\\", "\\\\").replace("|", "\\|")
    for ch in "<>*_`[]":
        out = out.replace(ch, "\\" + ch)
    return out


def environment(html: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md
    return env


def _groups(table: FirewallTable) -> list:
    """[(target, [(direction, [row as a dict of escaped cells])])], in table order."""
    out = []
    for target, rows in table.targets():
        blocks: dict[str, list[dict]] = {}
        for r in rows:
            blocks.setdefault(escaped(r.direction), []).append({c: escaped(getattr(r, c)) for c in COLUMNS})
        out.append((escaped(target), list(blocks.items())))
    return out


def _policies(table: FirewallTable) -> list[dict]:
    return [
        {
            "namespace": escaped(p.namespace),
            "name": escaped(p.name),
            "annotations": {escaped(k): escaped(v) for k, v in (p.annotations or {}).items()},
        }
        for p in table.policies
    ]


def render_table(table: FirewallTable, fmt: str) -> str:
    """TABLE as FMT (table, markdown, csv or html)."""
    if fmt == "csv":
        return to_csv(table)
    groups = _groups(table)
    cells = [row for _, blocks in groups for _, rows in blocks for row in rows]
    widths = {c: min(MAX_WIDTH, max([len(c)] + [len(row[c]) for row in cells])) for c in SHOWN}
    tpl = environment(fmt == "html").get_template(TEMPLATES[fmt])
    notes = [escaped(n) for n in table.notes]
    count = len(table.policies) if table.documents is None else table.documents
    return tpl.render(
        groups=groups,
        columns=SHOWN,
        widths=widths,
        notes=notes,
        policies=_policies(table),
        title=escaped(table.title),
        count=count,
    )


FORMULA = ("=", "+", "-", "@")  # a spreadsheet reads a cell starting with one of these as a formula


def csv_cell(text) -> str:
    """A CSV cell: control characters escaped, a leading formula character defused with an apostrophe."""
    out = escaped(text)
    return "'" + out if out.startswith(FORMULA) else out


def to_csv(table: FirewallTable) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in table.rows:
        w.writerow([csv_cell(c) for c in r.cells()])
    return buf.getvalue()
