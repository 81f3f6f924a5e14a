"""Ordered policy targets: Calico, ClusterNetworkPolicy / AdminNetworkPolicy, Cilium.

`ordered.order` reads a ruleset as ordered rules over pod classes and external nets (one model);
each target module renders it for one API and reads that API back:

    kinds(target)                      -> {(apiVersion, kind)} of the documents it writes for TARGET
    build(ordered, prefix, target)     -> [documents]; may add findings to ordered.findings
    evaluator(docs, namespaces, target) -> an object with allows(src, dst, proto, port) -> bool and
                                          explain(src, dst, proto, port) -> dict (evaluate/<name>.py)
    cuts(docs, target)                 -> verify.source.PolicySource: the labels, CIDRs and ports tested
    table(docs, inventory, target)     -> reverse.table.FirewallTable

NetworkPolicy (networking.k8s.io/v1) stays with the compiler (compiler/synth.py).

May import: errors, limits, io, model, compiler.
"""

from __future__ import annotations

from importlib import import_module

NETWORKPOLICY = "networkpolicy"
TARGETS = (NETWORKPOLICY, "calico", "cnp", "anp", "cilium")
MODULES = {"calico": "calico", "cnp": "cnp", "anp": "cnp", "cilium": "cilium"}


def module(target: str):
    """The module of an ordered TARGET."""
    return import_module(f"{__name__}.{MODULES[target]}")


def target_of(docs: list[dict]) -> str:
    """The target the documents are written for (networkpolicy when none is recognised)."""
    found = []
    for doc in docs:
        key = (str(doc.get("apiVersion", "")), str(doc.get("kind", "")))
        for name in TARGETS[1:]:
            mod = module(name)
            if key in mod.kinds(name):
                found.append(name)
                break
    return found[0] if found else NETWORKPOLICY


def convert(rs, inv, target: str, progress=None):
    """RS over INV for ordered TARGET: a compiler.synth.Result (documents, findings, stats)."""
    from ..compiler.synth import Result
    from ..model.names import dns_name
    from .ordered import order

    if progress is not None:
        progress.phase("compile")
    ordered = order(rs, inv)
    prefix = dns_name(rs.name or "fw2np", 40)
    if progress is not None:
        progress.phase("synthesise", None, "")
    docs = module(target).build(ordered, prefix, target)
    if progress is not None:
        progress.phase("findings")
    stats = {
        "rules": len(rs.rules),
        "lines": rs.lines_seen,
        "skipped": len(rs.skipped),
        "folded": rs.folded,
        "policies": len(docs),
        "prefix": prefix,
        "peers": 0,
        "rules_partly_out_of_reach": 0,
        "workloads": len(inv.workloads),
        "namespaces": len(inv.namespaces),
        "target": target,
    }
    from ..compiler.findings import Finding

    findings = [Finding.skipped(k) for k in rs.skipped] + ordered.findings
    return Result(rs, docs, findings, stats)
