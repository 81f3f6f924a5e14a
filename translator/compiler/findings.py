"""Findings: what the compiler approximated, could not reach, or noticed."""

from __future__ import annotations

from dataclasses import dataclass

import netaddr

from ..model.ruleset import Rule, proto_label
from ..model.space import POD_BASE, PROTO_SHIFT, V6_BASE

# the approximations: each denies some flows the ruleset allows, never the reverse
APPROXIMATIONS = ("partial-cover", "unresolved", "condition", "inexpressible", "family-split")
KINDS = APPROXIMATIONS + ("out-of-reach", "note")


@dataclass
class Finding:
    kind: str
    message: str
    rule: Rule | None = None
    example: str | None = None

    def __str__(self) -> str:
        where = f"{self.rule.loc}: rule {self.rule.id}: " if self.rule else ""
        ex = f" (e.g. {self.example})" if self.example else ""
        return f"{where}{self.kind}: {self.message}{ex}"

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "message": self.message}
        if self.rule:
            d["rule"] = self.rule.id
            d["line"] = self.rule.loc.line
        if self.example:
            d["example"] = self.example
        return d


def endpoint_text(point: int, universe) -> str:
    """A concrete endpoint: an IP address or a pod class."""
    if point >= POD_BASE:
        return str(universe.pod_class_at(point))
    if point >= V6_BASE:
        return str(netaddr.IPAddress(point - V6_BASE, 6))
    return str(netaddr.IPAddress(point, 4))


def service_text(v: int) -> str:
    proto, port = v >> PROTO_SHIFT, v & 0xFFFF
    label = proto_label(proto)
    if proto in (6, 17, 132):
        return f"{label}/{port}"
    if proto in (1, 58):
        return f"{label} type {port}"
    return label


def flow_text(s: int, d: int, v: int, universe) -> str:
    return f"{endpoint_text(s, universe)} -> {endpoint_text(d, universe)} {service_text(v)}"
