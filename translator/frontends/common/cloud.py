"""Values the cloud and CSV frontends build from export fields: addresses, the protected host, ports."""

from __future__ import annotations

import re

import netaddr

from ...errors import InputError, Loc
from ...model.names import is_digits
from ...model.ruleset import AddrExpr, AnyAddr, Net, Svc, port_domain, proto_label
from ...model.space import ALL_IP, V6_BASE, IntervalSet

# --- addresses --------------------------------------------------------------


def to_net(text: str) -> Net | None:
    """A host, CIDR or a-b range as a Net; None if TEXT is not one."""
    text = text.strip()
    try:
        if "-" in text and "/" not in text:
            a, b = (netaddr.IPAddress(x.strip()) for x in text.split("-", 1))
            if a.version != b.version or a > b:
                return None
            return Net(int(a), int(b), a.version, text)
        if "/" in text:
            addr, plen = text.split("/", 1)
            ip = netaddr.IPAddress(addr)
            if not is_digits(plen) or int(plen) > (32 if ip.version == 4 else 128):
                return None
            net = netaddr.IPNetwork(text)
            return Net(int(net.first), int(net.last), net.version, str(net.cidr))
        if not re.fullmatch(r"[0-9a-fA-F.:]+", text) or is_digits(text):
            return None
        ip = netaddr.IPAddress(text)
        return Net(int(ip), int(ip), ip.version, text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


def with_loc(net: Net, loc: Loc | None) -> Net:
    return Net(net.first, net.last, net.version, net.text, loc)


def host_side(host_addresses, where: str = "--host") -> AddrExpr:
    """The protected host's addresses (from --host), or any address."""
    if not host_addresses:
        return AddrExpr.any()
    items = []
    for a in host_addresses:
        net = to_net(str(a))
        if net is None:
            raise InputError(
                f"{where}: workload address {a!r} is not an IP address, CIDR or range "
                "(cloud exports have no named objects)"
            )
        items.append(net)
    return AddrExpr(tuple(items))


def nets_of(region: IntervalSet) -> tuple[Net, ...]:
    """The Nets (CIDRs where exact, else ranges) covering an endpoint set of IP addresses."""
    out = []
    for lo, hi in region & ALL_IP:
        for base, version, a, b in ((0, 4, lo, min(hi, V6_BASE - 1)), (V6_BASE, 6, max(lo, V6_BASE), hi)):
            if a > b:
                continue
            first, last = a - base, b - base
            cidrs = netaddr.IPRange(netaddr.IPAddress(first, version), netaddr.IPAddress(last, version)).cidrs()
            text = (
                str(cidrs[0])
                if len(cidrs) == 1
                else (f"{netaddr.IPAddress(first, version)}-{netaddr.IPAddress(last, version)}")
            )
            out.append(Net(first, last, version, text))
    return tuple(out)


def restrict(expr: AddrExpr, region: IntervalSet) -> AddrExpr:
    """EXPR limited to the IP addresses of REGION (exact, also for lower/upper bounds)."""
    rest = ALL_IP - region
    if not rest:
        return expr
    return AddrExpr(expr.include, expr.exclude + nets_of(rest))


def any_addr(loc: Loc | None = None) -> AnyAddr:
    return AnyAddr(None, loc)


# --- services ---------------------------------------------------------------


def port_svc(proto: int, spec: str, loc: Loc | None = None) -> Svc | None:
    """tcp/udp/sctp port '80', '22-23' or '*' as a Svc; None if SPEC is malformed.

    Port 0 lies outside the universe (no flow uses it), so '0-65535' is all ports.
    """
    lo_dom, hi_dom = port_domain(proto)
    spec = str(spec).strip()
    if spec in ("*", "", "any", "all"):
        return Svc(proto, lo_dom, hi_dom, f"{proto_label(proto)}", loc)
    m = re.fullmatch(r"([0-9]+)\s*(?:-\s*([0-9]+))?", spec)
    if not m:
        return None
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo > hi or hi > hi_dom:
        return None
    lo = max(lo, lo_dom)
    if lo > hi:
        return None
    return Svc(proto, lo, hi, f"{proto_label(proto)}/{spec}", loc)
