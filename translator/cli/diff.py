"""`fw2np diff`: what changes between two rulesets or policy sets (or a ruleset and policies)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .options import inventory_option, output_file_option


@click.command()
@click.argument("old", type=click.Path())
@click.argument("new", type=click.Path())
@inventory_option("Inventory YAML: the rows and columns are its workloads.", required=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True,
              help="table (the matrix of differences, then example flows) or csv (the matrix).")  # fmt: skip
@output_file_option("Write here instead of stdout.")
def diff(old, new, inventory, fmt, output):
    """The flows OLD and NEW (each a ruleset, or NetworkPolicy / ordered-target manifests) decide apart:
    a matrix (+: NEW only allows, -: OLD only) and example flows.  Exit 0: no difference; 1: some."""
    from ..frontends import load
    from ..frontends.select import frontend_options, load_inventory, pick
    from ..io.manifests import write_atomic
    from ..io.text import read_text
    from ..model.policies import load_policies, load_policy_text
    from ..targets import ALL_KINDS, target_of
    from ..verify.explain import is_policy_input
    from ..views.diff import Side
    from ..views.diff import diff as run
    from ..views.matrix import to_csv, to_table
    from .reverse import _width

    inv = load_inventory(inventory)

    def side(path: str) -> Side:
        text = None if Path(path).is_dir() else read_text(path)
        name = Path(path).name
        if is_policy_input(path, text):
            pols = load_policies(path, ALL_KINDS) if text is None else load_policy_text(text, path, ALL_KINDS)
            return Side(name, policies=pols, target=target_of(pols))
        return Side(name, rs=pick(load(path, None, text=text, **frontend_options(inv, None, None)), None))

    got = run(inv, side(old), side(new))
    changed = any(v for v in got.matrix.cells.values())
    if fmt == "csv":
        out = to_csv(got.matrix)
    else:
        out = to_table(got.matrix, _width())
        out += (
            "\n" + ("\n".join(f"  {e}" for e in got.examples) if got.examples else "  no flow is decided apart") + "\n"
        )
    if output:
        write_atomic(output, out)
    else:
        sys.stdout.write(out)
    sys.exit(1 if changed else 0)
