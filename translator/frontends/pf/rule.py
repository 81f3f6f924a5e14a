"""One pf rule line (pf.conf(5), "PACKET FILTERING" and "GRAMMAR") as what it matches and does."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ...errors import Loc
from ...model.ruleset import ALLOW, DENY, PROTO_NAMES, Condition
from ...model.space import ALL_V4, ALL_V6, EMPTY, FULL_SVC, IntervalSet, ip_range, svc_range, whole_proto
from ..common.icmp import ICMP6_TYPES, ICMP_TYPES
from ..common.words import Item
from ..iptables.match import ANY_CONN, Conn, Match, MatchBounds
from ..iptables.options import PORT_NAMES
from .reader import PfFile, flat

ALL_IP = ALL_V4 | ALL_V6
PF_PROTOS = {**PROTO_NAMES, "icmp6": 58, "ipv6-icmp": 58}
PF_ICMP = {**ICMP_TYPES, "echoreq": 8, "echorep": 0, "unreach": 3, "squench": 4, "timex": 11, "paramprob": 12}
PF_ICMP6 = {**ICMP6_TYPES, "echoreq": 128, "echorep": 129, "unreach": 1, "toobig": 2, "timex": 3, "paramprob": 4,
            "neighbrsol": 135, "neighbradv": 136, "routersol": 133, "routeradv": 134, "redir": 137}  # fmt: skip
TCP_FLAGS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32, "E": 64, "W": 128}
_FIRST = 2
_LATER = tuple(f for f in range(256) if f & 16 and not f & 2) + (2 | 16, 4)
# options that take one argument and change nothing fw2np models (logging, queues, tags, routing)
IGNORED_1 = {"label", "tag", "queue", "rtable", "prio", "set-tos", "divert-reply", "ridentifier"}
ROUTE = {"route-to", "reply-to", "dup-to", "nat-to", "rdr-to", "binat-to", "af-to", "divert-to"}
CONDITION_1 = {"user": "user", "group": "group", "tagged": "tag", "probability": "probability", "os": "os",
               "received-on": "interface", "tos": "TOS", "max-pkt-rate": "rate limit"}  # fmt: skip
STATE = {"keep", "modulate", "synproxy"}
KEYWORDS = {"in", "out", "on", "quick", "inet", "inet6", "proto", "from", "to", "all", "log"}


@dataclass
class PfRule:
    id: str
    loc: Loc
    text: str
    action: str  # ALLOW, DENY, "match", "anchor"
    quick: bool = False
    direction: str | None = None  # in, out; None: both
    match: Match | None = None
    anchor: str | None = None  # the anchor's name
    body: list[PfRule] | None = None  # an inline anchor's rules (None: an external anchor)
    comment: str = ""
    notes: list[str] = field(default_factory=list)


class RuleReader:
    def __init__(self, pf: PfFile, host: MatchBounds | None):
        self.pf, self.host = pf, host

    def fail(self, msg: str, loc: Loc):
        return self.pf.fail(msg, loc)

    def rule(self, items: list[Item], rid: str) -> PfRule:
        text = " ".join(_shown(i) for i in items)
        head = items[0].text
        r = PfRule(rid, items[0].loc, text, {"pass": ALLOW, "block": DENY, "match": "match", "anchor": "anchor"}[head])
        src = dst = MatchBounds(ALL_IP, ALL_IP)
        fam = ALL_IP
        svc: IntervalSet | None = None
        conds: list[Condition] = []
        conn = ANY_CONN
        stateful, flags_given = r.action == ALLOW, False
        i, n = 1, len(items)

        def w(k: int) -> str:
            return items[k].text if k < n and items[k].kind in ("w", "str") else ""

        if head == "anchor":
            if i < n and (items[i].kind == "str" or (items[i].kind == "w" and items[i].text not in KEYWORDS)):
                r.anchor, i = items[i].text, i + 1
            if n and items[-1].kind == "set":
                r.body = []
                items, n = items[:-1], n - 1
        if head == "block":
            while w(i) in ("drop", "return", "return-rst", "return-icmp", "return-icmp6"):
                i += 1
                if i < n and items[i].text == "(":
                    i = self._close(items, i)
        while i < n:
            t = w(i)
            it = items[i]
            if t in ("in", "out"):
                r.direction, i = t, i + 1
            elif t == "log":
                i += 1
                if i < n and items[i].text == "(":
                    i = self._close(items, i)
            elif t == "quick":
                r.quick, i = True, i + 1
            elif t == "on":
                i += 1
                neg = w(i) == "!"
                i += neg
                names = " ".join(x.text for x in flat([items[i]])) if i < n else ""
                if names != "any":
                    conds.append(Condition(f"on {'! ' if neg else ''}{names}", "interface match"))
                i += 1
            elif t in ("inet", "inet6"):
                fam, i = (ALL_V4 if t == "inet" else ALL_V6), i + 1
            elif t == "proto":
                svc, i = self._protos(items, i + 1)
            elif t == "all":
                i += 1
            elif t == "from":
                if w(i + 1) == "port":
                    i += 1
                else:
                    src, i, note = self._hosts(items, i + 1)
                    r.notes += note
                if w(i) == "port":
                    cond, i = self._port_text(items, i + 1)
                    conds.append(Condition(f"from port {cond}", "source port"))
                if w(i) == "os":
                    conds.append(Condition(f"os {w(i + 1)}", "os"))
                    i += 2
            elif t == "to":
                if w(i + 1) == "port":
                    i += 1
                else:
                    dst, i, note = self._hosts(items, i + 1)
                    r.notes += note
                if w(i) == "port":
                    ports, i = self._ports(items, i + 1, svc)
                    svc = ports
            elif t == "flags":
                i += 1
                if w(i) == "any":
                    conn, i, flags_given = conn, i + 1, True
                else:
                    conn, i, flags_given = self._flags(items[i], conn), i + 1, True
            elif t in ("icmp-type", "icmp6-type"):
                proto = 1 if t == "icmp-type" else 58
                types, i = self._icmp(items, i + 1, proto)
                svc = types if svc is None else svc & types
                if w(i) == "code":
                    conds.append(Condition(f"{t} code {w(i + 1)}", "ICMP code"))
                    i += 2
            elif t in STATE and w(i + 1) == "state":
                stateful, i = True, i + 2
                if i < n and items[i].text == "(":
                    i = self._close(items, i)
            elif t == "no" and w(i + 1) == "state":
                stateful, i = False, i + 2
            elif t in ("fragment", "allow-opts", "once"):
                i += 1
            elif t == "scrub":  # a match rule's packet normalization
                i += 1
                if i < n and items[i].text == "(":
                    i = self._close(items, i)
            elif t in IGNORED_1:
                i += 2
            elif t in ROUTE:
                i += 1
                if i < n and (items[i].kind == "set" or items[i].text == "("):
                    i = self._close(items, i) if items[i].text == "(" else i + 1
                else:
                    i += 1
            elif t in CONDITION_1:
                neg = w(i + 1) == "!"
                val = _shown(items[i + 1 + neg]) if i + 1 + neg < n else ""
                conds.append(Condition(f"{t} {'! ' if neg else ''}{val}", CONDITION_1[t]))
                i += 2 + neg
            elif t == "set" and w(i + 1) in ("prio", "tos", "queue", "delay"):
                i += 3
            elif t == "(":
                i = self._close(items, i)
            else:
                raise self.fail(f"unexpected {_shown(it)!r} in a pf rule (pf.conf(5): direction, log, quick, on, "
                                "af, proto, from/to, port, flags, icmp-type, state, ...)", it.loc)  # fmt: skip
        fam_b = MatchBounds(fam, fam)
        src, dst = src & fam_b, dst & fam_b
        if svc is None:
            svc = FULL_SVC
        if r.action == ALLOW and stateful and not flags_given and svc & whole_proto(6):
            # pf's default for a stateful pass: flags S/SA on TCP (a connection's first packet)
            conn = conn & Conn(True, False, ("flags S/SA (pf's default with keep state)",))
        if r.action == ALLOW and not stateful:
            conds.append(
                Condition(
                    "no state",
                    "a stateless pass lets packets through one way only; its replies need rules of their own, "
                    "where NetworkPolicy allows a connection both ways",
                )
            )
        r.match = Match(src, dst, svc, tuple(conds), conn)
        return r

    def _close(self, items: list[Item], k: int) -> int:
        depth = 0
        while k < len(items):
            if items[k].text == "(":
                depth += 1
            elif items[k].text == ")":
                depth -= 1
                if depth == 0:
                    return k + 1
            k += 1
        raise self.fail("unclosed '('", items[-1].loc)

    # --- hosts --------------------------------------------------------------------------------

    def _hosts(self, items: list[Item], k: int) -> tuple[MatchBounds, int, list[str]]:
        """A host list at K: any, self, addresses, ranges, <tables>, { lists }, ! negations."""
        if k >= len(items):
            raise self.fail("expected an address after from/to", items[-1].loc)
        it = items[k]
        if it.kind == "set":
            parts = self._elements(it.elems)
            b = None
            notes: list[str] = []
            for neg, words in parts:
                got, _, note = self._host(words, neg)
                notes += note
                b = got if b is None else MatchBounds(b.lower | got.lower, b.upper | got.upper, b.notes + got.notes)
            return b or MatchBounds(EMPTY, EMPTY), k + 1, notes
        neg = it.text == "!"
        k += neg
        words = [items[k]]
        if k + 2 < len(items) and items[k + 1].text == "-" and items[k + 2].kind == "w":
            words, k = items[k : k + 3], k + 2
        got, _, notes = self._host(words, neg)
        return got, k + 1, notes

    def _elements(self, elems) -> list[tuple[bool, list[Item]]]:
        out, neg, cur = [], False, []
        words = flat([Item("set", "", Loc(self.pf.path), elems)])
        k = 0
        while k < len(words):
            x = words[k]
            if x.text == "!":
                neg = True
                k += 1
                continue
            if k + 2 < len(words) and words[k + 1].text == "-":
                cur = words[k : k + 3]
                k += 3
            else:
                cur = [x]
                k += 1
            out.append((neg, cur))
            neg = False
        return out

    def _host(self, words: list[Item], neg: bool) -> tuple[MatchBounds, None, list[str]]:
        b, notes = self._host_bounds(words)
        if neg:
            b = b.negate(ALL_IP)
        return b, None, notes

    def _host_bounds(self, words: list[Item]) -> tuple[MatchBounds, list[str]]:
        text = "".join(x.text for x in words)
        first = words[0]
        if text == "any":
            return MatchBounds(ALL_IP, ALL_IP), []
        if text == "self":
            if self.host is not None:
                return self.host, []
            return MatchBounds(EMPTY, ALL_IP, ("self (the firewall's own addresses; pass --host)",)), []
        if text.startswith("<") and text.endswith(">"):
            return self._table(first, text[1:-1])
        if text in ("no-route", "urpf-failed"):
            return MatchBounds(EMPTY, ALL_IP, (f"{text} (decided by the routing table)",)), []
        got = _network(text)
        if isinstance(got, str):
            raise self.fail(got, first.loc)
        if got is not None:
            return MatchBounds(got, got), []
        # an interface's addresses (em0, (em0), em0:network) or a host name: known to pf when loaded
        why = f"{text} (an interface's addresses or a host name, resolved by pf when loaded)"
        return MatchBounds(EMPTY, ALL_IP, (why,)), []

    def _table(self, at: Item, name: str) -> tuple[MatchBounds, list[str]]:
        t = self.pf.tables.get(name)
        if t is None:
            raise self.fail(f"table <{name}> is not defined (table <{name}> {{ ... }})", at.loc)
        entries = []
        for neg, it in t.entries:
            got = _network(it.text)
            if isinstance(got, str):
                raise self.fail(got, it.loc)
            if got is None:
                return MatchBounds(EMPTY, ALL_IP, (f"<{name}> holds {it.text}, resolved by pf when loaded",)), []
            entries.append((got.iv[0][1] - got.iv[0][0], neg, got))
        # longest prefix wins: paint the largest entries first, the smaller ones over them
        s = EMPTY
        for _, neg, got in sorted(entries, key=lambda e: -e[0]):
            s = (s - got) if neg else (s | got)
        if t.files:
            return MatchBounds(s, ALL_IP, (f"<{name}> loads {', '.join(t.files)}, not read",)), []
        return MatchBounds(s, s), []

    # --- services -----------------------------------------------------------------------------

    def _protos(self, items: list[Item], k: int) -> tuple[IntervalSet, int]:
        out = EMPTY
        for x in flat([items[k]]):
            p = int(x.text) if x.text.isdigit() else PF_PROTOS.get(x.text.lower())
            if p is None or not 0 <= p <= 255:
                raise self.fail(f"unknown protocol {x.text!r}", x.loc)
            out = out | whole_proto(p)
        return out, k + 1

    def _port_specs(self, items: list[Item], k: int) -> tuple[list[tuple[int, int]], int]:
        """A port spec at K (pf.conf(5) `port`): its port ranges."""
        it = items[k]
        if it.kind == "set":
            out = []
            ws = flat([it])
            j = 0
            while j < len(ws):
                got, j = self._one_port(ws, j)
                out += got
            return out, k + 1
        return self._one_port(items, k)

    def _one_port(self, ws: list[Item], j: int) -> tuple[list[tuple[int, int]], int]:
        x = ws[j]
        ops = ("=", "!=", "<", ">", "<=", ">=")
        if x.text in ops:
            p = self._port(ws[j + 1])
            r = {"=": [(p, p)], "!=": [(0, p - 1), (p + 1, 65535)], "<": [(0, p - 1)], ">": [(p + 1, 65535)],
                 "<=": [(0, p)], ">=": [(p, 65535)]}[x.text]  # fmt: skip
            return [(a, b) for a, b in r if a <= b], j + 2
        if j + 2 < len(ws) and ws[j + 1].text in ("><", "<>"):
            a, b = self._port(x), self._port(ws[j + 2])
            r = [(a + 1, b - 1)] if ws[j + 1].text == "><" else [(0, a - 1), (b + 1, 65535)]
            return [(lo, hi) for lo, hi in r if lo <= hi], j + 3
        if ":" in x.text:
            a_t, _, b_t = x.text.partition(":")
            a, b = self._port(Item("w", a_t, x.loc)), self._port(Item("w", b_t, x.loc))
            if b < a:
                raise self.fail(f"port range {x.text!r} ends before it starts", x.loc)
            return [(a, b)], j + 1
        p = self._port(x)
        return [(p, p)], j + 1

    def _port(self, x: Item) -> int:
        t = x.text
        p = int(t) if t.isdigit() else PORT_NAMES.get(t.lower())
        if p is None or not 0 <= p <= 65535:
            raise self.fail(f"bad port {t!r} (a number 0-65535 or a service name such as ssh)", x.loc)
        return p

    def _ports(self, items: list[Item], k: int, svc: IntervalSet | None) -> tuple[IntervalSet, int]:
        ranges, k = self._port_specs(items, k)
        protos = [6, 17, 132] if svc is None else [p for p in (6, 17, 132) if svc & whole_proto(p)]
        if not protos:
            raise self.fail("port needs proto tcp, udp or sctp", items[k - 1].loc)
        got = IntervalSet(iv for p in protos for lo, hi in ranges for iv in svc_range(p, lo, hi).iv)
        return got, k

    def _port_text(self, items: list[Item], k: int) -> tuple[str, int]:
        ranges, k2 = self._port_specs(items, k)
        return " ".join(_shown(x) for x in items[k:k2]), k2

    def _icmp(self, items: list[Item], k: int, proto: int) -> tuple[IntervalSet, int]:
        names = PF_ICMP if proto == 1 else PF_ICMP6
        out = EMPTY
        for x in flat([items[k]]):
            t = int(x.text) if x.text.isdigit() else names.get(x.text.lower())
            if t is None or not 0 <= t <= 255:
                raise self.fail(f"unknown ICMP type {x.text!r}", x.loc)
            out = out | svc_range(proto, t, t)
        return out, k + 1

    def _flags(self, it: Item, conn: Conn) -> Conn:
        """`flags F/M`: the packets whose flags, masked by M (all when missing), are F."""
        fl, _, mask_t = it.text.partition("/")

        def bits(s: str) -> int:
            out = 0
            for ch in s:
                if ch not in TCP_FLAGS:
                    raise self.fail(f"unknown TCP flag {ch!r} in {it.text!r} (F S R P A U E W)", it.loc)
                out |= TCP_FLAGS[ch]
            return out

        f, mask = bits(fl), bits(mask_t) if mask_t else 255

        def hit(x: int) -> bool:
            return (x & mask) == f

        return conn & Conn(hit(_FIRST), any(hit(x) for x in _LATER), (f"flags {it.text}",))


def _network(text: str) -> IntervalSet | str | None:
    """An address, prefix or range (a - b, written without blanks here); None for a name; str: an error."""
    try:
        if "-" in text and text[0].isdigit() and all(c.isdigit() or c in ".-" for c in text):
            a, b = (ipaddress.ip_address(x) for x in text.split("-", 1))
            if a.version != b.version or int(b) < int(a):
                return f"address range {text!r} is not a range of one family, low to high"
            return ip_range(int(a), int(b), a.version)
        n = ipaddress.ip_network(text, strict=False)
    except ValueError:
        if all(c.isdigit() or c in "./" for c in text) or (
            ":" in text and all(c in "0123456789abcdefABCDEF:./" for c in text)
        ):
            return f"{text!r} is not a valid address or prefix"
        return None
    return ip_range(int(n.network_address), int(n.broadcast_address), n.version)


def _shown(v: Item) -> str:
    if v.kind == "set":
        return "{ " + " ".join(_shown(x) for e in v.elems for x in e) + " }"
    return f'"{v.text}"' if v.kind == "str" else v.text
