"""A capirca/aerleon policy (grammars/capirca.lark) as filters: a header and its terms, includes read."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from ...errors import InputError, Loc, line_of
from ...io.resources import lalr_parser
from ...io.text import read_text
from ..common.syntax import syntax_error

MAX_INCLUDE_DEPTH = 8
NAMES = {"KEY": "keyword::", "NAME": "name", "WORD": "word", "STRING": "string", "LBRACE": "'{'", "RBRACE": "'}'"}


@dataclass
class Value:
    text: str
    loc: Loc
    quoted: bool = False


@dataclass
class Block:
    """A header or a term: its fields (keyword -> every value given, in order) and where each is."""

    kind: str
    name: str
    loc: Loc
    fields: dict[str, list[Value]] = field(default_factory=dict)
    field_locs: dict[str, Loc] = field(default_factory=dict)

    def words(self, key: str) -> list[str]:
        return [v.text for v in self.fields.get(key, [])]


@dataclass
class Filter:
    header: Block
    terms: list[Block] = field(default_factory=list)


@dataclass
class Policy:
    path: str
    texts: dict[str, str] = field(default_factory=dict)
    filters: list[Filter] = field(default_factory=list)

    def fail(self, msg: str, loc: Loc) -> InputError:
        return InputError(msg, loc, line_of(self.texts.get(loc.file, ""), loc.line))


def _loc(path: str, tok) -> Loc:
    return Loc(path, getattr(tok, "line", 0) or 0, getattr(tok, "column", 0) or 0)


def _parse(grammar: str, text: str, path: str) -> Tree:
    try:
        return lalr_parser(grammar, True).parse(text)
    except UnexpectedInput as exc:
        raise syntax_error(exc, text, path, NAMES) from None


def read_policy(text: str, path: str) -> Policy:
    pol = Policy(path)
    _read(pol, text, path, 0, None)
    return pol


def _read(pol: Policy, text: str, path: str, depth: int, into: Filter | None) -> Filter | None:
    pol.texts[path] = text
    for node in _parse("capirca.lark", text, path).children:
        if node.data == "include":
            tok = node.children[0]
            into = _include(pol, str(tok).split(None, 1)[1].strip()[1:-1], path, _loc(path, tok), depth, into)
            continue
        block = _block(node, path)
        if node.data == "header":
            into = Filter(block)
            pol.filters.append(into)
        elif into is None:
            raise pol.fail(f"term {block.name} comes before any header {{ }}", block.loc)
        else:
            into.terms.append(block)
    return into


def _include(pol: Policy, target: str, path: str, loc: Loc, depth: int, into: Filter | None) -> Filter | None:
    """`#include 'file'`: relative to the policies' base directory, found from the including file's
    folder upward (capirca's --base_directory holds the pol/ and includes/ folders)."""
    if depth >= MAX_INCLUDE_DEPTH:
        raise pol.fail(f"includes nest deeper than {MAX_INCLUDE_DEPTH} files", loc)
    base = os.path.dirname(os.path.abspath(path))
    for _ in range(4):
        cand = os.path.join(base, target)
        if os.path.isfile(cand):
            return _read(pol, read_text(cand), cand, depth + 1, into)
        base = os.path.dirname(base)
    raise pol.fail(f"#include {target!r}: not found in {os.path.dirname(os.path.abspath(path))} or above", loc)


def _block(node: Tree, path: str) -> Block:
    kids = node.children
    if node.data == "term":
        b = Block("term", str(kids[0]), _loc(path, kids[0]))
        fields = kids[1:]
    else:
        b = Block("header", "header", _loc(path, node.meta) if not node.meta.empty else Loc(path))
        fields = kids
    for f in fields:
        key_tok, *vals = f.children
        key = str(key_tok)
        b.field_locs.setdefault(key, _loc(path, key_tok))
        got = b.fields.setdefault(key, [])
        if key == "target":  # each target line is its own list: a separator keeps them apart
            got.append(Value("|", _loc(path, key_tok)))
        for v in vals:
            quoted = isinstance(v, Token) and v.type == "STRING"
            got.append(Value(str(v)[1:-1] if quoted else str(v), _loc(path, v), quoted))
    return b
