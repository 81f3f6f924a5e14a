"""FortiGate firewall policies as one first-match ruleset: the policies in the order of the list (not by
id), disabled ones skipped, the implicit deny last.  Interfaces and zones (srcintf/dstintf) are address
limits when the inventory names the workloads' zones, else conditions (the secure side)."""

from __future__ import annotations

import ipaddress
from pathlib import PurePath

from ...errors import Loc, Warning_
from ...model.ruleset import ALLOW, DENY, AddrExpr, Condition, Rule, Ruleset, Skipped, Svc, Unresolved
from ...model.space import ALL_V4, ALL_V6, EMPTY, FULL_SVC, IntervalSet, ip_range, svc_range, whole_proto
from ..common.sides import side_expr
from ..common.zones import Zones
from ..iptables.convert import svc_items
from .reader import Entry, FortiConfig

# the predefined services, by their documented ports, for configurations that do not list them
PREDEFINED = {
    "ALL": [("ip", 0, 0)], "ALL_TCP": [(6, 1, 65535)], "ALL_UDP": [(17, 1, 65535)], "ALL_ICMP": [(1, None, None)],
    "ALL_ICMP6": [(58, None, None)], "HTTP": [(6, 80, 80)], "HTTPS": [(6, 443, 443)], "SSH": [(6, 22, 22)],
    "TELNET": [(6, 23, 23)], "FTP": [(6, 21, 21)], "SMTP": [(6, 25, 25)], "SMTPS": [(6, 465, 465)],
    "DNS": [(6, 53, 53), (17, 53, 53)], "NTP": [(6, 123, 123), (17, 123, 123)], "POP3": [(6, 110, 110)],
    "POP3S": [(6, 995, 995)], "IMAP": [(6, 143, 143)], "IMAPS": [(6, 993, 993)], "LDAP": [(6, 389, 389)],
    "LDAP_UDP": [(17, 389, 389)], "SNMP": [(6, 161, 162), (17, 161, 162)], "SYSLOG": [(17, 514, 514)],
    "RDP": [(6, 3389, 3389)], "MYSQL": [(6, 3306, 3306)], "MS-SQL": [(6, 1433, 1434)],
    "KERBEROS": [(6, 88, 88), (17, 88, 88)],
    "SAMBA": [(6, 139, 139)], "SMB": [(6, 445, 445)], "DCE-RPC": [(6, 135, 135), (17, 135, 135)],
    "PING": [(1, 8, 8)], "TRACEROUTE": [(17, 33434, 33535)], "NONE": [],
}  # fmt: skip
CONDITIONS = {"users": "user", "groups": "user group", "application": "application",
              "app-category": "application", "url-category": "URL category", "internet-service": "internet service",
              "internet-service-src": "internet service", "poolname": "NAT pool",
              "fsso-groups": "user group"}  # fmt: skip


