"""The options of one -A line read into an IptRule (addresses, services, conditions, target)."""

from __future__ import annotations

import ipaddress
import re

import netaddr

from ...errors import InputError, Loc, Warning_, line_of
from ...model.ruleset import ALLOW, ICMP, ICMPV6, PORT_PROTOCOLS, PROTO_NAMES, Condition
from ...model.space import ALL_V4, ALL_V6, EMPTY, FULL_SVC, IntervalSet, ip_range, svc_range, whole_proto
from ..common.addresses import IPV4, ipv4_int
from .match import ANY_CONN, Conn, IptRule, Match, MatchBounds
from .options import (
    ADDR_OPTS,
    BASIC_OPTS,
    ICMP6_TYPES,
    ICMP_CODES,
    ICMP_TYPES,
    OPTIONS,
    PLAIN_MODULES,
    PORT_NAMES,
    TERMINAL,
)
from .scanner import IptToken


class IptablesReader:
    """Reads rules; tokens are IptTokens."""

    def __init__(self, text: str, path: str, family: int):
        self.text, self.path, self.family = text, path, family
        self.all = ALL_V4 if family == 4 else ALL_V6
        self.whole = MatchBounds(self.all, self.all)
        self.everything = Match(self.whole, self.whole, FULL_SVC)
        self.warnings: list[Warning_] = []
        self._lines: list[str] | None = None
        self._values: dict = {}  # (what, text, flag) -> value or error message, see value()
        self._svcs: dict = {}
        self._plans: dict = {}  # see rule()
        self.out: dict = {}  # output items by set, see model_rules()

    def loc(self, tok) -> Loc:
        return Loc(self.path, tok.line, tok.column)

    def fail(self, msg: str, tok) -> InputError:
        return InputError(msg, self.loc(tok), line_of(self.text, tok.line))

    def fail_at(self, msg: str, loc: Loc) -> InputError:
        return InputError(msg, loc, line_of(self.text, loc.line))

    def value(self, read, tok, flag=None):
        """READ(text, flag) of TOK, once per distinct text; a str result is an error message."""
        key = (read, tok.text, flag)
        v = self._values.get(key)
        if v is None:
            v = self._values[key] = read(self, tok.text, flag)
        if isinstance(v, str):
            raise self.fail(v, tok)
        return v

    # addresses
    def addrs(self, text: str, neg: bool) -> MatchBounds | str:
        """-s/-d VALUE as xtables reads it (xtables_ipparse_multiple): a comma list of ADDR[/MASK];
        see xt_network for the numbers; anything else is a host or network name (unresolved)."""
        lower, upper, notes = [], [], []
        for part in text.split(","):
            got = xt_network(part, self.family)
            if isinstance(got, str):
                return got
            if got is not None:
                s = ip_range(got[0], got[1], self.family)
                lower.append(s)
                upper.append(s)
                continue
            name = part.rpartition("/")[0] if "/" in part else part
            if self.family == 6 and xt_network(part, 4) is not None:
                return f"{part} is IPv4 but this file holds IPv6 rules"
            if self.family == 4 and ":" in name and _NUMERIC.fullmatch(part):
                return f"{part} is IPv6 but this file holds IPv4 rules"
            if re.fullmatch(r"[0-9.]*", name):
                return (
                    f"{part!r} is not an IPv4 address: iptables reads up to four dot-separated numbers "
                    "0-255 (missing trailing ones are 0, as in 10.1/16), and a host name is never all digits"
                )
            if not _HOST_NAME.fullmatch(name) or (":" in name):
                return f"{part!r} is not a valid address, network or host name"
            upper.append(self.all)
            notes.append(f"host name {part}")
        if len(lower) == 1 and len(upper) == 1:
            b = MatchBounds(lower[0], lower[0])
        else:
            b = MatchBounds(
                IntervalSet(iv for s in lower for iv in s), IntervalSet(iv for s in upper for iv in s), tuple(notes)
            )
        return self.whole & (b.negate(self.all) if neg else b)  # as a rule's first -s or -d gives it

    def addr_range(self, text: str, neg: bool) -> MatchBounds | str:
        """--src-range/--dst-range A-B: each end a number as xtables_numeric_to_ipaddr reads it."""
        a, sep, b = text.partition("-")
        lo, hi = (xt_address(a, self.family), xt_address(b, self.family)) if sep else (None, None)
        if lo is None or hi is None:
            return f"{text!r} is not an IPv{self.family} address range (A-B)"
        if lo > hi:
            return f"bad address range {text!r}: it runs backwards"
        s = ip_range(lo, hi, self.family)
        b = MatchBounds(s, s)
        return b.negate(self.all) if neg else b

    # services
    def ports(self, text: str, multi: bool) -> tuple | str:
        parts = text.split(",")
        if len(parts) > 1 and not multi:
            return "a port list needs -m multiport --dports"
        out = []
        for part in parts:
            a, sep, b = part.partition(":")
            lo = _port(a) if a else 0
            if isinstance(lo, str):
                return lo
            hi = _port(b) if b else (65535 if sep else lo)
            if isinstance(hi, str):
                return hi
            if lo > hi:
                return f"port range {part} runs backwards"
            out.append((lo, hi))
        return tuple(out)

    def rule(
        self, line: int, column: int, first: IptToken, chain_tok: IptToken, args: list[IptToken], pos: int
    ) -> IptRule:
        """Interpret the options of one -A line (at LINE, COLUMN; FIRST: its first token).

        Rules alike but for their -s/-d values share a plan: what _rule made of the first of them."""
        same = shape(args)
        plan = self._plans.get(same[0]) if same is not None else None
        if plan is None:
            r = self._rule(line, column, first, chain_tok, args, pos)
            if same is not None:
                at = r.target_loc and next(j for j, t in enumerate(args) if t.column == r.target_loc.column)
                m = r.match
                self._plans[same[0]] = (r.target, r.goto, at, r.comment, r.skip, m.svc, m.conds, m.conn)
            return r
        src = dst = whole = self.whole
        for i, is_src in same[1]:
            b = self.value(IptablesReader.addrs, args[i], False)
            if is_src:
                src = b if src is whole else src & b
            else:
                dst = b if dst is whole else dst & b
        target, goto, at, comment, skip, svc, conds, conn = plan
        if self._lines is None:
            self._lines = self.text.splitlines()
        text = self._lines[chain_tok.line - 1] if 1 <= chain_tok.line <= len(self._lines) else ""
        return IptRule(
            chain_tok.text,
            pos,
            Loc(self.path, line, column),
            text.strip(),
            Match(src, dst, svc, conds, conn),
            target,
            goto,
            skip,
            None if at is None else self.loc(args[at]),
            comment,
        )

    def _rule(
        self, line: int, column: int, first: IptToken, chain_tok: IptToken, args: list[IptToken], pos: int
    ) -> IptRule:
        if self._lines is None:
            self._lines = self.text.splitlines()
        text = self._lines[chain_tok.line - 1] if 1 <= chain_tok.line <= len(self._lines) else ""
        r = IptRule(chain_tok.text, pos, Loc(self.path, line, column), text.strip(), self.everything)
        src = dst = whole = self.whole
        value = self.value
        protos: tuple[frozenset[int] | None, bool] = (None, False)
        dports = icmp = dport_tok = None
        conds: list[Condition] = []
        loopback = module = ""
        conn, tcp_opt = ANY_CONN, None
        module_opts: list[str] = []
        target_opts = False
        for neg, opt, vals in option_groups(args, self):
            o = opt.text
            if o in BASIC_OPTS:
                target_opts = False
            elif target_opts:
                continue  # --reject-with, --log-prefix ...: no effect on matching
            val = vals[0] if vals else None
            if val is None and o not in ("--syn", "-f", "--fragment") and not (o == "--tcp-flags" and vals):
                raise self.fail(f"option {o} needs a value", opt)
            kind = OPTIONS.get(o)
            if kind == "target":
                if r.target:
                    raise self.fail("a rule has one target (-j or -g)", opt)
                r.target, r.goto = val.text, o in ("-g", "--goto")
                r.target_loc = self.loc(val)
                if module and module not in PLAIN_MODULES:
                    conds.append(_module_condition(module, module_opts))
                target_opts, module = True, ""
                continue
            if kind == "module":
                if module and module not in PLAIN_MODULES:
                    conds.append(_module_condition(module, module_opts))
                module, module_opts = val.text, []
                continue
            bang = "! " if neg else ""
            if kind == "src":
                b = value(IptablesReader.addrs, val, neg)
                src = b if src is whole else src & b
            elif kind == "dst":
                b = value(IptablesReader.addrs, val, neg)
                dst = b if dst is whole else dst & b
            elif kind == "proto":
                protos = (value(_protocol, val)[0], neg)
            elif kind == "dport":
                dports, dport_tok = (value(IptablesReader.ports, val, o.endswith("s")), neg), opt
            elif kind == "src-range":
                src = src & self.value(IptablesReader.addr_range, val, neg)
            elif kind == "dst-range":
                dst = dst & self.value(IptablesReader.addr_range, val, neg)
            elif kind == "sport":
                what = "source or destination port" if o == "--ports" else "source port"
                conds.append(Condition(f"{bang}{o} {val.text}", what))
            elif kind == "icmp":
                icmp = (self.value(_icmp_type, val, o), neg)
                if icmp[0][1] is not None:
                    conds.append(Condition(f"{bang}{o} {val.text}", "ICMP code"))
            elif kind == "state":
                got, why = self.value(_states, val, o), f"{bang}{o} {val.text}"
                eff = got if not neg else STATES[o] - got
                takes_first, maybe = "NEW" in eff, bool(eff & {"UNTRACKED", "SNAT", "DNAT"})
                if maybe and not takes_first:  # some first packets (untracked, NATed): a condition
                    takes_first = True
                    conds.append(Condition(why, "connection state"))
                later = bool(eff & {"ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT"})
                conn = conn & Conn(takes_first, later, (why,))
            elif kind == "iface":
                if val.text == "lo" and not neg:
                    loopback = f"{o} lo"
                else:
                    conds.append(Condition(f"{bang}{o} {val.text}", "interface match"))
            elif kind == "set":
                flags = vals[1].text if len(vals) > 1 else ""
                first_flag = flags.split(",")[0]
                b = MatchBounds(EMPTY, self.all, (f"ipset {val.text}",))
                if first_flag == "src":
                    src = src & b
                elif first_flag == "dst":
                    dst = dst & b
                else:
                    raise self.fail("--match-set needs a set name and src or dst", opt)
                if "," in flags:
                    conds.append(Condition(f"{bang}--match-set {val.text} {flags}", "ipset dimensions"))
            elif kind == "comment":
                r.comment = _unquote(val.text)
            elif kind == "syn" or kind == "tcpflags":
                if kind == "syn":
                    mask, comp = _TCP_FLAGS["FIN"] | _TCP_FLAGS["SYN"] | _TCP_FLAGS["RST"] | _TCP_FLAGS["ACK"], 2
                    why = f"{bang}{o}"
                else:
                    if len(vals) != 2:
                        raise self.fail("--tcp-flags needs a mask and the flags set (--tcp-flags SYN,ACK SYN)", opt)
                    mask, comp = (self.value(_tcp_flags, v) for v in vals)
                    why = f"{bang}{o} {vals[0].text} {vals[1].text}"
                conn, tcp_opt = conn & tcp_conn(mask, comp, neg, why), opt
            elif module and module not in PLAIN_MODULES:
                module_opts.append(" ".join([bang.strip(), o] + [v.text for v in vals]).strip())
            else:
                conds.append(
                    Condition(" ".join([bang.strip(), o] + [v.text for v in vals]).strip(), "unsupported match")
                )
        if module and module not in PLAIN_MODULES:
            conds.append(_module_condition(module, module_opts))
        if tcp_opt is not None and protos != (frozenset((6,)), False):
            raise self.fail(f"{tcp_opt.text} needs -p tcp", tcp_opt)
        r.match = Match(src, dst, self.services(protos, dports, icmp, dport_tok, first), tuple(conds), conn)
        if loopback:
            why = f"{loopback} is loopback traffic (the host to itself; NetworkPolicy does not govern a pod's loopback)"
            if TERMINAL.get(r.target) == ALLOW:
                r.skip = why
            else:  # never skip a deny: keep it, condition ignored by denies
                r.match = Match(src, dst, r.match.svc, r.match.conds + (Condition(loopback, why),), conn)
        return r

    def services(self, protos, dports, icmp, dport_tok, first) -> IntervalSet:
        key = (protos, dports, icmp)
        s = self._svcs.get(key)
        if s is None:
            s = self._svcs[key] = self._services(protos, dports, icmp, dport_tok, first)
        return s

    def _services(self, protos, dports, icmp, dport_tok, first) -> IntervalSet:
        pset, pneg = protos
        if dports is not None:
            ranges, neg = dports
            if pset is None or pneg or not pset <= set(PORT_PROTOCOLS):
                raise self.fail("--dport needs -p tcp, udp or sctp", dport_tok)
            p = next(iter(pset))
            s = IntervalSet(iv for lo, hi in ranges for iv in svc_range(p, lo, hi)) & whole_proto(p)
            return whole_proto(p) - s if neg else s
        if icmp is not None:
            (t, code), neg = icmp
            if pset is None or pneg or not pset <= {ICMP, ICMPV6}:
                raise self.fail("--icmp-type needs -p icmp", first)
            p = next(iter(pset))
            s = whole_proto(p) if t is None else svc_range(p, t, t)
            # an ICMP code is a condition (added in rule()): the set is the whole type
            return whole_proto(p) - s if neg else s
        if pset is None:
            return FULL_SVC
        s = IntervalSet(iv for p in pset for iv in whole_proto(p))
        return FULL_SVC - s if pneg else s


