"""Partition of the flow space into classes on which both decisions are constant.

Used by `verify.py`; see its docstring for why the partition is exact.  This
module shares no set algebra with the compiler: it walks the ruleset model
and the policy dicts itself.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import pairwise

import netaddr

from ..errors import InputError, Loc, line_of
from ..evaluate.firewall import parse_range
from ..evaluate.netpol import requirement_holds
from ..model.inventory import NAME_LABEL, Inventory, Workload
from ..model.ruleset import PORT_PROTOCOLS, TYPE_PROTOCOLS, AddrExpr, AnyAddr, Net, Ref, Ruleset, Svc, port_domain
from ..io.yamlio import loc_of

V4_END, V6_END = 1 << 32, 1 << 128
OPS = ("In", "NotIn", "Exists", "DoesNotExist")
PROTO_BY_NAME = {"TCP": 6, "UDP": 17, "SCTP": 132}


def text_value(v) -> str:
    """A label value as Kubernetes reads it from YAML."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def freeze(x) -> str:
    """A key equal only for equal policy values: repr of the JSON/YAML types tells 1, 1.0, True and
    "1" apart, and int from str mapping keys.  Equal keys may only miss sharing (dict key order)."""
    return repr(x)


# --- label selectors ---------------------------------------------------------


@dataclass(frozen=True)
class Sel:
    """A label selector as requirements (key, op, values)."""

    reqs: tuple[tuple[str, str, frozenset], ...]

    def holds(self, labels: dict[str, str]) -> bool:
        return all(req_holds(op, vals, labels.get(k)) for k, op, vals in self.reqs)

    def keys(self) -> set[str]:
        return {k for k, _, _ in self.reqs}


req_holds = requirement_holds  # operators are checked when the selector is parsed


def parse_selector(obj, src: "PolicySource") -> Sel:
    """A Sel from a LabelSelector dict (InputError on an unknown operator)."""
    obj = obj or {}
    if not isinstance(obj, dict):
        raise src.fail("a label selector must be a mapping", obj)
    reqs = []
    for k, v in (obj.get("matchLabels") or {}).items():
        reqs.append((str(k), "In", frozenset([text_value(v)])))
    for e in obj.get("matchExpressions") or []:
        if not isinstance(e, dict) or e.get("operator") not in OPS or "key" not in e:
            raise src.fail(f"a matchExpressions entry needs a key and an operator ({', '.join(OPS)})", e)
        reqs.append((str(e["key"]), e["operator"], frozenset(text_value(x) for x in e.get("values") or [])))
    return Sel(tuple(sorted(reqs, key=lambda r: (r[0], r[1], sorted(r[2])))))


def label_classes(sels: list[Sel], fixed: dict[str, str] | None = None) -> list[dict[str, str]]:
    """One label set per distinct combination of SELS it satisfies (an exact, pruned product).

    Each key tested takes each mentioned value, absence, or one unmentioned value;
    partial assignments that leave the same selectors alive are merged."""
    fixed = fixed or {}
    sels = list(dict.fromkeys(sels))
    keys = sorted({k for s in sels for k in s.keys()} - set(fixed))
    mentioned: dict[str, set[str]] = {k: set() for k in keys}
    for s in sels:
        for k, _, vals in s.reqs:
            if k in mentioned:
                mentioned[k] |= vals
    start = frozenset(i for i, s in enumerate(sels)
                      if all(req_holds(op, vals, fixed.get(k)) for k, op, vals in s.reqs if k in fixed))
    states: dict[frozenset, dict[str, str]] = {start: dict(fixed)}
    for key in keys:
        options = sorted(mentioned[key]) + [None, fresh_value(mentioned[key])]
        reqs = {i: [(op, vals) for k, op, vals in sels[i].reqs if k == key] for i in range(len(sels))}
        new: dict[frozenset, dict[str, str]] = {}
        for alive, labels in states.items():
            for v in options:
                a = frozenset(i for i in alive if all(req_holds(op, vals, v) for op, vals in reqs[i]))
                if a not in new:
                    new[a] = labels if v is None else {**labels, key: v}
        states = new
    return list(states.values())


