"""Statements as records (IptRecord), from lark's tree or from a fast line scanner."""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

from lark import Lark, Tree

from ...io.resources import lalr_parser
from ..common.syntax import terminal, terminal_regex


class IptToken(NamedTuple):
    """A token as lark gives it: terminal type, text and position."""

    type: str
    text: str
    line: int
    column: int


class IptRecord(NamedTuple):
    """One statement (kind: table, chain_decl, rule or commit), where its first token is, and its tokens."""

    kind: str
    line: int
    column: int
    tokens: list[IptToken]


def parser() -> Lark:
    """Test oracle: lark's parser with positions, whose tree the scanner's records must match."""
    return lalr_parser("iptables.lark", positions=True)


_SAFE_WORD = re.compile(r"[A-Za-z0-9_.:/,\-]+")


@cache
def _line_syntax() -> tuple[re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    """(OPT, WORD, TABLE, chain declaration line) from the grammar's terminals (grammars/iptables.lark)."""
    chain, policy, counters = (terminal_regex("iptables.lark", t) for t in ("CHAIN_DECL", "POLICY", "COUNTERS"))
    return (
        terminal("iptables.lark", "OPT"),
        terminal("iptables.lark", "WORD"),
        terminal("iptables.lark", "TABLE"),
        re.compile(rf"({chain}) ({policy})(?: ({counters}))?"),
    )


def tree_records(tree: Tree) -> list[IptRecord]:
    """Records of lark's tree; a statement is where its first token is (what propagate_positions gives)."""
    return [
        IptRecord(
            str(node.data),
            node.children[0].line,
            node.children[0].column,
            [IptToken(t.type, str(t), t.line, t.column) for t in node.children],
        )
        for node in tree.children
    ]


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


def scan(text: str):
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
                toks.append(IptToken(t, w, n, col))
                col += len(w) + 1
            yield IptRecord("rule", n, 1, toks)
        elif line == "COMMIT":
            yield IptRecord("commit", n, 1, [IptToken("COMMIT", line, n, 1)])
        elif table_line.fullmatch(line):
            yield IptRecord("table", n, 1, [IptToken("TABLE", line, n, 1)])
        elif m := chain_line.fullmatch(line):
            toks = [IptToken("CHAIN_DECL", m.group(1), n, 1), IptToken("POLICY", m.group(2), n, m.start(2) + 1)]
            if m.group(3):
                toks.append(IptToken("COUNTERS", m.group(3), n, m.start(3) + 1))
            yield IptRecord("chain_decl", n, 1, toks)
        else:
            yield None
            return


def fast_records(text: str) -> list[IptRecord] | None:
    """The records of TEXT when every line is plain, else None."""
    out = list(scan(text))
    return None if None in out else out
