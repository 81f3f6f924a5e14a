"""iptables-save / ip6tables-save files (the filter table), grammar in grammars/iptables.lark.

INPUT and OUTPUT protect one host (`host_addresses`): they become one ruleset
(INPUT rules with dst = host, INPUT's policy, OUTPUT rules with src = host,
OUTPUT's policy, then deny).  FORWARD becomes `<stem>-forward`.  User chains
are flattened in first-match order: a RETURN excludes what it matches from the
rest of its chain (split on the complement, or a secure-side condition when
that would explode).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath

import netaddr
from lark import Lark, Tree
from lark.exceptions import UnexpectedInput

from ..errors import InputError, Loc, Warning_, line_of
from ..model.ruleset import (
    ALLOW, DENY, ICMP, ICMPV6, PORT_PROTOCOLS, PROTO_NAMES, AddrExpr, AnyAddr, Condition, Net, Rule,
    Ruleset, Svc, Unresolved, port_domain, proto_label,
)
from ..io.resources import lalr_parser
from ..model.space import ALL_IP, ALL_V4, ALL_V6, EMPTY, FULL_SVC, V6_BASE, IntervalSet, ip_range, split_svc, svc_range, whole_proto
from .cisco_common import net_text, syntax_error
from .common.syntax import terminal, terminal_regex
from .rules import IPV4, ipv4_int, ipv4_text

NAME = "iptables"
BUILTIN = ("INPUT", "FORWARD", "OUTPUT")
MAX_GUARDS = 64
TERMINAL = {"ACCEPT": ALLOW, "DROP": DENY, "REJECT": DENY}
NON_TERMINAL = {"LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "NOTRACK", "CT", "TCPMSS", "AUDIT",
                "CLASSIFY", "DSCP", "TOS", "TTL", "SET", "TRACE", "CONNSECMARK", "SECMARK"}
# modules that only enable options handled below (no condition of their own)
BASIC_OPTS = {"-s", "--source", "--src", "-d", "--destination", "--dst", "-p", "--protocol", "-i",
              "--in-interface", "-o", "--out-interface", "-m", "--match", "-f", "--fragment",
              "-j", "--jump", "-g", "--goto"}
PLAIN_MODULES = {"tcp", "udp", "sctp", "icmp", "icmp6", "icmpv6", "multiport", "state", "conntrack",
                 "iprange", "comment", "set"}
# what each matching option is about (see _Reader.rule)
_OPTIONS = {
    **dict.fromkeys(("-j", "--jump", "-g", "--goto"), "target"), **dict.fromkeys(("-m", "--match"), "module"),
    **dict.fromkeys(("-s", "--source", "--src"), "src"), **dict.fromkeys(("-d", "--destination", "--dst"), "dst"),
    "--src-range": "src-range", "--dst-range": "dst-range", **dict.fromkeys(("-p", "--protocol"), "proto"),
    **dict.fromkeys(("--dport", "--destination-port", "--dports", "--destination-ports"), "dport"),
    **dict.fromkeys(("--sport", "--source-port", "--sports", "--source-ports", "--ports"), "sport"),
    **dict.fromkeys(("--icmp-type", "--icmpv6-type"), "icmp"), **dict.fromkeys(("--state", "--ctstate"), "state"),
    **dict.fromkeys(("-i", "--in-interface", "-o", "--out-interface"), "iface"),
    "--match-set": "set", "--comment": "comment", "--syn": "syn",
}
PORT_NAMES = {"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53,
              "bootps": 67, "bootpc": 68, "tftp": 69, "http": 80, "www": 80, "pop3": 110,
              "sunrpc": 111, "ntp": 123, "imap": 143, "imap2": 143, "snmp": 161, "bgp": 179,
              "ldap": 389, "https": 443, "smtps": 465, "submission": 587, "ldaps": 636,
              "imaps": 993, "pop3s": 995, "mysql": 3306, "postgresql": 5432, "mdns": 5353,
              "syslog": 514, "isakmp": 500, "openvpn": 1194, "ms-wbt-server": 3389}
ICMP_TYPES = {"any": None, "echo-reply": 0, "pong": 0, "destination-unreachable": 3,
              "source-quench": 4, "redirect": 5, "echo-request": 8, "ping": 8,
              "router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11,
              "ttl-exceeded": 11, "parameter-problem": 12, "timestamp-request": 13,
              "timestamp-reply": 14, "address-mask-request": 17, "address-mask-reply": 18}
ICMP_CODES = {"network-unreachable": (3, 0), "host-unreachable": (3, 1), "protocol-unreachable": (3, 2),
              "port-unreachable": (3, 3), "fragmentation-needed": (3, 4), "source-route-failed": (3, 5),
              "network-prohibited": (3, 9), "host-prohibited": (3, 10), "communication-prohibited": (3, 13),
              "ttl-zero-during-transit": (11, 0), "ttl-zero-during-reassembly": (11, 1)}
ICMP6_TYPES = {"any": None, "destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3,
               "ttl-exceeded": 3, "parameter-problem": 4, "echo-request": 128, "ping": 128,
               "echo-reply": 129, "pong": 129, "router-solicitation": 133, "router-advertisement": 134,
               "neighbour-solicitation": 135, "neighbor-solicitation": 135,
               "neighbour-advertisement": 136, "neighbor-advertisement": 136, "redirect": 137}
_TERMINALS = {"TABLE": "a table (*filter)", "CHAIN_DECL": "a chain (:INPUT ACCEPT)", "POLICY": "a policy",
              "COUNTERS": "counters [0:0]", "OPT": "an option (-A, -s, --dport ...)", "COMMIT": "COMMIT",
              "WORD": "a value", "STRING": "a quoted string", "NEG": "'!'", "_NL": "end of line"}


def parser() -> Lark:
    return lalr_parser("iptables.lark", positions=True)


def detect(text: str, path: str) -> int:
    head = text[:20000]
    tables = re.search(r"^\*(filter|nat|mangle|raw|security)\s*$", head, re.M)
    rules = len(re.findall(r"^(\[\d+:\d+\]\s+)?-A\s+\S+", head, re.M))
    if tables and re.search(r"^COMMIT\s*$", head, re.M):
        return 95
    if tables or rules >= 2:
        return 70
    return 0


# --- address and service sets ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bounds:
    """Addresses surely matched (lower) and maybe matched (upper); NOTES name what is unresolved."""

    lower: IntervalSet
    upper: IntervalSet
    notes: tuple[str, ...] = ()

    def __and__(self, o: "Bounds") -> "Bounds":
        if self.lower is self.upper and len(self.lower.iv) == 1 and not self.notes and len(o.notes) < 2:
            (lo, hi), x, y = self.lower.iv[0], o.lower.iv, o.upper.iv     # SELF is one interval: o when inside it
            if (not x or lo <= x[0][0] and x[-1][1] <= hi) and (not y or lo <= y[0][0] and y[-1][1] <= hi):
                return o
        lower, upper, notes = _meet(self.lower, o.lower), _meet(self.upper, o.upper), _merge(self.notes, o.notes)
        if lower is o.lower and upper is o.upper and notes is o.notes:
            return o
        if lower is self.lower and upper is self.upper and notes is self.notes:
            return self
        return Bounds(lower, upper, notes)

    def negate(self, whole: IntervalSet) -> "Bounds":
        return Bounds(whole - self.upper, whole - self.lower, self.notes)


def _merge(a: tuple, b: tuple) -> tuple:
    if not a and len(b) < 2:
        return b
    if not b and len(a) < 2:
        return a
    return tuple(dict.fromkeys(a + b))


def _meet(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    """a & b, without work when one of them is a single interval holding the other."""
    x, y = a.iv, b.iv
    if x and y:
        if len(y) == 1 and y[0][0] <= x[0][0] and x[-1][1] <= y[0][1]:
            return a
        if len(x) == 1 and x[0][0] <= y[0][0] and y[-1][1] <= x[0][1]:
            return b
    return a & b


@lru_cache(maxsize=4096)
def _svc_meet(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    """a & b for service sets (few distinct ones, many rules)."""
    return _meet(a, b)


@dataclass(frozen=True, slots=True)
class Match:
    """What a rule (or a chain of jumps) matches: a conjunction of four dimensions."""

    src: Bounds
    dst: Bounds
    svc: IntervalSet
    conds: tuple[Condition, ...] = ()

    def __and__(self, o: "Match") -> "Match | None":
        src, dst, svc = self.src & o.src, self.dst & o.dst, _svc_meet(self.svc, o.svc)
        if not (src.upper and dst.upper and svc):
            return None
        conds = _merge(self.conds, o.conds)
        if src is o.src and dst is o.dst and svc is o.svc and conds is o.conds:
            return o
        return Match(src, dst, svc, conds)

    def negate(self, everything: "Match", rid: str) -> list["Match"]:
        """Disjuncts of NOT self (each a Match), the others dimensions left whole."""
        out = []
        if self.src != everything.src:
            out.append(Match(self.src.negate(everything.src.upper), everything.dst, FULL_SVC))
        if self.dst != everything.dst:
            out.append(Match(everything.src, self.dst.negate(everything.dst.upper), FULL_SVC))
        if self.svc != FULL_SVC:
            out.append(Match(everything.src, everything.dst, FULL_SVC - self.svc))
        if self.conds:
            text = " and ".join(c.text for c in self.conds)
            out.append(Match(everything.src, everything.dst, FULL_SVC,
                             (Condition(f"not ({text}) [{rid} RETURN]", "negated match condition"),)))
        return [m for m in out if m.src.upper and m.dst.upper and m.svc]


@dataclass(slots=True)
class IptRule:
    chain: str
    pos: int
    loc: Loc
    text: str
    match: Match
    target: str = ""
    goto: bool = False
    skip: str = ""          # why an ACCEPT is left out (return traffic, loopback)
    target_loc: Loc | None = None
    comment: str = ""

    @property
    def id(self) -> str:
        return f"{self.chain}:{self.pos}"


@dataclass
class Table:
    name: str
    loc: Loc
    chains: dict[str, tuple[str, Loc]] = field(default_factory=dict)   # name -> (policy, loc)
    rules: dict[str, list[IptRule]] = field(default_factory=dict)
    committed: bool = False


# --- parsing -------------------------------------------------------------------


class _Reader:
    """Reads rules; tokens are (type, text, line, column) tuples."""

    def __init__(self, text: str, path: str, family: int):
        self.text, self.path, self.family = text, path, family
        self.all = ALL_V4 if family == 4 else ALL_V6
        self.whole = Bounds(self.all, self.all)
        self.everything = Match(self.whole, self.whole, FULL_SVC)
        self.warnings: list[Warning_] = []
        self._lines: list[str] | None = None
        self._values: dict = {}          # (what, text, flag) -> value or error message, see value()
        self._svcs: dict = {}
        self._plans: dict = {}           # see rule()
        self.out: dict = {}              # output items by set, see _rules()

    def loc(self, tok) -> Loc:
        return Loc(self.path, tok[2], tok[3])

    def fail(self, msg: str, tok) -> InputError:
        return InputError(msg, self.loc(tok), line_of(self.text, tok[2]))

    def fail_at(self, msg: str, loc: Loc) -> InputError:
        return InputError(msg, loc, line_of(self.text, loc.line))

    def value(self, read, tok, flag=None):
        """READ(text, flag) of TOK, once per distinct text; a str result is an error message."""
        key = (read, tok[1], flag)
        v = self._values.get(key)
        if v is None:
            v = self._values[key] = read(self, tok[1], flag)
        if isinstance(v, str):
            raise self.fail(v, tok)
        return v

    # addresses
    def addrs(self, text: str, neg: bool) -> Bounds | str:
        lower, upper, notes = [], [], []
        for part in text.split(","):
            try:
                if _NUMERIC.fullmatch(part) and ("." in part or ":" in part):
                    first, last, version = _network(part)
                    if version != self.family:
                        return f"{part} is IPv{version} but this file holds IPv{self.family} rules"
                    s = ip_range(first, last, version)
                    lower.append(s)
                    upper.append(s)
                    continue
            except (netaddr.AddrFormatError, ValueError):
                return f"{part!r} is not a valid address or network"
            if not _HOST_NAME.fullmatch(part):
                return f"{part!r} is not a valid address, network or host name"
            upper.append(self.all)
            notes.append(f"host name {part}")
        if len(lower) == 1 and len(upper) == 1:
            b = Bounds(lower[0], lower[0])
        else:
            b = Bounds(IntervalSet(iv for s in lower for iv in s), IntervalSet(iv for s in upper for iv in s),
                       tuple(notes))
        return self.whole & (b.negate(self.all) if neg else b)      # as a rule's first -s or -d gives it

    def addr_range(self, text: str, neg: bool) -> Bounds | str:
        try:
            a, b = text.split("-", 1)
            lo, hi = netaddr.IPAddress(a), netaddr.IPAddress(b)
        except (ValueError, netaddr.AddrFormatError):
            return f"{text!r} is not an address range (A-B)"
        if lo.version != hi.version or lo > hi or lo.version != self.family:
            return f"bad address range {text!r}"
        s = ip_range(int(lo), int(hi), lo.version)
        b = Bounds(s, s)
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

    def rule(self, where: tuple, first: tuple, chain_tok: tuple, args: list, pos: int) -> IptRule:
        """Interpret the options of one -A line (WHERE: its line and column, FIRST: its first token).

        Rules alike but for their -s/-d values share a plan: what _rule made of the first of them."""
        shape = _shape(args)
        plan = self._plans.get(shape[0]) if shape is not None else None
        if plan is None:
            r = self._rule(where, first, chain_tok, args, pos)
            if shape is not None:
                at = r.target_loc and next(j for j, t in enumerate(args) if t[3] == r.target_loc.column)
                self._plans[shape[0]] = (r.target, r.goto, at, r.comment, r.skip, r.match.svc, r.match.conds)
            return r
        src = dst = whole = self.whole
        for i, is_src in shape[1]:
            b = self.value(_Reader.addrs, args[i], False)
            if is_src:
                src = b if src is whole else src & b
            else:
                dst = b if dst is whole else dst & b
        target, goto, at, comment, skip, svc, conds = plan
        if self._lines is None:
            self._lines = self.text.splitlines()
        line = self._lines[chain_tok[2] - 1] if 1 <= chain_tok[2] <= len(self._lines) else ""
        return IptRule(chain_tok[1], pos, Loc(self.path, where[0], where[1]), line.strip(), Match(src, dst, svc, conds),
                       target, goto, skip, None if at is None else self.loc(args[at]), comment)

    def _rule(self, where: tuple, first: tuple, chain_tok: tuple, args: list, pos: int) -> IptRule:
        if self._lines is None:
            self._lines = self.text.splitlines()
        line = self._lines[chain_tok[2] - 1] if 1 <= chain_tok[2] <= len(self._lines) else ""
        r = IptRule(chain_tok[1], pos, Loc(self.path, where[0], where[1]), line.strip(), self.everything)
        src = dst = whole = self.whole
        value = self.value
        protos: tuple[frozenset[int] | None, bool] = (None, False)
        dports = icmp = dport_tok = None
        conds: list[Condition] = []
        return_only = loopback = module = ""
        module_opts: list[str] = []
        target_opts = False
        for neg, opt, vals in _option_groups(args, self):
            o = opt[1]
            if o in BASIC_OPTS:
                target_opts = False
            elif target_opts:
                continue                   # --reject-with, --log-prefix ...: no effect on matching
            val = vals[0] if vals else None
            if val is None and o not in ("--syn", "-f", "--fragment"):
                raise self.fail(f"option {o} needs a value", opt)
            kind = _OPTIONS.get(o)
            if kind == "target":
                if r.target:
                    raise self.fail("a rule has one target (-j or -g)", opt)
                r.target, r.goto = val[1], o in ("-g", "--goto")
                r.target_loc = self.loc(val)
                if module and module not in PLAIN_MODULES:
                    conds.append(_module_condition(module, module_opts))
                target_opts, module = True, ""
                continue
            if kind == "module":
                if module and module not in PLAIN_MODULES:
                    conds.append(_module_condition(module, module_opts))
                module, module_opts = val[1], []
                continue
            bang = "! " if neg else ""
            if kind == "src":
                b = value(_Reader.addrs, val, neg)
                src = b if src is whole else src & b
            elif kind == "dst":
                b = value(_Reader.addrs, val, neg)
                dst = b if dst is whole else dst & b
            elif kind == "proto":
                protos = (value(_protocol, val)[0], neg)
            elif kind == "dport":
                dports, dport_tok = (value(_Reader.ports, val, o.endswith("s")), neg), opt
            elif kind == "src-range":
                src = src & self.value(_Reader.addr_range, val, neg)
            elif kind == "dst-range":
                dst = dst & self.value(_Reader.addr_range, val, neg)
            elif kind == "sport":
                what = "source or destination port" if o == "--ports" else "source port"
                conds.append(Condition(f"{bang}{o} {val[1]}", what))
            elif kind == "icmp":
                icmp = (self.value(_icmp_type, val, o), neg)
                if icmp[0][1] is not None:
                    conds.append(Condition(f"{bang}{o} {val[1]}", "ICMP code"))
            elif kind == "state":
                states = set(val[1].upper().split(","))
                if ("NEW" in states) == neg:
                    return_only = f"{bang}{o} {val[1]}"
                elif not neg and states - {"NEW", "ESTABLISHED", "RELATED"}:
                    conds.append(Condition(f"{o} {val[1]}", "connection state"))
            elif kind == "iface":
                if val[1] == "lo" and not neg:
                    loopback = f"{o} lo"
                else:
                    conds.append(Condition(f"{bang}{o} {val[1]}", "interface match"))
            elif kind == "set":
                flags = vals[1][1] if len(vals) > 1 else ""
                first_flag = flags.split(",")[0]
                b = Bounds(EMPTY, self.all, (f"ipset {val[1]}",))
                if first_flag == "src":
                    src = src & b
                elif first_flag == "dst":
                    dst = dst & b
                else:
                    raise self.fail("--match-set needs a set name and src or dst", opt)
                if "," in flags:
                    conds.append(Condition(f"{bang}--match-set {val[1]} {flags}", "ipset dimensions"))
            elif kind == "comment":
                r.comment = _unquote(val[1])
            elif kind == "syn" and not neg:
                pass                       # new TCP connections: what the model is about
            elif module and module not in PLAIN_MODULES:
                module_opts.append(" ".join([bang.strip(), o] + [v[1] for v in vals]).strip())
            else:
                conds.append(Condition(" ".join([bang.strip(), o] + [v[1] for v in vals]).strip(),
                                       "unsupported match"))
        if module and module not in PLAIN_MODULES:
            conds.append(_module_condition(module, module_opts))
        r.match = Match(src, dst, self.services(protos, dports, icmp, dport_tok, first), tuple(conds))
        if return_only or loopback:
            why = (f"{return_only} matches only return traffic" if return_only
                   else f"{loopback} is loopback traffic")
            if TERMINAL.get(r.target) == ALLOW:
                r.skip = why
            else:                          # never skip a deny: keep it, condition ignored by denies
                r.match = Match(src, dst, r.match.svc, r.match.conds
                                + (Condition(return_only or loopback, why),))
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


def _network(part: str) -> tuple[int, int, int]:
    """(first, last, version) of an address or network, as netaddr.IPNetwork reads it."""
    addr, sep, plen = part.partition("/")
    if IPV4.fullmatch(addr) and (not sep or (_PLEN.fullmatch(plen) and int(plen) <= 32)):
        host = (1 << (32 - int(plen or 32))) - 1
        first = ipv4_int(addr) & ~host
        return first, first | host, 4
    net = netaddr.IPNetwork(part)
    return int(net.first), int(net.last), net.version


def _port(word: str) -> int | str:
    p = int(word) if word.isdigit() else PORT_NAMES.get(word.lower())
    if p is None or not 0 <= p <= 65535:
        return f"bad port {word!r} (a number 0-65535 or a service name such as ssh)"
    return p


def _protocol(_rd, text: str, _flag) -> tuple[frozenset[int] | None] | str:
    w = text.lower()
    if w in ("all", "0"):
        return (None,)
    p = int(w) if w.isdigit() else PROTO_NAMES.get(w, {"ipv6-icmp": ICMPV6, "udplite": 136}.get(w))
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
    m = re.fullmatch(r"(\d+)(?:/(\d+))?", w)
    if not m or int(m.group(1)) > 255:
        return f"unknown ICMP type {text!r}"
    return int(m.group(1)), (int(m.group(2)) if m.group(2) else None)


def _unquote(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'" else s


_ADDR_OPTS = {"-s": True, "--source": True, "--src": True, "-d": False, "--destination": False, "--dst": False}


def _shape(args: list[tuple]) -> tuple[tuple, tuple] | None:
    """(the option words with the values of plain -s/-d left out, ((index, is_src), ...) of those values);
    None with negations or other address options (every rule read on its own then)."""
    key, spots = [], []
    is_src = None
    for i, (kind, text, _line, _column) in enumerate(args):
        if is_src is not None:                 # the value right after -s or -d
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
            is_src = _ADDR_OPTS.get(text)
    return None if is_src is not None else (tuple(key), tuple(spots))


def _option_groups(args: list[tuple], rd: _Reader) -> list[tuple[bool, tuple, list[tuple]]]:
    """[(negated, option, values)]: '! -s X' and the old '-s ! X' both negate."""
    groups: list = []
    pending_neg = None
    for tok in args:
        kind = tok[0]
        if kind == "OPT":
            groups.append([pending_neg is not None, tok, []])
            pending_neg = None
        elif kind == "NEG":
            if pending_neg is not None:
                raise rd.fail("'!' twice", tok)
            pending_neg = tok
        else:
            if not groups:
                raise rd.fail(f"value {tok[1]!r} without an option", tok)
            if pending_neg is not None:
                groups[-1][0] = True
                pending_neg = None
            groups[-1][2].append(tok)
    if pending_neg is not None:
        raise rd.fail("'!' must come before an option or its value", pending_neg)
    return groups


_V6_HINT = re.compile(r"-(?:s|d|-source|-destination|-src-range|-dst-range)\s+[^\s:]*:")


def _family(text: str) -> int:
    """6 when the rules name IPv6 addresses (an ip6tables-save file), else 4."""
    if not _V6_HINT.search(text):          # no option value with a ':' (a quick superset of the loop below)
        return 4
    for m in re.finditer(r"(?:^|\s)(?:-s|-d|--source|--destination|--src-range|--dst-range)\s+(\S+)", text):
        if ":" in m.group(1):
            return 6
    return 4


# --- statements: records from lark's tree or from a fast line scanner ---------------
# A record is (kind, line, column, tokens): table, chain_decl, rule or commit.

_SAFE_WORD = re.compile(r"[A-Za-z0-9_.:/,\-]+")


@lru_cache(maxsize=None)
def _line_syntax() -> tuple[re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    """(OPT, WORD, TABLE, chain declaration line) from the grammar's terminals (grammars/iptables.lark)."""
    chain, policy, counters = (terminal_regex("iptables.lark", t) for t in ("CHAIN_DECL", "POLICY", "COUNTERS"))
    return (terminal("iptables.lark", "OPT"), terminal("iptables.lark", "WORD"), terminal("iptables.lark", "TABLE"),
            re.compile(rf"({chain}) ({policy})(?: ({counters}))?"))


