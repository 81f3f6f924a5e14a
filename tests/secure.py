"""A first-match decision in the secure reading, on the compiler's resolved sets (frontend tests)."""

from __future__ import annotations

import netaddr

from translator.model.resolve import Resolver
from translator.model.ruleset import ALLOW


def ip(s: str) -> int:
    """An address as a point of the endpoint line (IPv6 after IPv4)."""
    a = netaddr.IPAddress(s)
    return int(a) if a.version == 4 else int(a) + (1 << 32)


def decide(rs, src: str, dst: str, proto: int, port: int) -> str:
    """First-match decision in the secure reading (allows: lower, no condition; denies: upper)."""
    res = Resolver(rs)
    s, d, v = ip(src), ip(dst), (proto << 16) + port
    for r in rs.rules:
        bs, bd, bv = res.address(r.src), res.address(r.dst), res.services(r.services)
        if r.action == ALLOW:
            hit = s in bs.lower and d in bd.lower and v in bv.lower and not r.conditions
        else:
            hit = s in bs.upper and d in bd.upper and v in bv.upper
        if hit:
            return r.action
    return rs.default
