"""Express a set of IP addresses as few NetworkPolicy ipBlocks (cidr + except).

A dynamic program over the prefix tree: each node is covered either by its two
halves or by itself with excepts.  Results below the prefix lengths CUTS depend only
on the addresses inside that block, so callers may share them across calls.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import netaddr

from ..model.space import V6_BASE, IntervalSet

CUTS = (8, 16, 24)  # prefix lengths whose subtrees are shared across calls (see `ip_blocks`)


class _Cover:
    """Coverage questions about an interval set, answered with bisect."""

    def __init__(self, iv: tuple):
        self.iv = iv
        self.los = [lo for lo, _ in iv]
        self.his = [hi for _, hi in iv]

    def contains(self, lo: int, hi: int) -> bool:
        i = bisect_right(self.los, lo) - 1
        return i >= 0 and self.iv[i][1] >= hi

    def meets(self, lo: int, hi: int) -> bool:
        i = bisect_right(self.los, hi) - 1
        return i >= 0 and self.iv[i][1] >= lo

    def within(self, lo: int, hi: int) -> tuple:
        """The intervals that meet lo..hi, clipped to it."""
        part = self.iv[bisect_left(self.his, lo) : bisect_right(self.los, hi)]
        if part:
            part = ((max(lo, part[0][0]), part[0][1]),) + part[1:]
            part = part[:-1] + ((part[-1][0], min(hi, part[-1][1])),)
        return part


def ip_blocks(want: IntervalSet, dont_care: IntervalSet, shared: dict | None = None) -> list[tuple[str, list[str]]]:
    """[(cidr, [except...])] covering every address of WANT, none outside WANT | DONT_CARE.

    SHARED: a dict kept between calls with the same DONT_CARE, to reuse subtrees."""
    out = []
    for base, bits, version in ((0, 32, 4), (V6_BASE, 128, 6)):
        part = want & IntervalSet([(base, base + (1 << bits) - 1)])
        if part:
            tree = _Tree(part.iv, (part | dont_care).iv, base, bits, version, shared)
            out += tree.emit(base, 0)
    return out


class _Tree:
    def __init__(
        self,
        want: tuple,
        union: tuple,
        base: int,
        bits: int,
        version: int,
        shared: dict | None,
        root: tuple | None = None,
    ):
        self.w, self.u = _Cover(want), _Cover(union)
        self.base, self.bits, self.version = base, bits, version
        self.shared, self.root = shared, root
        self.memo: dict = {}

    def cut(self, lo: int, plen: int) -> bool:
        """Is this node's subtree looked up in the shared results?"""
        return self.shared is not None and plen in CUTS and (lo, plen) != self.root

    def span(self, lo: int, plen: int) -> tuple[int, int]:
        return lo, lo + (1 << (self.bits - plen)) - 1

    def kids(self, lo: int, plen: int):
        return (lo, plen + 1), (lo + (1 << (self.bits - plen - 1)), plen + 1)

    def state(self, lo: int, plen: int) -> str:
        a, b = self.span(lo, plen)
        if not self.w.meets(a, b):
            return "out"
        if self.u.contains(a, b):
            return "in"
        return "mixed"

    def node(self, lo: int, plen: int) -> tuple:
        """(state, best cost, how, cost of excepting its unwanted part) of one node."""
        key = (lo, plen)
        got = self.memo.get(key)
        if got is None:
            st = self.state(lo, plen)
            if st == "in":
                got = (st, 1, "in", 0)
            elif st == "out":
                got = (st, 0, "out", 1)
            elif self.cut(lo, plen):
                got = self.subtree(lo, plen)[0]
            else:
                got = self._mixed(lo, plen)
            self.memo[key] = got
        return got

    def _mixed(self, lo: int, plen: int) -> tuple:
        a, b = self.span(lo, plen)
        left, right = self.kids(lo, plen)
        nl, nr = self.node(*left), self.node(*right)
        out = nl[3] + nr[3] if self.u.meets(a, b) else 1
        split = nl[1] + nr[1]
        excepted = 1 + nl[3] + nr[3]
        return ("mixed", split, "split", out) if split <= excepted else ("mixed", excepted, "except", out)

    def subtree(self, lo: int, plen: int) -> list:
        """[node record, its tree, blocks, excepts] of a mixed subtree at a cut, shared between calls."""
        got = self.memo.get(("shared", lo, plen))
        if got is None:
            a, b = self.span(lo, plen)
            key = (self.version, lo, plen, self.w.within(a, b), self.u.within(a, b))
            got = self.shared.get(key)
            if got is None:
                sub = _Tree(key[3], key[4], self.base, self.bits, self.version, self.shared, (lo, plen))
                got = self.shared[key] = [sub.node(lo, plen), sub, None, None]
            self.memo[("shared", lo, plen)] = got
        return got

    def _shared(self, lo: int, plen: int, what: int) -> list:
        """The blocks (WHAT=2) or excepts (3) of a shared subtree, made once."""
        got = self.subtree(lo, plen)
        if got[what] is None:
            got[what] = got[1].emit(lo, plen) if what == 2 else got[1].excepts(lo, plen)
        return got[what]

    def cidr(self, lo: int, plen: int) -> str:
        return str(netaddr.IPNetwork((lo - self.base, plen), version=self.version))

    def excepts(self, lo: int, plen: int) -> list[str]:
        """Blocks whose union is the unwanted part of the node (for an except list)."""
        st = self.node(lo, plen)[0]
        if st == "in":
            return []
        a, b = self.span(lo, plen)
        if st == "out" or not self.u.meets(a, b):
            return [self.cidr(lo, plen)]
        if self.cut(lo, plen):
            return self._shared(lo, plen, 3)
        return [x for k in self.kids(lo, plen) for x in self.excepts(*k)]

    def emit(self, lo: int, plen: int) -> list[tuple[str, list[str]]]:
        how = self.node(lo, plen)[2]
        if how == "out":
            return []
        if how == "in":
            return [(self.cidr(lo, plen), [])]
        if self.cut(lo, plen):
            return self._shared(lo, plen, 2)
        if how == "split":
            return [x for k in self.kids(lo, plen) for x in self.emit(*k)]
        return [(self.cidr(lo, plen), [x for k in self.kids(lo, plen) for x in self.excepts(*k)])]
