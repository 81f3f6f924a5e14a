"""The fw2np ruleset language (grammars/ruleset.lark)."""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from typing import NamedTuple

import netaddr
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..errors import InputError, Loc, Warning_, line_of
from ..io.resources import lalr_parser
from ..limits import check_lines
from ..model.names import is_digits
from ..model.resolve import check_references
from ..model.ruleset import (
    PORT_PROTOCOLS,
    PROTO_NAMES,
    TYPE_PROTOCOLS,
    AddressDef,
    AddrExpr,
    AnyAddr,
    Condition,
    Net,
    Ref,
    Rule,
    Ruleset,
    ServiceDef,
    Svc,
    port_domain,
)
from .common.addresses import IPV4, ipv4_int, ipv4_text
from .common.icmp import RULESET_ICMP_TYPES
from .common.syntax import terminal, terminal_regex

NAME = "rules"

_TERMINALS = {
    "ACTION": "'allow' or 'deny'",
    "ANY": "'any'",
    "EXCEPT": "'except'",
    "ARROW": "'->'",
    "ADDR": "an address (10.0.0.1, 10.0.0.0/8, 10.0.0.5-10.0.0.9, 2001:db8::/32)",
    "SVC": "a service (tcp/443, udp/53, tcp/8000-8100, icmp/8, proto/47)",
    "NAME": "an object name",
    "RULE_ID": "a rule id",
    "COMMENT": "a comment",
    "_NL": "end of line",
    "_COMMA": "','",
    "$END": "end of input",
    "RULESET": "'ruleset'",
    "DEFAULT": "'default'",
    "ADDRESS": "'address'",
    "SERVICE": "'service'",
    "ZONE": "'zone'",
    "VIA": "'via'",
    "SCOPE": "'ingress', 'egress' or 'both'",
    "PROTECT": "'protect'",
}


def parser() -> Lark:
    """Test oracle: lark's parser with positions, whose tree the fast scanner's records must match."""
    return lalr_parser("ruleset.lark", positions=True)


_STATEMENT = re.compile(r"^(ruleset|default|scope|protect|address|service)\s|^(\S+\s+)?(allow|deny)\s.*->")


def detect(text: str, path: str) -> int:
    """Score the content: most of the first statements must be the language's; `.fw` only adds to that."""
    lines = [ln.strip() for ln in text[:20000].splitlines() if ln.strip() and not ln.strip().startswith("#")]
    head = lines[:20]
    hits = sum(bool(_STATEMENT.match(ln)) for ln in head)
    if not head or hits * 2 < len(head):
        return 0
    return 90 if path.endswith(".fw") else 60


def _expected(names) -> str:
    words = sorted({_TERMINALS.get(n, f"'{n.lower()}'") for n in names})
    return ", ".join(words[:8]) + (" ..." if len(words) > 8 else "")


def _syntax_error(exc: UnexpectedInput, text: str, path: str) -> InputError:
    line, col = getattr(exc, "line", 0) or 0, getattr(exc, "column", 0) or 0
    if isinstance(exc, UnexpectedCharacters):
        ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        msg = f"unexpected character {ch!r}; expected {_expected(exc.allowed or ())}"
    elif isinstance(exc, UnexpectedToken):
        tok = exc.token
        what = "end of line" if tok.type == "_NL" else "end of input" if tok.type == "$END" else repr(str(tok))
        msg = f"unexpected {what}; expected {_expected(exc.expected)}"
        if tok.type == "$END":
            line = text.count("\n") + 1
            col = len(text.rsplit("\n", 1)[-1]) + 1
    elif isinstance(exc, UnexpectedEOF):
        msg = f"unexpected end of input; expected {_expected(exc.expected)}"
        line = text.count("\n") + 1
        col = len(text.rsplit("\n", 1)[-1]) + 1
    else:  # pragma: no cover - lark has no other kinds
        msg = str(exc)
    return InputError(msg, Loc(path, line, col), line_of(text, line))


# --- records ---------------------------------------------------------------------
# Lark's tree and the fast line scanner (below) both give these records, which
# _Builder turns into the model.  Comments are tokens or None.


class RulesToken(NamedTuple):
    text: str
    line: int
    column: int


class Item(NamedTuple):
    """An address (net, any_addr, ref) or service (svc, any_svc, svc_ref) list item."""

    kind: str
    token: RulesToken