def _tree_records(tree: Tree) -> list[tuple]:
    """Records of lark's tree; a statement is where its first token is (what propagate_positions gives)."""
    return [(str(node.data), node.children[0].line, node.children[0].column,
             [(t.type, str(t), t.line, t.column) for t in node.children]) for node in tree.children]


def _word_type(w: str) -> str:
    """The token type lark gives the word W of an -A line ('' when unsure)."""
    if w == "!":
        return "NEG"
    opt, word = _line_syntax()[:2]
    if opt.fullmatch(w):
        return "OPT"
    if _SAFE_WORD.fullmatch(w) and word.fullmatch(w):
        return "WORD"
    return ""


def _scan(text: str):
    """The records lark's tree gives, line by line, for plain lines (single spaces, no quotes or '#');
    None (and no more) at a line lark must read."""
    if any(c in text for c in "\r\t\"'"):
        yield None
        return
    types: dict[str, str] = {}
    table_line, chain_line = _line_syntax()[2:]
    for n, line in enumerate(text.split("\n"), 1):
        if not line or line[0] == "#":
            continue
        if "#" in line:
            yield None
            return
        if line.startswith("-A "):
            toks, col = [], 1
            for w in line.split(" "):
                t = types.get(w)
                if t is None:
                    t = types[w] = _word_type(w)
                if not t:
                    yield None
                    return
                toks.append((t, w, n, col))
                col += len(w) + 1
            yield ("rule", n, 1, toks)
        elif line == "COMMIT":
            yield ("commit", n, 1, [("COMMIT", line, n, 1)])
        elif table_line.fullmatch(line):
            yield ("table", n, 1, [("TABLE", line, n, 1)])
        elif m := chain_line.fullmatch(line):
            toks = [("CHAIN_DECL", m.group(1), n, 1), ("POLICY", m.group(2), n, m.start(2) + 1)]
            if m.group(3):
                toks.append(("COUNTERS", m.group(3), n, m.start(3) + 1))
            yield ("chain_decl", n, 1, toks)
        else:
            yield None
            return


