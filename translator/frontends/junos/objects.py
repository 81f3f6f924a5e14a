"""Junos named objects: prefix lists, address books (global, zone and attached), applications and
application sets (the predefined `junos-*` ones by their documented ports)."""

from __future__ import annotations

import ipaddress

from ...errors import Loc
from ...model.ruleset import PROTO_NAMES, Svc, Unresolved
from ...model.space import EMPTY, IntervalSet, ip_range
from ..common.addresses import address_set
from ..iptables.options import PORT_NAMES
from .lines import Config, Line

PROTOS = {**PROTO_NAMES, "icmp6": 58, "icmpv6": 58}
# (protocol, low port or ICMP type, high); None: every port or type of the protocol
T, U, ICMP, ICMP6 = 6, 17, 1, 58
PREDEFINED = {
    "junos-ftp": [(T, 21, 21)], "junos-tftp": [(U, 69, 69)], "junos-ssh": [(T, 22, 22)],
    "junos-telnet": [(T, 23, 23)], "junos-smtp": [(T, 25, 25)], "junos-dns-udp": [(U, 53, 53)],
    "junos-dns-tcp": [(T, 53, 53)], "junos-http": [(T, 80, 80)], "junos-https": [(T, 443, 443)],
    "junos-pop3": [(T, 110, 110)], "junos-imap": [(T, 143, 143)], "junos-imaps": [(T, 993, 993)],
    "junos-ntp": [(U, 123, 123)], "junos-snmp-get": [(U, 161, 161)], "junos-snmp-get-next": [(U, 161, 161)],
    "junos-snmp-response": [(U, 161, 161)], "junos-snmp-trap": [(U, 162, 162)], "junos-syslog": [(U, 514, 514)],
    "junos-ldap": [(T, 389, 389)], "junos-bgp": [(T, 179, 179)], "junos-radius": [(U, 1812, 1812)],
    "junos-radacct": [(U, 1813, 1813)], "junos-ike": [(U, 500, 500)], "junos-ike-nat": [(U, 4500, 4500)],
    "junos-ms-sql": [(T, 1433, 1433)], "junos-mysql": [(T, 3306, 3306)], "junos-nntp": [(T, 119, 119)],
    "junos-finger": [(T, 79, 79)], "junos-gopher": [(T, 70, 70)], "junos-ident": [(T, 113, 113)],
    "junos-bootpc": [(U, 68, 68)], "junos-bootps": [(U, 67, 67)], "junos-dhcp-client": [(U, 68, 68)],
    "junos-dhcp-server": [(U, 67, 67)], "junos-dhcp-relay": [(U, 67, 67)], "junos-rsh": [(T, 514, 514)],
    "junos-rlogin": [(T, 513, 513)], "junos-lpr": [(T, 515, 515)], "junos-http-ext": [(T, 7001, 7001)],
    "junos-nfsd-tcp": [(T, 2049, 2049)], "junos-nfsd-udp": [(U, 2049, 2049)], "junos-xnm-ssl": [(T, 3220, 3220)],
    "junos-xnm-clear-text": [(T, 3221, 3221)], "junos-icmp-all": [(ICMP, None, None)],
    "junos-icmp-ping": [(ICMP, 8, 8)], "junos-ping": [(ICMP, 8, 8)], "junos-pingv6": [(ICMP6, 128, 128)],
    "junos-icmp6-all": [(ICMP6, None, None)],
}  # fmt: skip


network = address_set  # an address or prefix, None for anything else


