"""Express a set of IP addresses as few NetworkPolicy ipBlocks (cidr + except)."""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache

import netaddr

from .space import V6_BASE, IntervalSet


class _Cover:
    """Coverage questions about an interval set, answered with bisect."""

    def __init__(self, s: IntervalSet):
        self.iv = s.iv
        self.los = [lo for lo, _ in s.iv]

    def contains(self, lo: int, hi: int) -> bool:
        i = bisect_right(self.los, lo) - 1
        return i >= 0 and self.iv[i][1] >= hi

    def meets(self, lo: int, hi: int) -> bool:
        i = bisect_right(self.los, hi) - 1
        return i >= 0 and self.iv[i][1] >= lo


def ip_blocks(want: IntervalSet, dont_care: IntervalSet) -> list[tuple[str, list[str]]]:
    """[(cidr, [except...])] covering every address of WANT, none outside WANT | DONT_CARE."""
    out = []
    for base, bits, version in ((0, 32, 4), (V6_BASE, 128, 6)):
        part = want & IntervalSet([(base, base + (1 << bits) - 1)])
        if part:
            out += _family(part, dont_care, base, bits, version)
    return out


def _family(want: IntervalSet, dont_care: IntervalSet, base: int, bits: int, version: int):
    w = _Cover(want)
    u = _Cover(want | dont_care)

    def span(lo: int, plen: int) -> tuple[int, int]:
        return lo, lo + (1 << (bits - plen)) - 1

    @lru_cache(maxsize=None)
    def state(lo: int, plen: int) -> str:
        a, b = span(lo, plen)
        if not w.meets(a, b):
            return "out"
        if u.contains(a, b):
            return "in"
        return "mixed"

    def kids(lo: int, plen: int):
        return (lo, plen + 1), (lo + (1 << (bits - plen - 1)), plen + 1)

    @lru_cache(maxsize=None)
    def cover_out(lo: int, plen: int) -> int:
        st = state(lo, plen)
        if st == "in":
            return 0
        a, b = span(lo, plen)
        if st == "out" or not u.meets(a, b):
            return 1
        l, r = kids(lo, plen)
        return cover_out(*l) + cover_out(*r)

    @lru_cache(maxsize=None)
    def best(lo: int, plen: int) -> tuple[int, str]:
        st = state(lo, plen)
        if st != "mixed":
            return (0 if st == "out" else 1), st
        l, r = kids(lo, plen)
        split = best(*l)[0] + best(*r)[0]
        excepted = 1 + cover_out(*l) + cover_out(*r)
        return (split, "split") if split <= excepted else (excepted, "except")

    def cidr(lo: int, plen: int) -> str:
        return str(netaddr.IPNetwork((lo - base, plen), version=version))

    def out_list(lo: int, plen: int, acc: list) -> None:
        st = state(lo, plen)
        if st == "in":
            return
        a, b = span(lo, plen)
        if st == "out" or not u.meets(a, b):
            acc.append(cidr(lo, plen))
            return
        for k in kids(lo, plen):
            out_list(*k, acc)

    def emit(lo: int, plen: int, acc: list) -> None:
        cost, how = best(lo, plen)
        if how == "in":
            acc.append((cidr(lo, plen), []))
        elif how == "split":
            for k in kids(lo, plen):
                emit(*k, acc)
        elif how == "except":
            exc: list[str] = []
            for k in kids(lo, plen):
                out_list(*k, exc)
            acc.append((cidr(lo, plen), exc))

    acc: list = []
    emit(base, 0, acc)
    return acc
