"""Cisco IOS access lists: named (`ip access-list extended|standard`, `ipv6 access-list`) and numbered.

One ruleset per ACL, default deny (the implicit deny).  Read as the device reads a configuration
(a running-config, `show run | section`, or a command script such as Firewall Builder's):

* `!` lines are comments wherever they are, inside an ACL block too.  An `ip access-list` /
  `ipv6 access-list` block holds the ACL-mode commands that follow it (entries, `remark`,
  `sequence N ...`, `no N`, `evaluate`, `statistics`), indented or not; it ends at `exit` or at
  the first other command.  An indented line the ACL mode does not know is an error.
* Rule ids are the sequence numbers, given or assigned as IOS does (the highest so far + 10), and
  entries are ordered by them.  A duplicate sequence number is rejected by IOS: skipped.
  `no ip access-list ...`, `no access-list N` and `no SEQ` remove what came before (skipped).
* Entries that match less than their addresses and services (tos, dscp, precedence, option, ttl,
  TCP flags, fragments, time-range, a source port, an ICMP code) keep that as a rule Condition (an
  allow with one is dropped, a deny applies without it: never wider).  A permit with `established`
  (return traffic) and an `evaluate` line (the return traffic of reflexive entries) are implied by
  the stateful model (NetworkPolicy allows the replies of every allowed connection): skipped.
  `reflect NAME` on a permit matches nothing less, so the permit is read as it is.
* In an `ipv6 access-list`, `icmp` is ICMPv6.  IOS ends every IPv6 ACL with implicit permits of
  neighbour discovery (nd-na, nd-ns) before the implicit deny; they are not added (link-local ICMPv6,
  which NetworkPolicy cannot express and leaves denied anyway).

`Ruleset.lines` counts the entry lines seen per ACL (permit, deny, evaluate; not remarks).
Other lines of a full router configuration are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import netaddr

from ..errors import InputError, Loc, Warning_
from ..model.names import is_digits
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
    Skipped,
    Svc,
    Unresolved,
)
from .common.cisco import (
    ASA_MARKS,
    CISCO_PROTOS,
    ICMP6_NAMES,
    ICMP_NAMES,
    IOS_MARKS,
    RangeBudget,
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
    "option",
    "flow-label",
    "routing-type",
    "dest-option-type",
    "hop-limit",
}
# options without a value that restrict the match (IPv4 fragments, IPv6 extension headers)
FLAG_OPTIONS = {"fragments", "routing", "hbh", "undetermined-transport", "mobility", "authen", "dest-option"}
# the commands of ACL configuration mode (besides a sequence number), and those `no` may precede
ACL_MODE = {"permit", "deny", "remark", "sequence", "evaluate", "statistics", "default", "dynamic"}
NO_ACL_MODE = {"permit", "deny", "remark", "sequence", "evaluate", "statistics"}
BINDINGS = (["ip", "access-group"], ["ipv6", "traffic-filter"])
ESTABLISHED = (
    "a permit with 'established' matches the return traffic of connections: the stateful model implies it "
    "(NetworkPolicy allows the replies of every allowed connection)"
)
WILDCARD_LIMIT = 256


def detect(text: str, path: str) -> int:
    """Content only: named ACL blocks or numbered ACLs, with IOS-only lines and no ASA-only ones."""
    head = text[:200000]
    named = len(re.findall(r"^ip(v6)? access-list (extended |standard )?\S+\s*$", head, re.M))
    numbered = len(re.findall(r"^access-list [0-9]+ (permit|deny|remark|dynamic)\b", head, re.M))
    asa = len(ASA_MARKS.findall(head))
    ios = len(IOS_MARKS.findall(head))
    if asa:
        return 10 if named and ios > asa else 0
    if named:
        return 92 if ios > named else 88
    if numbered:
        return 88 if ios else 72
    return 0


def _kind(number: int) -> str | None:
    if 1 <= number <= 99 or 1300 <= number <= 1999:
        return "standard"
    if 100 <= number <= 199 or 2000 <= number <= 2699:
        return "extended"
    return None


@dataclass
class Ace:
    """One entry line of an ACL: its sequence number, the rules it makes, or why it is skipped."""

    seq: int
    loc: Loc
    text: str
    rules: list[Rule] = field(default_factory=list)
    skipped: str | None = None


class IosReader:
    """Reads an IOS configuration's access lists into rulesets, one per ACL."""

    def __init__(self, text: str, path: str):
        self.text, self.path = text, path
        self.rulesets: dict[str, Ruleset] = {}
        self.kinds: dict[str, str] = {}
        self.aces: dict[str, list[Ace]] = {}  # the entries of the device's ACL, by ACL (some skipped)
        self.gone: dict[str, list[Ace]] = {}  # entries seen and not in force (removed, rejected)
        self.remark: dict[str, str] = {}
        self.warnings: list[Warning_] = []
        self.budget = RangeBudget()  # FW2NP_MAX_WILDCARD_RANGES per ACL

    def ruleset(self, name: str, kind: str | None = None) -> Ruleset:
        if name not in self.rulesets:
            self.rulesets[name] = Ruleset(name=name, source=self.path, default=DENY, text=self.text)
            self.aces[name], self.gone[name] = [], []
        if kind is not None:
            self.kinds.setdefault(name, kind)
        return self.rulesets[name]

    def remove(self, acl: str, why: str, seq: int | None = None, text: str | None = None) -> bool:
        """Take ACL's entries (all, the one numbered SEQ or the one reading TEXT) out of force: skipped, saying WHY."""
        keep, found = [], False
        for a in self.aces.get(acl, []):
            if (seq is None and text is None) or a.seq == seq or (text is not None and a.text == text and not found):
                a.skipped, a.rules, found = why, [], True
                self.gone[acl].append(a)
            else:
                keep.append(a)
        if acl in self.aces:
            self.aces[acl] = keep
        return found

    def add(self, acl: str, kind: str, w: Words, loc: Loc, seq: int | None) -> None:
        """Read one entry line (the words after its sequence number) into ACL."""
        self.ruleset(acl, kind)
        aces = self.aces[acl]
        top = max((a.seq for a in aces), default=0)
        ace = Ace(seq if seq is not None else top + 10, loc, _norm(w.rest()))
        if seq is not None and any(a.seq == seq for a in aces):
            ace.skipped = f"duplicate sequence number {seq}: IOS rejects the entry"
            self.gone[acl].append(ace)
            self.remark.pop(acl, None)
            return
        self.entry(acl, kind, w, ace)
        aces.append(ace)  # skipped or not, the entry is in the device's ACL
        if seq is not None and seq < top:
            aces.sort(key=lambda a: a.seq)

    # addresses
    def addr(self, w: Words, v6: bool, standard: bool, rid_ref: list, acl: str = ""):
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
        if standard and (w.at_end() or not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", w.peek())):
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
        self.budget.spend(acl, nets, w, wtok)
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

    def entry(self, acl: str, kind: str, w: Words, ace: Ace) -> None:
        rs, loc, rid = self.rulesets[acl], ace.loc, str(ace.seq)
        act_tok = w.take("permit, deny or remark")
        act = str(act_tok).lower()
        if act == "evaluate":
            name = w.take("a reflexive access list name")
            self.remark.pop(acl, None)
            ace.skipped = (
                f"'evaluate {name}' permits the return traffic of the sessions reflexive entries record: "
                "the stateful model implies it"
            )
            return
        action = ACTIONS.get(act)
        if action is None:
            raise w.fail(f"expected permit, deny or remark, got {str(act_tok)!r}", act_tok)
        comment = self.remark.pop(acl, "") or w.text.strip()
        notes: list[str] = []
        conds: list[Condition] = []
        v6 = kind == "ipv6"
        if kind == "standard":
            src = self.addr(w, False, True, notes, acl)
            dst, svcs = AnyAddr(4), (Svc.any(),)
        else:
            ptok = w.take("a protocol (ip, tcp, udp, icmp, a number)")
            p = str(ptok).lower()
            if p == "object-group":
                raise w.fail("object-group in IOS access lists is not supported", ptok)
            proto = int(p) if is_digits(p) and int(p) <= 255 else CISCO_PROTOS.get(p, -1)
            if proto == -1 or p == "tcp-udp" or (p == "ipv6") != v6 and p in ("ip", "ipv6"):
                raise w.fail(f"unknown protocol {str(ptok)!r}" + (" in an IPv6 access list" * v6), ptok)
            if v6 and proto == ICMP:
                proto = ICMPV6  # `icmp` in an ipv6 access-list is ICMPv6
            src = self.addr(w, v6, False, notes, acl)
            sport = self.ports(w, proto)
            dst = self.addr(w, v6, False, notes, acl)
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
        established = self.options(w, conds, notes)
        for n in notes:
            rs.warnings.append(Warning_(n, loc, rid))
        if established:
            if action == ALLOW:
                ace.skipped = ESTABLISHED
                return
            conds.append(Condition("established", "matches only return traffic"))
        srcs = src if isinstance(src, list) else [src]
        dsts = dst if isinstance(dst, list) else [dst]
        ace.rules.append(
            Rule(rid, action, AddrExpr(tuple(srcs)), AddrExpr(tuple(dsts)), tuple(svcs), loc, comment, tuple(conds))
        )

    def _icmp_word(self, word: str, proto) -> bool:
        names = ICMP6_NAMES if proto == ICMPV6 else ICMP_NAMES
        return word.lower() in names or (is_digits(word) and int(word) <= 255)

    def icmp(self, w: Words, proto):
        tok = w.take("an ICMP type")
        s = str(tok).lower()
        names = ICMP6_NAMES if proto == ICMPV6 else ICMP_NAMES
        t, code = names[s] if s in names else (int(s), None)
        if is_digits(s) and w.peek() is not None and is_digits(w.peek()):
            code = int(str(w.take("")))
        return (icmp_svc(proto, t),), code

    def options(self, w: Words, conds: list, notes: list) -> bool:
        established = False
        while not w.at_end():
            tok = w.take("")
            k = str(tok).lower()
            if k in ("log", "log-input"):
                if w.peek() and w.peek().lower() not in FLAG_WORDS | VALUE_OPTIONS | FLAG_OPTIONS | {
                    "established",
                    "ttl",
                    "reflect",
                    "match-all",
                    "match-any",
                }:
                    w.take("")  # a log cookie
            elif k == "established":
                established = True
            elif k in FLAG_OPTIONS:
                conds.append(Condition(k, "fragments" if k == "fragments" else "IPv6 extension header"))
            elif k in FLAG_WORDS:
                conds.append(Condition(k, "TCP flags"))
            elif k in ("match-all", "match-any"):
                flags = []
                while w.peek() and w.peek()[:1] in "+-":
                    flags.append(str(w.take("")))
                conds.append(Condition(" ".join([k] + flags), "TCP flags"))
            elif k in VALUE_OPTIONS:
                conds.append(Condition(f"{k} {w.take('a value')}", "time range" if k == "time-range" else k))
            elif k == "ttl":
                op = str(w.take("an operator (eq, neq, lt, gt, range)"))
                vals = [str(w.take("a value")) for _ in range(2 if op.lower() == "range" else 1)]
                conds.append(Condition(f"ttl {op} {' '.join(vals)}", "ttl"))
            elif k == "reflect":
                name = w.take("a reflexive access list name")
                if w.accept("timeout"):
                    w.take("a timeout")
                notes.append(
                    f"'reflect {name}' records sessions for their return traffic: the permit is read as it is, "
                    "its replies are implied by the stateful model"
                )
            elif k == "sequence":
                raise w.fail("'sequence' goes before permit/deny", tok)
            else:
                raise w.fail(f"unexpected {str(tok)!r} (expected log, established, fragments, time-range ...)", tok)
        return established


def _acl_mode(head: list[str]) -> bool:
    """Whether a line is a command of ACL configuration mode (else IOS leaves the mode)."""
    first = head[0].lower()
    if first == "no":
        return len(head) > 1 and (is_digits(head[1]) or head[1].lower() in NO_ACL_MODE)
    return is_digits(first) or first in ACL_MODE


def _no_acl(head: list[str]) -> tuple[str, str] | None:
    """(ACL name, what) for `no ip access-list [extended|standard] N`, `no ipv6 access-list N`, `no access-list N`."""
    low = [h.lower() for h in head]
    if low[:3] in (["no", "ip", "access-list"], ["no", "ipv6", "access-list"]) and len(head) >= 4:
        name = head[4] if low[3] in ("extended", "standard") and len(head) >= 5 else head[3]
        return name, " ".join(head)
    if low[:2] == ["no", "access-list"] and len(head) == 3 and is_digits(head[2]):
        return head[2], " ".join(head)
    return None


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def load(text: str, path: str, **_options) -> list[Ruleset]:
    rd = IosReader(text, path)
    acl, kind, iface = None, None, None
    bindings = []
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s[0] == "!":
            continue  # a comment, wherever it is: it ends no block
        indented = raw[:1] in (" ", "\t")
        head = s.split()
        first = head[0].lower()
        if acl is not None:
            if first == "exit":
                acl = None
                continue
            if _acl_mode(head):
                acl_mode_line(rd, acl, kind, raw, path, n)
                continue
            if indented:
                w = line_words(raw, path, n)
                raise w.fail(
                    f"unexpected {head[0]!r} in access list {acl}: "
                    "expected permit, deny or remark (or a sequence number)",
                    w.peek_tok(),
                )
            acl = None  # another command: IOS leaves the ACL mode
        if indented:
            if iface is not None and [h.lower() for h in head[:2]] in (
                ["ip", "access-group"],
                ["ipv6", "traffic-filter"],
            ):
                if len(head) >= 4:
                    bindings.append((head[2], f"'{' '.join(head[:4])}' on interface {iface}", Loc(path, n, 1)))
            continue
        iface = s.split(None, 1)[1] if first == "interface" and len(head) > 1 else None
        if first == "exit":
            continue
        gone = _no_acl(head) if first == "no" else None
        if gone is not None:
            rd.remove(gone[0], f"removed by '{gone[1]}' (line {n})")
            continue
        if first in ("ip", "ipv6") and len(head) >= 3 and head[1].lower() == "access-list":
            w = line_words(raw, path, n)
            w.take(""), w.take("")
            k = w.accept("extended", "standard")
            if first == "ipv6":
                k = "ipv6"
            elif k is None:
                continue  # ip access-list logging / resequence ...
            name_tok = w.take("an access list name")
            acl, kind = str(name_tok), k
            rd.ruleset(acl, kind)
        elif first == "access-list" and len(head) >= 3:
            w = line_words(raw, path, n)
            w.take("")
            num_tok = w.take("a number")
            if not is_digits(str(num_tok)):
                raise w.fail(f"expected an access list number, got {str(num_tok)!r}", num_tok)
            k = _kind(int(str(num_tok)))
            if k is None:
                rd.warnings.append(
                    Warning_(f"access list {num_tok} is not an IP access list: ignored", Loc(path, n, 1))
                )
                continue
            if w.accept("remark"):
                rd.remark[str(num_tok)] = w.rest()
                rd.ruleset(str(num_tok), k)
                continue
            if w.accept("dynamic"):
                raise w.fail("dynamic (lock-and-key) access lists are not supported", num_tok)
            rd.add(str(num_tok), k, w, Loc(path, n, 1), None)
    if not rd.rulesets:
        raise InputError(
            "no access lists found (expected 'ip access-list extended NAME' or 'access-list 101 ...')", Loc(path)
        )
    bound = {name for name, _, _ in bindings}
    out = []
    for rs in rd.rulesets.values():
        aces = rd.aces[rs.name]
        rs.rules = [r for a in aces for r in a.rules]
        skipped = [a for a in aces if a.skipped] + rd.gone[rs.name]
        rs.skipped = [Skipped(str(a.seq), a.skipped, a.loc) for a in sorted(skipped, key=lambda a: a.loc.line)]
        rs.lines = len(aces) + len(rd.gone[rs.name])
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
        if any(r.action == ALLOW for r in rs.rules):
            rs.warnings.append(
                Warning_(
                    f"IOS access lists are stateless: the replies of the connections {rs.name} allows must pass "
                    "the access list of their return path, which is not checked (docs/semantics.md)",
                    rs.rules[0].loc,
                )
            )
        if bound and rs.name not in bound:
            rs.warnings.append(
                Warning_(
                    f"access list {rs.name} is not applied to an interface in this file (it may select routes, "
                    "NAT or QoS traffic): it is read as a packet filter",
                    Loc(path),
                )
            )
        out.append(rs)
    return out


def acl_mode_line(rd: IosReader, acl: str, kind: str, raw: str, path: str, n: int) -> None:
    """One command of ACL configuration mode: an entry, a remark, `no SEQ`, `statistics ...`."""
    w = line_words(raw, path, n)
    first = (w.peek() or "").lower()
    if first in ("statistics", "default"):
        return  # per-entry counters / defaults: no rule
    if first == "no":
        w.take("")
        why = f"removed by '{raw.strip()}' (line {n})"
        if (w.peek() or "").lower() in ("permit", "deny", "evaluate"):
            found = rd.remove(acl, why, text=_norm(w.rest()))
        elif (w.peek() or "").lower() in ("remark", "statistics"):
            return
        else:
            w.accept("sequence")
            tok = w.take("a sequence number")
            if not is_digits(str(tok)):
                raise w.fail("expected a sequence number after 'no' in an access list", tok)
            found = rd.remove(acl, why, int(str(tok)))
        if not found:
            rd.warnings.append(Warning_(f"'{raw.strip()}': access list {acl} has no such entry", Loc(path, n, 1)))
        return
    if first == "dynamic":
        raise w.fail("dynamic (lock-and-key) access list entries are not supported", w.peek_tok())
    seq = None
    if w.accept("sequence") or is_digits(first):
        stok = w.take("a sequence number")
        if not is_digits(str(stok)):
            raise w.fail(f"expected a sequence number, got {str(stok)!r}", stok)
        seq = int(str(stok))
    if w.accept("remark"):
        rd.remark[acl] = w.rest()
        return
    rd.add(acl, kind, w, Loc(path, n, w.loc().column), seq)
