"""The lines of a pf.conf (grammars/pf.lark) as words, macros expanded; tables and options kept aside."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from ...errors import InputError, Loc, line_of
from ...io.resources import lalr_parser
from ..common.syntax import syntax_error
from ..common.words import Item

NAMES = {"NL": "end of line", "WORD": "word", "STRING": "string", "LBRACE": "'{'", "RBRACE": "'}'"}
_MACRO = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
MAX_MACRO_DEPTH = 16


@dataclass
class PfTable:
    """`table <name> ... { entries }`: entries are (negated, word item); FILE: a `file "path"` source."""

    name: str
    loc: Loc
    entries: list[tuple[bool, Item]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass
class PfFile:
    path: str
    text: str
    lines: list[list[Item]] = field(default_factory=list)  # rules and other lines, macros expanded
    tables: dict[str, PfTable] = field(default_factory=dict)
    macros: dict[str, list[Item]] = field(default_factory=dict)
    skip: list[str] = field(default_factory=list)  # `set skip on` interfaces

    def fail(self, msg: str, loc: Loc) -> InputError:
        return InputError(msg, loc, line_of(self.text, loc.line))


def _parse(text: str, path: str) -> Tree:
    try:
        return lalr_parser("pf.lark", True).parse(text if text.endswith("\n") else text + "\n")
    except UnexpectedInput as exc:
        raise syntax_error(exc, text, path, NAMES) from None


def _loc(path: str, tok) -> Loc:
    return Loc(path, getattr(tok, "line", 0) or 0, getattr(tok, "column", 0) or 0)


def read(text: str, path: str) -> PfFile:
    pf = PfFile(path, text)
    for line in _parse(text, path).children:
        if not isinstance(line, Tree):
            continue
        items = words(pf, line.children, path)
        if not items:
            continue
        if len(items) >= 3 and items[1].text == "=" and items[0].kind == "w":
            _macro(pf, items, path)
        elif items[0].text == "table":
            _table(pf, items)
        elif items[0].text == "set" and len(items) >= 3 and items[1].text == "skip" and items[2].text == "on":
            pf.skip += [x.text for x in flat(items[3:])]
        else:
            pf.lines.append(items)
    return pf


def words(pf: PfFile, nodes, path: str, depth: int = 0) -> list[Item]:
    """Items of parse nodes; a group's lines (split at NL) are its elements; $macros replaced."""
    out: list[Item] = []
    for n in nodes:
        if isinstance(n, Tree):  # group
            lines, cur = [], []
            for c in n.children:
                if isinstance(c, Token) and c.type == "NL":
                    if cur:
                        lines.append(cur)
                    cur = []
                else:
                    cur.append(c)
            if cur:
                lines.append(cur)
            loc = _loc(path, n.meta) if not n.meta.empty else Loc(path)
            out.append(Item("set", "{...}", loc, [words(pf, x, path, depth) for x in lines]))
        elif n.type == "NL":
            continue
        elif n.type == "STRING":
            out.append(Item("str", str(n)[1:-1], _loc(path, n)))
        elif "$" in str(n):
            out += _expand(pf, n, path, depth)
        else:
            out.append(Item("w", str(n), _loc(path, n)))
    return out


def _expand(pf: PfFile, tok: Token, path: str, depth: int) -> list[Item]:
    loc, text = _loc(path, tok), str(tok)
    if depth >= MAX_MACRO_DEPTH:
        raise pf.fail(f"macros nest deeper than {MAX_MACRO_DEPTH} levels", loc)
    for name in _MACRO.findall(text):
        if name not in pf.macros:
            raise pf.fail(f'${name} is not defined (a macro is `{name} = "..."` before its use)', loc)
    whole = _MACRO.fullmatch(text)
    if whole:
        return [Item(i.kind, i.text, loc, i.elems) for i in pf.macros[whole.group(1)]]

    def one(m: re.Match) -> str:
        val = pf.macros[m.group(1)]
        if len(val) != 1 or val[0].kind == "set":
            raise pf.fail(f"${m.group(1)} is a list and cannot be part of the word {text!r}", loc)
        return val[0].text

    return [Item("w", _MACRO.sub(one, text), loc)]


def _macro(pf: PfFile, items: list[Item], path: str) -> None:
    name = items[0].text
    value: list[Item] = []
    for it in items[2:]:
        if it.kind == "str":  # a macro's string is more words: parse them as a line
            tree = _parse(it.text, path)
            for line in tree.children:
                if isinstance(line, Tree):
                    value += [Item(i.kind, i.text, it.loc, i.elems) for i in words(pf, line.children, path, 1)]
        else:
            value.append(it)
    pf.macros[name] = value


def flat(items: list[Item]) -> list[Item]:
    """The words of ITEMS with braced lists opened and commas dropped."""
    out = []
    for it in items:
        if it.kind == "set":
            for e in it.elems:
                out += flat(e)
        elif it.text != ",":
            out.append(it)
    return out


def _table(pf: PfFile, items: list[Item]) -> None:
    if len(items) < 2 or not items[1].text.startswith("<"):
        raise pf.fail('expected: table <NAME> [persist] [const] [file "PATH"] { ADDRESSES }', items[0].loc)
    t = pf.tables.setdefault(items[1].text[1:-1], PfTable(items[1].text[1:-1], items[0].loc))
    k = 2
    while k < len(items):
        it = items[k]
        if it.kind == "set":
            neg = False
            for w in flat([it]):
                if w.text == "!":
                    neg = True
                    continue
                t.entries.append((neg, w))
                neg = False
        elif it.text == "file" and k + 1 < len(items):
            t.files.append(items[k + 1].text)
            k += 1
        k += 1
