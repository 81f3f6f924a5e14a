"""`fw2np batch`: every export under a directory converted, with a report."""

from __future__ import annotations

import os
import sys

import click

from .. import limits
from ..batch.outtree import MANIFESTS, REPORT_DIR
from ..batch.run import LAYOUTS
from ..io.safe_text import escaped
from ..targets import NETWORKPOLICY, TARGETS
from .options import CSV_COLUMNS_HELP, columns_option, from_option, inventory_option, quiet_option


@click.command()
@click.argument("input_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory: manifests/ (mirroring INPUT_DIR, with a Kustomization) and report/ "
    "(report.json, report.html).",
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
@click.option(
    "--target",
    type=click.Choice(TARGETS, case_sensitive=False),
    default=NETWORKPOLICY,
    show_default=True,
    help="Policy API of every file's output (as convert --target).",
)
@quiet_option("No progress bar and no summary.")
@click.pass_context
def batch(
    ctx,
    input_dir,
    outdir,
    inventory,
    jobs,
    layout,
    host_map,
    source_format,
    exclude,
    columns,
    definitions,
    target,
    quiet,
):
    """Convert every firewall export under INPUT_DIR.

    Exit 0: every file converted; 1: some failed (listed, with their errors); 2: bad usage."""
    from ..batch.run import run_batch

    limits.cancel_alarm()  # the time bound applies to each file of a batch, not to the whole run
    bar = None
    if sys.stderr.isatty() and not quiet:  # a terminal: a bar; elsewhere only the summary
        from .batch_progress import BatchProgress

        bar = BatchProgress()
    try:
        report = run_batch(
            input_dir,
            outdir,
            inventory,
            jobs or os.cpu_count() or 1,
            layout,
            host_map,
            source_format,
            exclude,
            columns,
            on_start=(lambda js: bar.start(len(js))) if bar else None,
            on_done=bar.done if bar else None,
            on_begin=(lambda job: bar.begin(job.rel)) if bar else None,
            target=target.lower(),
            definitions=definitions,
        )
    finally:
        if bar:
            bar.stop()
    t = report["totals"]
    if not quiet:
        click.echo(
            f"fw2np batch: {t['converted']}/{t['files']} files converted, {t['failed']} failed, "
            f"{t['skipped']} skipped, "
            f"{t['rulesets']} rulesets, {t['policies']} policies, {t['approximations']} approximations; "
            f"manifests in {os.path.join(outdir, MANIFESTS)}, "
            f"report in {os.path.join(outdir, REPORT_DIR, 'report.json')}",
            err=True,
        )
        for f in report["files"]:
            if f["status"] == "failed":
                click.echo("  failed: " + "\n".join(escaped(x) for x in f["error"].splitlines()), err=True)
    ctx.exit(0 if t["failed"] == 0 else 1)
