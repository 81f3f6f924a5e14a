"""The fw2np ruleset language (grammars/ruleset.lark)."""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager

import netaddr
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..errors import InputError, Loc, Warning_, line_of
from ..model import (
    PORT_PROTOCOLS, PROTO_NAMES, TYPE_PROTOCOLS, AddrExpr, AddressDef, AnyAddr, Condition,
    Net, Ref, Rule, Ruleset, ServiceDef, Svc, port_domain,
)
from ..resolve import check_references
from ..resources import lalr_parser

NAME = "rules"
ICMP_TYPES = {"echo-reply": 0, "unreachable": 3, "redirect": 5, "echo-request": 8,
              "echo": 8, "time-exceeded": 11, "parameter-problem": 12}

_TERMINALS = {
    "ACTION": "'allow' or 'deny'", "ANY": "'any'", "EXCEPT": "'except'", "ARROW": "'->'",
    "ADDR": "an address (10.0.0.1, 10.0.0.0/8, 10.0.0.5-10.0.0.9, 2001:db8::/32)",
    "SVC": "a service (tcp/443, udp/53, tcp/8000-8100, icmp/8, proto/47)",
    "NAME": "an object name", "RULE_ID": "a rule id", "COMMENT": "a comment",
    "_NL": "end of line", "_COMMA": "','", "$END": "end of input",
    "RULESET": "'ruleset'", "DEFAULT": "'default'", "ADDRESS": "'address'",
    "SERVICE": "'service'", "ZONE": "'zone'", "VIA": "'via'", "SCOPE": "'ingress', 'egress' or 'both'",
    "PROTECT": "'protect'",
}


def parser() -> Lark:
    return lalr_parser("ruleset.lark", positions=True)


def detect(text: str, path: str) -> int:
    if path.endswith(".fw"):
        return 90
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    head = lines[:20]
    hits = sum(bool(re.match(r"^(ruleset|default|address|service)\s|^(\S+\s+)?(allow|deny)\s.*->", ln)) for ln in head)
    return 60 if head and hits * 2 >= len(head) else 0


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