def fresh_value(taken: set[str], stem: str = "fw2np-other") -> str:
    v, n = stem, 1
    while v in taken:
        n += 1
        v = f"{stem}-{n}"
    return v


# --- policies ------------------------------------------------------------------


@dataclass
class PolicySource:
    """What the policies test: selectors, ipBlocks, ports and names."""

    policies: list[dict]
    ns_of: list[str] = field(default_factory=list)
    targets: list[tuple[str, Sel]] = field(default_factory=list)          # (namespace, podSelector)
    peers: list[tuple[str, Sel | None, Sel | None]] = field(default_factory=list)  # (policy ns, nsSel, podSel)
    blocks: list[tuple[int, int, int]] = field(default_factory=list)      # (version, first, last)
    ports: list[tuple[int, int, int]] = field(default_factory=list)       # (proto, lo, hi)
    protos: set[int] = field(default_factory=set)
    port_names: set[tuple[str, int]] = field(default_factory=set)         # (name, proto)
    _distinct: list | None = None
    _keys: dict = field(default_factory=dict)

    def key(self, obj) -> str:
        """freeze(OBJ), once per object (the object is held, so its id stays its own)."""
        hit = self._keys.get(id(obj))
        if hit is None or hit[0] is not obj:
            hit = self._keys[id(obj)] = (obj, freeze(obj))
        return hit[1]

    def fail(self, msg: str, obj) -> InputError:
        loc = loc_of(obj) or Loc("<policies>")
        return InputError(msg, loc, _source_line(loc))

    def scan(self) -> "PolicySource":
        """Read every policy; a peer or port entry equal to one already read adds nothing and is skipped."""
        seen_lists: set = set()
        seen_peers: set = set()
        seen_ports: set = set()
        for pol in self.policies:
            ns = (pol.get("metadata") or {}).get("namespace") or "default"
            spec = pol.get("spec") or {}
            self.ns_of.append(ns)
            self.targets.append((ns, parse_selector(spec.get("podSelector"), self)))
            for key, peer_key in (("ingress", "from"), ("egress", "to")):
                for rule in spec.get(key) or []:
                    rule = rule or {}
                    peers, ports = rule.get(peer_key), rule.get("ports")
                    if peers and self._first(seen_lists, (ns, self.key(peers))):
                        for peer in peers:
                            if self._first(seen_peers, (ns, self.key(peer))):
                                self.peer(ns, peer)
                    if ports and self._first(seen_lists, self.key(ports)):
                        for entry in ports:
                            if self._first(seen_ports, self.key(entry)):
                                self.port(entry)
        return self

    @staticmethod
    def _first(seen: set, key) -> bool:
        if key in seen:
            return False
        seen.add(key)
        return True

    def peer(self, ns: str, peer: dict) -> None:
        if peer.get("ipBlock") is not None:
            block = peer["ipBlock"]
            if not isinstance(block, dict) or "cidr" not in block:
                raise self.fail("an ipBlock needs a cidr", block)
            for c in [block["cidr"]] + list(block.get("except") or []):
                try:
                    net = netaddr.IPNetwork(str(c))
                except (netaddr.AddrFormatError, ValueError, TypeError):
                    raise self.fail(f"ipBlock: {c!r} is not a valid CIDR", block) from None
                self.blocks.append((net.version, int(net.first), int(net.last)))
            return
        ns_sel = peer.get("namespaceSelector")
        pod_sel = peer.get("podSelector")
        self.peers.append((ns, None if ns_sel is None else parse_selector(ns_sel, self),
                           None if pod_sel is None else parse_selector(pod_sel, self)))

    def port(self, entry: dict) -> None:
        proto = PROTO_BY_NAME.get(str(entry.get("protocol") or "TCP").upper())
        if proto is None:
            raise self.fail(f"protocol {entry.get('protocol')!r} must be TCP, UDP or SCTP", entry)
        self.protos.add(proto)
        p = entry.get("port")
        if p is None:
            return
        if isinstance(p, str) and not p.isdigit():
            self.port_names.add((p, proto))
            return
        try:
            lo = int(p)
            hi = int(entry.get("endPort", lo))
        except (TypeError, ValueError):
            raise self.fail(f"bad port {p!r}", entry) from None
        self.ports.append((proto, max(1, lo), min(65535, hi)))

    def distinct_peers(self) -> list[tuple[str, Sel | None, Sel | None]]:
        if self._distinct is None:
            self._distinct = list(dict.fromkeys(self.peers))
        return self._distinct

    def ns_names(self) -> set[str]:
        """Namespaces named by the policies (their own, and kubernetes.io/metadata.name tests)."""
        names = set(self.ns_of)
        for _, ns_sel, _ in self.peers:
            for k, _, vals in (ns_sel.reqs if ns_sel else ()):
                if k == NAME_LABEL:
                    names |= vals
        return names

    def ns_selectors(self) -> list[Sel]:
        return list(dict.fromkeys(s for _, s, _ in self.peers if s is not None))