def _fast_records(text: str) -> list[tuple] | None:
    """The records of TEXT when every line is plain, else None."""
    out = list(_scan(text))
    return None if None in out else out


def parse(text: str, path: str) -> tuple[dict[str, Table], _Reader]:
    from ..limits import check_lines

    check_lines(text, path)
    try:                               # each line read as it is scanned, no records kept
        got = _read(_scan(text), text, path)
    except InputError:
        got = None                     # the error lark's reading gives (a syntax error may come first)
    if got is not None:
        return got
    records = _fast_records(text)
    if records is None:
        try:
            # no propagated positions (a third of lark's time): every node starts with a token
            tree = lalr_parser("iptables.lark").parse(text + ("" if text.endswith("\n") else "\n"))
        except UnexpectedInput as exc:
            raise syntax_error(exc, text, path, _TERMINALS) from None
        records = _tree_records(tree)
    return _read(records, text, path)


def _read(records, text: str, path: str) -> tuple[dict[str, Table], _Reader] | None:
    """The tables of RECORDS (any iterable); None at a None record."""
    rd = _Reader(text, path, _family(text))
    tables: dict[str, Table] = {}
    cur: Table | None = None
    for rec in records:
        if rec is None:
            return None
        kind, line, column, kids = rec
        if kind == "rule" and cur is not None and not cur.committed:
            toks = kids if kids[0][0] != "COUNTERS" else kids[1:]
            opt = toks[0]
            if opt[1] not in ("-A", "--append"):
                raise rd.fail(f"expected -A CHAIN (iptables-save output), not {opt[1]!r}", opt)
            if len(toks) < 2 or toks[1][0] != "WORD":
                raise rd.fail("-A needs a chain name", opt)
            if cur.name != "filter":
                continue
            chain = toks[1][1]
            rules = cur.rules.get(chain)
            if rules is None or chain not in cur.chains:
                raise rd.fail(f"chain {chain} is not declared (add ':{chain} -' above)", toks[1])
            rules.append(rd.rule((line, column), kids[0], toks[1], toks[2:], len(rules) + 1))
        elif kind == "table":
            name = kids[0][1][1:]
            if cur and not cur.committed:
                raise rd.fail(f"table {cur.name} is not closed by COMMIT", kids[0])
            if name in tables:
                raise rd.fail(f"table {name} appears twice", kids[0])
            cur = tables[name] = Table(name, rd.loc(kids[0]))
        elif cur is None or cur.committed:
            raise rd.fail("expected a table line such as *filter first", kids[0])
        elif kind == "commit":
            cur.committed = True
        else:
            chain, policy = kids[0][1][1:], kids[1][1]
            if chain in cur.chains:
                raise rd.fail(f"chain {chain} is declared twice", kids[0])
            if policy not in ("ACCEPT", "DROP", "-"):
                raise rd.fail(f"chain policy must be ACCEPT, DROP or '-', not {policy!r}", kids[1])
            if (policy == "-") == (chain in BUILTIN):
                what = "a built-in chain needs ACCEPT or DROP" if chain in BUILTIN else "a user chain takes '-'"
                if cur.name == "filter":
                    raise rd.fail(f"chain {chain}: {what}", kids[1])
            cur.chains[chain] = (policy, rd.loc(kids[0]))
            cur.rules.setdefault(chain, [])
    if cur and not cur.committed:
        rd.warnings.append(Warning_(f"table {cur.name} is not closed by COMMIT", cur.loc))
    return tables, rd