class _Builder:
    def __init__(self, text: str, path: str):
        self.text, self.path = text, path
        self.rs = Ruleset(name="", source=path, text=text)
        self.rule_ids: dict[str, Loc] = {}

    def loc(self, tok) -> Loc:
        return Loc(self.path, getattr(tok, "line", 0) or 0, getattr(tok, "column", 0) or 0)

    def fail(self, msg: str, tok) -> InputError:
        loc = self.loc(tok)
        return InputError(msg, loc, line_of(self.text, loc.line))

    def warn(self, msg: str, tok, rule: str | None = None) -> None:
        self.rs.warnings.append(Warning_(msg, self.loc(tok), rule))

    # addresses
    def net(self, tok: Token) -> Net:
        text = str(tok)
        try:
            if "-" in text:
                a, b = text.split("-", 1)
                lo, hi = netaddr.IPAddress(a), netaddr.IPAddress(b)
                if lo.version != hi.version:
                    raise self.fail(f"range {text} mixes IPv4 and IPv6", tok)
                if lo > hi:
                    raise self.fail(f"range {text} runs backwards", tok)
                return Net(int(lo), int(hi), lo.version, text, self.loc(tok))
            if "/" in text:
                addr, plen = text.split("/", 1)
                ip = netaddr.IPAddress(addr)
                maxlen = 32 if ip.version == 4 else 128
                if not plen.isdigit() or int(plen) > maxlen:
                    raise self.fail(f"bad prefix length /{plen} (at most {maxlen})", tok)
                net = netaddr.IPNetwork(text)
                if net.ip != net.network:
                    self.warn(f"{text} has host bits set; using {net.cidr}", tok)
                return Net(int(net.first), int(net.last), net.version, str(net.cidr), self.loc(tok))
            ip = netaddr.IPAddress(text)
            return Net(int(ip), int(ip), ip.version, text, self.loc(tok))
        except (netaddr.AddrFormatError, ValueError):
            raise self.fail(f"{text!r} is not a valid IP address, CIDR or range", tok) from None

    def addr_list(self, tree: Tree) -> tuple:
        items = []
        for node in tree.children:
            tok = node.children[0]
            if node.data == "net":
                items.append(self.net(tok))
            elif node.data == "any_addr":
                version = {"any": None, "any4": 4, "any6": 6}[str(tok)]
                items.append(AnyAddr(version, self.loc(tok)))
            else:
                items.append(Ref(str(tok), self.loc(tok)))
        return tuple(items)

    def addr_expr(self, tree: Tree) -> AddrExpr:
        lists = [c for c in tree.children if isinstance(c, Tree)]
        include = self.addr_list(lists[0])
        exclude = self.addr_list(lists[1]) if len(lists) > 1 else ()
        return AddrExpr(include, exclude)

    # services
    def svc(self, tok: Token) -> Svc:
        text = str(tok)
        proto_text, _, arg = text.partition("/")
        proto_text = proto_text.lower()
        if proto_text == "proto":
            proto = PROTO_NAMES.get(arg.lower()) if not arg.isdigit() else int(arg)
            if proto is None or not 0 <= proto <= 255:
                raise self.fail(f"bad protocol {arg!r} (a number 0-255 or a name such as gre)", tok)
            return Svc.whole(proto)
        proto = PROTO_NAMES[proto_text]
        lo_dom, hi_dom = port_domain(proto)
        if arg.lower() in ("", "any"):
            return Svc(proto, lo_dom, hi_dom, text, self.loc(tok))
        what = "port" if proto in PORT_PROTOCOLS else "ICMP type"
        if proto in TYPE_PROTOCOLS and arg.lower() in ICMP_TYPES:
            t = ICMP_TYPES[arg.lower()]
            return Svc(proto, t, t, text, self.loc(tok))
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", arg)
        if not m:
            raise self.fail(f"bad {what} {arg!r} in {text!r}", tok)
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if not (lo_dom <= lo <= hi_dom and lo_dom <= hi <= hi_dom):
            raise self.fail(f"{what} out of range in {text!r} ({lo_dom}-{hi_dom})", tok)
        if lo > hi:
            raise self.fail(f"{what} range {arg} runs backwards", tok)
        return Svc(proto, lo, hi, text, self.loc(tok))

    def svc_list(self, tree: Tree) -> tuple:
        items = []
        for node in tree.children:
            tok = node.children[0]
            if node.data == "svc":
                items.append(self.svc(tok))
            elif node.data == "any_svc":
                items.append(Svc(None, 0, 0, "any", self.loc(tok)))
            elif str(tok).lower() in PROTO_NAMES and str(tok) not in self.rs.services:
                items.append(Svc.whole(PROTO_NAMES[str(tok).lower()]))
            else:
                items.append(Ref(str(tok), self.loc(tok)))
        return tuple(items)

    # statements
    def define(self, table: dict, kind: str, name_tok: Token) -> str:
        name = str(name_tok)
        if name in table:
            first = table[name].loc
            raise self.fail(f"{kind} {name!r} is already defined at line {first.line}", name_tok)
        if kind == "service" and name.lower() in PROTO_NAMES:
            raise self.fail(f"{name!r} is a protocol name and cannot name a service", name_tok)
        return name

    def statement(self, node: Tree) -> None:
        kind = node.data
        kids = node.children
        comment = next((str(c)[1:].strip() for c in kids if isinstance(c, Token) and c.type == "COMMENT"), "")
        if kind == "ruleset_decl":
            if self.rs.name:
                raise self.fail("the ruleset is already named", kids[0])
            self.rs.name = str(kids[0])
        elif kind == "default_decl":
            self.rs.default = str(kids[0])
        elif kind == "scope_decl":
            scope = str(kids[0])
            self.rs.directions = ("ingress", "egress") if scope == "both" else (scope,)
        elif kind == "protect_decl":
            if self.rs.protects is not None:
                raise self.fail("the protected pods are already given", node.meta)
            self.rs.protects = self.addr_expr(kids[0])
        elif kind == "address_def":
            name = self.define(self.rs.addresses, "address", kids[0])
            self.rs.addresses[name] = AddressDef(name, self.addr_expr(kids[1]), self.loc(kids[0]))
        elif kind == "service_def":
            name = self.define(self.rs.services, "service", kids[0])
            self.rs.services[name] = ServiceDef(name, self.svc_list(kids[1]), self.loc(kids[0]))
        elif kind == "rule":
            self.rule(node, comment)

    def rule(self, node: Tree, comment: str) -> None:
        kids = [c for c in node.children if not (isinstance(c, Token) and c.type in ("COMMENT", "ARROW"))]
        rid_tok = None
        if isinstance(kids[0], Tree) and kids[0].data == "rule_id":
            rid_tok = kids.pop(0).children[0]
        action_tok, src, dst, svcs, *hints = kids
        loc = self.loc(rid_tok or action_tok)
        rid = str(rid_tok) if rid_tok is not None else f"#{len(self.rs.rules) + 1}"
        if rid in self.rule_ids:
            raise self.fail(f"rule id {rid!r} is already used at line {self.rule_ids[rid].line}", rid_tok)
        self.rule_ids[rid] = loc
        conditions, hint_pairs = [], []
        for h in hints:
            if h.data == "zone_hint":
                hint_pairs.append(("zone", f"{h.children[0]} -> {h.children[2]}"))
            else:
                conditions.append(Condition(f"via {h.children[0]}", "interface match"))
        self.rs.rules.append(Rule(
            id=rid, action=str(action_tok), src=self.addr_expr(src), dst=self.addr_expr(dst),
            services=self.svc_list(svcs), loc=loc, comment=comment,
            conditions=tuple(conditions), hints=tuple(hint_pairs)))


