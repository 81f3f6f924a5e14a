"""`fw2np matrix`: what a ruleset or a set of policies allows, workload by workload."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .options import columns_option, from_option, host_option, inventory_option, output_file_option, ruleset_option


@click.command()
@click.argument("source", type=click.Path())
@inventory_option("Inventory YAML: the rows and columns are its workloads.", required=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "dot", "svg"]), default="table", show_default=True,
              help="table (terminal, cells cut to fit), csv (every cell whole), dot (a Graphviz graph), or svg "
                   "(the graph drawn by Graphviz's dot, when installed).")  # fmt: skip
@output_file_option("Write here instead of stdout.")
@from_option("Input format of SOURCE when it is a ruleset (detected when omitted).")
@ruleset_option("Which ruleset, when SOURCE holds several.")
@host_option()
@columns_option("CSV column mapping (for a CSV ruleset).")
def matrix(source, inventory, fmt, output, source_format, ruleset_name, host, columns, definitions):
    """The matrix of SOURCE (a ruleset, or NetworkPolicy / ordered-target manifests): rows are sources,
    columns destinations, each cell the services allowed (`~`: by some of a grouped row or column)."""
    from ..frontends import load
    from ..frontends.select import frontend_options, load_inventory, pick
    from ..io.manifests import write_atomic
    from ..io.text import read_text
    from ..model.policies import load_policies, load_policy_text
    from ..targets import ALL_KINDS, target_of
    from ..verify.explain import is_policy_input
    from ..views.matrix import build, to_csv, to_dot, to_table
    from .reverse import _width

    inv = load_inventory(inventory)
    text = None if Path(source).is_dir() else read_text(source)
    if not source_format and is_policy_input(source, text):
        pols = load_policies(source, ALL_KINDS) if text is None else load_policy_text(text, source, ALL_KINDS)
        m = build(inv, policies=pols, target=target_of(pols))
    else:
        opts = frontend_options(inv, host, columns, definitions)
        rs = pick(load(source, source_format, text=text, **opts), ruleset_name)
        m = build(inv, rs=rs)
    if fmt in ("dot", "svg"):
        out = to_dot(m)
        if fmt == "svg":
            out = _svg(out)
    else:
        out = to_csv(m) if fmt == "csv" else to_table(m, _width())
    if output:
        write_atomic(output, out)
    else:
        sys.stdout.write(out)


def _svg(dot: str) -> str:
    import shutil
    import subprocess

    exe = shutil.which("dot")
    if exe is None:
        raise click.UsageError("--format svg needs Graphviz's dot on the PATH (use --format dot and draw it elsewhere)")
    done = subprocess.run([exe, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise click.ClickException(f"dot failed: {done.stderr.strip()[:500]}")
    return done.stdout