class ExprRecord(NamedTuple):
    """An address expression: included items, the EXCEPT token (or None), excluded items."""

    include: list[Item]
    except_tok: RulesToken | None
    exclude: list[Item]


class DeclRecord(NamedTuple):
    """ruleset_decl, default_decl or scope_decl."""

    kind: str
    token: RulesToken
    comment: RulesToken | None


class ProtectRecord(NamedTuple):
    kind: str  # protect_decl
    where: RulesToken  # the keyword
    expr: ExprRecord
    comment: RulesToken | None


class AddressRecord(NamedTuple):
    kind: str  # address_def
    name: RulesToken
    expr: ExprRecord
    comment: RulesToken | None


class ServiceRecord(NamedTuple):
    kind: str  # service_def
    name: RulesToken
    items: list[Item]
    comment: RulesToken | None


class ZoneHint(NamedTuple):
    kind: str  # zone_hint
    src: RulesToken
    arrow: RulesToken
    dst: RulesToken


class ViaHint(NamedTuple):
    kind: str  # via_hint
    iface: RulesToken


class RuleRecord(NamedTuple):
    kind: str  # rule
    rule_id: RulesToken | None
    action: RulesToken
    src: ExprRecord
    arrow: RulesToken
    dst: ExprRecord
    services: list[Item]
    hints: tuple[ZoneHint | ViaHint, ...]
    comment: RulesToken | None


_HINTS = {"zone_hint": ZoneHint, "via_hint": ViaHint}


def _tok(t: Token) -> RulesToken:
    return RulesToken(str(t), t.line, t.column)


def _tree_items(tree: Tree) -> list[Item]:
    return [Item(str(n.data), _tok(n.children[0])) for n in tree.children]


def _tree_expr(tree: Tree) -> ExprRecord:
    lists = [c for c in tree.children if isinstance(c, Tree)]
    exc = next((_tok(c) for c in tree.children if isinstance(c, Token)), None)
    return ExprRecord(_tree_items(lists[0]), exc, _tree_items(lists[1]) if len(lists) > 1 else [])


def _keyword_at(text: str, word: str, after: Tree) -> RulesToken:
    """The token of the keyword WORD just before the tree AFTER (only blanks between)."""
    while isinstance(after, Tree):
        after = after.children[0]
    pos = text.rfind(word, 0, after.start_pos)
    return RulesToken(word, text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos))


def _tree_records(tree: Tree, text: str) -> list:
    """The records of lark's parse tree (of TEXT)."""
    out = []
    for node in tree.children:
        if not isinstance(node, Tree):
            continue
        kind, kids = str(node.data), node.children
        comment = next((_tok(c) for c in kids if isinstance(c, Token) and c.type == "COMMENT"), None)
        if kind in ("ruleset_decl", "default_decl", "scope_decl"):
            out.append(DeclRecord(kind, _tok(kids[0]), comment))
        elif kind == "protect_decl":
            out.append(ProtectRecord(kind, _keyword_at(text, "protect", kids[0]), _tree_expr(kids[0]), comment))
        elif kind == "address_def":
            out.append(AddressRecord(kind, _tok(kids[0]), _tree_expr(kids[1]), comment))
        elif kind == "service_def":
            out.append(ServiceRecord(kind, _tok(kids[0]), _tree_items(kids[1]), comment))
        elif kind == "rule":
            kids = [c for c in kids if not (isinstance(c, Token) and c.type == "COMMENT")]
            rid = _tok(kids.pop(0).children[0]) if isinstance(kids[0], Tree) and kids[0].data == "rule_id" else None
            action, src, arrow, dst, svcs, *hints = kids
            hints = tuple(_HINTS[str(h.data)](str(h.data), *(_tok(c) for c in h.children)) for h in hints)
            out.append(
                RuleRecord(
                    kind,
                    rid,
                    _tok(action),
                    _tree_expr(src),
                    _tok(arrow),
                    _tree_expr(dst),
                    _tree_items(svcs),
                    hints,
                    comment,
                )
            )
    return out


# --- values of address and service tokens (cached per text by the builder) ----------

_PLEN = re.compile(r"[1-9]?[0-9]")


def _ip(text: str) -> tuple[int, int]:
    """(value, version) of an address, as netaddr reads it (plain dotted quads without it)."""
    if IPV4.fullmatch(text):
        return ipv4_int(text), 4
    ip = netaddr.IPAddress(text)
    return int(ip), ip.version


