"""Address helpers the frontends share: dotted quads without netaddr, ranges as text."""

from __future__ import annotations

import re

import netaddr

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
