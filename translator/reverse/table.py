"""NetworkPolicies shown as an ordered firewall table (fw2np reverse).

Per target (the pods a set of policies selects) and direction: the allow rows
of every selecting policy, then the cleanup deny row where the target is
isolated, or one 'allow everything' row where it is not.  With an inventory the
targets are its pod classes (workloads, other pods of a namespace): the union
of the policies that select a class is then exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.inventory import NAME_LABEL, Inventory
from .match import (
    ALL,
    SOME,
    NormalizedPolicy,
    Port,
    normalize,
    peer_key,
    peer_matches,
    pod_classes,
    requirements,
    selects,
)

COLUMNS = ("target", "direction", "action", "source", "destination", "service", "policy")
DIRECTIONS = ("ingress", "egress")


@dataclass
class Row:
    target: str
    direction: str
    action: str
    source: str
    destination: str
    service: str
    policy: str

    def cells(self) -> list[str]:
        return [getattr(self, c) for c in COLUMNS]


@dataclass
class FirewallTable:
    """The policies as an ordered firewall table: rows, notes, and the policies read."""

    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    policies: list[NormalizedPolicy] = field(default_factory=list)
    title: str = "NetworkPolicies"  # what the documents are, for the heading
    documents: int | None = None  # how many were read (None: len(policies))

    def targets(self) -> list[tuple[str, list[Row]]]:
        """Rows grouped by target, in table order."""
        out: dict[str, list[Row]] = {}
        for r in self.rows:
            out.setdefault(r.target, []).append(r)
        return list(out.items())


# --- words ---------------------------------------------------------------------


def _values(vals) -> str:
    return ", ".join(vals)


def selector_text(sel: dict | None) -> str:
    """'app=db, tier in (a, b), without label x'; '' for the empty selector."""
    parts = []
    for key, op, vals in requirements(sel):
        if op == "In" and len(vals) == 1:
            parts.append(f"{key}={vals[0]}")
        elif op == "In":
            parts.append(f"{key} in ({_values(vals)})")
        elif op == "NotIn":
            parts.append(f"{key} not in ({_values(vals)})")
        elif op == "Exists":
            parts.append(f"with label {key}")
        elif op == "DoesNotExist":
            parts.append(f"without label {key}")
        else:
            parts.append(f"{key} {op} ({_values(vals)})")
    return ", ".join(parts)


def namespaces_text(sel: dict | None) -> str:
    reqs = requirements(sel)
    if not reqs:
        return "all namespaces"
    if len(reqs) == 1 and reqs[0][0] == NAME_LABEL and reqs[0][1] == "In":
        vals = reqs[0][2]
        return f"namespace {vals[0]}" if len(vals) == 1 else f"namespaces {_values(vals)}"
    return f"namespaces {selector_text(sel)}"


def pods_text(sel: dict | None, where: str) -> str:
    text = selector_text(sel)
    return f"pods {text} in {where}" if text else f"all pods in {where}"


def cidr_name(cidr, inv: Inventory | None) -> str:
    """CIDR, named after the cluster's pod or service CIDR when it is one."""
    text = str(cidr)
    if inv is not None:
        if text in inv.pod_cidrs:
            return f"cluster pods ({text})"
        if text in inv.service_cidrs:
            return f"cluster services ({text})"
    return text


def peer_text(peer: dict, policy_ns: str, inv: Inventory | None = None) -> str:
    if "ipBlock" in peer:
        b = peer["ipBlock"] or {}
        exc = [cidr_name(e, inv) for e in b.get("except") or []]
        return cidr_name(b.get("cidr"), inv) + (f" except {', '.join(exc)}" if exc else "")
    if "namespaceSelector" in peer:
        where = namespaces_text(peer.get("namespaceSelector"))
        if where == "all namespaces" and not requirements(peer.get("podSelector")):
            return "all pods"
        return pods_text(peer.get("podSelector"), where)
    return pods_text(peer.get("podSelector"), f"namespace {policy_ns}")


def port_text(p: Port) -> str:
    proto = str(p.proto).lower()
    if p.port is None:
        return f"{proto}/any"
    if isinstance(p.port, str):
        return f"{proto}/{p.port} (named port)"
    return f"{proto}/{p.port}-{p.end}" if p.end else f"{proto}/{p.port}"


def services_text(ports: list[Port] | None) -> str:
    return "any service" if ports is None else ", ".join(port_text(p) for p in ports)


# --- peers with an inventory ------------------------------------------------------


class _Namer:
    """Names peers after the inventory's pod classes when they pick whole classes."""

    def __init__(self, inv: Inventory | None):
        self.inv = inv
        self.classes = pod_classes(inv) if inv else []
        self._named: dict[str, str] = {}  # peer_key -> its text (a peer recurs in many rules and targets)

    def peer(self, peer: dict, policy_ns: str) -> str:
        if not self.inv or "ipBlock" in peer:
            return peer_text(peer, policy_ns, self.inv)
        try:
            key = peer_key(peer, policy_ns)
        except (TypeError, ValueError):  # an unchecked manifest's odd keys: no memo
            return self._name(peer, policy_ns)
        text = self._named.get(key)
        if text is None:
            text = self._named[key] = self._name(peer, policy_ns)
        return text

    def _name(self, peer: dict, policy_ns: str) -> str:
        text = peer_text(peer, policy_ns, self.inv)
        got = peer_matches(peer, policy_ns, self.classes, self.inv)  # the classes it picks some or all of
        if SOME in got.values():
            return text
        picked = [k for k, m in got.items() if m == ALL]
        if len(picked) == 1 and picked[0].kind == "workload":
            return str(picked[0])
        return text

    def peers(self, peers: list[dict] | None, policy_ns: str) -> str:
        if peers is None:
            return "any"
        return " or ".join(self.peer(p, policy_ns) for p in peers)