# --- flattening -----------------------------------------------------------------


class _Flattener:
    def __init__(self, table: Table, rd: _Reader):
        self.table, self.rd = table, rd
        self.out: list[tuple[IptRule, Match, tuple[str, ...]]] = []

    def chain(self, name: str, guard: Match, via: tuple[str, ...], stack: tuple[str, ...]) -> None:
        live = [guard]
        for r in self.table.rules.get(name, []):
            if not live:
                return
            if r.skip:
                self.rd.warnings.append(Warning_(f"skipped: {r.skip}", r.loc, r.id))
                continue
            t = r.target
            if t in TERMINAL:
                for g in live:
                    m = g & r.match
                    if m is not None:
                        self.out.append((r, m, via))
            elif t == "RETURN" or t in self.table.chains:
                if t != "RETURN":
                    if t in BUILTIN:
                        raise self.rd.fail_at(f"cannot jump to built-in chain {t}", r.loc)
                    if t in stack:
                        raise self.rd.fail_at(f"chain loop: {' -> '.join(stack + (t,))}", r.loc)
                    for g in live:
                        m = g & r.match
                        if m is not None:
                            self.chain(t, m, via + (r.id,), stack + (t,))
                if t == "RETURN" or r.goto:
                    live = self.exclude(live, r)
            elif t in NON_TERMINAL or t == "":
                continue                        # LOG and friends do not end matching
            else:
                raise self.rd.fail_at(f"jump to {t!r}: no such chain in this table and not a known target", r.loc)

    def exclude(self, live: list[Match], r: IptRule) -> list[Match]:
        neg = r.match.negate(self.rd.everything, r.id)
        split = [m for g in live for d in neg for m in [g & d] if m is not None]
        if len(split) <= MAX_GUARDS:
            return split
        self.rd.warnings.append(Warning_(
            f"RETURN at {r.id}: excluding its match from the rest of {r.chain} would take {len(split)} "
            "rules; later rules of the chain carry it as a condition instead (allows never match, denies ignore it)",
            r.loc, r.id))
        c = Condition(f"not matched by {r.id} (RETURN)", "RETURN exclusion too large to expand")
        return [Match(g.src, g.dst, g.svc, g.conds + (c,)) for g in live]


