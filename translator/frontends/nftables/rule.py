"""One nftables rule line as what it matches (iptables' Match) and its verdict: a keyword-driven reader
of nft's statements (nft(8), "PRIMARY EXPRESSIONS", "PAYLOAD EXPRESSIONS", "STATEMENTS")."""

from __future__ import annotations

import ipaddress

from ...errors import InputError, Loc
from ...model.ruleset import PROTO_NAMES, Condition
from ...model.space import ALL_V4, ALL_V6, EMPTY, FULL_SVC, IntervalSet, ip_range, svc_range, whole_proto
from ..common.icmp import ICMP6_TYPES, ICMP_TYPES
from ..common.words import Item
from ..iptables.match import ANY_CONN, Conn, IptRule, Match, MatchBounds
from ..iptables.options import PORT_NAMES
from .reader import NftFile, Table

# the names nft adds to the common ICMP tables (nft describe icmp type / icmpv6 type)
NFT_ICMP = {**ICMP_TYPES, "info-request": 15, "info-reply": 16}
NFT_ICMP6 = {
    **ICMP6_TYPES,
    "mld-listener-query": 130,
    "mld-listener-report": 131,
    "mld-listener-done": 132,
    "mld-listener-reduction": 132,
    "nd-router-solicit": 133,
    "nd-router-advert": 134,
    "nd-neighbor-solicit": 135,
    "nd-neighbor-advert": 136,
    "nd-redirect": 137,
    "router-renumbering": 138,
    "ind-neighbor-solicit": 141,
    "ind-neighbor-advert": 142,
    "mld2-listener-report": 143,
}
NFT_PROTOS = {**PROTO_NAMES, "ipv6-icmp": 58, "icmpv6": 58, "udplite": 136}
VERDICTS = {"accept": "ACCEPT", "drop": "DROP", "reject": "REJECT"}
STATES = frozenset({"invalid", "established", "related", "new", "untracked"})
TCP_FLAGS = {"fin": 1, "syn": 2, "rst": 4, "psh": 8, "ack": 16, "urg": 32, "ecn": 64, "cwr": 128}
_FIRST = 2  # a connection's first TCP packet: SYN alone
_LATER = tuple(f for f in range(256) if f & 16 and not f & 2) + (2 | 16, 4)
IFACES = ("iifname", "oifname", "iif", "oif")
LOOPBACK = "is loopback traffic (the host to itself; NetworkPolicy does not govern a pod's loopback)"
# statements that neither match nor decide (their arguments are skipped)
SKIP_ARGS = {
    "counter": ("packets", "bytes"),
    "log": ("prefix", "level", "flags", "group", "snaplen", "queue-threshold"),
}


