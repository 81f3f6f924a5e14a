"""Choosing what to load: the inventory, a frontend's options, and which of an input's rulesets to use."""

from __future__ import annotations

from ..errors import InputError


def load_inventory(path: str):
    """The inventory at PATH; a ruleset given as the inventory is named as one (exit 2)."""
    from ..model.inventory import load_inventory as load
    from . import ruleset_format

    return load(path, ruleset_format)


def frontend_options(inv, host, columns, definitions=None) -> dict:
    """Options a frontend may use: the inventory (Azure ASGs), the protected host's legacy addresses, a CSV
    column map, a capirca definitions folder."""
    opts = {"columns": columns, "inventory": inv}
    if definitions:
        opts["definitions"] = definitions
    if host:
        if host not in inv.workloads:
            raise InputError(f"--host: no workload {host!r} in the inventory")
        opts["host_addresses"] = list(inv.workloads[host].addresses)
    return opts


def pick_many(rulesets, names):
    """The rulesets to convert together: named ones, or all when their directions do not overlap."""
    if names:
        chosen = [pick(rulesets, n) for n in dict.fromkeys(names)]
    elif len(rulesets) == 1:
        chosen = rulesets
    else:
        chosen = rulesets
        if overlap(chosen):
            raise InputError(
                f"the input holds {len(rulesets)} rulesets; choose with --ruleset "
                f"({', '.join(r.name for r in rulesets)})"
            )
    clash = overlap(chosen)
    if clash:
        raise InputError(
            f"rulesets {clash[0]} and {clash[1]} both govern {clash[2]}: a NetworkPolicy set cannot "
            "apply two ordered rulesets in series; convert them separately"
        )
    return chosen


def overlap(rulesets):
    """(first ruleset, second ruleset, direction) for two rulesets governing one direction, else None."""
    seen: dict[str, str] = {}
    for rs in rulesets:
        for d in rs.directions:
            if d in seen:
                return seen[d], rs.name, d
            seen[d] = rs.name
    return None


def pick(rulesets, name):
    """The ruleset called NAME, or the only one when NAME is empty."""
    if name:
        for rs in rulesets:
            if rs.name == name:
                return rs
        raise InputError(f"no ruleset named {name!r} (have: {', '.join(r.name for r in rulesets)})")
    if len(rulesets) != 1:
        raise InputError(
            f"the input holds {len(rulesets)} rulesets; choose one with --ruleset "
            f"({', '.join(r.name for r in rulesets)})"
        )
    return rulesets[0]
