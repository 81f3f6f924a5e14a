"""Sweeps: for one pod class at one end, the decisions along the other end.

The rules that hold the pod class are given bits of one integer; a sweep walks
the other side's edges, keeping the integer of the rules active there, and
decides each distinct set once over service-class masks (see svcclasses.py).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import NamedTuple

from ..model.space import IntervalSet
from .svcclasses import SvcClasses, svc_classes
from .universe import CRule, CRules


class Region(NamedTuple):
    """Where one sweep decides alike: the ENDS of the other side, the ALLOWED services (a mask), the
    RULES that allowed some of them (None: the default action) and the FLAGGED ones among them."""

    ends: IntervalSet
    allowed: int
    rules: list
    flagged: list


def _candidates(compiled: list[CRule], fixed: str, point: int) -> list[tuple[int, CRule]]:
    """[(position, rule)] of the rules whose FIXED side may hold POINT, in order."""
    found = compiled.rules_at(fixed, point) if isinstance(compiled, CRules) else None
    if found is None:
        return [(i, c) for i, c in enumerate(compiled) if point in getattr(c, fixed)]
    return found


def _svc_masks(compiled: list[CRule], classes: SvcClasses) -> list[int]:
    """Each rule's service mask, by position (kept on a CRules list)."""
    got = getattr(compiled, "_svc_masks", None)
    if got is None or len(got) != len(compiled):
        got = [classes.masks[c.svc] for c in compiled]
        if isinstance(compiled, CRules):
            compiled._svc_masks = got
    return got


def _decide_masks(
    masks: list[int], allows: list[bool], active: int, full: int, default_allow: bool, flag: int
) -> tuple[int, int, int]:
    """The first-match decision over bit masks for the rules (positions in MASKS) set in ACTIVE.

    Returns the allowed services, the rules that allowed some of them (bits; the
    default is bit len(MASKS)), and those of them that allowed some of FLAG."""
    decided = allowed = by = flagged = 0
    while active:
        low = active & -active
        active ^= low
        k = low.bit_length() - 1
        new = masks[k] & ~decided
        if not new:
            continue
        if allows[k]:
            allowed |= new
            by |= low
            if new & flag:
                flagged |= low
        decided |= new
        if decided == full:
            break
    if default_allow and decided != full:
        rest = full & ~decided
        allowed |= rest
        by |= 1 << len(masks)
        if rest & flag:
            flagged |= 1 << len(masks)
    return allowed, by, flagged


def along(compiled: list[CRule], fixed: str, point: int, default_allow: bool, end: int, flag: int = 0):
    """Sweep the other side for a fixed endpoint: [Region].

    fixed='src': POINT is a source and regions are destinations; 'dst' the reverse.
    Each region has one set of allowed services (a mask over `svc_classes(compiled)`);
    RULES decided some of them allowed there (in order; None stands for the default
    action) and FLAGGED are those that allowed services of the mask FLAG."""
    return sweep(compiled, None, fixed, point, default_allow, end, flag)[0]


def differences(secure: CRules, optimistic: CRules, fixed: str, point: int, default_allow: bool, end: int):
    """Where SECURE and OPTIMISTIC (two resolutions of one ruleset) decide flows from (fixed='src') or
    to POINT differently: [(lo, hi, services mask)] along the other side, over `pair_classes`."""
    return sweep(secure, optimistic, fixed, point, default_allow, end, regions=False)[1]


def pair_classes(secure: CRules, optimistic: CRules) -> tuple[SvcClasses, list[int], list[int]]:
    """Service classes for two resolutions of one ruleset, and each one's rule masks by position."""
    got = getattr(secure, "_pair", None)
    if got is None or got[0] is not optimistic:
        classes = SvcClasses([c.svc for c in secure] + [c.svc for c in optimistic])
        got = secure._pair = (
            optimistic,
            classes,
            [classes.masks[c.svc] for c in secure],
            [classes.masks[c.svc] for c in optimistic],
        )
    return got[1:]


