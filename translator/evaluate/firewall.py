"""Brute-force firewall decision for single flows (docs/semantics.md).

Walks the model's expressions directly; no interval sets.  "The addresses of
a pod are inside / meet a set" is decided by testing membership at every
boundary point of the items the expression mentions: membership is constant
between consecutive boundaries.  A legacy flow has one address family: a pod
flow is decided in each family both ends have addresses of.
"""

from __future__ import annotations

from bisect import bisect_right

import netaddr

from ..model.inventory import Inventory, Workload
from ..model.ruleset import ALLOW, AddrExpr, AnyAddr, Net, Ref, Rule, Ruleset, Svc, Unresolved
from .endpoints import Endpoint, Ip, Pod

SECURE, OPTIMISTIC = "secure", "optimistic"
TOP = {4: 2**32 - 1, 6: 2**128 - 1}


def parse_range(text: str) -> tuple[int, int, int] | None:
    """(version, first, last) of a CIDR, host or a-b range; None if TEXT is not one."""
    try:
        if "-" in text and not text.startswith("-"):
            a, b = (netaddr.IPAddress(x.strip()) for x in text.split("-", 1))
            if a.version != b.version or a > b:
                return None
            return a.version, int(a), int(b)
        net = netaddr.IPNetwork(text)
        return net.version, int(net.first), int(net.last)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


