"""Flow regions for lint: finite unions of disjoint boxes src x dst x svc.

Each side of a box is a set of one of the compiler's number lines, so set
difference is exact.  The sides are IntervalSets or, on the fast path, int bit
masks over a `Line`'s atoms (the pieces the boundaries of every set lint uses
cut the line into): the functions below use only `&`, `-` of a subset, and
truth, which mean the same for both, so both give the same boxes in the same
order.  A region that grows past LIMIT boxes raises TooComplex: lint then says
it could not decide, rather than guess.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import NamedTuple

from ..model.space import IntervalSet

LIMIT = 5000


class Box(NamedTuple):
    """The flows from SRC to DST on the services SVC."""

    src: IntervalSet
    dst: IntervalSet
    svc: IntervalSet


class TooComplex(Exception):
    """The region grew too large to decide exactly."""


class Line:
    """The atoms the boundaries of SETS cut a number line into; a union of atoms is an int (bit k: atom k)."""

    def __init__(self, sets):
        self.cuts = sorted({p for s in set(sets) for lo, hi in s for p in (lo, hi + 1)})
        self._codes: dict[IntervalSet, int] = {}
        self._sets: dict[int, IntervalSet] = {}

    def code(self, s: IntervalSet) -> int:
        m = self._codes.get(s)
        if m is None:
            m, cuts = 0, self.cuts
            for lo, hi in s:
                i = bisect_left(cuts, lo)
                m |= ((1 << (bisect_left(cuts, hi + 1, i) - i)) - 1) << i
            self._codes[s] = m
        return m

    def decode(self, m: int) -> IntervalSet:
        s = self._sets.get(m)
        if s is None:
            s = self._sets[m] = self._decode(m)
        return s

    def _decode(self, m: int) -> IntervalSet:
        cuts, out, k = self.cuts, [], 0
        while m:
            skip = (m & -m).bit_length() - 1  # lowest set bit: a run of atoms starts there
            m >>= skip
            k += skip
            run = (~m & (m + 1)).bit_length() - 1  # its length
            out.append((cuts[k], cuts[k + run] - 1))
            m >>= run
            k += run
        return IntervalSet._raw(tuple(out))


class Plain:
    """The identity coding: boxes of IntervalSets (the reference for the Line coding)."""

    def __init__(self, sets=()):
        pass

    def code(self, s: IntervalSet) -> IntervalSet:
        return s

    def decode(self, s: IntervalSet) -> IntervalSet:
        return s


def box(src: IntervalSet, dst: IntervalSet, svc: IntervalSet) -> Box | None:
    """The box, or None when a side is empty."""
    return Box(src, dst, svc) if src and dst and svc else None


def box_and(a: Box, b: Box) -> Box | None:
    s = a.src & b.src
    if not s:
        return None
    d = a.dst & b.dst
    if not d:
        return None
    v = a.svc & b.svc
    return Box(s, d, v) if v else None


def box_minus(a: Box, b: Box) -> list[Box]:
    """A - B as at most three disjoint boxes."""
    s_in = a.src & b.src
    if not s_in:
        return [a]
    d_in = a.dst & b.dst
    if not d_in:
        return [a]
    v_in = a.svc & b.svc
    if not v_in:
        return [a]
    out = []
    s_out = a.src - s_in
    if s_out:
        out.append(Box(s_out, a.dst, a.svc))
    d_out = a.dst - d_in
    if d_out:
        out.append(Box(s_in, d_out, a.svc))
    v_out = a.svc - v_in
    if v_out:
        out.append(Box(s_in, d_in, v_out))
    return out


def touch(a: Box | None, b: Box | None) -> bool:
    """Do boxes A and B share a flow?"""
    return a is not None and b is not None and bool(a.src & b.src and a.dst & b.dst and a.svc & b.svc)


def inside(a: Box, b: Box) -> bool:
    """Is box A inside box B?"""
    return all(not (x - (x & y)) for x, y in zip(a, b))


def minus(region: list[Box], b: Box | None) -> list[Box]:
    if b is None:
        return region
    out: list[Box] = []
    for a in region:
        out += box_minus(a, b)
        if len(out) > LIMIT:
            raise TooComplex
    return out


def meet(region: list[Box], b: Box | None) -> list[Box]:
    if b is None:
        return []
    return [x for a in region if (x := box_and(a, b)) is not None]


def sample(region: list[Box]) -> tuple[int, int, int]:
    """One flow (src, dst, svc) of a non-empty region."""
    s, d, v = region[0]
    return s.first(), d.first(), v.first()