# --- the table --------------------------------------------------------------------


def _rows(target: str, direction: str, pols: list[tuple[NormalizedPolicy, str]], namer: _Namer) -> list[Row]:
    """Rows for one target and direction; POLS: (policy, note) pairs selecting it."""
    typed = [(p, note) for p, note in pols if direction in p.types]
    if not typed:
        any_row = ("any", target) if direction == "ingress" else (target, "any")
        return [Row(target, direction, "allow", *any_row, "any service", f"(not isolated for {direction})")]
    out = []
    for p, note in typed:
        for r in p.rules(direction):
            other = namer.peers(r.peers, p.namespace)
            src, dst = (other, target) if direction == "ingress" else (target, other)
            out.append(Row(target, direction, "allow", src, dst, services_text(r.ports), p.name + note))
    any_row = ("any", target) if direction == "ingress" else (target, "any")
    names = ", ".join(p.name + note for p, note in typed)
    out.append(Row(target, direction, "deny", *any_row, "any service", f"cleanup (isolated by {names})"))
    return out


def build_table(objs: list[dict], inv: Inventory | None = None) -> FirewallTable:
    """The firewall table for policy manifests OBJS (checked by policyio)."""
    pols = [normalize(o) for o in objs]
    namer = _Namer(inv)
    table = FirewallTable([], policies=pols)
    if inv is None:
        _by_selector(pols, namer, table)
    else:
        _by_class(pols, inv, namer, table)
    return table


def _canon(sel: dict) -> tuple:
    return tuple(sorted((k, op, tuple(sorted(v))) for k, op, v in requirements(sel)))


def _by_selector(pols: list[NormalizedPolicy], namer: _Namer, table: FirewallTable) -> None:
    groups: dict[tuple, list[NormalizedPolicy]] = {}
    for p in pols:
        groups.setdefault((p.namespace, _canon(p.selector)), []).append(p)
    targets = []
    for (ns, _), group in sorted(groups.items()):
        target = pods_text(group[0].selector, f"namespace {ns}")
        targets.append((ns, group[0].selector, target))
        for d in DIRECTIONS:
            table.rows += _rows(target, d, [(p, "") for p in group], namer)
    for i, (ns, a, ta) in enumerate(targets):
        for nb, b, tb in targets[i + 1 :]:
            if ns == nb and not _disjoint(a, b):
                table.notes.append(
                    f"Pods that are both {ta} and {tb} get the union: in each direction they are isolated when "
                    f"either target is, and then allow the allow rows of both."
                )
    table.notes.append("Pods selected by no policy are not isolated: everything is allowed to and from them.")


def _disjoint(a: dict, b: dict) -> bool:
    """True when no pod can match both selectors (a sufficient check)."""
    ra, rb = requirements(a), requirements(b)
    for ka, opa, va in ra:
        for kb, opb, vb in rb:
            if ka != kb:
                continue
            if opa == "In" and opb == "In" and not set(va) & set(vb):
                return True
            if {opa, opb} == {"Exists", "DoesNotExist"}:
                return True
            if (opa, opb) in (("In", "DoesNotExist"), ("DoesNotExist", "In")):
                return True
            if opa == "In" and opb == "NotIn" and set(va) <= set(vb):
                return True
            if opb == "In" and opa == "NotIn" and set(vb) <= set(va):
                return True
    return False


def _by_class(pols: list[NormalizedPolicy], inv: Inventory, namer: _Namer, table: FirewallTable) -> None:
    idle = []
    for k in pod_classes(inv):
        if k.kind == "outside":
            continue
        picked = []
        for p in pols:
            m = selects(p, k, inv)
            if m == ALL:
                picked.append((p, ""))
            elif m == SOME:
                picked.append((p, f" (only its pods {selector_text(p.selector)})"))
        if not picked:
            idle.append(str(k))
            continue
        for d in DIRECTIONS:
            table.rows += _rows(str(k), d, picked, namer)
        if any(note for _, note in picked):
            table.notes.append(
                f"{k}: some policies select only part of these pods; their rows and their "
                "isolation apply to those pods only."
            )
    if idle:
        table.notes.append(
            "Not selected by any policy, so everything is allowed to and from them: " + "; ".join(idle) + "."
        )
    outside = sorted({p.namespace for p in pols if p.namespace not in inv.namespaces})
    for ns in outside:
        for p in pols:
            if p.namespace == ns:
                target = pods_text(p.selector, f"namespace {ns}") + " (not in the inventory)"
                for d in DIRECTIONS:
                    table.rows += _rows(target, d, [(p, "")], namer)
    if outside:
        table.notes.append(
            f"Namespaces not in the inventory: {', '.join(outside)}; their policies are listed "
            "per policy, their pods may be selected by several of them (union)."
        )