def _network(text: str, addr: str, plen: str) -> tuple[int, int, int, int, str]:
    """(address, first, last, version, CIDR text) of ADDR/PLEN."""
    if IPV4.fullmatch(addr) and _PLEN.fullmatch(plen) and int(plen) <= 32:
        ip, n = ipv4_int(addr), int(plen)
        host = (1 << (32 - n)) - 1
        first = ip & ~host
        return ip, first, first | host, 4, f"{ipv4_text(first)}/{n}"
    net = netaddr.IPNetwork(text)
    return int(net.ip), int(net.first), int(net.last), net.version, str(net.cidr)


def _net_value(text: str) -> tuple:
    """(first, last, version, text, warning or '') of an ADDR token, or (error message,)."""
    try:
        if "-" in text:
            a, b = text.split("-", 1)
            (lo, v), (hi, w) = _ip(a), _ip(b)
            if v != w:
                return (f"range {text} mixes IPv4 and IPv6",)
            if lo > hi:
                return (f"range {text} runs backwards",)
            return lo, hi, v, text, ""
        if "/" in text:
            addr, plen = text.split("/", 1)
            maxlen = 32 if _ip(addr)[1] == 4 else 128
            if not is_digits(plen) or int(plen) > maxlen:
                return (f"bad prefix length /{plen} (at most {maxlen})",)
            ip, first, last, version, cidr = _network(text, addr, plen)
            return first, last, version, cidr, (f"{text} has host bits set; using {cidr}" if ip != first else "")
        ip, version = _ip(text)
        return ip, ip, version, text, ""
    except (netaddr.AddrFormatError, ValueError):
        return (f"{text!r} is not a valid IP address, CIDR or range",)


def _svc_value(text: str) -> tuple:
    """(proto, lo, hi) of a SVC token, (proto,) for a whole protocol, or (error message, text)."""
    proto_text, _, arg = text.partition("/")
    proto_text = proto_text.lower()
    if proto_text == "proto":
        proto = PROTO_NAMES.get(arg.lower()) if not is_digits(arg) else int(arg)
        if proto is None or not 0 <= proto <= 255:
            return (f"bad protocol {arg!r} (a number 0-255 or a name such as gre)", text)
        return (proto,)
    proto = PROTO_NAMES[proto_text]
    lo_dom, hi_dom = port_domain(proto)
    if arg.lower() in ("", "any"):
        return proto, lo_dom, hi_dom
    what = "port" if proto in PORT_PROTOCOLS else "ICMP type"
    if proto in TYPE_PROTOCOLS and arg.lower() in RULESET_ICMP_TYPES:
        t = RULESET_ICMP_TYPES[arg.lower()]
        return proto, t, t
    m = re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", arg)
    if not m:
        return (f"bad {what} {arg!r} in {text!r}", text)
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if not (lo_dom <= lo <= hi_dom and lo_dom <= hi <= hi_dom):
        return (f"{what} out of range in {text!r} ({lo_dom}-{hi_dom})", text)
    if lo > hi:
        return (f"{what} range {arg} runs backwards", text)
    return proto, lo, hi


_ANY_VERSION = {"any": None, "any4": 4, "any6": 6}