class _Objects:
    def __init__(self, cfg: FortiConfig):
        self.cfg = cfg
        self.addrs = {**cfg.by_name("firewall address6"), **cfg.by_name("firewall address")}
        self.addrs6 = cfg.by_name("firewall address6")
        self.groups = {**cfg.by_name("firewall addrgrp6"), **cfg.by_name("firewall addrgrp")}
        self.services = cfg.by_name("firewall service custom")
        self.svc_groups = cfg.by_name("firewall service group")
        self.zones = {e.name: e.get("interface", []) for e in cfg.tables.get("system zone", [])}
        self.schedules = {
            e.name for t in ("onetime", "recurring", "group") for e in cfg.tables.get(f"firewall schedule {t}", [])
        }

    def zone_of(self, intf: str) -> str:
        """The zone an interface belongs to (config system zone), else the interface's own name."""
        return next((z for z, members in self.zones.items() if intf in members), intf)

    def address(self, name: str, at: Loc, six: bool = False, stack=()) -> tuple[IntervalSet, list]:
        if name == "all":
            return (ALL_V6 if six else ALL_V4), []
        if name == "none":
            return EMPTY, []
        if name in stack:
            raise self.cfg.fail(f"address group {name} contains itself", at)
        if name in self.groups:
            g = self.groups[name]
            out, unres = EMPTY, []
            for m in g.get("member", []):
                got, u = self.address(m, at, six, (*stack, name))
                out, unres = out | got, unres + u
            if g.one("exclude") == "enable":
                for m in g.get("exclude-member", []):
                    got, u = self.address(m, at, six, (*stack, name))
                    out = out - got
                    unres += [Unresolved(x.text, x.reason, x.loc) for x in u]
            return out, unres
        table = self.addrs6 if six and name in self.addrs6 else self.addrs
        e = table.get(name)
        if e is None:
            raise self.cfg.fail(f"address {name!r} is not defined (config firewall address{'6' if six else ''})", at)
        return self._one(e, six)

    def _one(self, e: Entry, six: bool) -> tuple[IntervalSet, list]:
        kind = e.one("type", "ipmask")
        if "ip6" in e.settings or (six and kind == "ipprefix"):
            n = ipaddress.ip_network(e.one("ip6", "::/0"), strict=False)
            return ip_range(int(n.network_address), int(n.broadcast_address), 6), []
        if kind == "ipmask":
            sub = e.get("subnet") or ["0.0.0.0", "0.0.0.0"]
            text = sub[0] if len(sub) == 1 else f"{sub[0]}/{sub[1]}"
            try:
                n = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise self.cfg.fail(
                    f"address {e.name}: subnet {' '.join(sub)!r} is not an address and mask", e.settings["subnet"].loc
                ) from None
            return ip_range(int(n.network_address), int(n.broadcast_address), n.version), []
        if kind == "iprange":
            a, b = ipaddress.ip_address(e.one("start-ip")), ipaddress.ip_address(e.one("end-ip") or e.one("start-ip"))
            return ip_range(int(a), int(b), a.version), []
        if kind == "fqdn":
            f = e.one("fqdn")
            return EMPTY, [Unresolved(f"fqdn {f}", "resolved by the FortiGate when it runs", e.loc, fqdn=f)]
        return EMPTY, [
            Unresolved(
                f"address {e.name} (type {kind})", "not known offline (geography, dynamic, wildcard, interface)", e.loc
            )
        ]

    def service(self, name: str, at: Loc, stack=()) -> tuple[IntervalSet, list, list[str]]:
        """(services, unresolved items, source-port conditions) of a service or service group."""
        if name in stack:
            raise self.cfg.fail(f"service group {name} contains itself", at)
        if name in self.svc_groups:
            out, unres, conds = EMPTY, [], []
            for m in self.svc_groups[name].get("member", []):
                s, u, c = self.service(m, at, (*stack, name))
                out, unres, conds = out | s, unres + u, conds + c
            return out, unres, conds
        e = self.services.get(name)
        if e is None:
            if name in PREDEFINED:
                return _predefined(PREDEFINED[name]), [], []
            raise self.cfg.fail(f"service {name!r} is not defined (config firewall service custom)", at)
        return self._custom(e)

    def _custom(self, e: Entry) -> tuple[IntervalSet, list, list[str]]:
        proto = e.one("protocol", "TCP/UDP/SCTP")
        out, conds = EMPTY, []
        if proto in ("ICMP", "ICMP6"):
            p = 1 if proto == "ICMP" else 58
            t = e.one("icmptype")
            if e.one("icmpcode"):
                conds.append(f"service {e.name} icmpcode {e.one('icmpcode')}")
            return (svc_range(p, int(t), int(t)) if t.isdigit() else whole_proto(p)), [], conds
        if proto == "IP":
            n = e.one("protocol-number", "0")
            return (FULL_SVC if n in ("", "0") else whole_proto(int(n))), [], conds
        for key, p in (("tcp-portrange", 6), ("udp-portrange", 17), ("sctp-portrange", 132)):
            for r in e.get(key, []):
                dst, _, src = r.partition(":")
                lo, _, hi = dst.partition("-")
                if not lo.isdigit() or (hi and not hi.isdigit()):
                    raise self.cfg.fail(f"service {e.name}: {key} {r!r} is not PORT[-PORT][:SRC]", e.settings[key].loc)
                out = out | svc_range(p, int(lo), int(hi or lo))
                if src:
                    conds.append(f"service {e.name} {key} {r} (source ports {src})")
        return out, [], conds


def _predefined(spec) -> IntervalSet:
    out = EMPTY
    for p, lo, hi in spec:
        if p == "ip":
            return FULL_SVC
        out = out | (whole_proto(p) if lo is None else svc_range(p, lo, hi))
    return out


