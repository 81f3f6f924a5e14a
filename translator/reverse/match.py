"""NetworkPolicies read back: normalised policies and label selectors against pod classes.

A pod class is what the inventory can tell apart (docs/semantics.md): the pods
of one workload, the other pods of a governed namespace, the pods of every
outside namespace.  A selector picks ALL, NONE or SOME of a class.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import product

from ..evaluate.netpol import requirement_holds
from ..model.inventory import NAME_LABEL, Inventory, Workload

ALL, NONE, SOME = "all", "none", "some"
PROTOS = {"TCP": 6, "UDP": 17, "SCTP": 132}


@dataclass(frozen=True)
class Port:
    proto: str
    port: int | str | None = None
    end: int | None = None


@dataclass
class NRule:
    peers: list[dict] | None  # None: every endpoint
    ports: list[Port] | None  # None: every service


@dataclass
class NormalizedPolicy:
    """A NetworkPolicy as reverse reads it: defaults applied, rules as peers and ports."""

    name: str
    namespace: str
    selector: dict
    types: tuple[str, ...]
    ingress: list[NRule]
    egress: list[NRule]
    annotations: dict = field(default_factory=dict)

    def rules(self, direction: str) -> list[NRule]:
        return self.ingress if direction == "ingress" else self.egress


def _rule(obj, key: str) -> NRule:
    obj = obj or {}
    peers = obj.get(key) or None
    ports = [Port(p.get("protocol", "TCP"), p.get("port"), p.get("endPort")) for p in obj.get("ports") or []]
    return NRule(list(peers) if peers else None, ports or None)


def normalize(obj: dict) -> NormalizedPolicy:
    """A checked NetworkPolicy manifest (model.policies) as a NormalizedPolicy; policyTypes inferred as
    Kubernetes does."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    types = spec.get("policyTypes")
    if not types:
        # as the API server defaults it: Egress only when there are egress rules
        types = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    return NormalizedPolicy(
        str(meta.get("name")),
        str(meta.get("namespace", "default")),
        spec.get("podSelector") or {},
        tuple(t.lower() for t in types),
        [_rule(r, "from") for r in spec.get("ingress") or []],
        [_rule(r, "to") for r in spec.get("egress") or []],
        {str(k): str(v) for k, v in ((meta.get("annotations") or {}).items())},
    )