# --- output -------------------------------------------------------------------


def addr_items(s: IntervalSet) -> tuple:
    if len(s.iv) == 1 and s.iv[0][1] < V6_BASE and s.iv[0] != (0, V6_BASE - 1):    # one IPv4 range, not all
        lo, hi = s.iv[0]
        return (Net(lo, hi, 4, _net_text(lo, hi, 4)),)
    if s == ALL_IP:
        return (AnyAddr(),)
    out = []
    for part, version, base, whole in ((_meet(s, ALL_V4), 4, 0, ALL_V4), (_meet(s, ALL_V6), 6, V6_BASE, ALL_V6)):
        if part == whole:
            out.append(AnyAddr(version))
            continue
        for lo, hi in part:
            out.append(Net(lo - base, hi - base, version, _net_text(lo - base, hi - base, version)))
    return tuple(out)


def _net_text(first: int, last: int, version: int) -> str:
    """net_text, without netaddr for IPv4."""
    if version != 4:
        return net_text(first, last, version)
    if first == last:
        return ipv4_text(first)
    size = last - first + 1
    if size & (size - 1) == 0 and first & (size - 1) == 0:     # one CIDR
        return f"{ipv4_text(first)}/{33 - size.bit_length()}"
    return f"{ipv4_text(first)}-{ipv4_text(last)}"


