"""The commands after a frontend, in process, for the hostile fuzzers (issue 22): verify, explain on both
sides and reverse (table and rules) on a loaded ruleset and the policies compiled from it.

The caller's time bound covers them; verify must find no flow the policies allow and the ruleset
denies, and explain no flow the ruleset denies and the policies allow."""

from __future__ import annotations

from translator.compiler.synth import convert
from translator.reverse.formats import render_table
from translator.reverse.rules import reverse_rules
from translator.reverse.table import build_table
from translator.verify.core import verify
from translator.verify.explain import explain_policies, explain_rules, parse_flow


def downstream(rs, inv, flows: tuple[str, ...] = ()) -> None:
    """Compile RS over INV, then verify, explain FLOWS (by default one flow into and one out of the
    inventory's first workload) on the ruleset and on the policies, and reverse the policies (a table, and
    the ruleset language)."""
    policies = convert(rs, inv).policies
    rep, _ = verify(rs, inv, policies, limit=3)
    assert rep.by_direction["more-permissive"] == 0, (rs.name, rep.examples)
    wl = next(iter(inv.workloads))
    for text in flows or (f"203.0.113.9 -> {wl} tcp/80", f"{wl} -> 198.51.100.1 udp/53"):
        flow = parse_flow(text, inv)
        decided = explain_rules(rs, inv, flow)["decision"], explain_policies(policies, inv, flow)["decision"]
        assert decided != ("deny", "allow"), (rs.name, text)  # never wider than the ruleset
    render_table(build_table(policies, inv), "table")
    reverse_rules(policies, inv)
