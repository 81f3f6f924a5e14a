"""The `batch` and `lint` commands."""

from __future__ import annotations

import json
import os
import signal
import sys

import click

from ..batch.run import LAYOUTS
from .options import (columns_option, format_option, from_option, host_option, inventory_option, quiet_option,
                      ruleset_option)

CSV_COLUMNS_HELP = "CSV column mapping for CSV inputs."


@click.command()
@click.argument("input_dir", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False),
              help="Directory for the manifests (mirroring INPUT_DIR) and report.json / report.html.")
@inventory_option("Inventory YAML for files with no inventory.yaml beside them (or in a folder above).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Files converted in parallel (default: the number of CPUs).")
@click.option("--layout", type=click.Choice(LAYOUTS), default="per-input", show_default=True,
              help="per-input: one manifest per input ruleset; per-namespace: one file per namespace.")
@click.option("--host-map", type=click.Path(dir_okay=False),
              help="YAML mapping 'path glob: workload' for inputs (iptables INPUT/OUTPUT) that protect one host.")
@from_option("Input format of every file (detected per file when omitted).")
@click.option("--exclude", multiple=True, help="Skip files whose relative path matches this glob (repeatable).")
@columns_option(CSV_COLUMNS_HELP)
@quiet_option("No progress output.")
@click.pass_context
def batch(ctx, input_dir, outdir, inventory, jobs, layout, host_map, source_format, exclude, columns, quiet):
    """Convert every firewall export under INPUT_DIR.

    Exit 0: every file converted; 1: some failed (listed, with their errors); 2: bad usage."""
    from ..batch.run import run_batch

    if hasattr(signal, "alarm"):
        signal.alarm(0)  # the time bound applies to each file of a batch, not to the whole run
    tty = sys.stderr.isatty() and not quiet
    workers = jobs or os.cpu_count() or 1
    state: dict = {}

    def on_start(job_list):
        state["total"] = len(job_list)
        state["n"] = 0
        if tty:
            from rich.console import Console
            from rich.progress import Progress

            state["progress"] = Progress(console=Console(stderr=True), transient=False)
            state["progress"].start()
            state["task"] = state["progress"].add_task("converting", total=len(job_list))

    def on_done(rec):
        state["n"] += 1
        if tty:
            state["progress"].advance(state["task"])
            if rec["status"] == "failed":
                state["progress"].console.print(f"FAILED {rec['path']}", markup=False, highlight=False)
        elif not quiet:
            click.echo(f"fw2np batch: [{state['n']}/{state['total']}] {_line(rec)}", err=True)

    try:
        report = run_batch(input_dir, outdir, inventory, workers, layout, host_map, source_format, exclude,
                           columns, on_start=on_start, on_done=on_done)
    finally:
        if "progress" in state:
            state["progress"].stop()
    t = report["totals"]
    if not quiet:
        click.echo(f"fw2np batch: {t['converted']}/{t['files']} files converted, {t['failed']} failed, "
                   f"{t['skipped']} skipped, "
                   f"{t['rulesets']} rulesets, {t['policies']} policies, {t['approximations']} approximations; "
                   f"report in {os.path.join(outdir, 'report.json')}", err=True)
        for f in report["files"]:
            if f["status"] == "failed":
                click.echo(f"  failed: {f['error']}", err=True)
    ctx.exit(0 if t["failed"] == 0 else 1)


def _line(rec: dict) -> str:
    if rec["status"] == "failed":
        return f"{rec['path']}: FAILED: {rec['error'].splitlines()[0]}"
    if rec["status"] == "skipped":
        return f"{rec['path']}: skipped ({rec['reason']})"
    rss = rec["rulesets"]
    return (f"{rec['path']}: ok ({rec['format']}, {len(rss)} ruleset(s), "
            f"{sum(r['policies'] for r in rss)} policies)")


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
    from ..frontends.select import frontend_options, pick
    from ..model.inventory import Inventory, load_inventory
    from ..lint.checks import lint as run

    inv = load_inventory(inventory) if inventory else None
    if host and inv is None:
        raise click.UsageError("--host needs --inventory")
    rulesets = load(rules, source_format, **frontend_options(inv or Inventory(source=""), host, columns))
    if ruleset_name:
        rulesets = [pick(rulesets, ruleset_name)]
    reports = [(rs, run(rs, inv)) for rs in rulesets]
    if fmt == "json":
        doc = {"input": rules, "inventory": inventory,
               "rulesets": [{"name": rs.name, "rules": len(rs.rules), "findings": [f.to_dict() for f in fs]}
                            for rs, fs in reports]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        for rs, fs in reports:
            sys.stdout.write(f"ruleset {rs.name}: {len(rs.rules)} rules, {len(fs)} findings\n")
            for f in fs:
                sys.stdout.write(f"{f}\n")
    ctx.exit(1 if any(f.severity == "warning" for _, fs in reports for f in fs) else 0)
