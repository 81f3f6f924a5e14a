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
CALICO, NPAPI_V2, NPAPI_V1, CILIUM = (
    "projectcalico.org/v3",
    "policy.networking.k8s.io/v1alpha2",
    "policy.networking.k8s.io/v1alpha1",
    "cilium.io/v2",
)
# (apiVersion, kind) of the documents each target writes and reads
KINDS = {
    "calico": {(CALICO, k) for k in ("GlobalNetworkPolicy", "NetworkPolicy", "GlobalNetworkSet", "NetworkSet")},
    "cnp": {(NPAPI_V2, "ClusterNetworkPolicy")},
    "anp": {(NPAPI_V1, "AdminNetworkPolicy"), (NPAPI_V1, "BaselineAdminNetworkPolicy")},
    "cilium": {(CILIUM, "CiliumNetworkPolicy"), (CILIUM, "CiliumClusterwideNetworkPolicy")},
}
ALL_KINDS = frozenset(k for ks in KINDS.values() for k in ks)


def module(target: str):
    """The module of an ordered TARGET."""
    return import_module(f"{__name__}.{MODULES[target]}")


def target_of(docs: list[dict]) -> str:
    """The target the documents are written for (networkpolicy when none is recognised)."""
    found = {name for doc in docs for name, ks in KINDS.items() if (doc.get("apiVersion"), doc.get("kind")) in ks}
    if len(found) > 1:
        from ..errors import InputError

        raise InputError(f"the documents are written for several targets ({', '.join(sorted(found))}): verify one")
    return found.pop() if found else NETWORKPOLICY


def of_ruleset(docs: list[dict], rs) -> list[dict]:
    """The documents written for ruleset RS (labelled with its name prefix); all of them when none is."""
    from ..model.names import dns_name

    prefix = dns_name(rs.name or "fw2np", 40)
    mine = [d for d in docs if ((d.get("metadata") or {}).get("labels") or {}).get(RULESET_LABEL) == prefix]
    return mine or docs


RULESET_LABEL = "fw2np.io/ruleset"


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
        "peers": sum(_rules_in(d) for d in docs),
        "unit": "rule",
        "rules_partly_out_of_reach": 0,
        "workloads": len(inv.workloads),
        "namespaces": len(inv.namespaces),
        "target": target,
    }
    from ..compiler.findings import Finding

    findings = [Finding.skipped(k) for k in rs.skipped] + ordered.findings
    return Result(rs, docs, findings, stats)


RULE_LISTS = ("ingress", "egress", "ingressDeny", "egressDeny")


def _rules_in(doc: dict) -> int:
    """The rules a document holds (every rule list of its spec, or of each of its specs)."""
    specs = [doc.get("spec") or {}] + list(doc.get("specs") or [])
    return sum(len(s.get(k) or []) for s in specs if isinstance(s, dict) for k in RULE_LISTS)
