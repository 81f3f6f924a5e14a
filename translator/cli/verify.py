"""The `verify` and `explain` commands."""

from __future__ import annotations

import sys

import click

from ..errors import InputError
from .options import columns_option, format_option, from_option, host_option, inventory_option, ruleset_option
from .progress import progress_for, progress_option
from .summary import plural


def _ruleset(
    path: str, fmt: str | None, name: str | None, inv=None, host=None, columns=None, text=None, definitions=None
):
    from ..frontends import load
    from ..frontends.select import frontend_options, pick

    return pick(load(path, fmt, text=text, **frontend_options(inv, host, columns, definitions)), name)


COLUMNS_HELP = "CSV column mapping, e.g. 'src=Source,dst=Destination,service=Service'."
RULESET_HELP = "Which ruleset, when the input holds several."
FROM_HELP = "Ruleset input format (detected when omitted)."


@click.command()
@click.argument("rules", type=click.Path(dir_okay=False))
@click.argument("policies", type=click.Path())
@inventory_option(required=True)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Print at most this many counterexample flows.",
)
@click.option(
    "--only",
    type=click.Choice(["more-permissive", "less-permissive"]),
    help="Only flows the policies allow and the ruleset denies (or the reverse).",
)
@format_option()
@from_option(FROM_HELP)
@ruleset_option(
    "Which ruleset, when the input holds several (repeat it for rulesets of different directions, as convert "
    "takes them).",
    multiple=True,
)
@click.option(
    "--no-approximations",
    "skip_approx",
    is_flag=True,
    help="Do not compile the ruleset to find the compiler's approximations (faster on big rulesets); "
    "every less-permissive difference is then unreported.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on any difference, reported approximations too.")
@host_option()
@columns_option(COLUMNS_HELP)
@progress_option()
@click.pass_context
def verify(
    ctx,
    rules,
    policies,
    inventory,
    limit,
    only,
    fmt,
    source_format,
    ruleset_names,
    skip_approx,
    strict,
    host,
    columns,
    definitions,
    progress,
):
    """Prove that POLICIES implement RULES over every flow, or print counterexample flows.

    Exit 0: equivalent, or the only differences deny what the ruleset allows and the compiler reports them
    as approximations; 1: a more-permissive or an unreported difference (--strict: any difference);
    2: bad input."""
    import json

    from ..frontends import load
    from ..frontends.select import frontend_options, load_inventory, pick_many
    from ..model.policies import load_policies
    from ..targets import ALL_KINDS, NETWORKPOLICY, of_ruleset, target_of
    from ..verify.core import direction_part
    from ..verify.core import verify as run
    from ..verify.ordered import verify_target
    from ..verify.report import render_json, render_text

    outs, code = [], 0
    with progress_for(force=progress) as shown:
        shown.phase("parse")
        inv = load_inventory(inventory)
        opts = frontend_options(inv, host, columns, definitions)
        chosen = pick_many(load(rules, source_format, **opts), ruleset_names)
        pols = load_policies(policies, ALL_KINDS)
        target = target_of(pols)
        shown.detail(f"{plural(sum(len(rs.rules) for rs in chosen), 'rule')}, {plural(len(pols), 'policy')}")
        try:
            for rs in chosen:
                if target != NETWORKPOLICY:
                    part = pols if len(chosen) == 1 else of_ruleset(pols, rs)
                    rep, v = verify_target(
                        rs, inv, part, target, limit=limit, only=only, approximations=not skip_approx, progress=shown
                    )
                else:
                    part = pols if len(chosen) == 1 else direction_part(pols, rs.directions)
                    rep, v = run(rs, inv, part, limit=limit, only=only, approximations=not skip_approx, progress=shown)
                outs.append((render_json if fmt == "json" else render_text)(v, rep, len(part)))
                code = max(code, rep.exit_code(strict))
        except ValueError as exc:
            raise InputError(str(exc)) from None
    if len(outs) == 1:
        sys.stdout.write(outs[0])
    elif fmt == "json":
        sys.stdout.write(json.dumps({"rulesets": [json.loads(o) for o in outs]}, indent=2) + "\n")
    else:
        heads = [f"ruleset {rs.name} ({', '.join(rs.directions)}):" for rs in chosen]
        sys.stdout.write("".join(f"{h}\n{o}" for h, o in zip(heads, outs)))
    ctx.exit(code)


@click.command()
@click.argument("source", type=click.Path())
@inventory_option("Inventory YAML (needed for a ruleset and for workload names).")
@click.option("--flow", "flow_text", required=True, help='The flow, e.g. "10.1.0.5 -> staging/app=api tcp/8080".')
@format_option()
@from_option(FROM_HELP)
@ruleset_option(RULESET_HELP)
@host_option()
@columns_option(COLUMNS_HELP)
def explain(source, inventory, flow_text, fmt, source_format, ruleset_name, host, columns, definitions):
    """Decide one flow under SOURCE (a ruleset or NetworkPolicy manifests) and show why."""
    import json
    from pathlib import Path

    from ..frontends.select import load_inventory
    from ..io.text import read_text
    from ..model.policies import load_policies, load_policy_text
    from ..targets import ALL_KINDS, target_of
    from ..verify import explain as ex

    inv = load_inventory(inventory) if inventory else None
    text = None if Path(source).is_dir() else read_text(source)
    policies = not source_format and ex.is_policy_input(source, text)
    if not policies and inv is None:
        raise click.UsageError("explaining a ruleset needs --inventory")
    flow = ex.parse_flow(flow_text, inv)
    try:
        if policies:  # the text read once (SOURCE may be a FIFO)
            pols = load_policies(source, ALL_KINDS) if text is None else load_policy_text(text, source, ALL_KINDS)
            doc = ex.explain_policies(pols, inv, flow, target_of(pols))
            out = ex.render_policies(doc, flow, inv)
        else:
            rs = _ruleset(source, source_format, ruleset_name, inv, host, columns, text, definitions)
            doc = ex.explain_rules(rs, inv, flow)
            out = ex.render_rules(doc, flow, inv)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    sys.stdout.write(json.dumps(doc, indent=2) + "\n" if fmt == "json" else out)