def sweep(
    secure: CRules,
    optimistic: CRules | None,
    fixed: str,
    point: int,
    default_allow: bool,
    end: int,
    flag: int = 0,
    regions: bool = True,
) -> tuple[list, list]:
    """One sweep of the other side for POINT at FIXED: SECURE's regions (see `along`; if REGIONS)
    and where OPTIMISTIC, another reading of the same rules, decides apart (see `differences`).

    Masks are over `pair_classes(secure, optimistic)`, or `svc_classes(secure)` without OPTIMISTIC."""
    other = "dst" if fixed == "src" else "src"
    if optimistic is None:
        classes = svc_classes(secure)
        sec_masks = opt_masks = _svc_masks(secure, classes)
        in_sec = in_opt = dict(_candidates(secure, fixed, point))
        order = list(in_sec)
    else:
        classes, sec_masks, opt_masks = pair_classes(secure, optimistic)
        in_sec, in_opt = dict(_candidates(secure, fixed, point)), dict(_candidates(optimistic, fixed, point))
        order = sorted(set(in_sec) | set(in_opt))
    rel, ms, mo, allows = [], [], [], []  # per bit: its rule, services in the secure reading (0: not there), the other
    apart = 0  # bits the two readings hold differently
    events: dict[int, int] = {0: 0, end + 1: 0}  # point -> the bits entering or leaving there
    get = events.get
    split = _split_sides(secure, optimistic, other) if optimistic is not None else None
    for i in order:
        a, b = in_sec.get(i), in_opt.get(i)
        m = sec_masks[i]
        if a is not None and b is not None and m == opt_masks[i]:
            if split is None or split[i] is None:  # both readings hold it alike (or there is one)
                if m:
                    bit = 1 << len(ms)
                    rel.append(a)
                    ms.append(m)
                    mo.append(m)
                    allows.append(a.allow)
                    for x in a.sweep_edges(other):
                        events[x] = get(x, 0) ^ bit
                continue
            # shared where the two readings' other sides agree
            parts = [(a, edges, m_sec, m_opt) for edges, m_sec, m_opt in zip(split[i], (m, m, 0), (m, 0, m))]
        else:
            parts = [
                (c, c.sweep_edges(other), mk if k == 0 else 0, mk if k == 1 else 0)
                for k, (c, mk) in enumerate(((a, m), (b, opt_masks[i])))
                if c is not None
            ]
        for c, edges, m_sec, m_opt in parts:
            if not (m_sec or m_opt) or not edges:
                continue
            bit = 1 << len(ms)
            rel.append(c)
            ms.append(m_sec)
            mo.append(m_opt)
            allows.append(c.allow)
            if m_sec != m_opt:
                apart |= bit
            for x in edges:
                events[x] = get(x, 0) ^ bit
    rel.append(None)
    points = sorted(events)
    cache: dict[int, tuple] = {}
    pair_cache: dict[int, int] = {}
    groups: dict[int, list] = {}
    diffs = []
    active, full = 0, classes.full
    hole_los, holes = getattr(secure, "holes", CRules.holes)
    for p, nxt in zip(points, points[1:]):
        active ^= events[p]
        h = bisect_right(hole_los, p) - 1
        if h >= 0 and holes[h][1] >= nxt - 1:
            continue  # no endpoint here
        if active & apart:
            diff = pair_cache.get(active)
            if diff is None:
                diff = pair_cache[active] = _decide_apart(ms, mo, allows, active, full, default_allow)
            if diff:
                diffs.append((p, nxt - 1, diff))
        if not regions:
            continue
        got = cache.get(active)
        if got is None:
            got = cache[active] = _decide_masks(ms, allows, active, full, default_allow, flag)
        if got[0]:
            group = groups.get(got[0])
            if group is None:
                group = groups[got[0]] = [[], 0, 0]
            ivs = group[0]
            if ivs and ivs[-1][1] == p - 1:
                ivs[-1] = (ivs[-1][0], nxt - 1)
            else:
                ivs.append((p, nxt - 1))
            group[1] |= got[1]
            group[2] |= got[2]
    return [
        Region(IntervalSet._raw(tuple(ivs)), allowed, _pick(rel, by), _pick(rel, flagged))
        for allowed, (ivs, by, flagged) in groups.items()
    ], diffs


def _split_sides(secure: CRules, optimistic: CRules, side: str) -> list:
    """By position: None where both readings give a rule the same SIDE, else its sweep edges
    held by both readings, by SECURE only and by OPTIMISTIC only."""
    store = secure.__dict__.setdefault("_splits", {})
    key = (id(optimistic), side)
    if key not in store:
        out: list = []
        for a, b in zip(secure, optimistic):
            x, y = getattr(a, side), getattr(b, side)
            out.append(None if x == y else tuple(secure.closed_edges(z) for z in (x & y, x - y, y - x)))
        store[key] = out
    return store[key]


def _decide_apart(ms: list[int], mo: list[int], allows: list[bool], active: int, full: int, default_allow: bool) -> int:
    """The services two readings (masks MS and MO) decide differently for the rules in ACTIVE."""
    return (
        _decide_masks(ms, allows, active, full, default_allow, 0)[0]
        ^ _decide_masks(mo, allows, active, full, default_allow, 0)[0]
    )


def _pick(items: list, bits: int) -> list:
    """The ITEMS at the positions set in BITS, in order."""
    out = []
    while bits:
        low = bits & -bits
        bits ^= low
        out.append(items[low.bit_length() - 1])
    return out
