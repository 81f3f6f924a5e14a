"""Flow-set semantics: the universe of endpoints and each rule's match set.

Endpoints sit on one number line (see space.py): external IPs, then one point
per pod class.  A pod class may have addresses of each family: a workload its
legacy addresses, a pod without legacy addresses any address it may be given
(`Universe.unknown`).  Rules are compiled once per family (a legacy flow has
one family): an allow denotes a pod class whose addresses of that family are
all inside it, a deny one it meets.  Partial cover is resolved to the secure
side: an allow leaves the class out, a deny takes it in.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import netaddr

from ..errors import InputError, line_of
from ..model.inventory import Inventory, Workload
from ..model.resolve import Resolver
from ..model.ruleset import ALLOW, AddrExpr, Ref, Rule, Ruleset
from ..model.space import ALL_IP, ALL_V4, ALL_V6, EMPTY, POD_BASE, IntervalSet, ip_range

SECURE, OPTIMISTIC = "secure", "optimistic"


@dataclass
class PodClass:
    """A class of pods that every selector treats alike."""

    index: int
    kind: str  # workload | others | outside
    namespace: str | None = None
    workload: Workload | None = None
    legacy: IntervalSet = EMPTY

    @property
    def point(self) -> int:
        return POD_BASE + self.index

    @property
    def governed(self) -> bool:
        return self.kind != "outside"

    def __str__(self) -> str:
        if self.kind == "cluster":
            return "the cluster's service IPs (serviceCIDRs)"
        if self.kind == "workload":
            return f"{self.namespace}/{self.workload.name}"
        if self.kind == "others":
            return f"other pods of namespace {self.namespace}"
        return "pods of namespaces outside the inventory"


def parse_legacy(text: str) -> IntervalSet | None:
    """A CIDR, host or a-b range as an endpoint set; None if TEXT is not one."""
    try:
        if "-" in text and not text.startswith("-"):
            a, b = (netaddr.IPAddress(x.strip()) for x in text.split("-", 1))
            if a.version != b.version or a > b:
                return None
            return ip_range(int(a), int(b), a.version)
        net = netaddr.IPNetwork(text)
        return ip_range(int(net.first), int(net.last), net.version)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


FAMILIES = {4: ALL_V4, 6: ALL_V6}


class Universe:
    """The pod classes of an inventory and the external address space."""

    def __init__(self, inv: Inventory, rs: Ruleset, resolver: Resolver):
        self.inv = inv
        self.pod_classes: list[PodClass] = []
        self.by_ns: dict[str, list[PodClass]] = {}
        for ns in sorted(inv.namespaces):
            group = []
            for w in sorted(inv.workloads_in(ns), key=lambda w: w.name):
                group.append(
                    PodClass(len(self.pod_classes) + len(group), "workload", ns, w, self._legacy(w, rs, resolver))
                )
            group.append(PodClass(len(self.pod_classes) + len(group), "others", ns))
            self.by_ns[ns] = group
            self.pod_classes += group
        self.outside = PodClass(len(self.pod_classes), "outside")
        self.pod_classes.append(self.outside)
        self._check_overlap()
        self.workload_ips = IntervalSet(iv for a in self.pod_classes for iv in a.legacy)
        pod_nets = IntervalSet(iv for t in inv.pod_cidrs for iv in parse_legacy(t))
        service_nets = IntervalSet(iv for t in inv.service_cidrs for iv in parse_legacy(t))
        self.service_nets = service_nets
        self.cluster = pod_nets | service_nets
        self.cluster_class = PodClass(-1, "cluster")
        self.external = ALL_IP - self.workload_ips - self.cluster
        self.dont_care = self.workload_ips - self.cluster
        # a pod without legacy addresses may have any address of the pod CIDRs (none declared: any
        # address at all) that is no workload's and no service's
        self.unknown = (pod_nets if inv.pod_cidrs else ALL_IP) - self.workload_ips - service_nets
        self.pods = IntervalSet([(POD_BASE, POD_BASE + len(self.pod_classes) - 1)])
        self.governed = IntervalSet([(POD_BASE, POD_BASE + len(self.pod_classes) - 2)])
        self.endpoints = self.external | self.pods
        self.end = POD_BASE + len(self.pod_classes) - 1
        # per family: the pod classes that have addresses of it, and its endpoints
        self.present = {
            f: IntervalSet((a.point, a.point) for a in self.pod_classes if self.addresses(a) & whole)
            for f, whole in FAMILIES.items()
        }
        self.family_endpoints = {f: (self.external & FAMILIES[f]) | self.present[f] for f in FAMILIES}
        self.concrete_endpoints = (ALL_IP - self.workload_ips) | IntervalSet(
            (a.point, a.point) for a in self.pod_classes if a.legacy
        )

    def addresses(self, a: PodClass) -> IntervalSet:
        """The addresses pods of A may have: the legacy ones, else any unknown one."""
        return a.legacy if a.legacy else self.unknown

    def families(self, a: PodClass) -> tuple[int, ...]:
        return tuple(f for f in FAMILIES if a.point in self.present[f])

    def _legacy(self, w: Workload, rs: Ruleset, resolver: Resolver) -> IntervalSet:
        parts = []
        for text in w.addresses:
            s = parse_legacy(text)
            if s is None:
                if text not in rs.addresses:
                    raise InputError(
                        f"workload {w.name}: {text!r} is neither an address nor an object of ruleset {rs.name}", w.loc
                    )
                b = resolver.address(AddrExpr((Ref(text),)))
                if not b.exact:
                    raise InputError(f"workload {w.name}: object {text!r} has unresolved parts", w.loc)
                s = b.lower
            parts.append(s)
        return IntervalSet(iv for s in parts for iv in s)

    def _check_overlap(self) -> None:
        ivs = sorted((lo, hi, a.index) for a in self.pod_classes for lo, hi in a.legacy.iv)
        pairs, active = [], []
        for lo, hi, k in ivs:
            active = [(h, o) for h, o in active if h >= lo]
            pairs += [(max(k, o), min(k, o)) for _, o in active if o != k]
            active.append((hi, k))
        if pairs:
            ai, bi = min(pairs)
            a, b = self.pod_classes[ai], self.pod_classes[bi]
            raise InputError(
                f"workloads {b.workload.name!r} and {a.workload.name!r} share legacy "
                f"addresses; an address belongs to one workload",
                a.workload.loc,
            )

    def pod_class_at(self, point: int) -> PodClass | None:
        i = point - POD_BASE
        return self.pod_classes[i] if 0 <= i < len(self.pod_classes) else None

    def _legacy_index(self) -> tuple[list[int], list[tuple[int, int, PodClass]]]:
        if getattr(self, "_lidx", None) is None:
            ivs = sorted((lo, hi, a) for a in self.pod_classes for lo, hi in a.legacy.iv)
            self._lidx = ([lo for lo, _, _ in ivs], ivs)
        return self._lidx

    def _touched(self, s: IntervalSet) -> list[PodClass]:
        """Pod classes whose legacy addresses meet S, in order (legacy sets are disjoint)."""
        los, ivs = self._legacy_index()
        seen: dict[int, PodClass] = {}
        for lo, hi in s.iv:
            k = max(0, bisect_right(los, lo) - 1)
            while k < len(ivs) and ivs[k][0] <= hi:
                a_lo, a_hi, a = ivs[k]
                if a_hi >= lo:
                    seen[a.index] = a
                k += 1
        return [seen[i] for i in sorted(seen)]

    def denote(self, s: IntervalSet, full: bool, family: int | None = None) -> tuple[IntervalSet, list[PodClass]]:
        """Endpoints denoted by address set S in FAMILY, and the pod classes only partly in S.

        full: a pod class needs all its addresses of FAMILY in S (else any one will do).
        FAMILY None: the union over both families."""
        cache = self.__dict__.setdefault("_denoted", {})
        key = (s, full, family)
        if key not in cache:
            if family is None:
                parts = [self.denote(s, full, f) for f in FAMILIES]
                partial = {a.index: a for _, p in parts for a in p}
                cache[key] = (parts[0][0] | parts[1][0], [partial[i] for i in sorted(partial)])
            else:
                cache[key] = self._denote(s & FAMILIES[family], full, family)
        endpoints, partial = cache[key]
        return endpoints, list(partial)

    def concrete(self, s: IntervalSet, full: bool) -> tuple[IntervalSet, list[PodClass]]:
        """Lint's reading of address set S: its addresses as they are, but a workload's legacy
        addresses, which stand for its pod class (full: all of them in S, else any one)."""
        points, partial = [], []
        for a in self._touched(s):
            if not full or (a.legacy & s) == a.legacy:
                points.append(a.point)
            else:
                partial.append(a)
        return (s - self.workload_ips) | IntervalSet((p, p) for p in points), partial

    def _denote(self, s: IntervalSet, full: bool, family: int) -> tuple[IntervalSet, list[PodClass]]:
        present = self.present[family]
        if not full and s & self.cluster:
            return (s & self.external) | present, []  # a deny on the cluster's CIDRs may hit any pod
        unknown = self.unknown & FAMILIES[family]
        inside = unknown & s
        partial = []
        if full and s & self.service_nets and inside != unknown:
            partial.append(self.cluster_class)  # an allow to service IPs names no pod
        points = []
        for a in self._touched(s):
            if a.point not in present:
                continue
            if not full or (a.legacy & s) == (a.legacy & FAMILIES[family]):
                points.append(a.point)
            else:
                partial.append(a)
        if inside:
            pods = [a for a in self.pod_classes if not a.legacy and a.point in present]
            if not full or inside == unknown:
                points += [a.point for a in pods]
            else:
                partial += pods
        return (s & self.external) | IntervalSet((p, p) for p in points), partial


@dataclass(eq=False)
class CRule:
    """A rule as sets: src and dst on the endpoint line, svc on the service line."""

    rule: Rule
    allow: bool
    src: IntervalSet
    dst: IntervalSet
    svc: IntervalSet
    partial: dict = field(default_factory=dict)  # side -> [PodClass]
    sweep: dict = field(default_factory=dict)  # side -> its edges with the gaps of no endpoint closed

    def sweep_edges(self, side: str) -> tuple:
        """Where SIDE starts and stops holding points (lo, hi + 1, ...); gaps with no endpoint may be closed."""
        got = self.sweep.get(side)
        return _edges(getattr(self, side).iv) if got is None else got

    def matches(self, s: int, d: int, v: int) -> bool:
        return s in self.src and d in self.dst and v in self.svc


class CRules(list):
    """compile_rules' result: a list of CRule that also finds, for a pod point, the rules
    whose src (dst) holds it without scanning every rule (see `rules_at`)."""

    end: int | None = None
    holes: tuple = ([], ())  # (starts, intervals) of the points that are no endpoint

    def closed_edges(self, s: IntervalSet) -> tuple:
        """Where S starts and stops holding points, each gap with no endpoint closed (a sweep need not stop there)."""
        return _edges(_closed(s, self.holes))

    def rules_at(self, side: str, point: int) -> list[tuple[int, CRule]] | None:
        """[(position, rule)] of the rules whose SIDE holds pod POINT, in order; None: not indexed."""
        if self.end is None or not POD_BASE <= point <= self.end:
            return None
        idx = self.__dict__.get("_idx")
        if idx is None or idx[0] != len(self):
            idx = self.__dict__["_idx"] = (len(self), {})
        wide, per = self._side_index(side, idx[1])
        return sorted(wide + per.get(point, []))  # two sorted runs: one merge; not kept, sweeps ask once

    def _side_index(self, side: str, store: dict):
        if side not in store:
            wide: list = []
            per: dict[int, list] = {}
            for i, c in enumerate(self):
                ivs = getattr(c, side).iv
                k = len(ivs)
                while k and ivs[k - 1][1] >= POD_BASE:
                    k -= 1
                pod_ivs = [(max(lo, POD_BASE), min(hi, self.end)) for lo, hi in ivs[k:] if lo <= self.end]
                if pod_ivs and pod_ivs[0] == (POD_BASE, self.end):
                    wide.append((i, c))
                    continue
                for lo, hi in pod_ivs:
                    for p in range(lo, hi + 1):
                        per.setdefault(p, []).append((i, c))
            store[side] = (wide, per)
        return store[side]


def compile_rules(
    rs: Ruleset, universe: Universe, resolver: Resolver, mode: str = SECURE, family: int | None = None
) -> CRules:
    """Each rule's match set in FAMILY's legacy flows, resolved to the secure (or optimistic) side.

    FAMILY None: lint's view (`Universe.concrete`), the legacy flows as they are."""
    out = CRules()
    out.end = universe.end
    endpoints = universe.concrete_endpoints if family is None else universe.family_endpoints[family]
    gaps = IntervalSet([(0, universe.end)]) - endpoints  # no endpoint: a sweep need not stop there
    out.holes = ([lo for lo, _ in gaps.iv], gaps.iv)
    edges: dict[IntervalSet, tuple] = {}  # a side's sweep edges, made once per distinct side
    for r in rs.rules:
        allow = r.action == ALLOW
        # secure: allows match what they surely match, denies what they may match
        sure = allow if mode == SECURE else not allow
        if r.conditions and sure:
            out.append(CRule(r, allow, EMPTY, EMPTY, EMPTY))
            continue
        sides, partial = [], {}
        for side, expr in (("src", r.src), ("dst", r.dst)):
            b = resolver.address(expr)
            s, part = (
                universe.concrete(b.lower if sure else b.upper, sure)
                if family is None
                else universe.denote(b.lower if sure else b.upper, sure, family)
            )
            sides.append(s)
            if part:
                partial[side] = part
        sv = resolver.services(r.services)
        for x in sides:
            if x not in edges:
                edges[x] = out.closed_edges(x)
        sweep = {"src": edges[sides[0]], "dst": edges[sides[1]]}
        out.append(CRule(r, allow, sides[0], sides[1], sv.lower if sure else sv.upper, partial, sweep))
    return out


def _edges(ivs) -> tuple:
    return tuple(x for lo, hi in ivs for x in (lo, hi + 1))


def _closed(s: IntervalSet, holes: tuple[list[int], tuple]) -> tuple:
    """S's intervals with each gap between two of them that lies wholly in HOLES closed."""
    los, ivs = holes
    out: list[tuple[int, int]] = []
    for lo, hi in s.iv:
        if out:
            k = bisect_right(los, out[-1][1] + 1) - 1
            if k >= 0 and ivs[k][1] >= lo - 1:
                out[-1] = (out[-1][0], hi)
                continue
        out.append((lo, hi))
    return tuple(out)


def source_line(rs: Ruleset, rule: Rule) -> str | None:
    return line_of(rs.text, rule.loc.line) if rs.text and rule.loc.line else None
