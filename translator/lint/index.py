"""Which rules' boxes can meet a box: lint's order checks without trying every pair of rules.

`BoxIndex` buckets each line's atoms (regions.Line) into at most BUCKETS runs and keeps, per
bucket, the positions of the boxes whose side has an atom there, as the bits of an int.  A box's
candidates are the positions its buckets hold on all three lines (a superset of the boxes it
meets); each is then checked exactly with `touch`, so the answer is the list a scan of every
position gives, in the same (ascending) order.  `Scan` is that scan (the coding-free reference).
"""

from __future__ import annotations

from .regions import Box, touch

BUCKETS = 1024
_CACHED = 4  # a side spanning more buckets than this has its candidate int kept (broad sides recur)


def _runs(m: int):
    """(first, last) atom of each run of one bits of M."""
    k = 0
    while m:
        skip = (m & -m).bit_length() - 1
        m >>= skip
        k += skip
        run = (~m & (m + 1)).bit_length() - 1
        yield k, k + run - 1
        m >>= run
        k += run


def positions(c: int) -> list[int]:
    """The one bits of C, ascending."""
    if c.bit_count() <= 16:
        out = []
        while c:
            low = c & -c
            out.append(low.bit_length() - 1)
            c ^= low
        return out
    s = bin(c)[:1:-1]
    out, j = [], s.find("1")
    while j >= 0:
        out.append(j)
        j = s.find("1", j + 1)
    return out


def _span(lo: int, hi: int) -> int:
    """Positions LO <= j < HI as bits."""
    return ((1 << hi) - 1) ^ ((1 << lo) - 1) if hi > lo else 0


class Scan:
    """Every position in order, kept when its box meets the query (CHECK) or always (the every-pair reference)."""

    def __init__(self, boxes: list, widths=(), check: bool = True):
        self.boxes, self.check = boxes, check

    def touching(self, b: Box, lo: int, hi: int, among: int = -1) -> list[int]:
        return [j for j in range(lo, hi) if among >> j & 1 and (not self.check or touch(self.boxes[j], b))]


def every_pair(boxes: list, widths=()) -> Scan:
    """The reference: every position of the range is tried."""
    return Scan(boxes, check=False)


class _Side:
    """One line's buckets: bucket -> positions (bits) of the boxes with an atom in it."""

    def __init__(self, masks: list, width: int):
        self.size = max(1, -(-width // BUCKETS))
        self._buckets: dict[int, tuple[int, ...]] = {}
        self._cache: dict[int, int] = {}
        members: dict[int, list[int]] = {}
        for j, m in enumerate(masks):
            if m is not None:
                for q in self.buckets(m):
                    members.setdefault(q, []).append(j)
        self.bits = {q: _bits(js, len(masks)) for q, js in members.items()}

    def buckets(self, m: int) -> tuple[int, ...]:
        got = self._buckets.get(m)
        if got is None:
            size, qs = self.size, set()
            for a, z in _runs(m):
                qs.update(range(a // size, z // size + 1))
            got = self._buckets[m] = tuple(sorted(qs))
        return got

    def candidates(self, m: int) -> int:
        qs = self.buckets(m)
        if len(qs) == 1:
            return self.bits.get(qs[0], 0)
        got = self._cache.get(m)
        if got is None:
            got = 0
            for q in qs:
                got |= self.bits.get(q, 0)
            if len(qs) > _CACHED:
                self._cache[m] = got
        return got


def _bits(js: list[int], n: int) -> int:
    buf = bytearray((n + 7) // 8)
    for j in js:
        buf[j >> 3] |= 1 << (j & 7)
    return int.from_bytes(buf, "little")


class BoxIndex:
    """The positions of BOXES (boxes of int masks, or None) whose box meets a query box, without a scan.

    WIDTHS: the number of atoms of each line."""

    def __init__(self, boxes: list, widths):
        self.boxes = boxes
        self.sides = [_Side([b[k] if b else None for b in boxes], w) for k, w in enumerate(widths)]

    def touching(self, b: Box, lo: int, hi: int, among: int = -1) -> list[int]:
        """Ascending positions LO <= j < HI in AMONG (bits) whose box meets box B."""
        c = _span(lo, hi) & among
        for side, m in zip(self.sides, b):
            if not c:
                return []
            c &= side.candidates(m)
        boxes = self.boxes
        return [j for j in positions(c) if touch(boxes[j], b)]
