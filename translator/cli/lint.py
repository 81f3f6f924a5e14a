"""`fw2np lint`: shadowed, redundant, conflicting and risky rules of a ruleset input."""

from __future__ import annotations

import json
import sys

import click

from ..io.safe_text import escaped
from .options import (
    CSV_COLUMNS_HELP,
    columns_option,
    format_option,
    from_option,
    host_option,
    inventory_option,
    ruleset_option,
)
from .progress import progress_for, progress_option
from .summary import findings_option, lint_items, plural, write_findings


@click.command()
@click.argument("rules", type=click.Path(dir_okay=False))
@inventory_option("Inventory YAML (without it: every address is external; pod checks are skipped).")
@format_option()
@from_option()
@ruleset_option("Lint only this ruleset (default: every ruleset of the input).")
@host_option("Inventory workload whose INPUT/OUTPUT rules the input holds.")
@columns_option(CSV_COLUMNS_HELP)
@findings_option()
@progress_option()
@click.pass_context
def lint(ctx, rules, inventory, fmt, source_format, ruleset_name, host, columns, definitions, findings, progress):
    """Find shadowed, redundant, conflicting and risky rules in RULES, exactly.

    Exit 0: no warnings; 1: some warning; 2: bad input."""
    from ..frontends import load
    from ..frontends.select import frontend_options, load_inventory, pick
    from ..lint.workers import lint_each
    from ..model.inventory import Inventory

    with progress_for(force=progress) as shown:
        shown.phase("parse")
        inv = load_inventory(inventory) if inventory else None
        if host and inv is None:
            raise click.UsageError("--host needs --inventory")
        rulesets = load(
            rules, source_format, **frontend_options(inv or Inventory(source=""), host, columns, definitions)
        )
        if ruleset_name:
            rulesets = [pick(rulesets, ruleset_name)]
        shown.detail(f"{plural(len(rulesets), 'ruleset')}, {plural(sum(len(r.rules) for r in rulesets), 'rule')}")
        shown.phase("lint")
        reports = list(zip(rulesets, lint_each(rulesets, inv)))
        shown.detail(plural(sum(len(fs) for _, fs in reports), "finding"))
    if findings:
        write_findings(findings, [(rs.name, lint_items(fs)) for rs, fs in reports])
    if fmt == "json":
        doc = {
            "input": rules,
            "inventory": inventory,
            "rulesets": [
                {"name": rs.name, "rules": len(rs.rules), "findings": [f.to_dict() for f in fs]} for rs, fs in reports
            ],
        }
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        for rs, fs in reports:
            sys.stdout.write(
                f"ruleset {escaped(rs.name)}: {plural(len(rs.rules), 'rule')}, {plural(len(fs), 'finding')}\n"
            )
            for f in fs:
                sys.stdout.write(f"{f}\n")
    ctx.exit(1 if any(f.severity == "warning" for _, fs in reports for f in fs) else 0)
