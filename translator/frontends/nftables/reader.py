"""The structure of an nftables file (grammars/nftables.lark): tables, chains, sets, defines, includes."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from ...errors import InputError, Loc, line_of
from ...io.resources import lalr_parser
from ...io.text import read_text
from ..common.syntax import syntax_error
from ..common.words import Item

MAX_INCLUDE_DEPTH = 16
# named base chain priorities (nft(8), CHAINS: "standard priority names")
PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100, "out": 100}
NAMES = {"_SEP": "end of line", "NAME": "name", "WORD": "word", "STRING": "string", "LBRACE": "'{'", "RBRACE": "'}'"}


@dataclass
class Chain:
    name: str
    loc: Loc
    lines: list[list[Item]] = field(default_factory=list)  # rule lines
    type: str | None = None
    hook: str | None = None
    priority: int = 0
    policy: str = "accept"
    policy_loc: Loc | None = None


@dataclass
class NamedSet:
    name: str
    loc: Loc
    elems: list[list[Item]] = field(default_factory=list)
    flags: tuple[str, ...] = ()
    type: str = ""


@dataclass
class Table:
    family: str
    name: str
    loc: Loc
    chains: dict[str, Chain] = field(default_factory=dict)
    sets: dict[str, NamedSet] = field(default_factory=dict)


@dataclass
class NftFile:
    """Every table of the file (and its includes), merged by (family, name) as nft merges them."""

    path: str
    text: str
    tables: dict[tuple[str, str], Table] = field(default_factory=dict)
    defines: dict[str, list[Item]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # path -> text, for error lines

    def fail(self, msg: str, loc: Loc) -> InputError:
        return InputError(msg, loc, line_of(self.texts.get(loc.file, self.text), loc.line))


def read(text: str, path: str) -> NftFile:
    nft = NftFile(path, text)
    _read_into(nft, text, path, 0)
    return nft


def _parse(text: str, path: str) -> Tree:
    try:
        return lalr_parser("nftables.lark", True).parse(text)
    except UnexpectedInput as exc:
        raise syntax_error(exc, text, path, NAMES) from None


def _loc(path: str, tok) -> Loc:
    return Loc(path, getattr(tok, "line", 0) or 0, getattr(tok, "column", 0) or 0)


def _read_into(nft: NftFile, text: str, path: str, depth: int) -> None:
    nft.texts[path] = text
    tree = _parse(text, path)
    for node in tree.children:
        if node.data == "table":
            _table(nft, node, path)
        elif node.data == "define":
            _define(nft, node, path)
        elif node.data == "include":
            _include(nft, node, path, depth)
        # flush ruleset: the file replaces whatever was loaded before; nothing to read


def _define(nft: NftFile, node: Tree, path: str) -> None:
    name = str(node.children[1])
    nft.defines[name] = _items(node.children[2:], path, nft)


def _include(nft: NftFile, node: Tree, path: str, depth: int) -> None:
    tok = node.children[1]
    target = str(tok)[1:-1]
    loc = _loc(path, tok)
    if depth >= MAX_INCLUDE_DEPTH:
        raise nft.fail(f"include nests deeper than {MAX_INCLUDE_DEPTH} files", loc)
    base = os.path.dirname(os.path.abspath(path)) if path not in ("-", "/dev/stdin") else os.getcwd()
    pattern = target if os.path.isabs(target) else os.path.join(base, target)
    found = sorted(glob.glob(pattern)) if any(c in target for c in "*?[") else [pattern]
    for f in found:
        if not os.path.isfile(f):
            raise nft.fail(f"include {target!r}: no such file (looked for {f})", loc)
        _read_into(nft, read_text(f), f, depth + 1)


def _table(nft: NftFile, node: Tree, path: str) -> None:
    kids = node.children
    fam_tok = kids[1] if isinstance(kids[1], Token) and kids[1].type == "FAMILY" else None
    name_tok = kids[2] if fam_tok is not None else kids[1]
    family = str(fam_tok) if fam_tok is not None else "ip"
    key = (family, str(name_tok))
    table = nft.tables.setdefault(key, Table(family, str(name_tok), _loc(path, kids[0])))
    for child in kids:
        if not isinstance(child, Tree):
            continue
        if child.data == "chain":
            _chain(nft, table, child, path)
        elif child.data == "set":
            _set(nft, table, child, path)
        elif child.data == "define":
            _define(nft, child, path)


def _chain(nft: NftFile, table: Table, node: Tree, path: str) -> None:
    name = str(node.children[1])
    chain = table.chains.setdefault(name, Chain(name, _loc(path, node.children[0])))
    for line in node.children[2:]:
        items = _items(line.children, path, nft)
        words = [i.text for i in items]
        if words[:1] == ["type"]:
            _base(nft, chain, items)
        elif words[:1] == ["policy"] and len(words) == 2:
            if words[1] not in ("accept", "drop"):
                raise nft.fail(f"chain policy {words[1]!r}: accept or drop", items[1].loc)
            chain.policy, chain.policy_loc = words[1], items[0].loc
        elif words[:1] in (["comment"], ["devices"], ["device"], ["flags"]) and chain.type is not None:
            continue  # properties of a base chain
        else:
            chain.lines.append(items)


def _base(nft: NftFile, chain: Chain, items: list[Item]) -> None:
    """`type filter hook input [device X] priority P`."""
    words = [i.text for i in items]
    if len(words) < 4 or words[2] != "hook":
        raise nft.fail("expected: type TYPE hook HOOK priority PRIORITY", items[0].loc)
    chain.type, chain.hook = words[1], words[3]
    if "priority" in words:
        k = words.index("priority")
        val = "".join(words[k + 1 :])
        base, sign, off = val.partition("+") if "+" in val else val.partition("-") if val[:1] != "-" else (val, "", "")
        try:
            if base in PRIORITIES:
                chain.priority = PRIORITIES[base] + (int(off) if sign == "+" else -int(off) if sign else 0)
            else:
                chain.priority = int(val)
        except ValueError:
            msg = f"priority {val!r}: a number or a standard name (filter, raw, mangle ...)"
            raise nft.fail(msg, items[k].loc) from None


def _set(nft: NftFile, table: Table, node: Tree, path: str) -> None:
    name = str(node.children[1])
    s = table.sets.setdefault(name, NamedSet(name, _loc(path, node.children[0])))
    for line in node.children[2:]:
        items = _items(line.children, path, nft)
        words = [i.text for i in items]
        if words[:1] == ["elements"] and len(items) >= 3 and items[-1].kind == "set":
            s.elems += items[-1].elems
        elif words[:1] == ["elements"] and len(items) == 3:
            s.elems.append([items[2]])
        elif words[:1] == ["type"]:
            s.type = " ".join(words[1:])
        elif words[:1] == ["flags"]:
            s.flags = tuple(w for w in words[1:] if w != ",")


def _items(nodes, path: str, nft: NftFile) -> list[Item]:
    """Words and anonymous sets of a line, $defines replaced by their value."""
    out: list[Item] = []
    for n in nodes:
        if isinstance(n, Tree):  # anon
            elems = [_items(e.children, path, nft) for e in n.children if isinstance(e, Tree)]
            out.append(Item("set", "{...}", _loc(path, n.meta) if not n.meta.empty else Loc(path), elems))
        elif n.type == "VAR":
            name = str(n)[1:]
            if name not in nft.defines:
                raise nft.fail(f"${name} is not defined (define {name} = ...)", _loc(path, n))
            out += nft.defines[name]
        elif n.type == "STRING":
            out.append(Item("str", str(n)[1:-1], _loc(path, n)))
        else:
            out.append(Item("w", str(n), _loc(path, n)))
    return out
