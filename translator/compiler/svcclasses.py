"""Service classes: the service line cut into pieces every rule's service set treats alike."""

from __future__ import annotations

from ..model.ruleset import PORT_PROTOCOLS
from ..model.space import EMPTY, FULL_SVC, IntervalSet, whole_proto


class SvcClasses:
    """The service line cut into classes that every rule's service set treats alike.

    A service set becomes a bit mask over the classes, so deciding a flow's
    services is a handful of integer operations instead of interval algebra."""

    def __init__(self, sets):
        # each port protocol is a union of classes, so what ports can say is a mask too
        sets = list(set(sets) | {FULL_SVC} | {whole_proto(p) for p in PORT_PROTOCOLS})
        cuts = sorted({x for s in sets for lo, hi in s.iv for x in (lo, hi + 1)})
        by_sig: dict[tuple, list] = {}
        for lo, nxt in zip(cuts, cuts[1:]):
            sig = tuple(k for k, s in enumerate(sets) if lo in s)
            if sig:
                by_sig.setdefault(sig, []).append((lo, nxt - 1))
        sigs = sorted(by_sig, key=lambda g: by_sig[g][0])
        self.pieces = [IntervalSet(by_sig[g]) for g in sigs]
        self.masks = {s: 0 for s in sets}
        for bit, sig in enumerate(sigs):
            for k in sig:
                self.masks[sets[k]] |= 1 << bit
        self.full = self.masks[FULL_SVC]
        self._sets: dict[int, IntervalSet] = {0: EMPTY}

    def set(self, mask: int) -> IntervalSet:
        """The services of MASK."""
        s = self._sets.get(mask)
        if s is None:
            bits, k = mask, 0
            parts = []
            while bits:
                if bits & 1:
                    parts += self.pieces[k].iv
                bits >>= 1
                k += 1
            s = self._sets[mask] = IntervalSet(parts)
        return s


def svc_classes(compiled: list) -> SvcClasses:
    """The service classes of COMPILED (kept on a CRules list)."""
    got = getattr(compiled, "_svc_classes", None)
    if got is None or got[0] != len(compiled):
        got = (len(compiled), SvcClasses(c.svc for c in compiled))
        if hasattr(compiled, "__dict__"):  # a CRules list keeps them
            compiled._svc_classes = got
    return got[1]