_PLEN = re.compile(r"[1-9]?[0-9]")
_NUMERIC = re.compile(r"[0-9a-fA-F:.]+(/[0-9a-fA-F:.]+)?")
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-]*[A-Za-z0-9])?(\.[A-Za-z0-9\-]+)*\.?")


def _module_condition(module: str, opts: list[str]) -> Condition:
    """The condition of a match module fw2np does not read (-m MODULE with its options)."""
    return Condition(" ".join([f"-m {module}"] + opts), f"match module {module}")


def network(part: str) -> tuple[int, int, int]:
    """(first, last, version) of an address or network, as netaddr.IPNetwork reads it."""
    addr, sep, plen = part.partition("/")
    if IPV4.fullmatch(addr) and (not sep or (_PLEN.fullmatch(plen) and int(plen) <= 32)):
        host = (1 << (32 - int(plen or 32))) - 1
        first = ipv4_int(addr) & ~host
        return first, first | host, 4
    net = netaddr.IPNetwork(part)
    return int(net.first), int(net.last), net.version


_C_UINT = re.compile(r"\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


def _c_uint(text: str, top: int) -> int | None:
    """TEXT as xtables_strtoui(TEXT, NULL, &v, 0, TOP) reads it: strtoul base 0 (0x.. hex, 0.. octal),
    the whole text, at most TOP; None when iptables rejects it."""
    m = _C_UINT.fullmatch(text)
    if not m:
        return None
    t = m.group(1)
    v = int(t, 16) if t[:2] in ("0x", "0X") else int(t, 8) if len(t) > 1 and t[0] == "0" else int(t)
    return v if v <= top else None


def xt_address(text: str, family: int, is_mask: bool = False) -> int | None:
    """An address as xtables' numeric parser reads it, None when it is not one.

    IPv4 (__numeric_to_ipaddr in libxtables/xtables.c): up to four dot-separated numbers 0-255,
    each read by strtoul base 0; missing trailing octets are zero (172.16.0 is 172.16.0.0, 10 is
    10.0.0.0 and 10.1 is 10.1.0.0 -- not inet_aton's classful reading); a mask needs all four.
    IPv6: inet_pton(AF_INET6)."""
    if family == 4:
        parts = text.split(".")
        if len(parts) > 4 or (is_mask and len(parts) != 4):
            return None
        octets = [_c_uint(p, 255) for p in parts]
        if None in octets:
            return None
        return int.from_bytes(bytes(octets + [0] * (4 - len(octets))), "big")
    if "%" in text or ":" not in text:
        return None
    try:
        return int(ipaddress.IPv6Address(text))
    except ValueError:
        return None


def xt_network(part: str, family: int) -> tuple[int, int] | str | None:
    """(first, last) of ADDR[/MASK] as xtables_ipparse_multiple reads one element; a str is the
    error iptables gives; None: not numeric (a host or network name, which iptables resolves).

    The mask is a dotted (IPv6: colon) mask or a number read by strtoul base 0 (0-32 or 0-128);
    a zero mask ignores the address ("any/0"); host bits are cleared."""
    width = 32 if family == 4 else 128
    full = (1 << width) - 1
    addr, sep, mask_text = part.rpartition("/")
    if not sep:
        addr, mask = part, full
    else:
        mask = xt_address(mask_text, family, True)
        if mask is None:
            bits = _c_uint(mask_text, width)
            if bits is None:
                return f"invalid mask {mask_text!r} in {part!r} (a prefix length 0-{width} or a dotted mask)"
            mask = full ^ ((1 << (width - bits)) - 1)
        host = full ^ mask
        if host & (host + 1):
            return f"mask {mask_text!r} in {part!r} is not contiguous; fw2np reads prefix masks only"
    if mask == 0:
        return 0, full
    a = xt_address(addr, family)
    if a is None:
        return None
    first = a & mask
    return first, first | (full ^ mask)


# tcp match flag names (libxt_tcp.c: ALL is the six classic flags)
_TCP_FLAGS = {"FIN": 1, "SYN": 2, "RST": 4, "PSH": 8, "ACK": 16, "URG": 32, "ALL": 63, "NONE": 0}
# the flags (of those six) of a connection's first packet, and of the packets after it
_FIRST_FLAGS = 2
_LATER_FLAGS = tuple(f for f in range(64) if f & 16 and not f & 2) + (2 | 16, 4)


def _tcp_flags(_rd, text: str, _flag) -> int | str:
    out = 0
    for w in text.upper().split(","):
        if w not in _TCP_FLAGS:
            return f"unknown TCP flag {w!r} (FIN, SYN, RST, PSH, ACK, URG, ALL or NONE)"
        out |= _TCP_FLAGS[w]
    return out


def tcp_conn(mask: int, comp: int, neg: bool, why: str) -> Conn:
    """What --tcp-flags MASK COMP (--syn: FIN,SYN,RST,ACK SYN) takes of a TCP connection: its first
    packet (a SYN) or none of them, and maybe later ones."""

    def hit(f: int) -> bool:
        return ((f & mask) == comp) != neg

    return Conn(hit(_FIRST_FLAGS), any(hit(f) for f in _LATER_FLAGS), (why,))


STATES = {
    "--state": frozenset({"INVALID", "ESTABLISHED", "NEW", "RELATED", "UNTRACKED"}),
    "--ctstate": frozenset({"INVALID", "ESTABLISHED", "NEW", "RELATED", "UNTRACKED", "SNAT", "DNAT"}),
}


def _states(_rd, text: str, opt: str) -> frozenset[str] | str:
    words = frozenset(text.upper().split(","))
    bad = sorted(words - STATES[opt])
    if bad:
        return f"unknown connection state {bad[0]!r} for {opt} ({', '.join(sorted(STATES[opt]))})"
    return words


def _port(word: str) -> int | str:
    p = int(word) if word.isascii() and word.isdigit() else PORT_NAMES.get(word.lower())
    if p is None or not 0 <= p <= 65535:
        return f"bad port {word!r} (a number 0-65535 or a service name such as ssh)"
    return p


def _protocol(_rd, text: str, _flag) -> tuple[frozenset[int] | None] | str:
    w = text.lower()
    if w in ("all", "0"):
        return (None,)
    p = int(w) if w.isascii() and w.isdigit() else PROTO_NAMES.get(w, {"ipv6-icmp": ICMPV6, "udplite": 136}.get(w))
    if p is None or not 0 <= p <= 255:
        return f"unknown protocol {text!r}"
    return (frozenset((p,)),)


def _icmp_type(_rd, text: str, opt: str) -> tuple[int | None, int | None] | str:
    w = text.lower()
    names = ICMP6_TYPES if opt == "--icmpv6-type" else ICMP_TYPES
    if w in names:
        return names[w], None
    if opt == "--icmp-type" and w in ICMP_CODES:
        return ICMP_CODES[w]
    m = re.fullmatch(r"([0-9]+)(?:/([0-9]+))?", w)
    if not m or int(m.group(1)) > 255:
        return f"unknown ICMP type {text!r}"
    return int(m.group(1)), (int(m.group(2)) if m.group(2) else None)


def _unquote(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'" else s


def shape(args: list[IptToken]) -> tuple[tuple, tuple] | None:
    """(the option words with the values of plain -s/-d left out, ((index, is_src), ...) of those values);
    None with negations or other address options (every rule read on its own then)."""
    key, spots = [], []
    is_src = None
    for i, (kind, text, _line, _column) in enumerate(args):
        if is_src is not None:  # the value right after -s or -d
            if kind != "WORD":
                return None
            spots.append((i, is_src))
            key.append(None)
            is_src = None
            continue
        if kind == "NEG" or text in ("--src-range", "--dst-range", "--match-set"):
            return None
        key.append(text)
        if kind == "OPT":
            is_src = ADDR_OPTS.get(text)
    return None if is_src is not None else (tuple(key), tuple(spots))


def option_groups(args: list[IptToken], rd: IptablesReader) -> list[tuple[bool, IptToken, list[IptToken]]]:
    """[(negated, option, values)]: '! -s X' and the old '-s ! X' both negate."""
    groups: list = []
    pending_neg = None
    for tok in args:
        kind = tok.type
        if kind == "OPT":
            groups.append([pending_neg is not None, tok, []])
            pending_neg = None
        elif kind == "NEG":
            if pending_neg is not None:
                raise rd.fail("'!' twice", tok)
            pending_neg = tok
        else:
            if not groups:
                raise rd.fail(f"value {tok.text!r} without an option", tok)
            if pending_neg is not None:
                groups[-1][0] = True
                pending_neg = None
            groups[-1][2].append(tok)
    if pending_neg is not None:
        raise rd.fail("'!' must come before an option or its value", pending_neg)
    return groups


_V6_HINT = re.compile(r"-(?:s|d|-source|-destination|-src-range|-dst-range)\s+[^\s:]*:")


def family(text: str) -> int:
    """6 when the rules name IPv6 addresses (an ip6tables-save file), else 4."""
    if not _V6_HINT.search(text):  # no option value with a ':' (a quick superset of the loop below)
        return 4
    for m in re.finditer(r"(?:^|\s)(?:-s|-d|--source|--destination|--src-range|--dst-range)\s+(\S+)", text):
        if ":" in m.group(1):
            return 6
    return 4
