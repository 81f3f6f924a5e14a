"""A rule side as the vendor frontends build it (FortiGate, PAN-OS, Check Point): addresses and
unresolved items included, and excluded for a negated cell."""

from __future__ import annotations

from ...model.ruleset import AddrExpr
from ..iptables.convert import addr_items


def side_expr(side: list) -> AddrExpr:
    """[include set, include unresolved items, exclude set, exclude unresolved items] as an AddrExpr (a
    negated cell: everything included, its addresses excluded)."""
    inc, inc_u, exc, exc_u = side
    return AddrExpr(
        (tuple(addr_items(inc)) if inc else ()) + tuple(inc_u), (tuple(addr_items(exc)) if exc else ()) + tuple(exc_u)
    )
