"""`fw2np convert`: one ruleset input compiled to NetworkPolicy manifests."""

from __future__ import annotations

import sys
from contextlib import nullcontext

import click

from ..io.safe_text import escaped
from ..targets import NETWORKPOLICY, TARGETS
from . import summary
from .options import (
    columns_option,
    format_option,
    from_option,
    host_option,
    inventory_option,
    output_file_option,
    output_format,
    quiet_option,
    ruleset_option,
)
from .progress import progress_for, progress_option
from .summary import findings_option, plural


@click.command()
@click.argument("rules", type=click.Path(dir_okay=False))
@inventory_option(required=True)
@output_file_option("Write all manifests to this file.")
@click.option("-d", "--dir", "outdir", type=click.Path(file_okay=False), help="Write one file per namespace here.")
@format_option(["yaml", "json"], None, "yaml or json (default: from -o's extension, .json or .yaml/.yml; else yaml).")
@from_option()
@ruleset_option(
    "Which ruleset, when the input holds several (repeat it for rulesets of different directions).", multiple=True
)
@host_option()
@columns_option("CSV column mapping, e.g. 'src=Source,dst=Destination,service=Service,action=Action'.")
@click.option(
    "--target",
    type=click.Choice(TARGETS, case_sensitive=False),
    default=NETWORKPOLICY,
    show_default=True,
    help="Policy API: networkpolicy (networking.k8s.io/v1), calico (projectcalico.org/v3), cnp "
    "(ClusterNetworkPolicy), anp (AdminNetworkPolicy), cilium (cilium.io/v2).",
)
@quiet_option("No progress and no summary on stderr.")
@findings_option()
@progress_option()
def convert(
    rules,
    inventory,
    output,
    outdir,
    fmt,
    source_format,
    ruleset_names,
    host,
    columns,
    definitions,
    target,
    quiet,
    findings,
    progress,
):
    """Compile RULES into NetworkPolicies, or the --target API's policies (YAML on stdout unless -o or -d)."""
    if output and outdir:
        raise click.UsageError("use -o or -d, not both")
    fmt = output_format(fmt, output)
    with progress_for(quiet, progress) as shown:
        results, inv = _compile(
            rules, inventory, source_format, ruleset_names, host, (columns, definitions), shown, target.lower()
        )
        shown.phase("write", unit="")
        shown.detail(plural(sum(len(r.policies) for r in results), "policy"))
        on_screen = not outdir and output in (None, "-") and sys.stdout.isatty()  # the live line would cut into it
        with shown.hold() if on_screen else nullcontext():
            _write(results, output, outdir, fmt)
        report = _report(results, inv, shown) if findings or not quiet else []
    if findings:
        summary.write_findings(findings, [(r.ruleset.name, found) for r, found, _ in report])
    if not quiet:
        _summaries(report, findings)


def _compile(rules, inventory, source_format, ruleset_names, host, columns, shown, target=NETWORKPOLICY):
    """The inventory, and each chosen ruleset compiled for TARGET; COLUMNS: (--columns, --definitions)."""
    from ..compiler.synth import convert as compile_
    from ..frontends import load
    from ..frontends.select import frontend_options, load_inventory, pick_many
    from ..targets import convert as compile_for

    shown.phase("parse")
    inv = load_inventory(inventory)
    chosen = pick_many(load(rules, source_format, **frontend_options(inv, host, *columns)), ruleset_names)
    shown.detail(", ".join(f"{escaped(rs.name)}: {plural(len(rs.rules), 'rule')}" for rs in chosen))
    if target != NETWORKPOLICY:
        return [compile_for(rs, inv, target, progress=shown) for rs in chosen], inv
    return [compile_(rs, inv, progress=shown) for rs in chosen], inv


def _write(results, output, outdir, fmt) -> None:
    from ..io.manifests import emit, write_docs, write_per_namespace

    policies = sorted((p for r in results for p in r.policies), key=lambda p: p["metadata"].get("namespace") or "")
    if outdir:
        write_per_namespace(policies, outdir, fmt)
    elif output:
        write_docs(output, policies, fmt)
    else:
        emit(policies, fmt, sys.stdout)


def _report(results, inv, shown) -> list:
    """(result, its findings as summary items, a note on its lint) per ruleset. The output is already
    written, so FW2NP_TIME_LIMIT reached in the lint only skips the rest of the lint, with a note (exit 0)."""
    from ..limits import TimeLimit, time_limit

    out, stopped = [], False
    for result in results:
        extra, note = [], ""
        if not stopped:
            shown.phase(f"lint {escaped(result.ruleset.name)}")
            try:
                extra, note = summary.lint_extras(result, inv)
                shown.detail(note or summary.plural(len(extra), "finding"))
            except TimeLimit:  # the alarm fires once: what follows is not bounded, so no more lint
                stopped = True
                click.echo(
                    f"fw2np: note: lint in the summary stopped at the time limit ({time_limit()} s, bound "
                    "FW2NP_TIME_LIMIT) and was skipped; the output is complete; run `fw2np lint` for the findings",
                    err=True,
                )
        if stopped:
            note = "lint stopped at the time limit"
        out.append((result, summary.items(result, extra), note))
    return out


def _summaries(report, findings_file) -> None:
    """The findings by kind, then one line per ruleset: last, so that it does not scroll away."""
    for result, found, _ in report:
        summary.echo(summary.group_lines(result.ruleset.name, found))
    for result, found, note in report:
        prefix = result.stats.get("prefix", result.ruleset.name)
        summary.echo([summary.ruleset_line(result, found, prefix, note, findings_file)])
