"""Cisco ASA access lists (running-config or `show running-config access-list` output).

One ruleset per ACL, named after it, default deny (the implicit deny).  Network
objects and groups become named addresses; service, protocol and ICMP groups
are expanded into each rule (source ports become conditions).  Lines that are
not about access lists are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

import netaddr

from ..errors import InputError, Loc, Warning_
from ..model.ruleset import (
    ALLOW,
    DENY,
    ICMP,
    ICMPV6,
    PORT_PROTOCOLS,
    TCP,
    UDP,
    AddressDef,
    AddrExpr,
    AnyAddr,
    Condition,
    Net,
    Ref,
    Rule,
    Ruleset,
    Svc,
    Unresolved,
    proto_label,
)
from .common.cisco import (
    CISCO_PROTOS,
    ICMP6_NAMES,
    ICMP_NAMES,
    Words,
    icmp_svc,
    line_words,
    mask_bits,
    net_text,
    port_number,
    port_ranges,
    port_svcs,
)

NAME = "cisco-asa"
ACTIONS = {"permit": ALLOW, "deny": DENY}
PORT_OPS = ("eq", "neq", "lt", "gt", "range")
TOP = ("access-list", "object", "object-group", "access-group", "name")


def detect(text: str, path: str) -> int:
    head = text[:200000]
    acl = len(re.findall(r"^access-list \S+ (extended|standard|remark|line \d+ extended)\b", head, re.M))
    asa = re.search(
        r"^(ASA Version|object-group network|object network|access-group \S+ (in|out) interface)", head, re.M
    )
    if acl and asa:
        return 90
    if acl:
        return 75
    return 40 if asa else 0


@dataclass
class AsaEntry:
    """One service alternative: services plus the source-port condition it carries."""

    svcs: tuple
    cond: str = ""


@dataclass
class Objects:
    names: dict[str, str] = field(default_factory=dict)  # name -> IP
    kinds: dict[str, str] = field(default_factory=dict)  # object name -> kind
    addresses: dict[str, AddressDef] = field(default_factory=dict)
    services: dict[str, list[AsaEntry]] = field(default_factory=dict)  # object service / service group
    ports: dict[str, tuple[str, list[tuple[int, int]]]] = field(default_factory=dict)  # port groups
    protocols: dict[str, list] = field(default_factory=dict)  # protocol groups
    icmp: dict[str, list[int]] = field(default_factory=dict)  # icmp-type groups
    refs: dict[str, list] = field(default_factory=dict)  # group-object names, resolved later


class ObjectHead(NamedTuple):
    """The line that opens an object or object group: object or object-group, its kind, name, protocol."""

    kw: str
    kind: str
    name: str
    proto: str | None
    loc: Loc


class AsaReader:
    """Reads an ASA configuration: its objects, then its access lists."""

    def __init__(self, text: str, path: str):
        self.text, self.path = text, path
        self.obj = Objects()
        self.warnings: list[Warning_] = []

    def warn(self, msg: str, loc: Loc, rule: str | None = None) -> None:
        self.warnings.append(Warning_(msg, loc, rule))

    # addresses -------------------------------------------------------------
    def ip(self, w: Words, what="an IP address"):
        tok = w.take(what)
        s = str(tok)
        if s in self.obj.names:
            s = self.obj.names[s]
        try:
            return netaddr.IPAddress(s), tok
        except (netaddr.AddrFormatError, ValueError):
            raise w.fail(f"expected {what}, got {str(tok)!r}", tok) from None

    def net(self, w: Words, first=None) -> Net:
        """`IP MASK`, `IPv6/len` (the first word may already be taken)."""
        tok = first if first is not None else w.take("an address")
        s = str(tok)
        if "/" in s:
            try:
                n = netaddr.IPNetwork(s)
            except (netaddr.AddrFormatError, ValueError):
                raise w.fail(f"{s!r} is not a valid network", tok) from None
            return Net(int(n.first), int(n.last), n.version, str(n.cidr), w.loc(tok))
        addr = self.obj.names.get(s, s)
        try:
            a = netaddr.IPAddress(addr)
        except (netaddr.AddrFormatError, ValueError):
            raise w.fail(f"expected an address, got {s!r}", tok) from None
        if a.version == 6:
            return Net(int(a), int(a), 6, str(a), w.loc(tok))
        mtok = w.take("a subnet mask")
        bits = mask_bits(str(mtok))
        if bits is None:
            raise w.fail(f"{str(mtok)!r} is not a contiguous subnet mask", mtok)
        n = netaddr.IPNetwork(f"{a}/{bits}")
        return Net(int(n.first), int(n.last), 4, str(n.cidr), w.loc(tok))

    def host(self, w: Words) -> Net:
        a, tok = self.ip(w)
        return Net(int(a), int(a), a.version, str(a), w.loc(tok))

    def addr(self, w: Words, rid: str):
        """One ACL address: any, host, IP MASK, object, object-group, interface."""
        tok = w.take("a source or destination (any, host A, A MASK, object N, object-group N)")
        k = str(tok).lower()
        if k in ("any", "any4", "any6"):
            return AnyAddr({"any": None, "any4": 4, "any6": 6}[k], w.loc(tok))
        if k == "host":
            return self.host(w)
        if k in ("object", "object-group"):
            ntok = w.take("an object name")
            name = str(ntok)
            if name in self.obj.addresses:
                return Ref(name, w.loc(ntok))
            self.warn(f"{k} {name} is not a defined network {k}: kept unresolved", w.loc(ntok), rid)
            return Unresolved(f"{k} {name}", "undefined object", w.loc(ntok))
        if k == "interface":
            ntok = w.take("an interface name")
            return Unresolved(f"interface {ntok}", "the address of a firewall interface", w.loc(ntok))
        return self.net(w, tok)

    # ports and services ----------------------------------------------------
    def port_op(self, w: Words, proto) -> tuple[str, list[tuple[int, int]]]:
        op = w.take("eq, neq, lt, gt or range")
        o = str(op).lower()
        if o not in PORT_OPS:
            raise w.fail(f"expected eq, neq, lt, gt or range, got {str(op)!r}", op)
        n = 2 if o == "range" else 1
        args = []
        for _ in range(n):
            tok = w.take("a port")
            p = port_number(str(tok), proto)
            if p is None:
                raise w.fail(f"unknown port {str(tok)!r} (a number or a name such as www, https, domain)", tok)
            args.append(p)
        if o == "range" and args[0] > args[1]:
            raise w.fail("port range runs backwards", op)
        return f"{o} {' '.join(str(a) for a in args)}", port_ranges(o, args)

    def proto(self, w: Words, tok) -> int | None | str:
        s = str(tok).lower()
        if s.isdigit() and int(s) <= 255:
            return int(s)
        if s in CISCO_PROTOS:
            return "tcp-udp" if s == "tcp-udp" else CISCO_PROTOS[s]
        raise w.fail(f"unknown protocol {str(tok)!r}", tok)

    def svc_entry(self, w: Words, proto) -> AsaEntry:
        """`PROTO [source OP] [destination OP]` or `icmp [TYPE [CODE]]` (proto already read)."""
        protos = [TCP, UDP] if proto == "tcp-udp" else [proto]
        if proto in (ICMP, ICMPV6):
            if w.at_end():
                return AsaEntry((Svc.whole(proto),))
            t, code = self.icmp_type(w, proto)
            return AsaEntry((icmp_svc(proto, t),), f"icmp code {code}" if code is not None else "")
        if proto is None:
            return AsaEntry((Svc.any(),))
        cond, ranges = "", None
        while not w.at_end():
            kw = w.accept("source", "destination")
            if kw is None and w.peek().lower() in PORT_OPS:
                kw = "destination"
            if kw is None:
                raise w.fail(f"expected source or destination, got {w.peek()!r}", w.peek_tok())
            text, rg = self.port_op(w, protos[0] if len(protos) == 1 else None)
            if kw == "source":
                cond = f"source port {text}"
            else:
                ranges = rg
        if proto not in PORT_PROTOCOLS and proto != "tcp-udp":
            return AsaEntry((Svc.whole(proto),), cond)
        if ranges is None:
            return AsaEntry(tuple(Svc.whole(p) for p in protos), cond)
        return AsaEntry(tuple(s for p in protos for s in port_svcs(p, ranges, "")), cond)

    def icmp_type(self, w: Words, proto) -> tuple[int, int | None]:
        tok = w.take("an ICMP type")
        s = str(tok).lower()
        names = ICMP6_NAMES if proto == ICMPV6 else ICMP_NAMES
        if s in names:
            t, code = names[s]
        elif s.isdigit() and int(s) <= 255:
            t, code = int(s), None
        else:
            raise w.fail(f"unknown ICMP type {str(tok)!r}", tok)
        if w.peek() is not None and w.peek().isdigit():
            code = int(str(w.take("a code")))
        return t, code

    # definitions -----------------------------------------------------------
    def definitions(self, lines) -> None:
        """First pass: names, objects and object groups."""
        cur: ObjectHead | None = None
        for n, raw in lines:
            indented = raw[:1] in (" ", "\t")
            if not indented:
                cur = None
                head = raw.split(None, 2)
                if not head or head[0] not in ("object", "object-group", "name"):
                    continue
                w = line_words(raw, self.path, n)
                kw = str(w.take("a keyword"))
                if kw == "name":
                    a, _ = self.ip(w)
                    self.obj.names[str(w.take("a name"))] = str(a)
                    continue
                kind = str(w.take("network, service, protocol or icmp-type")).lower()
                name_tok = w.take("an object name")
                name = str(name_tok)
                if kind not in ("network", "service", "protocol", "icmp-type", "user", "security"):
                    raise w.fail(f"unknown {kw} type {kind!r}", name_tok)
                if name in self.obj.kinds and kind in ("network", "service", "protocol", "icmp-type"):
                    if kw == "object-group" or self.obj.kinds[name] != f"{kw} {kind}":
                        raise w.fail(f"{name} is already defined", name_tok)
                self.obj.kinds[name] = f"{kw} {kind}"
                proto = str(w.take("a protocol")).lower() if not w.at_end() else None
                cur = ObjectHead(kw, kind, name, proto, Loc(self.path, n, 1))
                if kind == "network":
                    self.obj.addresses.setdefault(name, AddressDef(name, AddrExpr(()), cur.loc))
                elif kind == "service" and proto:
                    self.obj.ports[name] = (proto, [])
                elif kind == "service":
                    self.obj.services[name] = []
                elif kind == "protocol":
                    self.obj.protocols[name] = []
                elif kind == "icmp-type":
                    self.obj.icmp[name] = []
                continue
            if cur is None:
                continue
            self.member(cur, line_words(raw, self.path, n))

    def member(self, cur: ObjectHead, w: Words) -> None:
        kw, kind, name, proto, loc = cur
        tok = w.take("a keyword")
        k = str(tok).lower()
        if k in ("description", "nat"):
            return
        if k == "group-object":
            g = w.take("a group name")
            self.obj.refs.setdefault(name, []).append((str(g), w.loc(g)))
            if kind == "network":
                d = self.obj.addresses[name]
                d.expr = AddrExpr(d.expr.include + (Ref(str(g), w.loc(g)),))
            return
        if kind == "network":
            if k in ("network-object", "host", "subnet", "range", "fqdn"):
                item = self.net_member(w, k, name)
                d = self.obj.addresses[name]
                d.expr = AddrExpr(d.expr.include + (item,))
                return
        elif kind == "service" and proto is None:
            if k in ("service-object", "service"):
                if w.accept("object"):
                    ref = w.take("a service object name")
                    self.obj.refs.setdefault(name, []).append((str(ref), w.loc(ref)))
                    return
                p = self.proto(w, w.take("a protocol"))
                self.obj.services[name].append(self.svc_entry(w, p))
                return
        elif kind == "service":
            if k == "port-object":
                p = {"tcp": TCP, "udp": UDP}.get(proto)
                self.obj.ports[name][1].extend(self.port_op(w, p)[1])
                return
        elif kind == "protocol":
            if k == "protocol-object":
                self.obj.protocols[name].append(self.proto(w, w.take("a protocol")))
                return
        elif kind == "icmp-type":
            if k == "icmp-object":
                tok = w.take("an ICMP type")
                t = str(tok).lower()
                if not (t.isdigit() and int(t) <= 255) and t not in ICMP_NAMES and t not in ICMP6_NAMES:
                    raise w.fail(f"unknown ICMP type {str(tok)!r}", tok)
                self.obj.icmp[name].append(t)
                return
        else:
            return  # user / security groups: not read
        raise w.fail(f"unexpected {str(tok)!r} in {kw} {kind} {name}", tok)

    def net_member(self, w: Words, k: str, group: str):
        if k == "network-object":
            nxt = w.peek()
            if nxt in ("host", "object"):
                w.take("")
                if nxt == "host":
                    return self.host(w)
                ref = w.take("an object name")
                self.obj.refs.setdefault(group, []).append((str(ref), w.loc(ref)))
                return Ref(str(ref), w.loc(ref))
            return self.net(w)
        if k == "host":
            return self.host(w)
        if k == "subnet":
            return self.net(w)
        if k == "range":
            (a, ta), (b, _) = self.ip(w), self.ip(w)
            if a.version != b.version or a > b:
                raise w.fail("bad address range", ta)
            return Net(int(a), int(b), a.version, net_text(int(a), int(b), a.version), w.loc(ta))
        tok = w.peek_tok()
        w.accept("v4", "v6")
        fq = w.take("a domain name")
        return Unresolved(f"fqdn {fq}", "a DNS name resolved by the firewall at run time", w.loc(tok))

    def expand_groups(self) -> None:
        """Fold group-object / object references of non-network groups into their members."""

        def flat(name, table, stack=()):
            if name in stack:
                raise InputError(f"object-group cycle: {' -> '.join(stack + (name,))}", Loc(self.path))
            out = list(table.get(name, []))
            for ref, loc in self.obj.refs.get(name, []):
                if ref not in table:
                    raise InputError(f"undefined group or object {ref!r}", loc, self._line(loc))
                out += flat(ref, table, stack + (name,))
            return out

        for table in (self.obj.services, self.obj.protocols, self.obj.icmp):
            done = {n: flat(n, table) for n in table}
            table.update(done)
        ports = {n: v[1] for n, v in self.obj.ports.items()}
        for n in list(self.obj.ports):
            self.obj.ports[n] = (self.obj.ports[n][0], flat(n, ports))
        for d in self.obj.addresses.values():
            for item in d.expr.include:
                if isinstance(item, Ref) and item.name not in self.obj.addresses:
                    raise InputError(f"undefined network object {item.name!r}", item.loc, self._line(item.loc))
        self.obj.refs.clear()

    def _line(self, loc):
        lines = self.text.splitlines()
        return lines[loc.line - 1] if loc and 0 < loc.line <= len(lines) else None

    # access lists ----------------------------------------------------------
    def acl_line(self, w: Words, rulesets: dict, counters: dict, remarks: dict, bindings: list) -> None:
        kw = str(w.take("access-list"))
        if kw == "access-group":
            name = str(w.take("an ACL name"))
            bindings.append((name, w.rest(), w.loc(w.toks[0])))
            return
        name_tok = w.take("an ACL name")
        name = str(name_tok)
        loc = Loc(self.path, w.line, 1)
        rs = rulesets.get(name)
        if rs is None:
            rs = rulesets[name] = Ruleset(name=name, source=self.path, default=DENY, text=self.text)
        kind_tok = w.take("extended, standard or remark")
        kind = str(kind_tok).lower()
        if kind == "line":
            w.take("a line number")
            kind_tok = w.take("extended, standard or remark")
            kind = str(kind_tok).lower()
        counters[name] = counters.get(name, 0) + 1
        rid = f"{name}:line {counters[name]}"
        if kind == "remark":
            remarks[name] = (remarks.get(name, "") + " " + w.rest()).strip()
            return
        if kind in ("webtype", "ethertype"):
            self.warn(f"{kind} access list entries are not IP rules: ignored", loc, rid)
            return
        if kind not in ("extended", "standard"):
            raise w.fail(f"expected extended, standard or remark, got {str(kind_tok)!r}", kind_tok)
        act_tok = w.take("permit or deny")
        action = ACTIONS.get(str(act_tok).lower())
        if action is None:
            raise w.fail(f"expected permit or deny, got {str(act_tok)!r}", act_tok)
        comment = remarks.pop(name, "") or w.text.strip()
        if kind == "standard":
            dst = self.addr(w, rid)
            self.options(w, rid, [])
            rs.rules.append(Rule(rid, action, AddrExpr.any(), AddrExpr((dst,)), (Svc.any(),), loc, comment))
            return
        entries, src_ports_ok, port_proto, icmp_proto = self.proto_spec(w, rid)
        src = self.addr(w, rid)
        sport = self.ports(w, port_proto) if src_ports_ok else None
        dst = self.addr(w, rid)
        if src_ports_ok:
            dports = self.ports(w, port_proto)
            if dports is not None:
                entries = [AsaEntry(tuple(s for p in _protos(port_proto) for s in port_svcs(p, dports[1], "")))]
        elif icmp_proto is not None:
            entries = self.icmp_spec(w, icmp_proto) or entries
        conds: list[Condition] = []
        if sport is not None:
            conds.append(Condition(f"source port {sport[0]}", "source port"))
        inactive = self.options(w, rid, conds)
        if inactive:
            self.warn(
                f"inactive {'deny' if action == DENY else 'permit'} skipped: the firewall does not apply it", loc, rid
            )
            return
        groups: dict[str, list] = {}
        for e in entries:
            groups.setdefault(e.cond, []).extend(e.svcs)
        for cond, svcs in sorted(groups.items()):
            extra = (Condition(cond, "source port" if "source" in cond else "icmp code"),) if cond else ()
            rs.rules.append(
                Rule(rid, action, AddrExpr((src,)), AddrExpr((dst,)), tuple(svcs), loc, comment, tuple(conds) + extra)
            )

    def proto_spec(self, w: Words, rid: str):
        """(entries, ports may follow, the port protocol, the ICMP protocol)."""
        tok = w.take("a protocol, object or object-group")
        k = str(tok).lower()
        if k in ("object", "object-group"):
            ntok = w.take("an object name")
            n = str(ntok)
            if n in self.obj.protocols:
                protos = self.obj.protocols[n]
                entries = [self.svc_entry(Words([], self.path, w.line, w.text), p) for p in protos]
                ports_ok = all(p in (TCP, UDP) or p == "tcp-udp" for p in protos) and len(set(protos)) == 1
                icmp = protos[0] if len(set(protos)) == 1 and protos[0] in (ICMP, ICMPV6) else None
                if len(set(protos)) > 1 and set(protos) <= {ICMP, ICMPV6}:
                    icmp = "both"
                return entries, ports_ok, protos[0] if ports_ok else None, icmp
            if n in self.obj.services:
                return list(self.obj.services[n]), False, None, None
            self.warn(f"{k} {n} is not a defined service or protocol {k}: kept unresolved", w.loc(ntok), rid)
            return [AsaEntry((Unresolved(f"{k} {n}", "undefined object", w.loc(ntok)),))], False, None, None
        p = self.proto(w, tok)
        entry = self.svc_entry(Words([], self.path, w.line, w.text), p)
        ports_ok = p in PORT_PROTOCOLS or p == "tcp-udp"
        return [entry], ports_ok, p if ports_ok else None, p if p in (ICMP, ICMPV6) else None

    def ports(self, w: Words, proto):
        nxt = (w.peek() or "").lower()
        if nxt in PORT_OPS:
            return self.port_op(w, proto if proto in (TCP, UDP) else None)
        if nxt == "object-group" and w.peek(1) in self.obj.ports:
            w.take("")
            g = str(w.take(""))
            return f"object-group {g}", self.obj.ports[g][1]
        return None

    def icmp_spec(self, w: Words, proto):
        nxt = (w.peek() or "").lower()
        protos = [ICMP, ICMPV6] if proto == "both" else [proto]
        if nxt == "object-group" and w.peek(1) in self.obj.icmp:
            w.take("")
            g = w.take("")
            items = []
            for p in protos:
                names = ICMP6_NAMES if p == ICMPV6 else ICMP_NAMES
                for t in dict.fromkeys(self.obj.icmp[str(g)]):
                    if t.isdigit():
                        items.append(icmp_svc(p, int(t)))
                    elif t in names:
                        items.append(icmp_svc(p, names[t][0]))
                    else:
                        items.append(
                            Unresolved(f"{t} in icmp-type group {g}", f"no such {proto_label(p)} type", w.loc(g))
                        )
            return [AsaEntry(tuple(items))]
        names = ICMP6_NAMES if proto == ICMPV6 else ICMP_NAMES
        if nxt in names or nxt.isdigit():
            t, code = self.icmp_type(w, proto if proto != "both" else ICMP)
            return [AsaEntry(tuple(icmp_svc(p, t) for p in protos), f"icmp code {code}" if code is not None else "")]
        return None

    def options(self, w: Words, rid: str, conds: list) -> bool:
        inactive = False
        while not w.at_end():
            tok = w.take("")
            k = str(tok).lower()
            if k == "log":
                while w.peek() is not None and (
                    w.peek().isdigit()
                    or w.peek().lower()
                    in (
                        "interval",
                        "disable",
                        "default",
                        "emergencies",
                        "alerts",
                        "critical",
                        "errors",
                        "warnings",
                        "notifications",
                        "informational",
                        "debugging",
                    )
                ):
                    w.take("")
            elif k == "inactive":
                inactive = True
            elif k == "time-range":
                conds.append(Condition(f"time-range {w.take('a time-range name')}", "time range"))
            else:
                raise w.fail(f"unexpected {str(tok)!r}; expected log, inactive or time-range", tok)
        return inactive


def _protos(p):
    return [TCP, UDP] if p == "tcp-udp" else [p]


def load(text: str, path: str, **_options) -> list[Ruleset]:
    rd = AsaReader(text, path)
    lines = [(i, ln) for i, ln in enumerate(text.splitlines(), 1)]
    rd.definitions(lines)
    rd.expand_groups()
    rulesets: dict[str, Ruleset] = {}
    counters: dict[str, int] = {}
    remarks: dict[str, str] = {}
    bindings: list = []
    for n, raw in lines:
        head = raw.split(None, 1)
        if raw[:1] in (" ", "\t") or not head or head[0] not in ("access-list", "access-group"):
            continue
        rd.acl_line(line_words(raw, path, n), rulesets, counters, remarks, bindings)
    if not rulesets:
        raise InputError("no access-list lines found (expected 'access-list NAME extended permit ...')", Loc(path))
    for name, _where, loc in bindings:
        if name not in rulesets:
            rd.warn(f"access-group binds undefined access list {name}", loc)
    out = []
    for rs in rulesets.values():
        rs.addresses = dict(rd.obj.addresses)
        rs.warnings = [w for w in rd.warnings if w.rule is None or w.rule.startswith(rs.name + ":")]
        rs.warnings += [
            Warning_(
                f"access list {name} is applied with 'access-group {name} {where}': the "
                "interface binding is not translated (its rules apply to every pod)",
                loc,
            )
            for name, where, loc in bindings
            if name == rs.name
        ]
        out.append(rs)
    return out
