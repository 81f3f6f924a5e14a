"""Reading one ASA line: objects and groups, and an access-list entry into rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

import netaddr

from ...errors import InputError, Loc, Warning_
from ...model.names import is_digits
from ...model.resolve import check_groups
from ...model.ruleset import (
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
    Svc,
    Unresolved,
    proto_label,
)
from ..common.cisco import (
    CISCO_PROTOS,
    ICMP6_NAMES,
    ICMP_NAMES,
    RangeBudget,
    Words,
    icmp_svc,
    line_words,
    mask_bits,
    net_text,
    netmask_nets,
    port_number,
    port_ranges,
    port_svcs,
)

ACTIONS = {"permit": ALLOW, "deny": DENY}
PORT_OPS = ("eq", "neq", "lt", "gt", "range")
TOP = ("access-list", "object", "object-group", "access-group", "name")


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
        self.shown = False  # the text is `show access-list` output
        self.undefined = False  # the entry being read names an undefined object
        self.budget = RangeBudget()
        self.acl_name = ""  # the access list whose entry is being read

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

    def net(self, w: Words, first=None):
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
        if bits is None and self.shown:
            # `show access-list` prints what the device holds: an address/mask pair matches the addresses
            # x with x & mask == address & mask, contiguous or not
            nets = netmask_nets(str(a), str(mtok))
            if nets is not None:
                self.budget.spend(self.acl_name, nets, w, mtok)  # FW2NP_MAX_WILDCARD_RANGES per list
                return nets
            return Unresolved(f"{s} {mtok}", "a non-contiguous mask needing more than 256 ranges", w.loc(tok))
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
            self.undefined = True
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
        if is_digits(s) and int(s) <= 255:
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
        elif is_digits(s) and int(s) <= 255:
            t, code = int(s), None
        else:
            raise w.fail(f"unknown ICMP type {str(tok)!r}", tok)
        if w.peek() is not None and is_digits(w.peek()):
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
                d.expr = AddrExpr(d.expr.include + _items(item))
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
                if not (is_digits(t) and int(t) <= 255) and t not in ICMP_NAMES and t not in ICMP6_NAMES:
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
        return Unresolved(f"fqdn {fq}", "a DNS name resolved by the firewall at run time", w.loc(tok), str(fq).lower())

    def expand_groups(self) -> None:
        """Check every group's references (undefined names, cycles, nesting past MAX_GROUP_DEPTH) and fold
        group-object / object references of non-network groups into their members.

        No recursion, and each group is expanded once, after the groups it names (by nesting depth):
        a subgroup shared by several groups (a diamond) is not walked per path, and members reached
        twice are kept once, so the work is linear in the references (network groups stay Refs,
        which the resolver expands once each)."""

        def fail(msg, loc):
            return InputError(msg, loc or Loc(self.path), self._line(loc))

        def net_refs(name):
            return [(i.name, i.loc) for i in self.obj.addresses[name].expr.include if isinstance(i, Ref)]

        check_groups(self.obj.addresses, net_refs, "network object", fail)
        ports = {n: v[1] for n, v in self.obj.ports.items()}
        for kind, table in (
            ("service object", self.obj.services),
            ("protocol object-group", self.obj.protocols),
            ("icmp-type object-group", self.obj.icmp),
            ("port object-group", ports),
        ):
            depth = check_groups(table, lambda n: self.obj.refs.get(n, []), kind, fail)
            for name in sorted(table, key=depth.__getitem__):  # subgroups before the groups naming them
                refs = self.obj.refs.get(name, [])
                if refs:
                    members = list(table[name]) + [m for ref, _ in refs for m in table[ref]]
                    table[name] = list({_member_key(m): m for m in members}.values())
        for n in list(self.obj.ports):
            self.obj.ports[n] = (self.obj.ports[n][0], ports[n])
        self.obj.refs.clear()

    def _line(self, loc):
        lines = self.text.splitlines()
        return lines[loc.line - 1] if loc and 0 < loc.line <= len(lines) else None

    # access lists ----------------------------------------------------------
    def acl_line(self, w: Words, acl: AclLine) -> None:
        """Read one `access-list NAME [line N] [extended|standard] permit|deny ...` entry into ACL."""
        self.acl_name = acl.name
        before, self.undefined = len(self.warnings), False
        try:
            self._acl_line(w, acl)
        finally:
            acl.undefined, acl.notes = self.undefined, self.warnings[before:]

    def _acl_line(self, w: Words, acl: AclLine) -> None:
        loc, rid = acl.loc, acl.rid
        kind_tok = w.peek_tok()
        kind = (w.accept("extended", "standard", "webtype", "ethertype") or "extended").lower()
        if kind in ("webtype", "ethertype"):
            what = "clientless-VPN URLs" if kind == "webtype" else "non-IP frames by EtherType"
            acl.skipped = f"a {kind} entry filters {what}, not IP flows"
            return
        act_tok = w.take("permit or deny")
        action = ACTIONS.get(str(act_tok).lower())
        if action is None:
            if kind_tok is act_tok:
                raise w.fail(f"expected extended, standard, remark, permit or deny, got {str(act_tok)!r}", act_tok)
            raise w.fail(f"expected permit or deny, got {str(act_tok)!r}", act_tok)
        comment = acl.remark or w.text.strip()
        if kind == "standard":
            dst = self.addr(w, rid)
            if self.options(w, rid, []):
                acl.skipped = INACTIVE
                return
            acl.rules.append(Rule(rid, action, AddrExpr.any(), AddrExpr(_items(dst)), (Svc.any(),), loc, comment))
            return
        entries, src_ports_ok, port_proto, icmp_proto = self.proto_spec(w, rid)
        src = self.addr(w, rid)
        sport = self.ports(w, port_proto) if src_ports_ok else None
        dst = self.addr(w, rid)
        if src_ports_ok:
            dports = self.ports(w, port_proto)
            if dports is None and self.custom_service(w, port_proto):
                if action == ALLOW:
                    acl.skipped = CUSTOM % w.text[w.toks[w.i - 1].column - 1 :].strip()
                    return
                self.warn(CUSTOM_DENY, loc, rid)
                dports = self.custom_ports(w, port_proto)
            if dports is None and (w.peek() or "").lower() == "object-group" and w.peek(1) is not None:
                w.take("")
                g = w.take("a service object-group name")  # after the destination: ports, whatever it is
                self.warn(f"object-group {g} is not a defined service object-group: kept unresolved", w.loc(g), rid)
                self.undefined = True
                entries = [AsaEntry((Unresolved(f"object-group {g}", "undefined object", w.loc(g)),))]
            if dports is not None:
                entries = [AsaEntry(tuple(s for p in _protos(port_proto) for s in port_svcs(p, dports[1], "")))]
        elif icmp_proto is not None:
            entries = self.icmp_spec(w, icmp_proto) or entries
        conds: list[Condition] = []
        if sport is not None:
            conds.append(Condition(f"source port {sport[0]}", "source port"))
        if self.options(w, rid, conds):
            acl.skipped = INACTIVE
            return
        srcs, dsts = AddrExpr(_items(src)), AddrExpr(_items(dst))
        groups: dict[str, list] = {}
        for e in entries:
            groups.setdefault(e.cond, []).extend(e.svcs)
        for cond, svcs in sorted(groups.items()):
            extra = (Condition(cond, "source port" if "source" in cond else "icmp code"),) if cond else ()
            acl.rules.append(
                Rule(
                    rid,
                    action,
                    srcs,
                    dsts,
                    tuple(svcs),
                    loc,
                    comment,
                    tuple(conds) + extra,
                )
            )

    def custom_service(self, w: Words, proto) -> bool:
        """Whether the words left start `PROTO destination|source OP ...` (a Firewall Builder custom service)."""
        p = (w.peek() or "").lower()
        return p in ("tcp", "udp", "tcp-udp") and (w.peek(1) or "").lower() in ("destination", "source")

    def custom_ports(self, w: Words, proto):
        w.take("")
        out = None
        while (w.peek() or "").lower() in ("destination", "source"):
            kw = str(w.take("")).lower()
            got = self.port_op(w, proto if proto in (TCP, UDP) else None)
            if kw == "destination":
                out = got
        return out

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
            self.undefined = True
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
                    if is_digits(t):
                        items.append(icmp_svc(p, int(t)))
                    elif t in names:
                        items.append(icmp_svc(p, names[t][0]))
                    else:
                        items.append(
                            Unresolved(f"{t} in icmp-type group {g}", f"no such {proto_label(p)} type", w.loc(g))
                        )
            return [AsaEntry(tuple(items))]
        names = ICMP6_NAMES if proto == ICMPV6 else ICMP_NAMES
        if nxt in names or is_digits(nxt):
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
                    is_digits(w.peek())
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
            elif k == "interval":  # `show access-list` prints a log interval without `log`
                w.take("an interval")
            elif k == "time-range":
                conds.append(Condition(f"time-range {w.take('a time-range name')}", "time range"))
            else:
                raise w.fail(f"unexpected {str(tok)!r}; expected log, inactive or time-range", tok)
        return inactive


def _member_key(m):
    """What tells two members of a group apart (a member reached along two paths is kept once)."""
    return (m.svcs, m.cond) if isinstance(m, AsaEntry) else m


def _protos(p):
    return [TCP, UDP] if p == "tcp-udp" else [p]


def _items(x) -> tuple:
    return tuple(x) if isinstance(x, list) else (x,)


INACTIVE = "inactive: the firewall does not apply it"
CUSTOM = (
    "'%s' after the destination is not ASA syntax (a Firewall Builder custom service): the device rejects the entry"
)
CUSTOM_DENY = (
    "'PROTO destination OP ...' after the destination is not ASA syntax (a Firewall Builder custom service), "
    "which the device may reject: the deny is read with those ports (the secure side either way)"
)
# `show access-list` decorations: hit counts, the (inactive) flag, the entry hash
SHOW_TAIL = re.compile(r"\s+\(hitcnt=[0-9]+\)|\s+\(inactive\)|\s+0x[0-9a-fA-F]+\s*$")


@dataclass
class AclLine:
    """One line of an access list (a remark or an entry): the rules it makes, or why it is skipped."""

    name: str
    rid: str
    loc: Loc
    text: str
    remark: str = ""
    is_remark: bool = False
    rules: list = field(default_factory=list)
    skipped: str | None = None
    undefined: bool = False  # it names objects the text does not define
    notes: list = field(default_factory=list)  # the warnings reading it gave
    expanded: list | None = None  # its rules from `show access-list` expansion lines (when undefined)