class _Builder:
    def __init__(self, text: str, path: str):
        self.text, self.path = text, path
        self.rs = Ruleset(name="", source=path, text=text)
        self.rule_ids: dict[str, Loc] = {}
        self.nets: dict[str, tuple] = {}
        self.svcs: dict[str, tuple] = {}

    def loc(self, tok: RulesToken | None) -> Loc:
        return Loc(self.path, tok.line, tok.column) if tok is not None else Loc(self.path, 0, 0)

    def fail(self, msg: str, tok) -> InputError:
        loc = self.loc(tok)
        return InputError(msg, loc, line_of(self.text, loc.line))

    def warn(self, msg: str, tok, rule: str | None = None) -> None:
        self.rs.warnings.append(Warning_(msg, self.loc(tok), rule))

    # addresses
    def net(self, tok: RulesToken) -> Net:
        v = self.nets.get(tok.text)
        if v is None:
            v = self.nets[tok.text] = _net_value(tok.text)
        if len(v) == 1:
            raise self.fail(v[0], tok)
        if v[4]:
            self.warn(v[4], tok)
        return Net(v[0], v[1], v[2], v[3], Loc(self.path, tok.line, tok.column))

    def addr_list(self, items: list[Item]) -> tuple:
        out = []
        for kind, tok in items:
            if kind == "net":
                out.append(self.net(tok))
            elif kind == "any_addr":
                out.append(AnyAddr(_ANY_VERSION[tok.text], Loc(self.path, tok.line, tok.column)))
            else:
                out.append(Ref(tok.text, Loc(self.path, tok.line, tok.column)))
        return tuple(out)

    def addr_expr(self, expr: ExprRecord) -> AddrExpr:
        include = self.addr_list(expr.include)
        return AddrExpr(include, self.addr_list(expr.exclude) if expr.exclude else ())

    # services
    def svc(self, tok: RulesToken) -> Svc:
        v = self.svcs.get(tok.text)
        if v is None:
            v = self.svcs[tok.text] = _svc_value(tok.text)
        if len(v) == 3:
            return Svc(v[0], v[1], v[2], tok.text, Loc(self.path, tok.line, tok.column))
        if len(v) == 1:
            return Svc.whole(v[0])
        raise self.fail(v[0], tok)

    def svc_list(self, items: list[Item]) -> tuple:
        out = []
        for kind, tok in items:
            if kind == "svc":
                out.append(self.svc(tok))
            elif kind == "any_svc":
                out.append(Svc(None, 0, 0, "any", self.loc(tok)))
            elif tok.text.lower() in PROTO_NAMES and tok.text not in self.rs.services:
                out.append(Svc.whole(PROTO_NAMES[tok.text.lower()]))
            else:
                out.append(Ref(tok.text, self.loc(tok)))
        return tuple(out)

    # statements
    def define(self, table: dict, kind: str, name_tok: RulesToken) -> str:
        name = name_tok.text
        if name in table:
            first = table[name].loc
            raise self.fail(f"{kind} {name!r} is already defined at line {first.line}", name_tok)
        if kind == "service" and name.lower() in PROTO_NAMES:
            raise self.fail(f"{name!r} is a protocol name and cannot name a service", name_tok)
        return name

    def statement(self, rec) -> None:
        kind = rec.kind
        if kind == "ruleset_decl":
            if self.rs.name:
                raise self.fail("the ruleset is already named", rec.token)
            self.rs.name = rec.token.text
        elif kind == "default_decl":
            self.rs.default = rec.token.text
        elif kind == "scope_decl":
            scope = rec.token.text
            self.rs.directions = ("ingress", "egress") if scope == "both" else (scope,)
        elif kind == "protect_decl":
            if self.rs.protects is not None:
                raise self.fail("the protected pods are already given", rec.where)
            self.rs.protects = self.addr_expr(rec.expr)
        elif kind == "address_def":
            name = self.define(self.rs.addresses, "address", rec.name)
            self.rs.addresses[name] = AddressDef(name, self.addr_expr(rec.expr), self.loc(rec.name))
        elif kind == "service_def":
            name = self.define(self.rs.services, "service", rec.name)
            self.rs.services[name] = ServiceDef(name, self.svc_list(rec.items), self.loc(rec.name))
        elif kind == "rule":
            self.rule(rec)

    def rule(self, rec: RuleRecord) -> None:
        _, rid_tok, action_tok, src, _arrow, dst, svcs, hints, comment_tok = rec
        at = rid_tok or action_tok
        loc = Loc(self.path, at.line, at.column)
        rid = rid_tok.text if rid_tok is not None else f"#{len(self.rs.rules) + 1}"
        if rid in self.rule_ids:
            raise self.fail(f"rule id {rid!r} is already used at line {self.rule_ids[rid].line}", rid_tok)
        self.rule_ids[rid] = loc
        conditions = hint_pairs = ()
        if hints:
            conditions = tuple(
                Condition(f"via {h.iface.text}", "interface match") for h in hints if h.kind == "via_hint"
            )
            hint_pairs = tuple(("zone", f"{h.src.text} -> {h.dst.text}") for h in hints if h.kind == "zone_hint")
        comment = comment_tok.text[1:].strip() if comment_tok else ""
        self.rs.rules.append(
            Rule(
                rid,
                action_tok.text,
                self.addr_expr(src),
                self.addr_expr(dst),
                self.svc_list(svcs),
                loc,
                comment,
                conditions,
                hint_pairs,
            )
        )


