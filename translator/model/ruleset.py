"""The one ruleset model every frontend produces and every backend reads.

A ruleset is an ordered list of rules (first match wins) and a default action.
Addresses and services are small expression trees that may name objects;
`resolve.py` turns them into sets.  What a frontend cannot translate exactly
(an FQDN, an interface, a source port, a time range) is kept as an
`Unresolved` item or a rule `Condition`, never dropped: the compiler resolves
it to the secure side and reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Loc, Warning_

ALLOW = "allow"
DENY = "deny"
ACTIONS = (ALLOW, DENY)

TCP, UDP, SCTP, ICMP, ICMPV6 = 6, 17, 132, 1, 58
PORT_PROTOCOLS = (TCP, UDP, SCTP)
TYPE_PROTOCOLS = (ICMP, ICMPV6)
PROTO_NAMES = {
    "icmp": ICMP,
    "igmp": 2,
    "ipip": 4,
    "tcp": TCP,
    "udp": UDP,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "icmpv6": ICMPV6,
    "ipv6-icmp": ICMPV6,
    "icmp6": ICMPV6,
    "eigrp": 88,
    "ospf": 89,
    "pim": 103,
    "vrrp": 112,
    "sctp": SCTP,
}
PROTO_LABELS = {TCP: "tcp", UDP: "udp", SCTP: "sctp", ICMP: "icmp", ICMPV6: "icmpv6"}


def proto_label(proto: int) -> str:
    """'tcp', 'icmp', ... or 'proto/N'."""
    return PROTO_LABELS.get(proto) or next((k for k, v in PROTO_NAMES.items() if v == proto), f"proto/{proto}")


def port_domain(proto: int) -> tuple[int, int]:
    """The values a service of PROTO ranges over: ports, ICMP types, or one point."""
    if proto in PORT_PROTOCOLS:
        return (1, 65535)
    if proto in TYPE_PROTOCOLS:
        return (0, 255)
    return (0, 0)


# --- addresses -------------------------------------------------------------


@dataclass(frozen=True)
class Net:
    """A host, CIDR or range: the addresses first..last of one IP version."""

    first: int
    last: int
    version: int
    text: str
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AnyAddr:
    """Every address (version None), or every IPv4 / IPv6 address."""

    version: int | None = None
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Ref:
    """A reference to a named object."""

    name: str
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Unresolved:
    """Something the frontend could not turn into addresses or services."""

    text: str
    reason: str
    loc: Loc | None = field(default=None, compare=False)
    fqdn: str = ""  # the DNS name (or *.pattern) the item stands for, when it is one


AddrItem = Net | AnyAddr | Ref | Unresolved


@dataclass(frozen=True)
class AddrExpr:
    """include minus exclude; an empty include means nothing."""

    include: tuple[AddrItem, ...]
    exclude: tuple[AddrItem, ...] = ()

    @staticmethod
    def any() -> AddrExpr:
        return AddrExpr((AnyAddr(),))


# --- services --------------------------------------------------------------


@dataclass(frozen=True)
class Svc:
    """proto None: every protocol.  lo..hi: ports (tcp/udp/sctp) or ICMP types."""

    proto: int | None
    lo: int = 0
    hi: int = 0
    text: str = ""
    loc: Loc | None = field(default=None, compare=False)

    @staticmethod
    def any() -> Svc:
        return Svc(None, 0, 0, "any")

    @staticmethod
    def whole(proto: int) -> Svc:
        lo, hi = port_domain(proto)
        return Svc(proto, lo, hi, proto_label(proto))


SvcItem = Svc | Ref | Unresolved


# --- rules -----------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A match condition NetworkPolicy cannot check (interface, source port, time...)."""

    text: str
    reason: str


@dataclass
class Rule:
    id: str
    action: str
    src: AddrExpr
    dst: AddrExpr
    services: tuple[SvcItem, ...]
    loc: Loc
    comment: str = ""
    conditions: tuple[Condition, ...] = ()
    hints: tuple[tuple[str, str], ...] = ()
    platform_default: bool = False  # the platform adds it (Azure's default rules): it cannot be deleted or moved

    @property
    def ref(self) -> str:
        """'10 (line 7)' for messages and annotations."""
        return f"{self.id} (line {self.loc.line})" if self.loc.line else self.id


@dataclass(frozen=True)
class Skipped:
    """A rule line the frontend saw and did not make a rule, with why (never a rule the device applies)."""

    id: str
    reason: str
    loc: Loc


@dataclass
class AddressDef:
    name: str
    expr: AddrExpr
    loc: Loc


@dataclass
class ServiceDef:
    name: str
    items: tuple[SvcItem, ...]
    loc: Loc


@dataclass
class Ruleset:
    name: str
    source: str
    default: str = DENY
    rules: list[Rule] = field(default_factory=list)
    addresses: dict[str, AddressDef] = field(default_factory=dict)
    services: dict[str, ServiceDef] = field(default_factory=dict)
    warnings: list[Warning_] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # rule lines the frontend saw for this ruleset (None: one per rule read or skipped)
    lines: int | None = None
    # rule lines that make no rule of their own but shape the others (iptables jumps and RETURNs, GCP goto_next)
    folded: int = 0
    text: str | None = None
    # what the ruleset governs: the pods it protects (None: every pod) and in which directions
    protects: AddrExpr | None = None
    directions: tuple[str, ...] = ("ingress", "egress")

    @property
    def lines_seen(self) -> int:
        """Rule lines seen: what the frontend counted, else the rules read plus those skipped."""
        return self.lines if self.lines is not None else len(self.rules) + len(self.skipped)
