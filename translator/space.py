"""The compiler's set algebra: integer interval sets on two number lines.

Endpoints: IPv4 addresses at [0, 2**32), IPv6 at [V6_BASE, V6_BASE + 2**128),
then one point per pod class (workload, other pods of a namespace, pods of
other namespaces) from POD_BASE.  Services: proto * 65536 + port (or ICMP type).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Iterable, Iterator

from .model import port_domain

V6_BASE = 1 << 32
POD_BASE = V6_BASE + (1 << 128)
PROTO_SHIFT = 16


class IntervalSet:
    """An immutable set of integers kept as sorted disjoint inclusive intervals."""

    __slots__ = ("iv", "_los")

    def __init__(self, intervals: Iterable[tuple[int, int]] = ()):
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(intervals):
            if lo > hi:
                continue
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        self.iv = tuple(merged)
        self._los = None

    @classmethod
    def _raw(cls, iv: tuple) -> "IntervalSet":
        s = cls.__new__(cls)
        s.iv, s._los = iv, None
        return s

    @classmethod
    def point(cls, x: int) -> "IntervalSet":
        return cls._raw(((x, x),))

    def __bool__(self) -> bool:
        return bool(self.iv)

    def __eq__(self, other) -> bool:
        return isinstance(other, IntervalSet) and self.iv == other.iv

    def __hash__(self) -> int:
        return hash(self.iv)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self.iv)

    def __len__(self) -> int:
        return len(self.iv)

    def __repr__(self) -> str:
        return f"IntervalSet({list(self.iv)!r})"

    def __contains__(self, x: int) -> bool:
        if self._los is None:
            self._los = [lo for lo, _ in self.iv]
        i = bisect_right(self._los, x) - 1
        return i >= 0 and x <= self.iv[i][1]

    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.iv)

    def __or__(self, other: "IntervalSet") -> "IntervalSet":
        if not other.iv:
            return self
        if not self.iv:
            return other
        return IntervalSet(self.iv + other.iv)

    def __and__(self, other: "IntervalSet") -> "IntervalSet":
        a, b, out = self.iv, other.iv, []
        i = j = 0
        while i < len(a) and j < len(b):
            lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
            if lo <= hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return IntervalSet._raw(tuple(out))

    def __sub__(self, other: "IntervalSet") -> "IntervalSet":
        if not other.iv or not self.iv:
            return self
        out, b, j = [], other.iv, 0
        for lo, hi in self.iv:
            while j < len(b) and b[j][1] < lo:
                j += 1
            k, cur = j, lo
            while k < len(b) and b[k][0] <= hi:
                if b[k][0] > cur:
                    out.append((cur, b[k][0] - 1))
                cur = max(cur, b[k][1] + 1)
                k += 1
            if cur <= hi:
                out.append((cur, hi))
        return IntervalSet._raw(tuple(out))

    def issubset(self, other: "IntervalSet") -> bool:
        return not (self - other)

    def first(self) -> int:
        return self.iv[0][0]


EMPTY = IntervalSet()
ALL_V4 = IntervalSet([(0, V6_BASE - 1)])
ALL_V6 = IntervalSet([(V6_BASE, POD_BASE - 1)])
ALL_IP = ALL_V4 | ALL_V6


def ip_range(first: int, last: int, version: int) -> IntervalSet:
    base = 0 if version == 4 else V6_BASE
    return IntervalSet([(base + first, base + last)])


def svc_range(proto: int, lo: int, hi: int) -> IntervalSet:
    return IntervalSet([((proto << PROTO_SHIFT) + lo, (proto << PROTO_SHIFT) + hi)])


def whole_proto(proto: int) -> IntervalSet:
    return svc_range(proto, *port_domain(proto))


FULL_SVC = IntervalSet(iv for p in range(256) for iv in whole_proto(p))


def split_svc(s: IntervalSet) -> dict[int, list[tuple[int, int]]]:
    """{proto: [(lo, hi), ...]} for a service set."""
    out: dict[int, list[tuple[int, int]]] = {}
    for lo, hi in s:
        p, q = lo >> PROTO_SHIFT, hi >> PROTO_SHIFT
        for proto in range(p, q + 1):
            a = max(lo, proto << PROTO_SHIFT) & 0xFFFF
            b = min(hi, (proto << PROTO_SHIFT) | 0xFFFF) & 0xFFFF
            dlo, dhi = port_domain(proto)
            a, b = max(a, dlo), min(b, dhi)
            if a <= b:
                out.setdefault(proto, []).append((a, b))
    return out
