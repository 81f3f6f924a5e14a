"""`fw2np lint`: shadowed, redundant, conflicting and risky rules of a ruleset input."""

from __future__ import annotations

import json
import sys

import click

from .options import (
    CSV_COLUMNS_HELP,
    columns_option,
    format_option,
    from_option,
    host_option,
    inventory_option,
    ruleset_option,
)


@click.command()
@click.argument("rules", type=click.Path(dir_okay=False))
@inventory_option("Inventory YAML (without it: every address is external; pod checks are skipped).")
@format_option()
@from_option()
@ruleset_option("Lint only this ruleset (default: every ruleset of the input).")
@host_option("Inventory workload whose INPUT/OUTPUT rules the input holds.")
@columns_option(CSV_COLUMNS_HELP)
@click.pass_context
def lint(ctx, rules, inventory, fmt, source_format, ruleset_name, host, columns):
    """Find shadowed, redundant, conflicting and risky rules in RULES, exactly.

    Exit 0: no warnings; 1: some warning; 2: bad input."""
    from ..frontends import load
    from ..frontends.select import frontend_options, load_inventory, pick
    from ..io.safe_text import escaped
    from ..lint.workers import lint_each
    from ..model.inventory import Inventory

    inv = load_inventory(inventory) if inventory else None
    if host and inv is None:
        raise click.UsageError("--host needs --inventory")
    rulesets = load(rules, source_format, **frontend_options(inv or Inventory(source=""), host, columns))
    if ruleset_name:
        rulesets = [pick(rulesets, ruleset_name)]
    reports = list(zip(rulesets, lint_each(rulesets, inv)))
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
            sys.stdout.write(f"ruleset {escaped(rs.name)}: {len(rs.rules)} rules, {len(fs)} findings\n")
            for f in fs:
                sys.stdout.write(f"{f}\n")
    ctx.exit(1 if any(f.severity == "warning" for _, fs in reports for f in fs) else 0)
