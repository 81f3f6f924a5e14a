"""The parts of a FortiOS configuration the policies need (grammars/fortigate.lark): addresses, address
groups, services, service groups, schedules, zones and the policies; every other block is skipped
before parsing (a full configuration is mostly other blocks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from ...errors import InputError, Loc, line_of
from ...io.resources import lalr_parser
from ..common.syntax import syntax_error

NEEDED = (
    "firewall address", "firewall address6", "firewall addrgrp", "firewall addrgrp6", "firewall service custom",
    "firewall service group", "firewall policy", "firewall policy6", "firewall schedule onetime",
    "firewall schedule recurring", "firewall schedule group", "system zone",
)  # fmt: skip
_TOP = re.compile(r"^config ([^\n]*?)\s*$", re.M)
NAMES = {"_NL": "end of line", "WORD": "word", "STRING": "string", "END": "end", "NEXT": "next"}


@dataclass
class Setting:
    key: str
    values: list[str]
    loc: Loc
    value_locs: list[Loc]


@dataclass
class Entry:
    name: str
    loc: Loc
    settings: dict[str, Setting] = field(default_factory=dict)

    def get(self, key: str, default=None) -> list[str] | None:
        s = self.settings.get(key)
        return s.values if s is not None else default

    def one(self, key: str, default: str = "") -> str:
        v = self.get(key)
        return v[0] if v else default


@dataclass
class FortiConfig:
    path: str
    text: str
    tables: dict[str, list[Entry]] = field(default_factory=dict)  # "firewall address" -> its entries, in order

    def fail(self, msg: str, loc: Loc) -> InputError:
        return InputError(msg, loc, line_of(self.text, loc.line))

    def by_name(self, table: str) -> dict[str, Entry]:
        return {e.name: e for e in self.tables.get(table, [])}


def _kept(text: str) -> str:
    """TEXT with every top-level block fw2np does not need blanked (line numbers kept)."""
    out, depth, keep = [], 0, False
    for ln in text.split("\n"):
        s = ln.strip()
        if s.startswith("config "):
            if depth == 0:
                keep = " ".join(s[7:].split()) in NEEDED
            depth += 1
        elif s == "end" and depth:
            depth -= 1
            out.append(ln if keep else "")
            keep = keep and depth > 0
            continue
        out.append(ln if keep and depth else "")
    return "\n".join(out)


def _loc(path: str, tok) -> Loc:
    return Loc(path, getattr(tok, "line", 0) or 0, getattr(tok, "column", 0) or 0)


def _value(tok) -> str:
    s = str(tok)
    if tok.type == "STRING":
        return re.sub(r"\\(.)", r"\1", s[1:-1])
    return s


def read(text: str, path: str) -> FortiConfig:
    cfg = FortiConfig(path, text)
    try:
        tree = lalr_parser("fortigate.lark", True).parse(_kept(text))
    except UnexpectedInput as exc:
        raise syntax_error(exc, text, path, NAMES) from None
    for block in tree.children:
        words = [_value(t) for t in block.children if isinstance(t, Token) and t.type in ("WORD", "STRING")]
        name = " ".join(words)
        if name not in NEEDED:
            continue
        entries = cfg.tables.setdefault(name, [])
        for c in block.children:
            if isinstance(c, Tree) and c.data == "entry":
                entries.append(_entry(c, path))
    return cfg


def _entry(node: Tree, path: str) -> Entry:
    name_tok = next(t for t in node.children if isinstance(t, Token) and t.type in ("WORD", "STRING"))
    e = Entry(_value(name_tok), _loc(path, name_tok))
    for c in node.children:
        if isinstance(c, Tree) and c.data == "setting":
            cmd, key, *vals = c.children
            if str(cmd) != "set":
                continue
            e.settings[str(key)] = Setting(
                str(key), [_value(v) for v in vals], _loc(path, key), [_loc(path, v) for v in vals]
            )
    return e