def _source_line(loc: Loc) -> str | None:
    if not loc.line:
        return None
    try:
        with open(loc.file, encoding="utf-8-sig") as fh:
            return line_of(fh.read(), loc.line)
    except OSError:
        return None


# --- the ruleset -------------------------------------------------------------------


def rule_leaves(rs: Ruleset) -> tuple[list[Net], list[Svc]]:
    """Every address and service leaf of the ruleset (rules and named objects)."""
    nets, svcs = [], []

    def addr(expr: AddrExpr):
        for item in expr.include + expr.exclude:
            if isinstance(item, Net):
                nets.append(item)

    for r in rs.rules:
        addr(r.src)
        addr(r.dst)
        svcs += [s for s in r.services if isinstance(s, Svc)]
    for d in rs.addresses.values():
        addr(d.expr)
    for d in rs.services.values():
        svcs += [s for s in d.items if isinstance(s, Svc)]
    return nets, svcs


def addr_contains(rs: Ruleset, expr: AddrExpr, version: int, x: int, depth: int = 0) -> bool:
    """Is address X (of VERSION) in EXPR, unresolved parts left out."""
    def item_has(item) -> bool:
        if isinstance(item, Net):
            return item.version == version and item.first <= x <= item.last
        if isinstance(item, AnyAddr):
            return item.version in (None, version)
        if isinstance(item, Ref) and item.name in rs.addresses and depth < 64:
            return addr_contains(rs, rs.addresses[item.name].expr, version, x, depth + 1)
        return False
    return any(item_has(i) for i in expr.include) and not any(item_has(i) for i in expr.exclude)


class Legacy:
    """The workloads' legacy addresses (those are not external endpoints)."""

    def __init__(self, rs: Ruleset, inv: Inventory):
        self.rs = rs
        self.ranges: list[tuple[int, int, int]] = []
        self.objects: list[AddrExpr] = []
        for w in inv.workloads.values():
            for text in w.addresses:
                r = parse_range(text)
                if r is not None:
                    self.ranges.append(r)
                elif text in rs.addresses:
                    self.objects.append(rs.addresses[text].expr)
                else:
                    raise InputError(f"workload {w.name}: {text!r} is neither an address nor an object "
                                     f"of ruleset {rs.name}", w.loc)

        self.line = RangeSet(self.ranges)

    def boundaries(self) -> list[tuple[int, int, int]]:
        return list(self.ranges)

    def __contains__(self, point: tuple[int, int]) -> bool:
        version, x = point
        return point in self.line or any(addr_contains(self.rs, e, version, x) for e in self.objects)


class RangeSet:
    """A union of (version, first, last) ranges, for point lookups."""

    def __init__(self, ranges):
        self.merged: dict[int, tuple[list[int], list[int]]] = {}
        for version in (4, 6):
            spans: list[list[int]] = []
            for lo, hi in sorted((lo, hi) for v, lo, hi in ranges if v == version):
                if spans and lo <= spans[-1][1] + 1:
                    spans[-1][1] = max(spans[-1][1], hi)
                else:
                    spans.append([lo, hi])
            self.merged[version] = ([a for a, _ in spans], [b for _, b in spans])

    def __contains__(self, point: tuple[int, int]) -> bool:
        version, x = point
        los, his = self.merged.get(version, ((), ()))
        k = bisect_right(los, x) - 1
        return k >= 0 and x <= his[k]


# --- classes ---------------------------------------------------------------------


