"""Address helpers the frontends share: dotted quads without netaddr, ranges as text."""

from __future__ import annotations

import ipaddress
import re

import netaddr

from ...model.space import IntervalSet, ip_range

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")  # a dotted quad netaddr reads as the obvious number


def ipv4_int(text: str) -> int:
    """The value of a dotted quad that IPV4 matches."""
    a, b, c, d = text.split(".")
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


def ipv4_text(x: int) -> str:
    return f"{x >> 24}.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}"


def net_text(first: int, last: int, version: int) -> str:
    """'10.0.0.0/24', '10.0.0.5' or '10.0.0.5-10.0.0.9'."""
    lo, hi = netaddr.IPAddress(first, version), netaddr.IPAddress(last, version)
    if first == last:
        return str(lo)
    cidrs = netaddr.iprange_to_cidrs(lo, hi)
    return str(cidrs[0]) if len(cidrs) == 1 else f"{lo}-{hi}"


def address_set(text: str, ranges: bool = False) -> IntervalSet | None:
    """TEXT as addresses: an address or prefix (RANGES: also `a-b`); None when it is neither."""
    try:
        if ranges and "-" in text:
            a, b = (ipaddress.ip_address(x.strip()) for x in text.split("-", 1))
            return ip_range(int(a), int(b), a.version) if a.version == b.version and int(a) <= int(b) else None
        n = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return ip_range(int(n.network_address), int(n.broadcast_address), n.version)
