"""Configurations written as `set` commands (Junos `display set`, PAN-OS `set` output), one a line
(grammars/setlines.lark): each command with its words and where each word is."""

from __future__ import annotations

from dataclasses import dataclass

from lark import Token
from lark.exceptions import UnexpectedInput

from ...errors import Loc
from ...io.resources import lalr_parser
from .syntax import syntax_error

NAMES = {"WORD": "word", "STRING": "string", "_NL": "end of line", "COMMAND": "set"}


@dataclass
class Line:
    words: tuple[str, ...]
    locs: tuple[Loc, ...]

    def loc(self, k: int = 0) -> Loc:
        return self.locs[min(k, len(self.locs) - 1)]


def _loc(path: str, tok) -> Loc:
    return Loc(path, getattr(tok, "line", 0) or 0, getattr(tok, "column", 0) or 0)


def _word(tok) -> str:
    s = str(tok)
    return s[1:-1] if tok.type == "STRING" else s


def parse(text: str, path: str) -> tuple[list[tuple[str, Line]], list[tuple[str, Loc]]]:
    """[(command, its words)] and notes on the lines that are no command (a CLI prompt or banner)."""
    try:
        tree = lalr_parser("setlines.lark", True).parse(text)
    except UnexpectedInput as exc:
        raise syntax_error(exc, text, path, NAMES) from None
    out, notes = [], []
    for node in tree.children:
        toks = [t for t in node.children if isinstance(t, Token)]
        if node.data == "other":
            what = " ".join(map(str, toks))
            notes.append((f"line {what!r} is not a configuration command: ignored", _loc(path, toks[0])))
            continue
        args = toks[1:]
        locs = tuple(_loc(path, t) for t in args) or (_loc(path, toks[0]),)
        out.append((str(toks[0]), Line(tuple(_word(t) for t in args), locs)))
    return out, notes