def addr_expr(b: Bounds) -> AddrExpr:
    if b.lower == b.upper:
        return AddrExpr(addr_items(b.lower))
    why = "; ".join(b.notes) or "unresolved"
    return AddrExpr(addr_items(b.lower) + (Unresolved(why, "resolved by iptables when loaded, not known offline"),),
                    addr_items(ALL_IP - b.upper))


def svc_items(s: IntervalSet) -> tuple:
    if s == FULL_SVC:
        return (Svc.any(),)
    out = []
    for p, ranges in sorted(split_svc(s).items()):
        if ranges == [port_domain(p)]:
            out.append(Svc.whole(p))
            continue
        for lo, hi in ranges:
            out.append(Svc(p, lo, hi, f"{proto_label(p)}/{lo}" + (f"-{hi}" if hi != lo else "")))
    return tuple(out)


def _host_bounds(addrs: list[str], path: str, family: int) -> Bounds:
    sets = []
    for a in addrs:
        try:
            if "-" in a:
                x, y = (netaddr.IPAddress(v.strip()) for v in a.split("-", 1))
                sets.append(ip_range(int(x), int(y), x.version))
            else:
                n = netaddr.IPNetwork(a)
                sets.append(ip_range(int(n.first), int(n.last), n.version))
        except (netaddr.AddrFormatError, ValueError):
            raise InputError(f"--host: {a!r} is not a CIDR or range; iptables rules need the "
                             "workload's addresses as CIDRs", Loc(path)) from None
    s = IntervalSet(iv for x in sets for iv in x)
    return Bounds(s, s)