@dataclass(frozen=True)
class PodClass:
    """Pods alike for both decisions: a namespace class and a pod label class."""

    namespace: str
    ns_labels: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]
    governed: bool
    workload: str | None = None
    ports: tuple[tuple[str, str, int], ...] = ()
    world: tuple | None = None     # the namespace-label assignment its evaluator needs
    open_ports: bool = False       # may declare any named port (not a workload pod)
    ip: str | None = None          # a pod IP, when ipBlocks may match pods

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def __str__(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in self.labels) or "(no labels)"
        out = f"pod {self.namespace}/{labels}"
        if self.workload:
            out += f" (workload {self.workload})"
        elif self.governed:
            out += " (no workload)"
        else:
            extra = {k: v for k, v in self.ns_labels if k != NAME_LABEL}
            ns = ",".join(f"{k}={v}" for k, v in sorted(extra.items()))
            out += f" (namespace outside the inventory{', labels ' + ns if ns else ''})"
        if self.ip:
            out += f" with pod IP {self.ip}"
        return out


@dataclass(frozen=True)
class IpClass:
    """External addresses alike for both decisions; ADDRESS represents them."""

    address: str
    version: int
    intervals: int

    def __str__(self) -> str:
        return self.address


@dataclass(frozen=True)
class SvcClass:
    proto: int
    port: int
    intervals: int


def _within(ranges, version: int, x: int) -> bool:
    return any(v == version and lo <= x <= hi for v, lo, hi in ranges)


def _sweep(pts: list[int], mine) -> list[tuple[int, int, int]]:
    """(a, b, holders) per elementary interval [a, b) of sorted PTS: holders, a bitmask of the
    indices of MINE [(i, lo, hi)] whose [lo, hi] holds a."""
    events = sorted([(lo, 1, i) for i, lo, hi in mine] + [(hi + 1, 0, i) for i, lo, hi in mine])
    out, active, e = [], 0, 0
    for a, b in pairwise(pts):
        while e < len(events) and events[e][0] <= a:
            _, opening, i = events[e]
            active = active | 1 << i if opening else active & ~(1 << i)
            e += 1
        out.append((a, b, active))
    return out


def _classes(leaves, extra_cuts, keep) -> list[IpClass]:
    """Elementary intervals between the LEAVES' (and EXTRA_CUTS') bounds that KEEP accepts,
    merged by the set of leaves holding them; one address represents each class."""
    leaves = list(dict.fromkeys(leaves))
    out: list[IpClass] = []
    for version, end in ((4, V4_END), (6, V6_END)):
        cuts = {0, end}
        for v, lo, hi in leaves + list(extra_cuts):
            if v == version:
                cuts |= {lo, hi + 1}
        mine = [(i, lo, hi) for i, (v, lo, hi) in enumerate(leaves) if v == version]
        seen: dict[int, list] = {}
        for a, b, sig in _sweep(sorted(cuts), mine):
            if not keep(version, a):
                continue
            if sig in seen:
                seen[sig][1] += 1
            else:
                # a host address rather than a network's first one, when there is room
                seen[sig] = [a + 1 if b - a > 2 else a, 1]
        for a, n in seen.values():
            out.append(IpClass(str(netaddr.IPAddress(a, version)), version, n))
    return out