# --- fast path: plain one-line statements without lark --------------------------
# Lines in the common shape are turned into the very tree lark would build (same
# tokens, lines and columns); anything else (continuations, hints, keywords used
# as names, unusual spacing, syntax errors) sends the whole text through lark.

_KEYWORDS = ("ruleset", "default", "address", "service", "allow", "deny", "any", "except", "via", "zone")
_KW = re.compile(r"(?:%s)" % "|".join(_KEYWORDS))
_ADDR_RE = re.compile(r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)"
                      r"(?:/\d+|-(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*))?")
_SVC_RE = re.compile(r"(?i:tcp|udp|sctp|icmpv6|icmp6|icmp|proto)/[A-Za-z0-9\-]*")
_ANY_RE = re.compile(r"any[46]?")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_ID_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_ITEM = r"[^\s,#]+"
_LIST = rf"{_ITEM}(?: ?, ?{_ITEM})*"
_EXPR = rf"{_LIST}(?: except {_LIST})?"
_LINE_RE = re.compile(
    rf"(?:(?P<id>{_ITEM}) +)?(?P<action>allow|deny) +(?P<src>{_EXPR}) +-> +(?P<dst>{_EXPR}) +(?P<svc>{_LIST})"
    r"(?P<tail> *(?:#.*)?)")
_DEF_RE = re.compile(rf"(?P<kw>address|service) +(?P<name>{_ITEM}) +(?P<body>{_EXPR})(?P<tail> *(?:#.*)?)")
_HEAD_RE = re.compile(rf"(?P<kw>ruleset|default) +(?P<name>{_ITEM})(?P<tail> *(?:#.*)?)")


def _word_ok(word: str, pattern: re.Pattern) -> bool:
    return bool(pattern.fullmatch(word)) and not _KW.match(word)