def _rules(flat: _Flattener) -> list[Rule]:
    """The model's rules; equal sets share their (immutable) output items."""
    out, cache = [], flat.rd.out       # id(set) -> (set, items): holding the set keeps its id unique
    get = cache.get
    for r, m, via in flat.out:
        src, dst, svc = get(id(m.src)), get(id(m.dst)), get(id(m.svc))
        if src is None:
            src = cache[id(m.src)] = (m.src, addr_expr(m.src))
        if dst is None:
            dst = cache[id(m.dst)] = (m.dst, addr_expr(m.dst))
        if svc is None:
            svc = cache[id(m.svc)] = (m.svc, svc_items(m.svc))
        out.append(Rule(r.id, TERMINAL[r.target], src[1], dst[1], svc[1], r.loc,
                        r.comment or (r.text if len(r.text) <= 160 else ""), m.conds,
                        (("via", " > ".join(via)),) if via else ()))
    return out


def load(text: str, path: str, host_addresses: list[str] | None = None, **_options) -> list[Ruleset]:
    from .rules import no_gc

    with no_gc():
        return _load(text, path, host_addresses)


def _load(text: str, path: str, host_addresses: list[str] | None) -> list[Ruleset]:
    tables, rd = parse(text, path)
    for name, t in tables.items():
        if name != "filter":
            rd.warnings.append(Warning_(f"table {name} skipped: only the filter table decides what is allowed", t.loc))
    if "filter" not in tables:
        found = ", ".join(tables) or "none"
        raise InputError(f"no *filter table in this file (found: {found}); fw2np reads the filter table only",
                         Loc(path, 1))
    table = tables["filter"]
    for rules in table.rules.values():
        for r in rules:
            if r.target and r.target not in TERMINAL and r.target not in NON_TERMINAL \
                    and r.target != "RETURN" and r.target not in table.chains:
                raise rd.fail_at(f"jump to {r.target!r}: no such chain in the filter table and not a known target",
                                 r.target_loc)
            if r.target in BUILTIN:
                raise rd.fail_at(f"cannot jump to built-in chain {r.target}", r.target_loc)
    stem = PurePath(path).stem or "iptables"
    policy = {c: table.chains.get(c, ("ACCEPT", table.loc)) for c in BUILTIN}
    for c in BUILTIN:
        if c not in table.chains:
            rd.warnings.append(Warning_(f"chain {c} is not declared: its policy is taken as ACCEPT (the kernel default)",
                                        table.loc))
    out = []
    host_rules = table.rules.get("INPUT", []) + table.rules.get("OUTPUT", [])
    if host_rules and not host_addresses:
        first = host_rules[0]
        raise InputError("the INPUT/OUTPUT chains protect one host: pass --host WORKLOAD (the inventory workload "
                         "that replaces this host) so fw2np knows its addresses", first.loc,
                         line_of(text, first.loc.line))
    if host_addresses:
        host = _host_bounds(host_addresses, path, rd.family)
        rs = Ruleset(name=stem, source=path, default=DENY, text=text)
        rs.protects = addr_expr(host)  # the host's own chains govern only the host's traffic
        everything = rd.everything
        for chain, guard, is_in in (("INPUT", Match(everything.src, host, FULL_SVC), True),
                                    ("OUTPUT", Match(host, everything.dst, FULL_SVC), False)):
            flat = _Flattener(table, rd)
            flat.chain(chain, guard, (), (chain,))
            rs.rules += _rules(flat)
            pol, ploc = policy[chain]
            act = ALLOW if pol == "ACCEPT" else DENY
            anywhere = addr_expr(everything.src)
            src, dst = (anywhere, addr_expr(host)) if is_in else (addr_expr(host), anywhere)
            rs.rules.append(Rule(id=f"{chain}:policy", action=act, src=src, dst=dst, services=(Svc.any(),),
                                 loc=ploc, comment=f"policy of chain {chain} ({pol})"))
        out.append(rs)
    if table.rules.get("FORWARD"):
        rs = Ruleset(name=f"{stem}-forward", source=path, text=text,
                     default=ALLOW if policy["FORWARD"][0] == "ACCEPT" else DENY)
        flat = _Flattener(table, rd)
        flat.chain("FORWARD", rd.everything, (), ("FORWARD",))
        rs.rules = _rules(flat)
        out.append(rs)
    elif "FORWARD" in table.chains:
        rd.warnings.append(Warning_(f"chain FORWARD has no rules (policy {policy['FORWARD'][0]}): no forward ruleset",
                                    policy["FORWARD"][1]))
    unreached = [c for c in table.chains if c not in BUILTIN and not _reached(table, c)]
    for c in unreached:
        rd.warnings.append(Warning_(f"chain {c} is never jumped to from INPUT, OUTPUT or FORWARD: ignored",
                                    table.chains[c][1]))
    if not out:
        raise InputError("the filter table has no INPUT, OUTPUT or FORWARD rules to translate", table.loc,
                         line_of(text, table.loc.line))
    for rs in out:
        rs.warnings = list(dict.fromkeys(rd.warnings))
    return out


def _reached(table: Table, chain: str) -> bool:
    seen, todo = set(), list(BUILTIN)
    while todo:
        c = todo.pop()
        if c == chain:
            return True
        if c in seen:
            continue
        seen.add(c)
        todo += [r.target for r in table.rules.get(c, []) if r.target in table.chains]
    return False