class FirewallEvaluator:
    """Decides single flows under a ruleset, in the secure or optimistic reading."""

    def __init__(self, ruleset: Ruleset, inventory: Inventory, mode: str = SECURE):
        if mode not in (SECURE, OPTIMISTIC):
            raise ValueError(f"mode must be {SECURE!r} or {OPTIMISTIC!r}, not {mode!r}")
        self.rs, self.inv, self.mode = ruleset, inventory, mode
        self.default_allow = ruleset.default == ALLOW
        self._bounds: dict = {}
        self._tables: dict = {}  # (object, version, upper) -> (points, membership from each point on)
        self._object_bounds: dict = {}  # (object, version) -> its boundaries
        self._svc_tables: dict = {}
        self._cache: dict = {}
        self.legacy: dict[str, list[tuple[int, int, int]]] = {
            name: self._legacy(w) for name, w in sorted(inventory.workloads.items())
        }
        # the cluster's own CIDRs: pod IPs and service IPs are not external endpoints
        self.pod_ranges = [r for r in map(parse_range, inventory.pod_cidrs) if r]
        service_ranges = [r for r in map(parse_range, inventory.service_cidrs) if r]
        self.cluster_ranges = self.pod_ranges + service_ranges
        # a pod without legacy addresses: any address of the pod CIDRs (none declared: any address)
        # that is no workload's and no service's
        anywhere = self.pod_ranges if self.pod_ranges else [(v, 0, TOP[v]) for v in (4, 6)]
        self.unknown = subtract(anywhere, [r for rs in self.legacy.values() for r in rs] + service_ranges)

    # --- address expressions --------------------------------------------------

    def _addr_def(self, name: str) -> AddrExpr:
        if name not in self.rs.addresses:
            raise ValueError(f"undefined address object {name!r}")
        return self.rs.addresses[name].expr

    def _item_has(self, item, version: int, x: int, upper: bool) -> bool:
        if isinstance(item, Net):
            return item.version == version and item.first <= x <= item.last
        if isinstance(item, AnyAddr):
            return item.version in (None, version)
        if isinstance(item, Ref):
            self._object(item.name, version)
            points, values = self._tables[(item.name, version, upper)]
            return values[bisect_right(points, x) - 1]
        if isinstance(item, Unresolved):
            return upper
        raise TypeError(f"not an address item: {item!r}")

    def _object(self, name: str, version: int) -> None:
        """Object NAME's boundaries and membership (a step function of the address, lower and upper), for
        it and every object it names, built once, innermost first and without recursion: a group reached
        by many paths (a diamond of nested groups) is decided once, and no nesting depth overflows."""
        if (name, version) in self._object_bounds:
            return
        order, seen, stack = [], set(), [(name, False)]
        while stack:  # post-order: each object after the objects it names
            n, done = stack.pop()
            if done:
                order.append(n)
                continue
            if n in seen:
                continue
            seen.add(n)
            stack.append((n, True))
            expr = self._addr_def(n)
            stack += [(i.name, False) for i in expr.include + expr.exclude if isinstance(i, Ref) and i.name not in seen]
        for n in order:
            if (n, version) in self._object_bounds:
                continue
            expr = self._addr_def(n)
            for i in expr.include + expr.exclude:
                if isinstance(i, Ref) and (i.name, version) not in self._object_bounds:
                    raise ValueError(f"address object {n!r} is part of a cycle (through {i.name!r})")
            bounds = self.boundaries(expr, version)
            self._object_bounds[(n, version)] = bounds
            points = sorted({0} | {p for p in bounds if p <= TOP[version]})
            for upper in (False, True):
                self._tables[(n, version, upper)] = (points, [self.has(expr, version, p, upper) for p in points])

    def has(self, expr: AddrExpr, version: int, x: int, upper: bool) -> bool:
        """Is address X in the lower (upper=False) or upper set of EXPR?"""
        if not any(self._item_has(i, version, x, upper) for i in expr.include):
            return False
        # lower(A - B) = lower(A) - upper(B); upper(A - B) = upper(A) - lower(B)
        return not any(self._item_has(i, version, x, not upper) for i in expr.exclude)

    def boundaries(self, expr: AddrExpr, version: int) -> frozenset[int]:
        """Points where membership in EXPR may change (each Net's first and last+1)."""
        key = (expr, version)
        if key not in self._bounds:
            out: set[int] = set()
            for item in expr.include + expr.exclude:
                if isinstance(item, Net) and item.version == version:
                    out.update((item.first, item.last + 1))
                elif isinstance(item, Ref):
                    self._object(item.name, version)
                    out |= self._object_bounds[(item.name, version)]
            self._bounds[key] = frozenset(out)
        return self._bounds[key]

    def _points(self, expr: AddrExpr, version: int, lo: int, hi: int) -> list[int]:
        return [lo] + sorted(p for p in self.boundaries(expr, version) if lo < p <= hi)

    def inside(self, expr: AddrExpr, ranges, upper: bool) -> bool:
        """Are all of RANGES [(version, lo, hi)] in the set?"""
        return all(self.has(expr, v, p, upper) for v, lo, hi in ranges for p in self._points(expr, v, lo, hi))

    def meets(self, expr: AddrExpr, ranges, upper: bool) -> bool:
        """Is some address of RANGES in the set?"""
        return any(self.has(expr, v, p, upper) for v, lo, hi in ranges for p in self._points(expr, v, lo, hi))

    def names_cluster(self, expr: AddrExpr) -> bool:
        """Does EXPR's upper set meet the cluster's pod or service CIDRs (which any pod may hold)?"""
        return bool(self.cluster_ranges) and self.meets(expr, self.cluster_ranges, True)

    def ranges_of(self, expr: AddrExpr) -> list[tuple[int, int, int]]:
        """EXPR as (version, first, last) ranges; ValueError if it has unresolved parts."""
        out = []
        for v in (4, 6):
            pts = sorted({0} | {p for p in self.boundaries(expr, v) if p <= TOP[v]})
            for k, p in enumerate(pts):
                lower, upper = self.has(expr, v, p, False), self.has(expr, v, p, True)
                if lower != upper:
                    raise ValueError("has unresolved parts")
                if lower:
                    end = pts[k + 1] - 1 if k + 1 < len(pts) else TOP[v]
                    if out and out[-1][0] == v and out[-1][2] == p - 1:
                        out[-1] = (v, out[-1][1], end)
                    else:
                        out.append((v, p, end))
        return out

    def _legacy(self, w: Workload) -> list[tuple[int, int, int]]:
        out = []
        for text in w.addresses:
            r = parse_range(text)
            if r is not None:
                out.append(r)
                continue
            if text not in self.rs.addresses:
                raise ValueError(
                    f"workload {w.name}: {text!r} is neither an address nor an object of ruleset {self.rs.name}"
                )
            try:
                out += self.ranges_of(self._addr_def(text))
            except ValueError:
                raise ValueError(f"workload {w.name}: object {text!r} has unresolved parts") from None
        return out

    # --- endpoints --------------------------------------------------------------

    def workload_of(self, pod: Pod) -> Workload | None:
        """The workload POD belongs to (None: other pod or outside pod)."""
        if pod.namespace not in self.inv.namespaces:
            return None
        key = ("workload", pod.namespace, pod.labels)
        if key not in self._cache:
            labels = pod.label_map
            self._cache[key] = next(
                (w for w in self._workloads_in(pod.namespace) if all(labels.get(k) == v for k, v in w.labels.items())),
                None,
            )
        return self._cache[key]

    def _workloads_in(self, ns: str) -> list[Workload]:
        key = ("workloads", ns)
        if key not in self._cache:
            self._cache[key] = self.inv.workloads_in(ns)
        return self._cache[key]

    def governs(self, ep: Endpoint, direction: str) -> bool:
        """Does the ruleset govern EP's traffic in DIRECTION ('ingress' or 'egress')?"""
        if not (isinstance(ep, Pod) and ep.namespace in self.inv.namespaces):
            return False
        if direction not in self.rs.directions:
            return False
        if self.rs.protects is None:
            return True
        # secure side: a pod that may be the protected host is governed
        return self.side_matches(self.rs.protects, ep, upper=True, full=False)  # either family

    def in_reach(self, src: Endpoint, dst: Endpoint) -> bool:
        """Does the flow leave a governed pod (egress) or enter one (ingress)?"""
        return self.governs(src, "egress") or self.governs(dst, "ingress")

    def _ip(self, ep: Ip) -> tuple[int, int]:
        ip = netaddr.IPAddress(ep.address)
        x, v = int(ip), ip.version
        for name, ranges in self.legacy.items():
            if any(rv == v and lo <= x <= hi for rv, lo, hi in ranges):
                raise ValueError(f"{ep.address} is a legacy address of workload {name}, not an external endpoint")
        if any(rv == v and lo <= x <= hi for rv, lo, hi in self.cluster_ranges):
            raise ValueError(f"{ep.address} is in the cluster's pod or service CIDRs, not an external endpoint")
        return v, x

    def addresses(self, pod: Pod) -> list[tuple[int, int, int]]:
        """The (version, first, last) ranges POD may have as its address: its workload's legacy ones, else
        the addresses of a pod without legacy addresses."""
        w = self.workload_of(pod)
        return self.legacy[w.name] if w is not None and self.legacy[w.name] else self.unknown

    def families(self, ep: Endpoint) -> tuple[int, ...]:
        """The address families EP has addresses of."""
        if isinstance(ep, Ip):
            return (self._ip(ep)[0],)
        have = {v for v, _, _ in self.addresses(ep)}
        return tuple(v for v in (4, 6) if v in have)

    def side_matches(self, expr: AddrExpr, ep: Endpoint, upper: bool, full: bool, family: int | None = None) -> bool:
        """Does EXPR denote EP among FAMILY's addresses (None: either family)?

        full: a pod needs all its addresses of the family (else any one)."""
        if isinstance(ep, Ip):  # an address is of its own family (flows are given one by `shared_families`)
            v, x = self._ip(ep)
            return self.has(expr, v, x, upper)
        if family is None:
            return any(self.side_matches(expr, ep, upper, full, f) for f in self.families(ep))
        ranges = [r for r in self.addresses(ep) if r[0] == family]
        if not ranges:
            return False
        if not full:
            cluster = [r for r in self.cluster_ranges if r[0] == family]
            if cluster and self.meets(expr, cluster, upper):
                return True  # a deny on the cluster's CIDRs may hit any pod
        key = (expr, upper, full, family, tuple(ranges))
        if key not in self._cache:
            test = self.inside if full else self.meets
            self._cache[key] = test(expr, ranges, upper)
        return self._cache[key]

    # --- services and rules -----------------------------------------------------

    def svc_has(self, items, proto: int, port: int, upper: bool) -> bool:
        """Is service (PROTO, PORT) in the lower or upper set of ITEMS?"""
        for item in items:
            if isinstance(item, Svc):
                if item.proto is None or (item.proto == proto and item.lo <= port <= item.hi):
                    return True
            elif isinstance(item, Ref):
                if self._svc_object(item.name, upper).get(proto, _NO_PORTS)(port):
                    return True
            elif isinstance(item, Unresolved):
                if upper:
                    return True
            else:
                raise TypeError(f"not a service item: {item!r}")
        return False

    def _svc_object(self, name: str, upper: bool) -> dict:
        """Service object NAME as {protocol: port test} (None: every protocol), built once per object,
        so nested service groups are not walked once per path."""
        key = (name, upper)
        if key not in self._svc_tables:
            if name not in self.rs.services:
                raise ValueError(f"undefined service object {name!r}")
            spans: dict = {}
            everything = False
            stack, seen = [name], set()
            while stack:  # every Svc the object holds, through its nested objects, each object once
                n = stack.pop()
                if n in seen:
                    continue
                seen.add(n)
                if n not in self.rs.services:
                    raise ValueError(f"undefined service object {n!r}")
                for item in self.rs.services[n].items:
                    if isinstance(item, Svc):
                        if item.proto is None:
                            everything = True
                        else:
                            spans.setdefault(item.proto, []).append((item.lo, item.hi))
                    elif isinstance(item, Ref):
                        stack.append(item.name)
                    elif isinstance(item, Unresolved):
                        everything = everything or upper
                    else:
                        raise TypeError(f"not a service item: {item!r}")
            if everything:
                table = _EVERY_PROTO
            else:
                table = {p: _port_test(sorted(iv)) for p, iv in spans.items()}
            self._svc_tables[key] = table
        return self._svc_tables[key]

    def matches(self, rule: Rule, src: Endpoint, dst: Endpoint, proto: int, port: int, family: int) -> bool:
        """Does RULE match the flow's legacy flows of FAMILY in this evaluator's reading?"""
        # secure: allows match surely (lower, inside), denies possibly (upper, meets)
        sure = (rule.action == ALLOW) == (self.mode == SECURE)
        if rule.conditions and sure:
            return False
        upper = not sure
        return (
            self.svc_has(rule.services, proto, port, upper)
            and self.side_matches(rule.src, src, upper, sure, family)
            and self.side_matches(rule.dst, dst, upper, sure, family)
        )

    def shared_families(self, src: Endpoint, dst: Endpoint) -> tuple[int, ...]:
        """The families of the legacy flows the flow stands for (both ends have addresses of them)."""
        self._check(src, dst)
        if isinstance(src, Ip) and isinstance(dst, Ip):
            return self.families(src)  # out of any pod's reach: each side read as it is
        theirs = self.families(dst)
        return tuple(f for f in self.families(src) if f in theirs)

    def trace(
        self, src: Endpoint, dst: Endpoint, proto: int, port: int, family: int | None = None
    ) -> list[tuple[Rule, bool]]:
        """Each rule checked, in order, until the first match (in FAMILY; None: the deciding family)."""
        if family is None:
            family = self.decision(src, dst, proto, port)[2]
        out = []
        if family is None:
            return out
        for rule in self.rs.rules:
            m = self.matches(rule, src, dst, proto, port, family)
            out.append((rule, m))
            if m:
                break
        return out

    def decide_in(self, src: Endpoint, dst: Endpoint, proto: int, port: int, family: int) -> tuple[bool, Rule | None]:
        """(allowed, the first matching rule or None for the default) for the legacy flows of FAMILY."""
        for rule in self.rs.rules:
            if self.matches(rule, src, dst, proto, port, family):
                return rule.action == ALLOW, rule
        return self.default_allow, None

    def decision(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> tuple[bool, Rule | None, int | None]:
        """(allowed, rule, family): secure, every shared family allows; optimistic, some family does.
        No shared family: denied (the legacy network had no such flow), family None."""
        fams = self.shared_families(src, dst)
        if not fams:
            return False, None, None
        results = [(*self.decide_in(src, dst, proto, port, f), f) for f in fams]
        want = self.mode != SECURE  # the outcome that settles it: a deny (secure) or an allow (optimistic)
        return next((r for r in results if r[0] == want), results[0])

    def decide(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> tuple[bool, Rule | None]:
        """(allowed, the first matching rule or None for the default action)."""
        allowed, rule, _ = self.decision(src, dst, proto, port)
        return allowed, rule

    def _check(self, src: Endpoint, dst: Endpoint) -> None:
        for ep in (src, dst):
            if isinstance(ep, Ip):
                self._ip(ep)
            elif not isinstance(ep, Pod):
                raise TypeError(f"not an endpoint: {ep!r}")


def subtract(ranges, holes) -> list[tuple[int, int, int]]:
    """(version, first, last) RANGES without the addresses of HOLES."""
    out = []
    for v, lo, hi in ranges:
        cur = lo
        for hv, hlo, hhi in sorted(holes):
            if hv != v or hhi < cur or hlo > hi:
                continue
            if hlo > cur:
                out.append((v, cur, hlo - 1))
            cur = max(cur, hhi + 1)
        if cur <= hi:
            out.append((v, cur, hi))
    return out


def _NO_PORTS(port: int) -> bool:
    return False


def _port_test(spans: list[tuple[int, int]]):
    """A test of PORT against sorted (lo, hi) spans."""
    los = [lo for lo, _ in spans]
    his = [hi for _, hi in spans]
    top = list(his)
    for i in range(1, len(top)):
        top[i] = max(top[i], top[i - 1])  # the highest end among spans starting at or before each

    def test(port: int) -> bool:
        i = bisect_right(los, port) - 1
        return i >= 0 and top[i] >= port

    return test


class _EveryProto(dict):
    """Every protocol and port (an object holding 'any', or an unresolved item read as upper)."""

    def get(self, proto, default=None):
        return lambda port: True


_EVERY_PROTO = _EveryProto()
