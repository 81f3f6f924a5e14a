"""The ruleset's address side (leaves, legacy addresses, ranges) and the cut of the address lines into
external IP classes."""

from __future__ import annotations

from bisect import bisect_right
from itertools import pairwise

import netaddr

from ..errors import InputError
from ..evaluate.firewall import parse_range
from ..model.inventory import Inventory
from ..model.ruleset import AddrExpr, AnyAddr, Net, Ref, Ruleset, Svc
from .classes import IpClass

V4_END, V6_END = 1 << 32, 1 << 128


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


def addr_contains(rs: Ruleset, expr: AddrExpr, version: int, x: int) -> bool:
    """Is address X (of VERSION) in EXPR, unresolved parts left out?  Each named object is decided once,
    innermost first and without recursion (a diamond of nested groups is not walked per path)."""
    known: dict[str, bool] = {}

    def item_has(item) -> bool:
        if isinstance(item, Net):
            return item.version == version and item.first <= x <= item.last
        if isinstance(item, AnyAddr):
            return item.version in (None, version)
        if isinstance(item, Ref):
            return known.get(item.name, False)  # undefined, or on a cycle: left out
        return False

    def holds(e: AddrExpr) -> bool:
        return any(item_has(i) for i in e.include) and not any(item_has(i) for i in e.exclude)

    order, seen, stack = [], set(), [(None, expr, False)]
    while stack:  # post-order over the objects EXPR names
        name, e, done = stack.pop()
        if done:
            order.append(name)
            continue
        if name is not None:
            if name in seen:
                continue
            seen.add(name)
            stack.append((name, e, True))
        for i in e.include + e.exclude:
            if isinstance(i, Ref) and i.name in rs.addresses and i.name not in seen:
                stack.append((i.name, rs.addresses[i.name].expr, False))
    for name in order:
        known[name] = holds(rs.addresses[name].expr)
    return holds(expr)


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
                    raise InputError(
                        f"workload {w.name}: {text!r} is neither an address nor an object of ruleset {rs.name}", w.loc
                    )

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


def in_ranges(ranges, version: int, x: int) -> bool:
    return any(v == version and lo <= x <= hi for v, lo, hi in ranges)


def elementary_intervals(pts: list[int], mine) -> list[tuple[int, int, int]]:
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


def ip_classes(leaves, extra_cuts, keep) -> list[IpClass]:
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
        for a, b, sig in elementary_intervals(sorted(cuts), mine):
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
