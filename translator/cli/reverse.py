"""`fw2np reverse`: NetworkPolicies shown as firewall tables."""

from __future__ import annotations

import os
import sys

import click

from ..errors import InputError
from ..reverse.formats import FORMATS
from .options import format_option, inventory_option, output_file_option
from .progress import progress_for, progress_option
from .summary import plural

TARGET_TITLES = {
    "calico": "Calico policies",
    "cnp": "ClusterNetworkPolicies",
    "anp": "AdminNetworkPolicies",
    "cilium": "Cilium policies",
}
REVERSE_EXTENSIONS = {".md": "markdown", ".csv": "csv", ".html": "html", ".htm": "html", ".fw": "rules"}


@click.command()
@click.argument("policies", type=click.Path())
@inventory_option("Inventory YAML: name workloads, group pods by workload (needed for --format rules).")
@format_option(
    (*FORMATS, "matrix", "matrix-csv"),
    None,
    "table (terminal), markdown, csv, html, rules (the fw2np ruleset language), or matrix / matrix-csv "
    "(workload by workload, needs --inventory); default: from -o's extension (.md, .csv, .html, .fw), else table.",
)
@click.option(
    "--objects",
    type=click.Path(dir_okay=False),
    help="For --format rules: a ruleset whose address objects give the inventory's object names.",
)
@output_file_option("Write here instead of stdout.")
@progress_option()
def reverse(policies, inventory, fmt, objects, output, progress):
    """Render the NetworkPolicies in POLICIES (file or directory) as an ordered firewall table."""
    from ..frontends.select import load_inventory
    from ..io.manifests import write_atomic
    from ..io.safe_text import escaped
    from ..model.policies import load_policies
    from ..targets import ALL_KINDS, NETWORKPOLICY, target_of

    fmt = fmt or REVERSE_EXTENSIONS.get(os.path.splitext(output or "")[1].lower(), "table")
    if fmt == "rules" and not inventory:
        raise click.UsageError(
            "--format rules needs --inventory: the ruleset language addresses workloads by their legacy addresses"
        )
    if fmt.startswith("matrix") and not inventory:
        raise click.UsageError(f"--format {fmt} needs --inventory: its rows and columns are the inventory's workloads")
    with progress_for(force=progress) as shown:
        shown.phase("parse")
        objs = load_policies(policies, ALL_KINDS)
        inv = load_inventory(inventory) if inventory else None
        shown.detail(plural(len(objs), "policy"))
        shown.phase("render")
        target = target_of(objs)
        if target != NETWORKPOLICY and fmt == "rules":
            raise click.UsageError(f"--format rules reads NetworkPolicies only; these are {target} documents")
        text, approximations = _render(objs, inv, fmt, objects, target)
    for a in approximations:
        click.echo(f"fw2np: approximation: {escaped(a)}", err=True)
    if output:
        write_atomic(output, text)
    else:
        sys.stdout.write(text)


def _render(objs, inv, fmt, objects, target="networkpolicy") -> tuple[str, list]:
    """The text of OBJS in FMT, and the approximations of --format rules."""
    from ..reverse.formats import render_table

    if fmt.startswith("matrix"):
        from ..views.matrix import build, to_csv, to_table

        m = build(inv, policies=objs, target=target)
        return (to_csv(m) if fmt == "matrix-csv" else to_table(m, _width())), []

    if target != "networkpolicy":
        from ..targets import module

        try:
            table = module(target).table(objs, inv, target)
            table.title, table.documents = TARGET_TITLES[target], len(objs)
            return render_table(table, fmt), []
        except ValueError as exc:
            raise InputError(str(exc)) from None
    if fmt == "rules":
        from ..reverse.rules import reverse_rules

        return reverse_rules(objs, inv, objects)
    from ..reverse.table import build_table

    return render_table(build_table(objs, inv), fmt), []


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((160, 40)).columns
