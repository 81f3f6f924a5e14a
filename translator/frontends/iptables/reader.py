"""The options of one -A line read into an IptRule (addresses, services, conditions, target)."""

from __future__ import annotations

import re

import netaddr

from ...errors import InputError, Loc, Warning_, line_of
from ...model.ruleset import ALLOW, ICMP, ICMPV6, PORT_PROTOCOLS, PROTO_NAMES, Condition
from ...model.space import ALL_V4, ALL_V6, EMPTY, FULL_SVC, IntervalSet, ip_range, svc_range, whole_proto
from ..common.addresses import IPV4, ipv4_int
from .match import IptRule, Match, MatchBounds
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
        lower, upper, notes = [], [], []
        for part in text.split(","):
            try:
                if _NUMERIC.fullmatch(part) and ("." in part or ":" in part):
                    first, last, version = network(part)
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
            b = MatchBounds(lower[0], lower[0])
        else:
            b = MatchBounds(
                IntervalSet(iv for s in lower for iv in s), IntervalSet(iv for s in upper for iv in s), tuple(notes)
            )
        return self.whole & (b.negate(self.all) if neg else b)  # as a rule's first -s or -d gives it

    def addr_range(self, text: str, neg: bool) -> MatchBounds | str:
        try:
            a, b = text.split("-", 1)
            lo, hi = netaddr.IPAddress(a), netaddr.IPAddress(b)
        except (ValueError, netaddr.AddrFormatError):
            return f"{text!r} is not an address range (A-B)"
        if lo.version != hi.version or lo > hi or lo.version != self.family:
            return f"bad address range {text!r}"
        s = ip_range(int(lo), int(hi), lo.version)
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
                self._plans[same[0]] = (r.target, r.goto, at, r.comment, r.skip, r.match.svc, r.match.conds)
            return r
        src = dst = whole = self.whole
        for i, is_src in same[1]:
            b = self.value(IptablesReader.addrs, args[i], False)
            if is_src:
                src = b if src is whole else src & b
            else:
                dst = b if dst is whole else dst & b
        target, goto, at, comment, skip, svc, conds = plan
        if self._lines is None:
            self._lines = self.text.splitlines()
        text = self._lines[chain_tok.line - 1] if 1 <= chain_tok.line <= len(self._lines) else ""
        return IptRule(
            chain_tok.text,
            pos,
            Loc(self.path, line, column),
            text.strip(),
            Match(src, dst, svc, conds),
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
        return_only = loopback = module = ""
        module_opts: list[str] = []
        target_opts = False
        for neg, opt, vals in option_groups(args, self):
            o = opt.text
            if o in BASIC_OPTS:
                target_opts = False
            elif target_opts:
                continue  # --reject-with, --log-prefix ...: no effect on matching
            val = vals[0] if vals else None
            if val is None and o not in ("--syn", "-f", "--fragment"):
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
                states = set(val.text.upper().split(","))
                if ("NEW" in states) == neg:
                    return_only = f"{bang}{o} {val.text}"
                elif not neg and states - {"NEW", "ESTABLISHED", "RELATED"}:
                    conds.append(Condition(f"{o} {val.text}", "connection state"))
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
            elif kind == "syn" and not neg:
                pass  # new TCP connections: what the model is about
            elif module and module not in PLAIN_MODULES:
                module_opts.append(" ".join([bang.strip(), o] + [v.text for v in vals]).strip())
            else:
                conds.append(
                    Condition(" ".join([bang.strip(), o] + [v.text for v in vals]).strip(), "unsupported match")
                )
        if module and module not in PLAIN_MODULES:
            conds.append(_module_condition(module, module_opts))
        r.match = Match(src, dst, self.services(protos, dports, icmp, dport_tok, first), tuple(conds))
        if return_only or loopback:
            why = f"{return_only} matches only return traffic" if return_only else f"{loopback} is loopback traffic"
            if TERMINAL.get(r.target) == ALLOW:
                r.skip = why
            else:  # never skip a deny: keep it, condition ignored by denies
                r.match = Match(src, dst, r.match.svc, r.match.conds + (Condition(return_only or loopback, why),))
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