class Objects:
    """Every named object of the configuration, resolved on demand (nesting; cycles are errors)."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.prefix_lists: dict[str, list[Line]] = {}
        for ln in cfg.under("policy-options", "prefix-list"):
            if len(ln.words) >= 3:
                self.prefix_lists.setdefault(ln.words[2], []).append(ln)
        # address books: book name -> entries; zone books are named "zone:<zone>"
        self.books: dict[str, dict[str, list[Line]]] = {}
        self.sets: dict[str, dict[str, list[Line]]] = {}
        self.attached: dict[str, list[str]] = {}  # zone -> books attached to it
        for ln in cfg.under("security", "address-book"):
            w = ln.words
            if len(w) >= 5 and w[3] == "address":
                self.books.setdefault(w[2], {}).setdefault(w[4], []).append(Line(w[5:], ln.locs[5:] or ln.locs))
            elif len(w) >= 6 and w[3] == "address-set":
                self.sets.setdefault(w[2], {}).setdefault(w[4], []).append(Line(w[5:], ln.locs[5:]))
            elif len(w) >= 6 and w[3] == "attach" and w[4] == "zone":
                self.attached.setdefault(w[5], []).append(w[2])
        for ln in cfg.under("security", "zones", "security-zone"):
            w = ln.words
            if len(w) >= 7 and w[4] == "address-book" and w[5] == "address":
                self.books.setdefault(f"zone:{w[3]}", {}).setdefault(w[6], []).append(
                    Line(w[7:], ln.locs[7:] or ln.locs)
                )
            elif len(w) >= 8 and w[4] == "address-book" and w[5] == "address-set":
                self.sets.setdefault(f"zone:{w[3]}", {}).setdefault(w[6], []).append(Line(w[7:], ln.locs[7:]))
        self.apps: dict[str, list[Line]] = {}
        self.app_sets: dict[str, list[Line]] = {}
        for ln in cfg.under("applications"):
            w = ln.words
            if len(w) >= 3 and w[1] == "application":
                self.apps.setdefault(w[2], []).append(Line(w[3:], ln.locs[3:] or ln.locs))
            elif len(w) >= 5 and w[1] == "application-set":
                self.app_sets.setdefault(w[2], []).append(Line(w[3:], ln.locs[3:]))

    # --- prefix lists -------------------------------------------------------------------------

    def prefix_list(self, name: str, at: Loc) -> tuple[IntervalSet, list[str]]:
        """A prefix list's addresses, and what of it is unresolved (apply-path)."""
        if name not in self.prefix_lists:
            raise self.cfg.fail(f"prefix-list {name} is not defined (policy-options prefix-list {name} ...)", at)
        out, unresolved = EMPTY, []
        for ln in self.prefix_lists[name]:
            rest = ln.words[3:]
            if not rest:
                continue  # an empty list
            if rest[0] == "apply-path":
                unresolved.append(f"prefix-list {name} apply-path {' '.join(rest[1:])} (built from the configuration)")
                continue
            got = network(rest[0])
            if got is None:
                raise self.cfg.fail(f"prefix-list {name}: {rest[0]!r} is not a prefix", ln.loc(3))
            out = out | got
        return out, unresolved

    # --- address books ------------------------------------------------------------------------

    def books_for(self, zone: str | None) -> list[str]:
        out = [f"zone:{zone}"] if zone else []
        out += self.attached.get(zone or "", [])
        return out + ["global"]

    def address(self, name: str, zone: str | None, at: Loc, stack=()) -> tuple[IntervalSet, list[Unresolved]]:
        """An address or address set of the books ZONE sees (its zone book, attached books, global)."""
        if name in ("any", "any-ipv4", "any-ipv6"):
            from ...model.space import ALL_V4, ALL_V6

            return {"any": ALL_V4 | ALL_V6, "any-ipv4": ALL_V4, "any-ipv6": ALL_V6}[name], []
        if name in stack:
            raise self.cfg.fail(f"address-set {name} contains itself ({' -> '.join((*stack, name))})", at)
        for book in self.books_for(zone):
            if name in self.books.get(book, {}):
                return self._entry(name, self.books[book][name], at)
            if name in self.sets.get(book, {}):
                out, unres = EMPTY, []
                for ln in self.sets[book][name]:
                    if len(ln.words) >= 2 and ln.words[0] in ("address", "address-set"):
                        got, u = self.address(ln.words[1], zone, ln.loc(1), (*stack, name))
                        out, unres = out | got, unres + u
                return out, unres
        got = network(name)
        if got is not None:  # a prefix written in place (global policies allow it in some releases)
            return got, []
        raise self.cfg.fail(f"address {name} is not in the address books of zone {zone or '(global)'}", at)

    def _entry(self, name: str, lines: list[Line], at: Loc) -> tuple[IntervalSet, list[Unresolved]]:
        out, unres = EMPTY, []
        for ln in lines:
            w = ln.words
            if not w or w[0] == "description":
                continue
            if w[0] == "range-address" and len(w) >= 4 and w[2] == "to":
                a, b = ipaddress.ip_address(w[1]), ipaddress.ip_address(w[3])
                out = out | ip_range(int(a), int(b), a.version)
            elif w[0] == "dns-name" and len(w) >= 2:
                unres.append(
                    Unresolved(f"dns-name {w[1]}", "resolved by the firewall when it runs", ln.loc(), fqdn=w[1])
                )
            elif w[0] == "wildcard-address" and len(w) >= 2:
                unres.append(Unresolved(f"wildcard-address {w[1]}", "a wildcard mask, not read", ln.loc()))
            else:
                got = network(w[0])
                if got is None:
                    raise self.cfg.fail(f"address {name}: {w[0]!r} is not a prefix", ln.loc())
                out = out | got
        return out, unres

    # --- applications -------------------------------------------------------------------------

    def application(self, name: str, at: Loc, stack=()) -> tuple[list, list[str]]:
        """(service items, conditions) of an application or application set."""
        if name == "any":
            return [Svc.any()], []
        if name in stack:
            raise self.cfg.fail(f"application-set {name} contains itself", at)
        if name in self.app_sets:
            items, conds = [], []
            for ln in self.app_sets[name]:
                if len(ln.words) >= 2 and ln.words[0] in ("application", "application-set"):
                    i, c = self.application(ln.words[1], ln.loc(1), (*stack, name))
                    items, conds = items + i, conds + c
            return items, conds
        if name in self.apps:
            return self._custom(name, self.apps[name])
        if name in PREDEFINED:
            out = []
            for p, lo, hi in PREDEFINED[name]:
                if lo is None:
                    out.append(Svc.whole(p))
                else:
                    out.append(Svc(p, lo, hi, f"{name}"))
            return out, []
        if name.startswith("junos-"):
            return [Unresolved(name, "a predefined application fw2np has no ports for", at)], []
        raise self.cfg.fail(f"application {name} is not defined (applications application {name} ...)", at)

    def _custom(self, name: str, lines: list[Line]) -> tuple[list, list[str]]:
        """`application NAME [term T] protocol P destination-port X source-port Y icmp-type Z`."""
        terms: dict[str, dict[str, str]] = {}
        for ln in lines:
            w = ln.words
            key, rest = ("", w) if w[:1] != ("term",) else (w[1], w[2:])
            for k in range(0, len(rest) - 1, 2):  # `protocol tcp destination-port 80` on one line too
                terms.setdefault(key, {})[rest[k]] = rest[k + 1]
        items, conds = [], []
        for spec in terms.values():
            proto = spec.get("protocol")
            p = None if proto is None else int(proto) if proto.isdigit() else PROTOS.get(proto)
            if proto is not None and p is None:
                items.append(Unresolved(f"application {name} protocol {proto}", "an unknown protocol", lines[0].loc()))
                continue
            if "source-port" in spec:
                conds.append(f"application {name} source-port {spec['source-port']}")
            if "destination-port" in spec and p in (6, 17, 132):
                lo, hi = _ports(spec["destination-port"])
                if lo < 0 or hi < lo or hi > 65535:
                    msg = f"application {name}: destination-port {spec['destination-port']!r} is not a port or range"
                    raise self.cfg.fail(msg, lines[0].loc())
                items.append(Svc(p, lo, hi, f"{name}"))
            elif "icmp-type" in spec and p in (1, 58):
                t = spec["icmp-type"]
                n = int(t) if t.isdigit() else {"echo-request": 8, "echo-reply": 0}.get(t)
                items.append(Svc(p, n, n, name) if n is not None else Svc.whole(p))
            elif p is not None:
                items.append(Svc.whole(p))
            else:
                items.append(Svc.any())
        return items, conds


def _ports(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")

    def one(t: str) -> int:
        return int(t) if t.isdigit() else PORT_NAMES.get(t, -1)

    return one(lo), one(hi or lo)