class Partition:
    """Endpoint and service classes for one ruleset, inventory and policy set."""

    def __init__(self, rs: Ruleset, inv: Inventory, policies: list[dict]):
        self.rs, self.inv = rs, inv
        self.src = PolicySource(policies).scan()
        self.nets, self.svcs = rule_leaves(rs)
        self.legacy = Legacy(rs, inv)
        self.pod_ranges = [r for r in map(parse_range, inv.pod_cidrs) if r]
        self.cluster = self.pod_ranges + [r for r in map(parse_range, inv.service_cidrs) if r]
        self.ips = self._ip_classes()
        self.pod_ips = self._pod_ip_classes() if self.pod_ranges else []
        self.services = self._svc_classes()
        self.pods = self._pod_classes()

    # IPs: elementary intervals, merged by which leaves hold them
    def _ip_classes(self) -> list[IpClass]:
        """External addresses: not legacy workload addresses, not in the cluster's pod or service CIDRs."""
        leaves = [(n.version, n.first, n.last) for n in self.nets] + self.src.blocks
        skip = self.legacy.boundaries() + self.cluster

        cluster = RangeSet(self.cluster)

        def external(version, a):
            return (version, a) not in self.legacy and (version, a) not in cluster
        return _classes(leaves, skip, external)

    def _pod_ip_classes(self) -> list[str]:
        """Pod IPs, for CNIs that match pod IPs against ipBlocks: classes inside the pod CIDRs."""
        return [c.address for c in _classes(self.src.blocks, self.pod_ranges,
                                            lambda version, a: _within(self.pod_ranges, version, a))]

    # services: elementary port intervals per protocol, merged by which leaves hold them
    def _svc_classes(self) -> list[SvcClass]:
        leaves: list[tuple[int, int, int]] = [(s.proto, s.lo, s.hi) for s in self.svcs if s.proto is not None]
        leaves += self.src.ports
        for w in self.inv.workloads.values():
            for proto, num in w.ports.values():
                leaves.append((PROTO_BY_NAME[proto], num, num))
        leaves = list(dict.fromkeys(leaves))
        protos = set(PORT_PROTOCOLS) | set(TYPE_PROTOCOLS) | {p for p, _, _ in leaves} | self.src.protos
        spare = next((p for p in range(256) if p not in protos), None)
        if spare is not None:
            protos.add(spare)
        out: list[SvcClass] = []
        for proto in sorted(protos):
            dlo, dhi = port_domain(proto)
            mine = [(i, lo, hi) for i, (p, lo, hi) in enumerate(leaves) if p == proto]
            cuts = {dlo, dhi + 1} | {x for _, lo, hi in mine for x in (lo, hi + 1) if dlo <= x <= dhi}
            seen: dict[int, list] = {}
            for a, b, sig in _sweep(sorted(cuts), mine):
                if sig in seen:
                    seen[sig][1] += 1
                else:
                    seen[sig] = [a, 1]
            out += [SvcClass(proto, a, n) for a, n in seen.values()]
        return out

    # pods: namespace classes x pod label classes
    def _pod_classes(self) -> list[PodClass]:
        inv = self.inv
        out: list[PodClass] = []
        for ns in sorted(inv.namespaces):
            out += self._pods_in(ns, inv.namespace_labels(ns), True, None)
        ns_sels = self.src.ns_selectors()
        named = sorted(self.src.ns_names() - set(inv.namespaces))
        taken = set(inv.namespaces) | set(named)
        stem = fresh_value(taken, "fw2np-outside")
        for name in named + [None]:
            for k, labels in enumerate(label_classes(ns_sels, {NAME_LABEL: name or stem})):
                if name is None:
                    ns = fresh_value(taken, f"{stem}-{k + 1}")
                    taken.add(ns)
                    labels = {**labels, NAME_LABEL: ns}
                    world = None
                else:
                    ns = name
                    world = (ns, tuple(sorted(labels.items())))
                out += self._pods_in(ns, labels, False, world)
        return out

    def _pods_in(self, ns: str, ns_labels: dict[str, str], governed: bool, world) -> list[PodClass]:
        sels = [s for pns, s in self.src.targets if pns == ns]
        for pns, ns_sel, pod_sel in self.src.distinct_peers():
            if pod_sel is None:
                continue
            if (ns_sel is None and pns == ns) or (ns_sel is not None and ns_sel.holds(ns_labels)):
                sels.append(pod_sel)
        workloads: list[Workload] = self.inv.workloads_in(ns) if governed else []
        sels += [Sel(tuple((k, "In", frozenset([v])) for k, v in sorted(w.labels.items()))) for w in workloads]
        out = []
        for labels in label_classes(sels):
            w = next((w for w in workloads if all(labels.get(k) == v for k, v in w.labels.items())), None)
            ports = tuple(sorted((n, p, v) for n, (p, v) in w.ports.items())) if w else ()
            out.append(PodClass(ns, tuple(sorted(ns_labels.items())), tuple(sorted(labels.items())), governed,
                                w.name if w else None, ports, world,
                                open_ports=w is None and bool(self.src.port_names)))
        return out
