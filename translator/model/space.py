"""The compiler's set algebra: integer interval sets on two number lines.

Endpoints: IPv4 addresses at [0, 2**32), IPv6 at [V6_BASE, V6_BASE + 2**128),
then one point per pod class (workload, other pods of a namespace, pods of
other namespaces) from POD_BASE.  Services: proto * 65536 + port (or ICMP type).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator

from .ruleset import port_domain

V6_BASE = 1 << 32
POD_BASE = V6_BASE + (1 << 128)
PROTO_SHIFT = 16


class IntervalSet:
    """An immutable set of integers kept as sorted disjoint inclusive intervals."""

    __slots__ = ("iv", "_los", "_hash")

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
        self._los = self._hash = None

    @classmethod
    def _raw(cls, iv: tuple) -> IntervalSet:
        s = cls.__new__(cls)
        s.iv, s._los, s._hash = iv, None, None
        return s

    @classmethod
    def point(cls, x: int) -> IntervalSet:
        return cls._raw(((x, x),))

    def __bool__(self) -> bool:
        return bool(self.iv)

    def __eq__(self, other) -> bool:
        return isinstance(other, IntervalSet) and self.iv == other.iv

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.iv)
        return self._hash

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self.iv)

    def __len__(self) -> int:
        return len(self.iv)

    def __repr__(self) -> str:
        return f"IntervalSet({list(self.iv)!r})"

    def _starts(self) -> list[int]:
        if self._los is None:
            self._los = [lo for lo, _ in self.iv]
        return self._los

    def __contains__(self, x: int) -> bool:
        i = bisect_right(self._starts(), x) - 1
        return i >= 0 and x <= self.iv[i][1]

    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.iv)

    def __or__(self, other: IntervalSet) -> IntervalSet:
        if not other.iv:
            return self
        if not self.iv:
            return other
        if len(other.iv) > len(self.iv):
            self, other = other, self
        if len(other.iv) > 4:
            return IntervalSet(self.iv + other.iv)
        out = self
        for lo, hi in other.iv:
            out = out._add(lo, hi)
        return out

    def _add(self, lo: int, hi: int) -> IntervalSet:
        """This set with lo..hi added (one bisect and a splice)."""
        iv = self.iv
        starts = self._starts()
        i = bisect_right(starts, lo) - 1  # last interval starting at or before lo
        if i >= 0 and iv[i][1] + 1 >= lo:
            if iv[i][1] >= hi:
                return self
            lo = iv[i][0]
        else:
            i += 1
        k = i  # absorb every interval that touches lo..hi
        while k < len(iv) and iv[k][0] <= hi + 1:
            if iv[k][1] > hi:
                hi = iv[k][1]
            k += 1
        return IntervalSet._raw(iv[:i] + ((lo, hi),) + iv[k:])

    def __and__(self, other: IntervalSet) -> IntervalSet:
        if not self.iv or not other.iv:
            return IntervalSet._raw(())
        if len(self.iv) > len(other.iv):
            self, other = other, self
        return IntervalSet._raw(tuple(other._clip(self.iv)))

    def _clip(self, windows) -> list[tuple[int, int]]:
        """This set's intervals inside each of the sorted disjoint WINDOWS (whole runs copied by slicing)."""
        a, starts, out = self.iv, self._starts(), []
        for lo, hi in windows:
            i = bisect_right(starts, lo) - 1
            if i < 0 or a[i][1] < lo:
                i += 1
            k = bisect_right(starts, hi) - 1
            if i > k:
                continue
            if i == k:
                out.append((max(lo, a[i][0]), min(hi, a[i][1])))
                continue
            out.append((max(lo, a[i][0]), a[i][1]))
            out.extend(a[i + 1 : k])
            out.append((a[k][0], min(hi, a[k][1])))
        return out

    def __sub__(self, other: IntervalSet) -> IntervalSet:
        if not other.iv or not self.iv:
            return self
        b = other.iv
        if self.iv[-1][1] < b[0][0] or b[-1][1] < self.iv[0][0]:
            return self
        if len(b) < len(self.iv):  # keep what lies in the gaps of OTHER
            gaps, cur = [], self.iv[0][0]
            for lo, hi in b:
                if lo > cur:
                    gaps.append((cur, lo - 1))
                cur = max(cur, hi + 1)
            if cur <= self.iv[-1][1]:
                gaps.append((cur, self.iv[-1][1]))
            return IntervalSet._raw(tuple(self._clip(gaps)))
        out, starts = [], other._starts()
        for lo, hi in self.iv:
            k = max(0, bisect_right(starts, lo) - 1)
            cur = lo
            while k < len(b) and b[k][0] <= hi:
                if b[k][1] >= cur:
                    if b[k][0] > cur:
                        out.append((cur, b[k][0] - 1))
                    cur = b[k][1] + 1
                k += 1
            if cur <= hi:
                out.append((cur, hi))
        return IntervalSet._raw(tuple(out))

    def issubset(self, other: IntervalSet) -> bool:
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
