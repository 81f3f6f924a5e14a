"""`fw2np batch`: every export under a directory converted, with a report."""

from __future__ import annotations

import os
import sys

import click

from .. import limits
from ..batch.run import LAYOUTS
from ..io.safe_text import escaped
from .options import CSV_COLUMNS_HELP, columns_option, from_option, inventory_option, quiet_option


@click.command()
@click.argument("input_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for the manifests (mirroring INPUT_DIR) and report.json / report.html.",
)
@inventory_option("Inventory YAML for files with no inventory.yaml beside them (or in a folder above).")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Files converted in parallel (default: the number of CPUs).",
)
@click.option(
    "--layout",
    type=click.Choice(LAYOUTS),
    default="per-input",
    show_default=True,
    help="per-input: one manifest per input ruleset; per-namespace: one file per namespace.",
)
@click.option(
    "--host-map",
    type=click.Path(dir_okay=False),
    help="YAML mapping 'path glob: workload' for inputs (iptables INPUT/OUTPUT) that protect one host.",
)
@from_option("Input format of every file (detected per file when omitted).")
@click.option("--exclude", multiple=True, help="Skip files whose relative path matches this glob (repeatable).")
@columns_option(CSV_COLUMNS_HELP)
@quiet_option("No progress output.")
@click.pass_context
def batch(ctx, input_dir, outdir, inventory, jobs, layout, host_map, source_format, exclude, columns, quiet):
    """Convert every firewall export under INPUT_DIR.

    Exit 0: every file converted; 1: some failed (listed, with their errors); 2: bad usage."""
    from ..batch.run import run_batch

    limits.cancel_alarm()  # the time bound applies to each file of a batch, not to the whole run
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
                state["progress"].console.print(f"FAILED {escaped(rec['path'])}", markup=False, highlight=False)
        elif not quiet:
            click.echo(f"fw2np batch: [{state['n']}/{state['total']}] {_line(rec)}", err=True)

    try:
        report = run_batch(
            input_dir,
            outdir,
            inventory,
            workers,
            layout,
            host_map,
            source_format,
            exclude,
            columns,
            on_start=on_start,
            on_done=on_done,
        )
    finally:
        if "progress" in state:
            state["progress"].stop()
    t = report["totals"]
    if not quiet:
        click.echo(
            f"fw2np batch: {t['converted']}/{t['files']} files converted, {t['failed']} failed, "
            f"{t['skipped']} skipped, "
            f"{t['rulesets']} rulesets, {t['policies']} policies, {t['approximations']} approximations; "
            f"report in {os.path.join(outdir, 'report.json')}",
            err=True,
        )
        for f in report["files"]:
            if f["status"] == "failed":
                click.echo("  failed: " + "\n".join(escaped(x) for x in f["error"].splitlines()), err=True)
    ctx.exit(0 if t["failed"] == 0 else 1)


def _line(rec: dict) -> str:
    """One file's outcome, its path and error shown escaped (a file name may hold control characters)."""
    path = escaped(rec["path"])
    if rec["status"] == "failed":
        return f"{path}: FAILED: {escaped(rec['error'].splitlines()[0])}"
    if rec["status"] == "skipped":
        return f"{path}: skipped ({rec['reason']})"
    rss = rec["rulesets"]
    return f"{path}: ok ({rec['format']}, {len(rss)} ruleset(s), {sum(r['policies'] for r in rss)} policies)"
