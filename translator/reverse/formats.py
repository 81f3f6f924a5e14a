"""Render a reverse FirewallTable: terminal text, Markdown, CSV, HTML (templates/reverse*)."""

from __future__ import annotations

import csv
import io

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..io.resources import templates_dir
from .table import COLUMNS, FirewallTable

FORMATS = ("table", "markdown", "csv", "html", "rules")
TEMPLATES = {"table": "reverse_table.txt.j2", "markdown": "reverse.md.j2", "html": "reverse.html.j2"}
SHOWN = ("action", "source", "destination", "service", "policy")


def _md(text) -> str:
    """A Markdown table cell: pipes, markup characters and newlines made harmless."""
    out = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
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
    out = []
    for target, rows in table.targets():
        blocks: dict[str, list[dict]] = {}
        for r in rows:
            blocks.setdefault(r.direction, []).append({c: getattr(r, c) for c in COLUMNS})
        out.append((target, list(blocks.items())))
    return out


def render_table(table: FirewallTable, fmt: str) -> str:
    """TABLE as FMT (table, markdown, csv or html)."""
    if fmt == "csv":
        return to_csv(table)
    widths = {c: max([len(c)] + [len(getattr(r, c)) for r in table.rows]) for c in SHOWN}
    tpl = environment(fmt == "html").get_template(TEMPLATES[fmt])
    return tpl.render(groups=_groups(table), columns=SHOWN, widths=widths, notes=table.notes, policies=table.policies)


def to_csv(table: FirewallTable) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in table.rows:
        w.writerow(r.cells())
    return buf.getvalue()
