"""`fw2np convert`: one ruleset input compiled to NetworkPolicy manifests."""

from __future__ import annotations

import sys

import click

from .options import (
    columns_option,
    format_option,
    from_option,
    host_option,
    inventory_option,
    output_file_option,
    quiet_option,
    ruleset_option,
)


@click.command()
@click.argument("rules", type=click.Path(dir_okay=False))
@inventory_option(required=True)
@output_file_option("Write all manifests to this file.")
@click.option("-d", "--dir", "outdir", type=click.Path(file_okay=False), help="Write one file per namespace here.")
@format_option(["yaml", "json"], "yaml")
@from_option()
@ruleset_option(
    "Which ruleset, when the input holds several (repeat it for rulesets of different directions).", multiple=True
)
@host_option()
@columns_option("CSV column mapping, e.g. 'src=Source,dst=Destination,service=Service,action=Action'.")
@quiet_option("No summary on stderr.")
def convert(rules, inventory, output, outdir, fmt, source_format, ruleset_names, host, columns, quiet):
    """Compile RULES into NetworkPolicies (YAML on stdout unless -o or -d)."""
    from ..compiler.synth import convert as compile_
    from ..frontends import load
    from ..frontends.select import frontend_options, load_inventory, pick_many
    from ..io.manifests import emit, write_docs, write_per_namespace
    from ..lint.checks import echo_summary

    if output and outdir:
        raise click.UsageError("use -o or -d, not both")
    inv = load_inventory(inventory)
    chosen = pick_many(load(rules, source_format, **frontend_options(inv, host, columns)), ruleset_names)
    results = [compile_(rs, inv) for rs in chosen]
    policies = sorted((p for r in results for p in r.policies), key=lambda p: p["metadata"]["namespace"])
    if outdir:
        write_per_namespace(policies, outdir, fmt)
    elif output:
        write_docs(output, policies, fmt)
    else:
        emit(policies, fmt, sys.stdout)
    if not quiet:
        _summaries(results, inv, echo_summary)


def _summaries(results, inv, echo_summary) -> None:
    """The summary of each ruleset, with its lint findings. The output is already written then, so
    FW2NP_TIME_LIMIT reached in the lint only skips the rest of the lint, with a note (exit 0)."""
    from ..limits import TimeLimit, time_limit

    stopped = False
    for result in results:
        try:
            _summary(result)
            if not stopped:
                echo_summary(result, inv)
        except TimeLimit:  # the alarm fires once: what follows is not bounded, so no more lint
            stopped = True
            click.echo(
                f"fw2np: note: lint in the summary stopped at the time limit ({time_limit()} s, bound "
                "FW2NP_TIME_LIMIT) and was skipped; the output is complete; run `fw2np lint` for the findings",
                err=True,
            )


def _summary(result) -> None:
    """Counts, warnings and findings on stderr; values from the input are shown escaped (io.safe_text)."""
    from ..io.safe_text import escaped

    st = result.stats
    folded = f"{st['folded']} folded into others (jumps, RETURN, goto_next), " if st["folded"] else ""
    click.echo(
        f"fw2np: {escaped(result.ruleset.name)}: {st['lines']} rule lines seen, {st['rules']} rules read, "
        f"{st['skipped']} skipped, {folded}{st['policies']} policies written "
        f"({st['peers']} peers), {len(result.findings)} findings",
        err=True,
    )
    for w in result.ruleset.warnings:
        click.echo(f"  {escaped(w)}", err=True)
    for f in result.findings:
        click.echo(f"  {escaped(f)}", err=True)