class RuleReader:
    """Reads the lines of one table's chains for family guard EVERYTHING."""

    def __init__(self, nft: NftFile, table: Table, everything: Match):
        self.nft, self.table, self.everything = nft, table, everything

    def fail(self, msg: str, loc: Loc) -> InputError:
        return self.nft.fail(msg, loc)

    # --- one line -----------------------------------------------------------------------------

    def rules(self, chain: str, pos: int, items: list[Item], tid: str) -> list[IptRule]:
        """The rules of one line (a verdict map gives one rule per element)."""
        for k, it in enumerate(items):
            if it.kind == "w" and it.text == "vmap":
                if k + 1 >= len(items):
                    raise self.fail("vmap needs { KEY : VERDICT, ... } or @MAP", it.loc)
                out = []
                for key, verdict in self._map_elems(items[k + 1]):
                    out += self.rules(chain, pos, items[:k] + key + verdict + items[k + 2 :], tid)
                for n, r in enumerate(out, 1):
                    r.pos = f"{pos}.{n}" if len(out) > 1 else pos
                return out
        return [self._rule(chain, pos, items, tid)]

    def _map_elems(self, it: Item) -> list[tuple[list[Item], list[Item]]]:
        elems = self._elements(it)
        out = []
        for e in elems:
            k = next((i for i, x in enumerate(e) if x.kind == "w" and x.text in (":",) or x.text.endswith(":")), None)
            if k is None:
                raise self.fail("a verdict map element is KEY : VERDICT", e[0].loc)
            key, verdict = e[:k], e[k + 1 :]
            if e[k].text != ":":
                key = key + [Item("w", e[k].text[:-1], e[k].loc)]
            if not key or not verdict:
                raise self.fail("a verdict map element is KEY : VERDICT", e[0].loc)
            out.append((key, verdict))
        return out

    def _elements(self, it: Item) -> list[list[Item]]:
        """The elements of an anonymous set or @named set (nested sets flattened)."""
        if it.kind == "set":
            out = []
            for e in it.elems:
                if len(e) == 1 and e[0].kind == "set":
                    out += self._elements(e[0])
                else:
                    out.append(e)
            return out
        if it.kind == "w" and it.text.startswith("@"):
            s = self.table.sets.get(it.text[1:])
            if s is None:
                raise self.fail(f"set {it.text} is not defined in table {self.table.family} {self.table.name}", it.loc)
            return [e for x in s.elems for e in (self._elements(x[0]) if len(x) == 1 and x[0].kind == "set" else [x])]
        return [[it]]

    def _rule(self, chain: str, pos: int, items: list[Item], tid: str) -> IptRule:
        ev = self.everything
        src, dst = ev.src, ev.dst
        protos: IntervalSet | None = None  # the services the rule is limited to
        conds: list[Condition] = []
        conn = ANY_CONN
        target, goto, comment, loopback = "", False, "", ""
        text = " ".join(i.text if i.kind != "str" else f'"{i.text}"' for i in items if i.kind != "set") or ""
        i, n = 0, len(items)

        def word(k: int) -> str:
            return items[k].text if k < n and items[k].kind in ("w", "str") else ""

        def value(k: int) -> tuple[str, Item, int]:
            """(operator, value item, next index) at K."""
            op = "=="
            if word(k) in ("!=", "==", "<", ">", "<=", ">="):
                op, k = word(k), k + 1
            elif word(k) == "!":
                op, k = "!=", k + 1
            if k >= n:
                raise self.fail("expected a value", items[-1].loc)
            v, k = items[k], k + 1
            if word(k) == ",":  # a comma list (ct state established,related): a set
                elems = [[v]]
                while word(k) == "," and k + 1 < n:
                    elems.append([items[k + 1]])
                    k += 2
                v = Item("set", "{...}", v.loc, elems)
            return op, v, k

        def limit(s: IntervalSet | None, t: IntervalSet) -> IntervalSet:
            return t if s is None else s & t

        while i < n:
            w = word(i)
            if w in ("ip", "ip6") and word(i + 1) in ("saddr", "daddr"):
                fam, side = (4 if w == "ip" else 6), word(i + 1)
                op, v, i = value(i + 2)
                b = self._addrs(v, fam, op)
                if side == "saddr":
                    src = src & b
                else:
                    dst = dst & b
                continue
            if (w == "ip" and word(i + 1) == "protocol") or (w == "ip6" and word(i + 1) == "nexthdr"):
                op, v, i = value(i + 2)
                protos = limit(protos, self._protos(v, op))
                fam_all = ALL_V4 if w == "ip" else ALL_V6
                src = src & MatchBounds(fam_all, fam_all)
                continue
            if w == "meta" and word(i + 1) in ("l4proto", "nfproto", *IFACES):
                i += 1
                w = word(i)
                if w == "l4proto":
                    op, v, i = value(i + 1)
                    protos = limit(protos, self._protos(v, op))
                    continue
                if w == "nfproto":
                    op, v, i = value(i + 1)
                    fams = {e[0].text for e in self._elements(v)}
                    whole = (ALL_V4 if "ipv4" in fams else EMPTY) | (ALL_V6 if "ipv6" in fams else EMPTY)
                    if op == "!=":
                        whole = (ALL_V4 | ALL_V6) - whole
                    src = src & MatchBounds(whole, whole)
                    continue
            if w in ("tcp", "udp", "sctp", "udplite", "th") and word(i + 1) in ("dport", "sport"):
                field_ = word(i + 1)
                op, v, i = value(i + 2)
                ps = [6, 17, 132, 136] if w == "th" else [NFT_PROTOS[w]]
                if field_ == "sport":
                    conds.append(Condition(f"{w} sport {'!= ' if op == '!=' else ''}{_shown(v)}", "source port"))
                    protos = limit(protos, IntervalSet(iv for p in ps for iv in whole_proto(p)))
                    continue
                protos = limit(protos, self._ports(ps, v, op))
                continue
            if w == "tcp" and word(i + 1) == "flags":
                conn, i = self._tcp_flags(items, i + 2, conn)
                protos = limit(protos, whole_proto(6))
                continue
            if w in ("icmp", "icmpv6") and word(i + 1) == "type":
                op, v, i = value(i + 2)
                protos = limit(protos, self._icmp(w, v, op))
                continue
            if w in ("icmp", "icmpv6") and word(i + 1) == "code":
                op, v, i = value(i + 2)
                conds.append(Condition(f"{w} code {_shown(v)}", "ICMP code"))
                protos = limit(protos, whole_proto(1 if w == "icmp" else 58))
                continue
            if w == "ct" and word(i + 1) == "state":
                op, v, i = value(i + 2)
                conn = conn & self._state(v, op)
                continue
            if w in IFACES:
                op, v, i = value(i + 1)
                names = [e[0].text for e in self._elements(v)]
                if names == ["lo"] and op == "==":
                    loopback = f"{w} lo"
                else:
                    conds.append(Condition(f"{w} {'!= ' if op == '!=' else ''}{_shown(v)}", "interface match"))
                continue
            if w in SKIP_ARGS:
                i += 1
                while word(i) in SKIP_ARGS[w]:
                    i += 2 if w == "counter" or word(i) != "flags" else 2
                    while w == "log" and word(i) == ",":
                        i += 2
                continue
            if w == "comment" and i + 1 < n:
                comment, i = items[i + 1].text, i + 2
                continue
            if w == "limit":
                k = i + 1
                while k < n and word(k) not in VERDICTS and word(k) not in ("jump", "goto", "return", "counter", "log"):
                    k += 1
                conds.append(Condition(" ".join(x.text for x in items[i:k]), "rate limit"))
                i = k
                continue
            if w in VERDICTS:
                target = VERDICTS[w]
                i += 1
                if w == "reject" and word(i) == "with":
                    i += 1
                    while i < n and word(i) not in ("comment",):
                        i += 1
                continue
            if w in ("jump", "goto") and i + 1 < n:
                target, goto = word(i + 1), w == "goto"
                if target not in self.table.chains:
                    raise self.fail(f"{w} {target}: no such chain in table {self.table.family} {self.table.name}",
                                    items[i + 1].loc)  # fmt: skip
                i += 2
                continue
            if w == "return":
                target, i = "RETURN", i + 1
                continue
            if w == "continue":
                i += 1
                continue
            # not modelled: a condition of its own words up to the next keyword fw2np reads
            k = i + 1
            while k < n and not self._starts(items, k):
                k += 1
            conds.append(Condition(" ".join(_shown(x) for x in items[i:k]), "not modelled by fw2np"))
            i = k
        svc = FULL_SVC if protos is None else protos
        r = IptRule(chain, pos, items[0].loc, text, Match(src, dst, svc, tuple(conds), conn), target, goto)
        r.table, r.comment = tid, comment
        if not target:
            r.skip = "no verdict: the rule only counts, logs or marks packets (matching goes on)"
        if loopback:
            why = f"{loopback} {LOOPBACK}"
            if target == "ACCEPT":
                r.skip = why
            else:
                r.match = Match(src, dst, svc, r.match.conds + (Condition(loopback, why),), conn)
        return r

    def _starts(self, items: list[Item], k: int) -> bool:
        w = items[k].text if items[k].kind == "w" else ""
        return w in VERDICTS or w in IFACES or w in SKIP_ARGS or w in (
            "ip", "ip6", "tcp", "udp", "sctp", "th", "icmp", "icmpv6", "ct", "meta", "jump", "goto",
            "return", "continue", "comment", "limit",
        )  # fmt: skip

    # --- values ---------------------------------------------------------------------------------

    def _addrs(self, v: Item, fam: int, op: str) -> MatchBounds:
        whole = ALL_V4 if fam == 4 else ALL_V6
        lower, upper, notes = [], [], []
        for e in self._elements(v):
            text = "".join(x.text for x in e)
            got = _network(text, fam)
            if isinstance(got, str):
                raise self.fail(got, e[0].loc)
            if got is None:
                notes.append(text)
                upper.append(whole)
                continue
            lower.append(got)
            upper.append(got)
        lo = IntervalSet(iv for s in lower for iv in s.iv)
        up = IntervalSet(iv for s in upper for iv in s.iv)
        b = MatchBounds(lo, up, tuple(f"host name {t} (resolved by nft when loaded)" for t in notes))
        return b.negate(whole) if op == "!=" else b if op == "==" else self._bad_op(op, v)

    def _bad_op(self, op: str, v: Item):
        raise self.fail(f"operator {op} is not read for addresses", v.loc)

    def _protos(self, v: Item, op: str) -> IntervalSet:
        nums = set()
        for e in self._elements(v):
            t = e[0].text
            p = int(t) if t.isdigit() else NFT_PROTOS.get(t)
            if p is None or not 0 <= p <= 255:
                raise self.fail(f"unknown protocol {t!r}", e[0].loc)
            nums.add(p)
        got = IntervalSet(iv for p in sorted(nums) for iv in whole_proto(p))
        return FULL_SVC - got if op == "!=" else got

    def _ports(self, ps: list[int], v: Item, op: str) -> IntervalSet:
        ranges = []
        for e in self._elements(v):
            t = "".join(x.text for x in e)
            lo_t, _, hi_t = t.partition("-") if not t.startswith("-") else (t, "", "")
            lo, hi = self._port(lo_t, e[0]), self._port(hi_t, e[0]) if hi_t else None
            hi = lo if hi is None else hi
            if hi < lo:
                raise self.fail(f"port range {t!r} ends before it starts", e[0].loc)
            ranges.append((lo, hi))
        if op in ("<", ">", "<=", ">="):
            (p, _), = ranges if len(ranges) == 1 else self._bad_op(op, v)  # fmt: skip
            ranges = {"<": [(0, p - 1)], "<=": [(0, p)], ">": [(p + 1, 65535)], ">=": [(p, 65535)]}[op]
            ranges = [(lo, hi) for lo, hi in ranges if lo <= hi]
        got = IntervalSet(iv for p in ps for lo, hi in ranges for iv in svc_range(p, lo, hi).iv)
        if op == "!=":
            whole = IntervalSet(iv for p in ps for iv in whole_proto(p))
            return whole - got
        return got

    def _port(self, t: str, at: Item) -> int:
        p = int(t) if t.isdigit() else PORT_NAMES.get(t.lower())
        if p is None or not 0 <= p <= 65535:
            raise self.fail(f"bad port {t!r} (a number 0-65535 or a service name such as ssh)", at.loc)
        return p

    def _icmp(self, w: str, v: Item, op: str) -> IntervalSet:
        names, proto = (NFT_ICMP, 1) if w == "icmp" else (NFT_ICMP6, 58)
        types = []
        for e in self._elements(v):
            t = "".join(x.text for x in e)
            lo_t, _, hi_t = t.partition("-") if t[:1].isdigit() else (t, "", "")
            got = [int(x) if x.isdigit() else names.get(x) for x in ([lo_t, hi_t] if hi_t else [lo_t])]
            if any(g is None or not 0 <= g <= 255 for g in got):
                raise self.fail(f"unknown {w} type {t!r}", e[0].loc)
            types.append((got[0], got[-1]))
        got = IntervalSet(iv for lo, hi in types for iv in svc_range(proto, lo, hi).iv)
        return whole_proto(proto) - got if op == "!=" else got

    def _state(self, v: Item, op: str) -> Conn:
        words = {e[0].text for e in self._elements(v)} - {","}
        flat = set()
        for w in words:
            flat |= set(w.split(","))
        bad = sorted(flat - STATES)
        if bad:
            raise self.fail(f"unknown connection state {bad[0]!r} ({', '.join(sorted(STATES))})", v.loc)
        eff = flat if op == "==" else STATES - flat
        why = f"ct state {'!= ' if op == '!=' else ''}{','.join(sorted(flat))}"
        return Conn("new" in eff or "untracked" in eff, bool(eff & {"established", "related", "untracked"}), (why,))

    def _tcp_flags(self, items: list[Item], k: int, conn: Conn) -> tuple[Conn, int]:
        """`tcp flags [& MASK] [==|!=] FLAGS`: which packets of a connection it takes."""
        n = len(items)
        start = k
        mask = None
        if k < n and items[k].text == "&":
            k += 1
            mask, k = self._flag_list(items, k)
        op = "bits"
        if k < n and items[k].text in ("==", "!="):
            op, k = items[k].text, k + 1
        elif mask is not None:
            op = "=="
        comp, k = self._flag_list(items, k)

        def hit(f: int) -> bool:
            if op == "bits":
                return bool(f & comp)
            got = (f & mask if mask is not None else f) == comp
            return got if op == "==" else not got

        why = "tcp flags " + " ".join(x.text for x in items[start:k])
        return conn & Conn(hit(_FIRST), any(hit(f) for f in _LATER), (why,)), k

    def _flag_list(self, items: list[Item], k: int) -> tuple[int, int]:
        out, n = 0, len(items)
        while k < n:
            it = items[k]
            if it.kind == "set":
                for e in self._elements(it):
                    out |= self._flag(e[0])
                k += 1
                break
            if it.text in ("(", ")", "|", ","):
                k += 1
                continue
            if it.text.lower() in TCP_FLAGS:
                out |= self._flag(it)
                k += 1
                if k < n and items[k].text in ("|", ","):
                    continue
                if k < n and items[k].text == ")":
                    k += 1
                break
            break
        return out, k

    def _flag(self, it: Item) -> int:
        f = TCP_FLAGS.get(it.text.lower())
        if f is None:
            raise self.fail(f"unknown TCP flag {it.text!r} ({', '.join(TCP_FLAGS)})", it.loc)
        return f


