"""Findings: what the compiler approximated, could not reach, or noticed."""

from __future__ import annotations

from dataclasses import dataclass

import netaddr

from ..errors import Loc
from ..model.ruleset import Rule, Skipped, proto_label
from ..model.space import POD_BASE, PROTO_SHIFT, V6_BASE

# the approximations: each denies some flows the ruleset allows, never the reverse
APPROXIMATIONS = ("partial-cover", "unresolved", "condition", "inexpressible", "family-split")
# skipped: a rule line the device does not apply (or the stateful model implies), so no rule was made
KINDS = APPROXIMATIONS + ("out-of-reach", "skipped", "note")


@dataclass
class Finding:
    kind: str
    message: str
    rule: Rule | None = None
    example: str | None = None
    at: tuple[str, Loc] | None = None  # (rule id, place) of a rule line that made no rule
    others: tuple = ()  # more rules the finding is about (None: the default), beside `rule`

    @property
    def rules(self) -> tuple:
        """Every rule the finding is about (None: the default, or no rule)."""
        return (self.rule, *self.others)

    @staticmethod
    def skipped(s: Skipped) -> Finding:
        return Finding("skipped", s.reason, at=(s.id, s.loc))

    @property
    def where(self) -> tuple[str, Loc] | None:
        return (self.rule.id, self.rule.loc) if self.rule else self.at

    def __str__(self) -> str:
        where = f"{self.where[1]}: rule {self.where[0]}: " if self.where else ""
        ex = f" (e.g. {self.example})" if self.example else ""
        return f"{where}{self.kind}: {self.message}{ex}"

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "message": self.message}
        if self.where:
            d["rule"] = self.where[0]
            d["line"] = self.where[1].line
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