def requirements(sel: dict | None) -> list[tuple[str, str, tuple[str, ...]]]:
    """(key, operator, values) for every condition of a label selector."""
    sel = sel or {}
    out = [(str(k), "In", (str(v),)) for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        out.append((str(e.get("key")), str(e.get("operator")), tuple(str(v) for v in e.get("values") or ())))
    return out


def _holds(op: str, values: tuple, value: str | None) -> bool:
    try:
        return requirement_holds(op, values, value)
    except ValueError:
        return False  # an unknown operator selects nothing (the API rejects it)


def matches(sel: dict | None, labels: dict[str, str]) -> bool:
    return all(_holds(op, vals, labels.get(k)) for k, op, vals in requirements(sel))


def _combine(parts) -> str:
    parts = list(parts)
    if NONE in parts:
        return NONE
    return ALL if all(p == ALL for p in parts) else SOME


@dataclass(frozen=True, eq=False)
class PodClass:
    """A pod class: kind 'workload', 'others' (of a governed namespace) or 'outside'."""

    kind: str
    namespace: str | None = None
    workload: Workload | None = None

    def __post_init__(self):
        object.__setattr__(self, "_hash", hash(self.key))  # classes key many dicts

    def __str__(self) -> str:
        if self.kind == "workload":
            return f"workload {self.workload.name} in namespace {self.namespace}"
        if self.kind == "others":
            return f"other pods in namespace {self.namespace}"
        return "pods of namespaces outside the inventory"

    @property
    def key(self) -> tuple:
        return (self.kind, self.namespace, self.workload.name if self.workload else None)

    def __eq__(self, other) -> bool:
        return isinstance(other, PodClass) and self.key == other.key

    def __hash__(self) -> int:
        return self._hash


def pod_classes(inv: Inventory) -> list[PodClass]:
    out = []
    for ns in sorted(inv.namespaces):
        out += [PodClass("workload", ns, w) for w in sorted(inv.workloads_in(ns), key=lambda w: w.name)]
        out.append(PodClass("others", ns))
    return out + [PodClass("outside")]


def pod_match(sel: dict | None, k: PodClass, inv: Inventory) -> str:
    """How much of class K's pods a podSelector picks (their namespace aside)."""
    reqs = requirements(sel)
    if not reqs:
        return ALL
    if k.kind == "workload":
        return _combine(
            _holds(op, v, k.workload.labels[key]) and ALL or NONE if key in k.workload.labels else SOME
            for key, op, v in reqs
        )
    if k.kind == "others":
        wls = inv.workloads_in(k.namespace)
        if _inside_workloads(reqs, wls):
            return NONE
        singles = {tuple(w.labels.items())[0] for w in wls if len(w.labels) == 1}
        if all(op == "NotIn" and all((key, v) in singles for v in vals) for key, op, vals in reqs):
            return ALL  # every pod with such a label belongs to a workload
    return SOME


def _inside_workloads(reqs, workloads: list[Workload]) -> bool:
    """Is every pod the requirements pick a pod of some workload? (a sufficient check)"""
    choices = []
    for key, op, vals in reqs:
        if op == "In":
            choices.append([(key, v) for v in vals])
    if not choices or len(choices) > 6:
        return False
    for combo in product(*choices):
        labels = dict(combo)
        if len(labels) < len(combo):  # two values for one key: picks nothing
            continue
        if not any(all(labels.get(a) == b for a, b in w.labels.items()) for w in workloads):
            return False
    return True


def ns_match(sel: dict | None, k: PodClass, inv: Inventory) -> str:
    """How much of class K's namespace(s) a namespaceSelector picks."""
    if k.kind != "outside":
        return ALL if matches(sel, inv.namespace_labels(k.namespace)) else NONE
    parts = []
    for key, op, vals in requirements(sel):
        if key != NAME_LABEL or op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            parts.append(SOME)
        elif op == "Exists":
            parts.append(ALL)
        elif op == "DoesNotExist":
            parts.append(NONE)
        elif set(vals) <= set(inv.namespaces):
            parts.append(NONE if op == "In" else ALL)
        else:
            parts.append(SOME)
    return _combine(parts)


def peer_match(peer: dict, policy_ns: str, k: PodClass, inv: Inventory) -> str:
    """How much of class K a from/to peer picks (ipBlocks pick no pods)."""
    if "ipBlock" in peer:
        return NONE
    ns = _ns_part(peer, policy_ns, k, inv)
    if ns == NONE:
        return NONE
    return _combine([ns, pod_match(peer.get("podSelector"), k, inv)])


def _ns_part(peer: dict, policy_ns: str, k: PodClass, inv: Inventory) -> str:
    """How much of class K's namespace a peer (not an ipBlock) picks."""
    if "namespaceSelector" in peer:
        return ns_match(peer.get("namespaceSelector"), k, inv)
    if k.kind == "outside":
        return NONE if policy_ns in inv.namespaces else SOME
    return ALL if k.namespace == policy_ns else NONE


def peer_matches(peer: dict, policy_ns: str, classes: list[PodClass], inv: Inventory) -> dict[PodClass, str]:
    """{class: peer_match(PEER, POLICY_NS, class)} for the CLASSES it picks some or all of; the namespace part
    is decided once per namespace."""
    if "ipBlock" in peer:
        return {}
    by_ns: dict = {}
    out = {}
    for k in classes:
        where = (k.kind == "outside", k.namespace)
        ns = by_ns.get(where)
        if ns is None:
            ns = by_ns[where] = _ns_part(peer, policy_ns, k, inv)
        if ns != NONE:
            m = _combine([ns, pod_match(peer.get("podSelector"), k, inv)])
            if m != NONE:
                out[k] = m
    return out


def peer_key(peer: dict, policy_ns: str) -> str:
    """A key equal for equal peers of one namespace (what peer_match and peer_text read)."""
    return policy_ns + "\0" + json.dumps(peer, sort_keys=True, default=str)


def selects(pol: NormalizedPolicy, k: PodClass, inv: Inventory) -> str:
    """How much of class K policy POL selects."""
    if k.kind == "outside":
        return NONE if pol.namespace in inv.namespaces else SOME
    if k.namespace != pol.namespace:
        return NONE
    return pod_match(pol.selector, k, inv)
