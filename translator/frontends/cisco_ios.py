"""Cisco IOS access lists: named (`ip access-list extended|standard`, `ipv6 access-list`) and numbered.

One ruleset per ACL, default deny (the implicit deny).  Rule ids are the
sequence numbers (given, or 10, 20, ... as IOS assigns them).  Other lines of a
full router configuration are ignored.
"""

from __future__ import annotations

import re

import netaddr

from ..errors import InputError, Loc, Warning_
from ..model.ruleset import (
    ALLOW,
    DENY,
    ICMP,
    ICMPV6,
    PORT_PROTOCOLS,
    AddrExpr,
    AnyAddr,
    Condition,
    Net,
    Rule,
    Ruleset,
    Svc,
    Unresolved,
)
from .common.cisco import (
    CISCO_PROTOS,
    ICMP6_NAMES,
    ICMP_NAMES,
    Words,
    icmp_svc,
    line_words,
    port_number,
    port_ranges,
    port_svcs,
    wildcard_nets,
)

NAME = "cisco-ios"
ACTIONS = {"permit": ALLOW, "deny": DENY}
PORT_OPS = ("eq", "neq", "lt", "gt", "range")
FLAG_WORDS = {"ack", "fin", "psh", "rst", "syn", "urg"}
VALUE_OPTIONS = {
    "dscp",
    "precedence",
    "tos",
    "time-range",
    "reflect",
    "option",
    "log-update",
    "flow-label",
    "routing-type",
    "dest-option-type",
    "hop-limit",
}
WILDCARD_LIMIT = 256


def detect(text: str, path: str) -> int:
    head = text[:200000]
    named = len(re.findall(r"^ip(v6)? access-list (extended |standard )?\S+\s*$", head, re.M))
    numbered = len(re.findall(r"^access-list \d+ (permit|deny|remark)\b", head, re.M))
    if re.search(r"^access-list \S+ (extended|standard) ", head, re.M):  # ASA style
        return 10 if named else 0
    if named:
        return 88
    return 72 if numbered else 0


def _kind(number: int) -> str | None:
    if 1 <= number <= 99 or 1300 <= number <= 1999:
        return "standard"
    if 100 <= number <= 199 or 2000 <= number <= 2699:
        return "extended"
    return None