# --- fast path: plain one-line statements without lark --------------------------
# Lines in the common shape are turned into the very records lark's tree gives (same
# tokens, lines and columns); anything else (continuations, hints, keywords used
# as names, unusual spacing, syntax errors) sends the whole text through lark.

_KEYWORDS = ("ruleset", "default", "address", "service", "allow", "deny", "any", "except", "via", "zone")
_KW = re.compile("(?:" + "|".join(_KEYWORDS) + ")")
_WORD_RE = re.compile(r"[^\s,]+")
_ITEM = r"[^\s,#]+"
_LIST = rf"{_ITEM}(?: ?, ?{_ITEM})*"
_EXPR = rf"{_LIST}(?: except {_LIST})?"
_LINE_RE = re.compile(
    rf"(?:(?P<id>{_ITEM}) +)?(?P<action>allow|deny) +(?P<src>{_EXPR}) +-> +(?P<dst>{_EXPR}) +(?P<svc>{_LIST})"
    r"(?P<tail> *(?:#.*)?)"
)
_DEF_RE = re.compile(rf"(?P<kw>address|service) +(?P<name>{_ITEM}) +(?P<body>{_EXPR})(?P<tail> *(?:#.*)?)")
_HEAD_RE = re.compile(rf"(?P<kw>ruleset|default) +(?P<name>{_ITEM})(?P<tail> *(?:#.*)?)")


class _Scanner:
    """Records of plain lines; None for a line lark must read."""

    def __init__(self):
        self.kinds: tuple[dict, dict] = ({}, {})  # word -> kind, in address and in service lists
        # the grammar's terminals (grammars/ruleset.lark)
        self.addr, self.svc, self.any, self.name = (terminal("ruleset.lark", t) for t in ("ADDR", "SVC", "ANY", "NAME"))
        self.rule_id = re.compile(rf"(?!{_KW.pattern}){terminal_regex('ruleset.lark', 'RULE_ID')}")  # not a keyword

    def is_name(self, word: str) -> bool:
        return bool(self.name.fullmatch(word)) and not _KW.match(word)

    def kind(self, word: str, svc: bool) -> str:
        """The item kind lark gives WORD in an address or service list ('' when unsure)."""
        if svc and self.svc.fullmatch(word):
            return "svc"
        if not svc and self.addr.fullmatch(word):
            return "net"
        if self.any.fullmatch(word):
            return "any_svc" if svc else "any_addr"
        if self.is_name(word):
            return "svc_ref" if svc else "ref"
        return ""

    def items(self, text: str, base: int, n: int, svc: bool) -> list | None:
        kinds = self.kinds[svc]
        if "," not in text:  # one item
            kind = kinds.get(text)
            if kind is None:
                kind = kinds[text] = self.kind(text, svc)
            return [Item(kind, RulesToken(text, n, base + 1))] if kind else None
        out = []
        for w in _WORD_RE.finditer(text):
            word = w.group()
            kind = kinds.get(word)
            if kind is None:
                kind = kinds[word] = self.kind(word, svc)
            if not kind:
                return None
            out.append(Item(kind, RulesToken(word, n, base + w.start() + 1)))
        return out or None

    def expr(self, text: str, base: int, n: int) -> tuple | None:
        if " except " not in text:
            inc = self.items(text, base, n, False)
            return None if inc is None else ExprRecord(inc, None, [])
        parts = text.split(" except ")
        if len(parts) > 2 or parts[0].endswith(",") or parts[1].startswith(","):
            return None
        at = base + len(parts[0])
        inc, exc = self.items(parts[0], base, n, False), self.items(parts[1], at + 8, n, False)
        return None if inc is None or exc is None else ExprRecord(inc, RulesToken("except", n, at + 2), exc)

    @staticmethod
    def comment(m: re.Match, n: int) -> tuple | None:
        tail = m.group("tail")
        k = tail.find("#")
        return None if k < 0 else RulesToken(tail[k:], n, m.start("tail") + k + 1)

    def statement(self, n: int, line: str) -> tuple | None:
        m = _LINE_RE.fullmatch(line)
        if m:
            rid, action, src, dst, svc, tail = m.groups()
            if rid is not None and not self.rule_id.fullmatch(rid):
                return None
            src_e, dst_e = self.expr(src, m.start(3), n), self.expr(dst, m.start(4), n)
            svcs = self.items(svc, m.start(5), n, True)
            if src_e is None or dst_e is None or svcs is None:
                return None
            return RuleRecord(
                "rule",
                None if rid is None else RulesToken(rid, n, m.start(1) + 1),
                RulesToken(action, n, m.start(2) + 1),
                src_e,
                RulesToken("->", n, line.index("->", m.end(3)) + 1),
                dst_e,
                svcs,
                (),
                self.comment(m, n) if tail else None,
            )
        m = _DEF_RE.fullmatch(line)
        if m:
            kw, name, body, _tail = m.groups()
            if not self.is_name(name):
                return None
            name_tok = RulesToken(name, n, m.start(2) + 1)
            if kw == "address":
                body_e = self.expr(body, m.start(3), n)
                return None if body_e is None else AddressRecord("address_def", name_tok, body_e, self.comment(m, n))
            items = self.items(body, m.start(3), n, True) if " except " not in body else None
            return None if items is None else ServiceRecord("service_def", name_tok, items, self.comment(m, n))
        m = _HEAD_RE.fullmatch(line)
        if m:
            kw, word, _tail = m.groups()
            if kw == "default":
                return (
                    None
                    if word not in ("allow", "deny")
                    else DeclRecord("default_decl", RulesToken(word, n, m.start(2) + 1), self.comment(m, n))
                )
            if not self.is_name(word):
                return None
            return DeclRecord("ruleset_decl", RulesToken(word, n, m.start(2) + 1), self.comment(m, n))
        return None


