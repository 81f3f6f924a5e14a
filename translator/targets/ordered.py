"""First match kept in order: each firewall rule as one ordered rule over pod classes and external nets.

The model every ordered target (Calico, ClusterNetworkPolicy, Cilium) renders.  A side is read on the
secure side, as the NetworkPolicy compiler reads addresses (compiler/universe.py): an allow matches a
pod class whose addresses of every family it has are all inside the side, a deny a pod class whose
addresses of some family it meets; external addresses are matched as they are (a workload's legacy
addresses, which are no endpoint, may be added or left out to make CIDRs shorter: `Ordered.dont_care`).

No legacy flow joins two ends of no common address family, so such pairs are denied before the
ruleset's rules (`family` guards: IPv4-only pods against IPv6-only pods and external IPv6 addresses,
and the reverse).  An allow with a condition the target cannot check matches nothing; a deny with one
matches as if it had none.  The last rule is the ruleset's default over everything.

    ordered = order(ruleset, inventory)
    ordered.rules                    -> [ORule], in order, the default last
    ordered.direction("ingress")     -> [ORule] a target's ingress rules for its subjects
    ordered.peers(pods)              -> NetworkPolicy-style peers (namespaceSelector, podSelector)
    ordered.blocks(nets)             -> [(cidr, [except])]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..compiler.findings import Finding
from ..compiler.ipblocks import ip_blocks
from ..compiler.selectors import complement, ns_selector, union_of
from ..compiler.universe import FAMILIES, PodClass, Universe
from ..model.inventory import Inventory
from ..model.resolve import Resolver, fqdns_of, unresolved_items
from ..model.ruleset import ALLOW, DENY, Rule, Ruleset
from ..model.space import ALL_IP, EMPTY, FULL_SVC, IntervalSet

DIRECTIONS = ("ingress", "egress")


@dataclass(frozen=True)
class Side:
    """What one end of an ordered rule matches: pod classes (index order) and external addresses."""

    pods: tuple[PodClass, ...]
    nets: IntervalSet

    def __bool__(self) -> bool:
        return bool(self.pods) or bool(self.nets)


@dataclass
class ORule:
    """One ordered rule: ACTION ('allow' or 'deny') of the flows from SRC to DST over SERVICES."""

    action: str
    src: Side
    dst: Side
    services: IntervalSet
    rules: tuple[Rule, ...] = ()  # the firewall rules behind it (none: the default or a family guard)
    kind: str = "rule"  # rule | default | family | decided-at-ingress | fqdn
    fqdns: tuple[str, ...] = ()  # kind fqdn: the DNS names of an allow's destination (its dst side is empty)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rules]

    @property
    def allow(self) -> bool:
        return self.action == ALLOW


@dataclass
class Ordered:
    ruleset: Ruleset
    inventory: Inventory
    universe: Universe
    rules: list[ORule]
    subjects: tuple[PodClass, ...]  # the pod classes the ruleset governs, in index order
    directions: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)
    _blocks: dict = field(default_factory=dict)

    @property
    def everything(self) -> Side:
        uni = self.universe
        return Side(tuple(uni.pod_classes), uni.external)

    def whole(self, side: Side) -> bool:
        """Does SIDE match every endpoint (every pod, every external address)?"""
        uni = self.universe
        return len(side.pods) == len(uni.pod_classes) and uni.external.issubset(side.nets | uni.dont_care)

    def direction(self, direction: str, fqdns: bool = False) -> list[ORule]:
        """The rules a target's DIRECTION part needs for its subjects, in order.

        ingress: the rules whose destination holds a subject, destinations cut to the subjects.
        egress: the same from the source; when the ruleset governs ingress too, flows to a subject are
        decided there, so one first allow passes them and later rules keep only the other ends.
        FQDNS: keep the egress allows to DNS names (kind fqdn), for a target that can say them."""
        subjects = set(a.index for a in self.subjects)
        here, there = ("dst", "src") if direction == "ingress" else ("src", "dst")
        out: list[ORule] = []
        at_ingress = direction == "egress" and "ingress" in self.directions and self.subjects
        if at_ingress:
            out.append(
                ORule(ALLOW, Side(self.subjects, EMPTY), Side(self.subjects, EMPTY), FULL_SVC, (), "decided-at-ingress")
            )
        for r in self.rules:
            if r.kind == "fqdn" and not (fqdns and direction == "egress"):
                continue
            mine = tuple(a for a in getattr(r, here).pods if a.index in subjects)
            if not mine:
                continue
            other = getattr(r, there)
            if at_ingress:
                other = Side(tuple(a for a in other.pods if a.index not in subjects), other.nets)
                if not other and not r.fqdns:
                    continue
            out.append(replace(r, **{here: Side(mine, EMPTY), there: other}))
            if len(mine) == len(self.subjects) and r.services == FULL_SVC and self._covers(other, at_ingress):
                break  # every later rule is unreachable
        return out

    def _covers(self, side: Side, at_ingress) -> bool:
        """Does SIDE hold every endpoint (but the subjects, when those are decided at ingress)?"""
        uni = self.universe
        skip = {a.index for a in self.subjects} if at_ingress else set()
        return len(side.pods) == len([a for a in uni.pod_classes if a.index not in skip]) and uni.external.issubset(
            side.nets | uni.dont_care
        )

    # --- rendering helpers --------------------------------------------------------------------

    def peers(self, pods: tuple[PodClass, ...]) -> list[dict]:
        """NetworkPolicy-style peers whose union is the pods of POD classes: each with a namespaceSelector
        (kubernetes.io/metadata.name) and, unless the whole namespace, a podSelector; [{}] for every pod."""
        uni = self.universe
        chosen = {a.index for a in pods}
        if len(chosen) == len(uni.pod_classes):
            return [{}]
        inside: dict[str, list[PodClass]] = {}
        for a in pods:
            if a.namespace is not None:
                inside.setdefault(a.namespace, []).append(a)
        full = [ns for ns, group in uni.by_ns.items() if len(inside.get(ns, ())) == len(group)]
        out: list[dict] = []
        if uni.outside.index in chosen:
            rest = [ns for ns in uni.by_ns if ns not in full]
            out.append({"namespaceSelector": ns_selector(rest, negate=True)})
        elif full:
            out.append({"namespaceSelector": ns_selector(full)})
        for ns, group in uni.by_ns.items():
            if ns in full or ns not in inside:
                continue
            picked = {a.index for a in inside[ns]}
            if any(a.kind == "others" for a in inside[ns]):
                sels = complement([a.workload.labels for a in group if a.kind == "workload" and a.index not in picked])
            else:
                sels = union_of([a.workload.labels for a in inside[ns]])
            out += [{"namespaceSelector": ns_selector([ns]), "podSelector": sel} for sel in sels]
        return out

    def blocks(self, nets: IntervalSet) -> list[tuple[str, list[str]]]:
        """[(cidr, [except])] covering NETS (disjoint blocks, each except inside its block)."""
        return ip_blocks(nets, self.universe.dont_care, self._blocks)

    def subject_peers(self) -> list[dict]:
        return self.peers(self.subjects)


def order(rs: Ruleset, inv: Inventory) -> Ordered:
    """RS over INV as ordered rules (see the module docstring)."""
    resolver = Resolver(rs)
    uni = Universe(inv, rs, resolver)
    subjects, findings = _subjects(rs, uni, resolver)
    rules = _family_guards(uni)
    for r in rs.rules:
        allow = r.action == ALLOW
        if allow and r.conditions:
            findings += _notes(rs, r, allow)
            continue  # matches nothing
        sides = []
        for side, expr in (("src", r.src), ("dst", r.dst)):
            b = resolver.address(expr)
            reading = _Reading(uni, b.lower if allow else b.upper, allow)
            sides.append(reading)
            one = {a.index: f for f, got in reading.only.items() for a in got}
            findings += [_partial(r, side, a, one.get(a.index)) for a in reading.partial]
        sv = resolver.services(r.services)
        svc = sv.lower if allow else sv.upper
        if svc:
            rules += [ORule(r.action, a, b, svc, (r,)) for a, b in _products(*sides, allow) if a and b]
            names = fqdns_of(rs, r.dst) if allow else ()
            if names and sides[0].pods:
                rules.append(ORule(ALLOW, Side(tuple(sides[0].pods), EMPTY), Side((), EMPTY), svc, (r,), "fqdn", names))
        findings += _notes(rs, r, allow)
    everything = Side(tuple(uni.pod_classes), uni.external)
    rules.append(ORule(rs.default, everything, everything, FULL_SVC, (), "default"))
    return Ordered(rs, inv, uni, rules, subjects, tuple(rs.directions), findings)


class _Reading:
    """One side of a rule on the secure side: the pod classes it matches whatever the partner (allow:
    all their addresses of every family they have inside; deny: some address inside), the external
    addresses, and for an allow, per family, the dual-stack classes it covers in that family only."""

    def __init__(self, uni: Universe, s: IntervalSet, allow: bool):
        self.uni = uni
        self.nets = s & uni.external
        met = {f: uni.denote(s, False, f)[0] & uni.pods for f in FAMILIES}
        full = {f: uni.denote(s, True, f)[0] & uni.pods for f in FAMILIES}
        fams = _families(uni)
        self.pods: list[PodClass] = []
        self.partial: list[PodClass] = []  # an allow leaves them out (but for `only`), a deny takes them in
        self.only: dict[int, list[PodClass]] = {f: [] for f in FAMILIES}
        touched = sorted({p for f in FAMILIES for lo, hi in met[f] for p in range(lo, hi + 1)})
        if not allow:
            touched = sorted(set(touched) | {a.point for a in uni.pod_classes if not fams[a.index]})
        for p in touched:
            a = uni.pod_class_at(p)
            mine = fams[a.index]
            covered = [f for f in mine if p in full[f]]
            if allow:
                if mine and len(covered) == len(mine):
                    self.pods.append(a)
                    continue
                if len(covered) == 1:
                    self.only[covered[0]].append(a)
                self.partial.append(a)
            else:
                self.pods.append(a)
                if mine and len(covered) < len(mine):
                    self.partial.append(a)

    @property
    def side(self) -> Side:
        return Side(tuple(self.pods), self.nets)

    def single(self, f: int) -> Side:
        """What this side matches of the ends that have family F only (pods, external addresses)."""
        fams = _families(self.uni)
        pods = tuple(a for a in self.pods if fams[a.index] == (f,))
        return Side(pods, self.nets & FAMILIES[f])


def _families(uni: Universe) -> list[tuple[int, ...]]:
    """Per pod class index, the families it has addresses of (kept on the universe)."""
    got = uni.__dict__.get("_ordered_families")
    if got is None:
        got = uni.__dict__["_ordered_families"] = [uni.families(a) for a in uni.pod_classes]
    return got


def _products(src: _Reading, dst: _Reading, allow: bool) -> list[tuple[Side, Side]]:
    """The rule as products of sides: the ends it matches whatever the partner; for an allow also the
    dual-stack classes it covers in one family against the partners of that family only (their flows
    are of that family alone, so the match is exact)."""
    out = [(src.side, dst.side)]
    if allow:
        for f in FAMILIES:
            if dst.only[f]:
                out.append((src.single(f), Side(tuple(dst.only[f]), EMPTY)))
            if src.only[f]:
                out.append((Side(tuple(src.only[f]), EMPTY), dst.single(f)))
    return out


def _family_guards(uni: Universe) -> list[ORule]:
    """Denies of the pairs no legacy flow joins: pods of one family only against the other family."""
    only = {f: tuple(a for a in uni.pod_classes if uni.families(a) == (f,)) for f in FAMILIES}
    out = []
    for f, other in ((4, 6), (6, 4)):
        if not only[f]:
            continue
        far = Side(only[other], uni.external & FAMILIES[other])
        if not far:
            continue
        near = Side(only[f], EMPTY)
        out.append(ORule(DENY, near, far, FULL_SVC, (), "family"))
        out.append(ORule(DENY, far, near, FULL_SVC, (), "family"))
    return out


def _subjects(rs: Ruleset, uni: Universe, resolver: Resolver) -> tuple[tuple[PodClass, ...], list[Finding]]:
    """The governed pod classes the ruleset protects (every one unless it names a host: then, on the
    secure side, every class that may be that host)."""
    governed = [a for a in uni.pod_classes if a.governed]
    if rs.protects is None:
        return tuple(governed), []
    region, _ = uni.denote(resolver.address(rs.protects).upper, full=False)
    out = tuple(a for a in governed if a.point in region)
    unknown = [a for a in out if not a.legacy]
    notes = []
    if unknown:
        notes.append(
            Finding(
                "note",
                "the protected host's addresses may be those of pods without legacy addresses: the ruleset "
                f"governs {', '.join(map(str, unknown))} too (name the host's workload in the inventory)",
            )
        )
    return out, notes


def _partial(r: Rule, side: str, a: PodClass, family: int | None = None) -> Finding:
    what = "does not apply to" if r.action == ALLOW else "applies to all of"
    if family is not None:  # exact for partners of that family; left out for dual-stack partners
        return Finding(
            "partial-cover",
            f"the {side} covers {a} in IPv{family} only; the {r.action} applies to it for partners of IPv{family} "
            f"only, not for dual-stack partners (their flows of both families would need it)",
            r,
            f"{a} with a dual-stack partner",
        )
    if a.kind == "workload":
        return Finding(
            "partial-cover",
            f"the {side} covers only part of the addresses of workload {a}; the {r.action} {what} it",
            r,
            f"{a} at its first address outside the {side}",
        )
    return Finding(
        "partial-cover",
        f"the {side} holds only some of the addresses {a} may have; the {r.action} {what} them",
        r,
        f"{a} at an address outside the {side}",
    )


def _notes(rs: Ruleset, r: Rule, allow: bool) -> list[Finding]:
    out = []
    items = r.src.include + r.src.exclude + r.dst.include + r.dst.exclude + tuple(r.services)
    for u in dict.fromkeys(unresolved_items(rs, items)):
        effect = "matches nothing there" if allow else "matches everything there"
        out.append(Finding("unresolved", f"{u.text}: {u.reason}; the {r.action} {effect}", r))
    for c in r.conditions:
        effect = "the allow is dropped" if allow else "the deny applies without it"
        out.append(Finding("condition", f"cannot enforce {c.text} ({c.reason}); {effect}", r))
    return out


__all__ = ["ALL_IP", "DIRECTIONS", "ORule", "Ordered", "Side", "order"]
