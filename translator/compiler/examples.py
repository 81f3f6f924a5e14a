"""Example flows a person recognises: an address of the rule's own networks, a port it names.

The first point of a set is often 0.0.0.0 or a network address and the first
service `proto/0`; these pick, inside the same set, the first host of a network,
a documentation address for a huge range (192.0.2.1, 2001:db8::1) and a common
port of a whole protocol.
"""

from __future__ import annotations

from ..model.space import POD_BASE, V6_BASE, IntervalSet

HUGE = 1 << 24  # an interval wider than a /8 is "any", not a network a rule names
DOC_ADDRESSES = (0xC0000201, V6_BASE + ((0x20010DB8 << 96) | 1))  # 192.0.2.1, 2001:db8::1 (RFC 5737, 3849)
PROTO_SHIFT = 16
COMMON_PORTS = (443, 80, 53, 22)
TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58


def address(s: IntervalSet) -> int:
    """A recognisable endpoint of the non-empty set S (pod classes: the first)."""
    for lo, hi in s:
        if lo >= POD_BASE:
            return lo
        if hi - lo >= HUGE:
            for doc in DOC_ADDRESSES:
                if lo <= doc <= hi:
                    return doc
            start = max(-(-lo // HUGE) * HUGE, HUGE if lo < V6_BASE else V6_BASE + HUGE)  # not 0.0.0.0/8
            if start + 1 <= hi:
                return start + 1
        if hi > lo and (lo & 0xFF) == 0:  # a network address: its first host
            return lo + 1
        return lo
    raise ValueError("no endpoint in an empty set")


def service(s: IntervalSet) -> int:
    """A recognisable service of the non-empty set S: a port it names, else a common one, TCP first."""
    for proto in (TCP, UDP, 132, ICMP, ICMP6):
        base = proto << PROTO_SHIFT
        part = s & IntervalSet([(base, base + 0xFFFF)])
        if not part:
            continue
        if proto in (ICMP, ICMP6) and base + 8 in part:
            return base + 8  # echo request
        (lo, hi), *_ = part
        if hi - lo >= 0x4000:  # a whole protocol or a wide range: a common port inside it
            for port in COMMON_PORTS:
                if base + port in part:
                    return base + port
        return max(lo, base + 1) if max(lo, base + 1) <= hi else lo
    return s.first()
