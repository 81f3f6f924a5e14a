"""Firewall zones (Junos SRX, FortiGate) as addresses, from the inventory: a workload may name the zone
its legacy addresses sit in (`zone:`); a zone no workload names holds every address no named zone does."""

from __future__ import annotations

from ...model.space import ALL_V4, ALL_V6, EMPTY, IntervalSet
from .addresses import address_set

ALL = ALL_V4 | ALL_V6


class Zones:
    """The zones the inventory names. NAMED: zone -> addresses; None when no workload names a zone."""

    def __init__(self, inventory):
        named: dict[str, IntervalSet] = {}
        for w in inventory.workloads.values() if inventory is not None else ():
            if w.zone:
                s = named.get(w.zone, EMPTY)
                for a in w.addresses:
                    got = address_set(a, ranges=True)
                    if got is not None:
                        s = s | got
                named[w.zone] = s
        self.named = named or None
        self.union = EMPTY
        for s in named.values():
            self.union = self.union | s

    def addresses(self, zone: str | None) -> IntervalSet:
        """ZONE's addresses (every address for None or when no zone is named)."""
        if self.named is None or zone is None:
            return ALL
        return self.named.get(zone, ALL - self.union)

    def unnamed(self, zones) -> set[str]:
        return set(zones) - set(self.named or {})

    def exact(self, pair, all_zones) -> bool:
        """Whether the zones of PAIR are known addresses: the inventory names zones, and PAIR holds no
        unnamed zone while another unnamed zone is in use (an unnamed address could sit in either)."""
        if self.named is None:
            return False
        rest = self.unnamed(all_zones)
        return len(rest) <= 1 or not (set(pair) & rest)