def _scan(text: str):
    """The records of TEXT's statements, line by line; None (and no more) at a line lark must read."""
    if "\r" in text or "\\" in text or "\t" in text:
        yield None
        return
    scan = _Scanner()
    for n, line in enumerate(text.split("\n"), 1):
        if not line or line[0] == "#":
            continue
        if line[0] == " " or line[-1] == " " or line[-1] == ",":
            if not line.strip(" ") or line.strip(" ").startswith("#"):
                continue
            yield None
            return
        rec = scan.statement(n, line)
        yield rec
        if rec is None:
            return


def _fast_records(text: str) -> list | None:
    """The records of TEXT when every line is a plain statement, else None."""
    out = list(_scan(text))
    return None if None in out else out


def parse(text: str, path: str = "<rules>") -> Ruleset:
    """Parse ruleset-language TEXT into a checked Ruleset (InputError on bad input)."""
    check_lines(text, path)
    with no_gc():
        return _parse(text, path)


@contextmanager
def no_gc():
    """Pause the cycle collector while a parse allocates many acyclic objects (it made parsing superlinear)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _parse(text: str, path: str) -> Ruleset:
    rs = _streamed(text, path)
    if rs is None:
        rs = _built(text, path)
    if not rs.name:
        rs.name = re.sub(r"\.[^.]*$", "", path.replace("\\", "/").rsplit("/", 1)[-1]) or "ruleset"
    check_references(rs)
    return rs


def _built(text: str, path: str) -> Ruleset:
    """The ruleset from all records at once: services, then other definitions, then rules."""
    records = _fast_records(text)
    if records is None:
        try:
            # no propagated positions (a third of lark's time): records take tokens' positions
            tree = lalr_parser("ruleset.lark").parse(text + ("" if text.endswith("\n") else "\n"))
        except UnexpectedInput as exc:
            raise _syntax_error(exc, text, path) from None
        records = _tree_records(tree, text)
    b = _Builder(text, path)
    # services first, so that a rule may use a service defined further down
    for rec in records:
        if rec.kind == "service_def":
            b.statement(rec)
    for rec in records:
        if rec.kind != "service_def" and rec.kind != "rule":
            b.statement(rec)
    for rec in records:
        if rec.kind == "rule":
            b.rule(rec)
    return b.rs


def _streamed(text: str, path: str) -> Ruleset | None:
    """The same ruleset as _built, each line built as it is scanned (no records kept); None when a line
    needs lark or anything is wrong (then _built decides, with the error it gives)."""
    b = _Builder(text, path)
    warnings = b.rs.warnings
    first: list = []  # warnings of definitions, which _built gives before those of rules
    try:
        for rec in _scan(text):
            if rec is None:
                return None
            if rec.kind == "rule":
                b.rule(rec)
            else:
                k = len(warnings)
                b.statement(rec)
                first += warnings[k:]
                del warnings[k:]
    except InputError:
        return None
    warnings[:0] = first
    return b.rs


def load(text: str, path: str, **_options) -> list[Ruleset]:
    return [parse(text, path)]