class _Fast:
    def __init__(self, lineno: int, line: str):
        self.lineno, self.line = lineno, line

    def tok(self, kind: str, value: str, start: int) -> Token:
        return Token(kind, value, start, self.lineno, start + 1, self.lineno, start + 1 + len(value))

    def items(self, m: re.Match, group: str, svc: bool) -> list | None:
        out, base, text = [], m.start(group), m.group(group)
        for w in re.finditer(r"[^\s,]+", text):
            word, at = w.group(), base + w.start()
            if svc and _SVC_RE.fullmatch(word):
                out.append(Tree("svc", [self.tok("SVC", word, at)]))
            elif not svc and _ADDR_RE.fullmatch(word):
                out.append(Tree("net", [self.tok("ADDR", word, at)]))
            elif _ANY_RE.fullmatch(word):
                out.append(Tree("any_svc" if svc else "any_addr", [self.tok("ANY", word, at)]))
            elif _word_ok(word, _NAME_RE):
                out.append(Tree("svc_ref" if svc else "ref", [self.tok("NAME", word, at)]))
            else:
                return None
        return out

    def expr(self, m: re.Match, group: str) -> Tree | None:
        text, base = m.group(group), m.start(group)
        parts = text.split(" except ")
        lists = []
        for k, part in enumerate(parts):
            sub = re.match(r"(?P<x>.*)", part)
            start = base + (0 if k == 0 else len(parts[0]) + len(" except "))
            items = self.items(_Shift(sub, start), "x", False)
            if not items:
                return None
            lists.append(Tree("addr_list", items))
        kids = [lists[0]]
        if len(lists) == 2:
            kids += [self.tok("EXCEPT", "except", base + len(parts[0]) + 1), lists[1]]
        return Tree("addr_expr", kids)

    def comment(self, m: re.Match) -> list:
        tail = m.group("tail")
        k = tail.find("#")
        return [] if k < 0 else [self.tok("COMMENT", tail[k:], m.start("tail") + k)]

    def statement(self) -> Tree | None:
        line = self.line
        m = _LINE_RE.fullmatch(line)
        if m:
            if m.group("id") is not None and not _word_ok(m.group("id"), _ID_RE):
                return None
            src, dst = self.expr(m, "src"), self.expr(m, "dst")
            svcs = self.items(m, "svc", True)
            if src is None or dst is None or not svcs:
                return None
            kids = [Tree("rule_id", [self.tok("RULE_ID", m.group("id"), m.start("id"))])] if m.group("id") else []
            kids += [self.tok("ACTION", m.group("action"), m.start("action")), src,
                     self.tok("ARROW", "->", line.index("->", m.end("src"))), dst, Tree("svc_list", svcs)]
            return Tree("rule", kids + self.comment(m))
        m = _DEF_RE.fullmatch(line)
        if m:
            if not _word_ok(m.group("name"), _NAME_RE):
                return None
            name = self.tok("NAME", m.group("name"), m.start("name"))
            if m.group("kw") == "address":
                body = self.expr(m, "body")
                return None if body is None else Tree("address_def", [name, body] + self.comment(m))
            items = self.items(m, "body", True) if " except " not in m.group("body") else None
            return None if not items else Tree("service_def", [name, Tree("svc_list", items)] + self.comment(m))
        m = _HEAD_RE.fullmatch(line)
        if m:
            word = m.group("name")
            if m.group("kw") == "default":
                return None if word not in ("allow", "deny") else \
                    Tree("default_decl", [self.tok("ACTION", word, m.start("name"))] + self.comment(m))
            if not _word_ok(word, _NAME_RE):
                return None
            return Tree("ruleset_decl", [self.tok("NAME", word, m.start("name"))] + self.comment(m))
        return None


class _Shift:
    """A match whose group X starts at a given column."""

    def __init__(self, m: re.Match, start: int):
        self.m, self.s = m, start

    def start(self, _group: str) -> int:
        return self.s

    def group(self, g: str) -> str:
        return self.m.group(g)


def _fast_tree(text: str) -> Tree | None:
    """The parse tree of TEXT when every line is a plain statement, else None."""
    if "\r" in text or "\\" in text or "\t" in text:
        return None
    stmts = []
    for n, line in enumerate(text.split("\n"), 1):
        body = line.strip(" ")
        if not body or body.startswith("#"):
            continue
        if line[0] == " " or line.endswith(" ") or line.endswith(","):
            return None
        node = _Fast(n, line).statement()
        if node is None:
            return None
        stmts.append(node)
    return Tree("start", stmts)


MAX_LINES_ENV = "FW2NP_MAX_LINES"
MAX_LINES = 250_000


def check_size(text: str, path: str) -> None:
    """Refuse, before parsing, an input with more lines than the bound (memory grows with rules)."""
    import os

    raw = os.environ.get(MAX_LINES_ENV, "")
    limit = int(raw) if raw.isdigit() else MAX_LINES
    n = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if limit and n > limit:
        raise InputError(f"input has {n:,} lines, more than the bound of {limit:,} lines "
                         f"(memory grows with rules, about 5 GB at 100,000); set {MAX_LINES_ENV}={n} (or 0 for no bound) to convert it anyway",
                         Loc(path, limit + 1))


def parse(text: str, path: str = "<rules>") -> Ruleset:
    """Parse ruleset-language TEXT into a checked Ruleset (InputError on bad input)."""
    check_size(text, path)
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
    tree = _fast_tree(text)
    if tree is None:
        try:
            tree = parser().parse(text + ("" if text.endswith("\n") else "\n"))
        except UnexpectedInput as exc:
            raise _syntax_error(exc, text, path) from None
    b = _Builder(text, path)
    stmts = [c for c in tree.children if isinstance(c, Tree)]
    # services first, so that a rule may use a service defined further down
    for node in sorted(stmts, key=lambda n: n.data != "service_def"):
        if node.data != "rule":
            b.statement(node)
    for node in stmts:
        if node.data == "rule":
            b.statement(node)
    rs = b.rs
    if not rs.name:
        rs.name = re.sub(r"\.[^.]*$", "", path.replace("\\", "/").rsplit("/", 1)[-1]) or "ruleset"
    check_references(rs)
    return rs


def load(text: str, path: str, **_options) -> list[Ruleset]:
    return [parse(text, path)]