class IosReader:
    """Reads an IOS configuration's access lists into rulesets, one per ACL."""

    def __init__(self, text: str, path: str):
        self.text, self.path = text, path
        self.rulesets: dict[str, Ruleset] = {}
        self.seq: dict[str, int] = {}
        self.remark: dict[str, str] = {}
        self.warnings: list[Warning_] = []

    def ruleset(self, name: str) -> Ruleset:
        if name not in self.rulesets:
            self.rulesets[name] = Ruleset(name=name, source=self.path, default=DENY, text=self.text)
        return self.rulesets[name]

    # addresses
    def addr(self, w: Words, v6: bool, standard: bool, rid_ref: list):
        tok = w.take("an address (any, host A, A WILDCARD)")
        k = str(tok).lower()
        if k == "any":
            return AnyAddr(6 if v6 else 4, w.loc(tok))
        if k == "host":
            a = w.take("an IP address")
            return self._ip(w, a, v6)
        if v6:
            if "/" not in str(tok):
                raise w.fail(f"expected an IPv6 prefix (2001:db8::/32), any or host, got {str(tok)!r}", tok)
            try:
                n = netaddr.IPNetwork(str(tok))
            except (netaddr.AddrFormatError, ValueError):
                raise w.fail(f"{str(tok)!r} is not a valid IPv6 prefix", tok) from None
            return Net(int(n.first), int(n.last), n.version, str(n.cidr), w.loc(tok))
        ip = self._ip(w, tok, False)
        if standard and (w.at_end() or not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", w.peek())):
            return ip
        wtok = w.take("a wildcard mask")
        try:
            netaddr.IPAddress(str(wtok), 4)
            nets = wildcard_nets(str(tok), str(wtok), WILDCARD_LIMIT)
        except (netaddr.AddrFormatError, ValueError):
            raise w.fail(f"expected a wildcard mask, got {str(wtok)!r}", wtok) from None
        if nets is None:
            rid_ref.append(f"{tok} {wtok}: non-contiguous wildcard needing more than {WILDCARD_LIMIT} ranges")
            return Unresolved(
                f"{tok} {wtok}", f"non-contiguous wildcard mask (more than {WILDCARD_LIMIT} ranges)", w.loc(tok)
            )
        return nets

    def _ip(self, w: Words, tok, v6: bool) -> Net:
        try:
            a = netaddr.IPAddress(str(tok))
        except (netaddr.AddrFormatError, ValueError):
            raise w.fail(f"expected an IP address, got {str(tok)!r}", tok) from None
        if (a.version == 6) != v6:
            raise w.fail(f"{tok} is IPv{a.version}, this access list is IPv{6 if v6 else 4}", tok)
        return Net(int(a), int(a), a.version, str(a), w.loc(tok))

    def ports(self, w: Words, proto):
        nxt = (w.peek() or "").lower()
        if nxt not in PORT_OPS or proto not in PORT_PROTOCOLS:
            return None
        op = str(w.take("")).lower()
        args = []
        n = 2 if op == "range" else 1
        while True:
            tok = w.take("a port")
            p = port_number(str(tok), proto)
            if p is None:
                raise w.fail(f"unknown port {str(tok)!r} (a number or a name such as www, domain, ntp)", tok)
            args.append(p)
            if len(args) >= n and not (
                op in ("eq", "neq")
                and w.peek()
                and port_number(w.peek(), proto) is not None
                and w.peek().lower() not in FLAG_WORDS
            ):
                break
        if op == "range" and args[0] > args[1]:
            raise w.fail("port range runs backwards", tok)
        return f"{op} {' '.join(map(str, args))}", port_ranges(op, args)

    def entry(self, acl: str, kind: str, w: Words, loc: Loc, seq: int | None) -> None:
        rs = self.ruleset(acl)
        if seq is None:
            seq = self.seq.get(acl, 0) + 10
        self.seq[acl] = seq
        rid = str(seq)
        act_tok = w.take("permit, deny or remark")
        action = ACTIONS.get(str(act_tok).lower())
        if action is None:
            raise w.fail(f"expected permit, deny or remark, got {str(act_tok)!r}", act_tok)
        comment = self.remark.pop(acl, "") or w.text.strip()
        notes: list[str] = []
        conds: list[Condition] = []
        v6 = kind == "ipv6"
        if kind == "standard":
            src = self.addr(w, False, True, notes)
            dst, svcs = AnyAddr(4), (Svc.any(),)
        else:
            ptok = w.take("a protocol (ip, tcp, udp, icmp, a number)")
            p = str(ptok).lower()
            if p == "object-group":
                raise w.fail("object-group in IOS access lists is not supported", ptok)
            proto = int(p) if p.isdigit() and int(p) <= 255 else CISCO_PROTOS.get(p, -1)
            if proto == -1 or p == "tcp-udp":
                raise w.fail(f"unknown protocol {str(ptok)!r}", ptok)
            src = self.addr(w, v6, False, notes)
            sport = self.ports(w, proto)
            dst = self.addr(w, v6, False, notes)
            dport = self.ports(w, proto)
            if sport:
                conds.append(Condition(f"source port {sport[0]}", "source port"))
            if proto is None:
                svcs = (Svc.any(),)
            elif dport:
                svcs = tuple(port_svcs(proto, dport[1], ""))
            elif proto in (ICMP, ICMPV6) and w.peek() is not None and self._icmp_word(w.peek(), proto):
                svcs, code = self.icmp(w, proto)
                if code is not None:
                    conds.append(Condition(f"icmp code {code}", "icmp code"))
            else:
                svcs = (Svc.whole(proto),)
        skip = self.options(w, conds)
        for n in notes:
            rs.warnings.append(Warning_(n, loc, rid))
        if skip:
            if action == ALLOW:
                rs.warnings.append(Warning_("skipped: 'established' matches only return traffic", loc, rid))
                return
            conds.append(Condition("established", "matches only return traffic"))
        srcs = src if isinstance(src, list) else [src]
        dsts = dst if isinstance(dst, list) else [dst]
        rs.rules.append(
            Rule(rid, action, AddrExpr(tuple(srcs)), AddrExpr(tuple(dsts)), tuple(svcs), loc, comment, tuple(conds))
        )

    def _icmp_word(self, word: str, proto) -> bool:
        names = ICMP6_NAMES if proto == ICMPV6 else ICMP_NAMES
        return word.lower() in names or (word.isdigit() and int(word) <= 255)

    def icmp(self, w: Words, proto):
        tok = w.take("an ICMP type")
        s = str(tok).lower()
        names = ICMP6_NAMES if proto == ICMPV6 else ICMP_NAMES
        t, code = names[s] if s in names else (int(s), None)
        if s.isdigit() and w.peek() is not None and w.peek().isdigit():
            code = int(str(w.take("")))
        return (icmp_svc(proto, t),), code

    def options(self, w: Words, conds: list) -> bool:
        established = False
        while not w.at_end():
            tok = w.take("")
            k = str(tok).lower()
            if k in ("log", "log-input"):
                if w.peek() and w.peek().lower() not in FLAG_WORDS | VALUE_OPTIONS | {"established", "fragments"}:
                    w.take("")  # a log cookie
            elif k == "established":
                established = True
            elif k in ("fragments",) or k in FLAG_WORDS:
                conds.append(Condition(k, "TCP flags or fragments"))
            elif k in ("match-all", "match-any"):
                flags = []
                while w.peek() and w.peek()[:1] in "+-":
                    flags.append(str(w.take("")))
                conds.append(Condition(" ".join([k] + flags), "TCP flags"))
            elif k in VALUE_OPTIONS:
                conds.append(Condition(f"{k} {w.take('a value')}", "time range" if k == "time-range" else k))
            elif k == "ttl":
                op = w.take("an operator")
                conds.append(Condition(f"ttl {op} {w.take('a value')}", "ttl"))
            elif k in ("sequence",):
                raise w.fail("'sequence' goes before permit/deny", tok)
            else:
                raise w.fail(f"unexpected {str(tok)!r} (expected log, established, fragments, time-range ...)", tok)
        return established


def load(text: str, path: str, **_options) -> list[Ruleset]:
    rd = IosReader(text, path)
    acl, kind, iface = None, None, None
    bindings = []
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("!"):
            if raw.strip() == "!":
                acl = None
            continue
        indented = raw[:1] in (" ", "\t")
        head = raw.split()
        if not indented:
            acl = None
            iface = raw.split(None, 1)[1] if head[0] == "interface" and len(head) > 1 else None
            if head[0] in ("ip", "ipv6") and len(head) >= 3 and head[1] == "access-list":
                w = line_words(raw, path, n)
                w.take(""), w.take("")
                k = w.accept("extended", "standard")
                if head[0] == "ipv6":
                    k = "ipv6"
                elif k is None:
                    continue  # ip access-list logging / resequence ...
                name_tok = w.take("an access list name")
                acl, kind = str(name_tok), k
                rd.ruleset(acl)
            elif head[0] == "access-list" and len(head) >= 3:
                w = line_words(raw, path, n)
                w.take("")
                num_tok = w.take("a number")
                if not str(num_tok).isdigit():
                    raise w.fail(f"expected an access list number, got {str(num_tok)!r}", num_tok)
                k = _kind(int(str(num_tok)))
                if k is None:
                    rd.warnings.append(
                        Warning_(f"access list {num_tok} is not an IP access list: ignored", Loc(path, n, 1))
                    )
                    continue
                if w.accept("remark"):
                    rd.remark[str(num_tok)] = w.rest()
                    rd.ruleset(str(num_tok))
                    continue
                if w.accept("dynamic"):
                    raise w.fail("dynamic (lock-and-key) access lists are not supported", num_tok)
                rd.entry(str(num_tok), k, w, Loc(path, n, 1), None)
            continue
        if iface is not None and head[:2] in (["ip", "access-group"], ["ipv6", "traffic-filter"]) and len(head) >= 4:
            bindings.append((head[2], f"'{' '.join(head[:4])}' on interface {iface}", Loc(path, n, 1)))
            continue
        if acl is None:
            continue
        w = line_words(raw, path, n)
        seq = None
        if w.accept("sequence") or (w.peek() or "").isdigit():
            stok = w.take("a sequence number")
            if not str(stok).isdigit():
                raise w.fail(f"expected a sequence number, got {str(stok)!r}", stok)
            seq = int(str(stok))
        if w.accept("remark"):
            rd.remark[acl] = w.rest()
            continue
        rd.entry(acl, kind, w, Loc(path, n, w.loc().column), seq)
    if not rd.rulesets:
        raise InputError(
            "no access lists found (expected 'ip access-list extended NAME' or 'access-list 101 ...')", Loc(path)
        )
    out = []
    for rs in rd.rulesets.values():
        rs.warnings = rd.warnings + rs.warnings
        rs.warnings += [
            Warning_(
                f"access list {name} is applied with {where}: the interface binding is not "
                "translated (its rules apply to every pod)",
                loc,
            )
            for name, where, loc in bindings
            if name == rs.name
        ]
        out.append(rs)
    return out