def _network(text: str, fam: int) -> IntervalSet | str | None:
    """TEXT (address, prefix, range a-b) in family FAM; None for a host name; str: an error."""
    try:
        if "-" in text and not text.startswith("-") and any(c.isdigit() for c in text.split("-")[0]):
            a, b = (ipaddress.ip_address(x) for x in text.split("-", 1))
            if a.version != fam or b.version != fam:
                return _wrong(text, fam)
            if int(b) < int(a):
                return f"address range {text!r} ends before it starts"
            return ip_range(int(a), int(b), fam)
        n = ipaddress.ip_network(text, strict=False)
    except ValueError:
        if all(c.isdigit() or c in "./:" for c in text) or ":" in text:
            return f"{text!r} is not a valid IPv{fam} address or prefix"
        return None
    if n.version != fam:
        return _wrong(text, fam)
    return ip_range(int(n.network_address), int(n.broadcast_address), fam)


def _wrong(text: str, fam: int) -> str:
    return f"{text} is IPv{6 if fam == 4 else 4} but `{'ip' if fam == 4 else 'ip6'}` matches IPv{fam} addresses"


def _shown(v: Item) -> str:
    if v.kind == "set":
        return "{ " + ", ".join(" ".join(_shown(x) for x in e) for e in v.elems) + " }"
    return f'"{v.text}"' if v.kind == "str" else v.text
