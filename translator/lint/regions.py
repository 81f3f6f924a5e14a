"""Flow regions for lint: finite unions of disjoint boxes src x dst x svc.

Each side of a box is an IntervalSet of the compiler's number lines, so set
difference is exact.  A region that grows past LIMIT boxes raises TooComplex:
lint then says it could not decide, rather than guess.
"""

from __future__ import annotations

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
    if box_and(a, b) is None:
        return [a]
    out = []
    s_in, s_out = a.src & b.src, a.src - b.src
    if s_out:
        out.append(Box(s_out, a.dst, a.svc))
    d_in, d_out = a.dst & b.dst, a.dst - b.dst
    if d_out:
        out.append(Box(s_in, d_out, a.svc))
    v_out = a.svc - b.svc
    if v_out:
        out.append(Box(s_in, d_in, v_out))
    return out


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
