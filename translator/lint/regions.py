"""Flow regions for lint: finite unions of disjoint boxes src x dst x svc.

Each side of a box is an IntervalSet of the compiler's number lines, so set
difference is exact.  A region that grows past LIMIT boxes raises TooComplex:
lint then says it could not decide, rather than guess.
"""

from __future__ import annotations

from ..model.space import IntervalSet

LIMIT = 5000
Box = tuple[IntervalSet, IntervalSet, IntervalSet]


class TooComplex(Exception):
    """The region grew too large to decide exactly."""


def box(src: IntervalSet, dst: IntervalSet, svc: IntervalSet) -> Box | None:
    """The box, or None when a side is empty."""
    return (src, dst, svc) if src and dst and svc else None


def box_and(a: Box, b: Box) -> Box | None:
    s = a[0] & b[0]
    if not s:
        return None
    d = a[1] & b[1]
    if not d:
        return None
    v = a[2] & b[2]
    return (s, d, v) if v else None


def box_minus(a: Box, b: Box) -> list[Box]:
    """A - B as at most three disjoint boxes."""
    if box_and(a, b) is None:
        return [a]
    out = []
    s_in, s_out = a[0] & b[0], a[0] - b[0]
    if s_out:
        out.append((s_out, a[1], a[2]))
    d_in, d_out = a[1] & b[1], a[1] - b[1]
    if d_out:
        out.append((s_in, d_out, a[2]))
    v_out = a[2] - b[2]
    if v_out:
        out.append((s_in, d_in, v_out))
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