def rulesets(cfg: FortiConfig, inventory) -> list[Ruleset]:
    objs = _Objects(cfg)
    zones = Zones(inventory)
    stem = PurePath(cfg.path).stem or "fortigate"
    rs = Ruleset(name=f"{stem}-policy", source=cfg.path, default=DENY, text=cfg.text)
    pols = cfg.tables.get("firewall policy", []) + cfg.tables.get("firewall policy6", [])
    used = {objs.zone_of(z) for e in pols for k in ("srcintf", "dstintf") for z in e.get(k, []) if z != "any"}
    if used and zones.named is None:
        rs.warnings.append(
            Warning_(
                "no inventory workload names its zone (zone: NAME): srcintf/dstintf are conditions, so the allows "
                "that name an interface or zone match nothing (the secure side)",
                None,
            )
        )
    for e in pols:
        _policy(rs, cfg, objs, zones, used, e, six=e in cfg.tables.get("firewall policy6", []))
    rs.rules.append(
        Rule(
            "implicit-deny",
            DENY,
            AddrExpr.any(),
            AddrExpr.any(),
            (Svc.any(),),
            Loc(cfg.path),
            "the implicit deny (policy 0)",
        )
    )
    return [rs]


def _policy(rs: Ruleset, cfg, objs: _Objects, zones: Zones, used, e: Entry, six: bool) -> None:
    rid = e.name
    name = e.one("name")
    if e.one("status") == "disable":
        rs.skipped.append(
            Skipped(rid, f"policy {rid}{f' ({name})' if name else ''} is disabled (set status disable)", e.loc)
        )
        return
    action = ALLOW if e.one("action", "deny") == "accept" else DENY
    conds: list[Condition] = []
    src = _side(objs, e, "srcaddr", six)
    dst = _side(objs, e, "dstaddr", six)
    for side, key in (("src", "srcintf"), ("dst", "dstintf")):
        names = [objs.zone_of(z) for z in e.get(key, []) if z != "any"]
        if not names:
            continue
        if all(zones.exact((z,), used) for z in names):
            lim = EMPTY
            for z in names:
                lim = lim | zones.addresses(z)
            target = src if side == "src" else dst
            target[0] = target[0] & lim
        else:
            conds.append(Condition(f"{key} {' '.join(names)}", "interface or zone"))
    svc, svc_unres = EMPTY, []
    given = e.settings.get("service")
    for s, at in zip(given.values, given.value_locs) if given else [("ALL", e.loc)]:
        got, u, c = objs.service(s, at)
        svc, svc_unres = svc | got, svc_unres + u
        conds += [Condition(x, "source port") for x in c]
    if e.one("service-negate") == "enable":
        svc = FULL_SVC - svc
    sched = e.one("schedule", "always")
    if sched != "always":
        conds.append(Condition(f"schedule {sched}", "time schedule"))
    for key, why in CONDITIONS.items():
        if key in e.settings and e.get(key) and e.one(key) not in ("disable",):
            conds.append(Condition(f"{key} {' '.join(e.get(key))}", why))
    rs.rules.append(
        Rule(
            id=rid,
            action=action,
            src=side_expr(src),
            dst=side_expr(dst),
            services=tuple(svc_items(svc)) + tuple(svc_unres) if svc or svc_unres else (),
            loc=e.loc,
            comment=name or e.one("comments"),
            conditions=tuple(conds),
        )
    )


def _side(objs: _Objects, e: Entry, key: str, six: bool) -> list:
    """A policy side as [include set, include unresolved, exclude set, exclude unresolved]: its IPv4
    addresses (srcaddr) and IPv6 ones (srcaddr6); negated (srcaddr-negate), everything but them."""
    out, unres = EMPTY, []
    given = False
    for k, v6 in [(key, six)] + ([(f"{key}6", True)] if not six else []):
        for name, at in zip(e.get(k, []), e.settings[k].value_locs if k in e.settings else []):
            given = True
            got, u = objs.address(name, at, v6)
            out, unres = out | got, unres + u
    if not given:
        out = ALL_V6 if six else ALL_V4
    if e.one(f"{key}-negate") == "enable":
        whole = (ALL_V4 | ALL_V6) if f"{key}6" in e.settings else (ALL_V6 if six else ALL_V4)
        return [whole, [], out, unres]
    return [out, unres, EMPTY, []]
