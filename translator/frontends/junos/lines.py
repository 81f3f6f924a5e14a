"""A Junos configuration, either form, as `set` lines (words and where they are): the hierarchical
form (grammars/junos.lark) flattened, `deactivate`/`inactive:` applied, `apply-groups` expanded."""

from __future__ import annotations

from dataclasses import dataclass, field

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from ...errors import InputError, Loc, line_of
from ...io.resources import lalr_parser
from ..common import setlines
from ..common.setlines import Line
from ..common.syntax import syntax_error

NAMES = {"WORD": "word", "STRING": "string", "LBRACE": "'{'", "RBRACE": "'}'", "SEMICOLON": "';'", "_NL": "end of line"}


@dataclass
class Config:
    path: str
    text: str
    lines: list[Line] = field(default_factory=list)
    notes: list[tuple[str, Loc]] = field(default_factory=list)

    def fail(self, msg: str, loc: Loc) -> InputError:
        return InputError(msg, loc, line_of(self.text, loc.line))

    def under(self, *prefix: str) -> list[Line]:
        """The lines whose words start with PREFIX."""
        n = len(prefix)
        return [ln for ln in self.lines if ln.words[:n] == prefix]


def _loc(path: str, tok) -> Loc:
    return Loc(path, getattr(tok, "line", 0) or 0, getattr(tok, "column", 0) or 0)


def _word(tok) -> str:
    s = str(tok)
    return s[1:-1] if tok.type == "STRING" else s


def is_set_form(text: str) -> bool:
    for raw in text.splitlines():
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if s.split()[0] in ("set", "deactivate", "activate", "delete", "protect", "unprotect"):
            return True
        if s.endswith(("{", ";", "}")):
            return False
    return False


def read(text: str, path: str) -> Config:
    cfg = Config(path, text)
    raw: list[tuple[str, Line]] = []
    try:
        if is_set_form(text):
            raw, notes = setlines.parse(text, path)
            cfg.notes += notes
        else:
            tree = lalr_parser("junos.lark", True).parse(text)
            for node in tree.children:
                _flatten(node, (), (), path, raw)
    except UnexpectedInput as exc:
        raise syntax_error(exc, text, path, NAMES) from None
    inactive: list[tuple[str, ...]] = []
    kept: list[Line] = []
    for cmd, ln in raw:
        if cmd == "set":
            kept.append(ln)
        elif cmd == "deactivate":
            inactive.append(ln.words)
        elif cmd == "activate":
            inactive = [p for p in inactive if p != ln.words]
        elif cmd == "delete":
            kept = [k for k in kept if k.words[: len(ln.words)] != ln.words]
    cfg.lines = _apply_groups(cfg, kept)
    cfg.inactive = inactive  # type: ignore[attr-defined]
    return cfg


def _flatten(node: Tree, prefix: tuple, locs: tuple, path: str, out: list) -> None:
    words: list[str] = []
    wlocs: list[Loc] = []
    mark = None
    items: list = []
    for c in node.children:
        if isinstance(c, Token) and c.type == "MARK":
            mark = str(c)[:-1]
        elif isinstance(c, Token):
            words.append(_word(c))
            wlocs.append(_loc(path, c))
        elif c.data == "list":
            items = [(_word(t), _loc(path, t)) for t in c.children]
        else:
            break
    here, hlocs = prefix + tuple(words), locs + tuple(wlocs)
    if mark == "inactive":
        out.append(("deactivate", Line(here, hlocs)))
    if node.data == "statement":
        if items:
            for w, at in items:
                out.append(("set", Line(here + (w,), hlocs + (at,))))
        else:
            out.append(("set", Line(here, hlocs)))
        return
    for c in node.children:
        if isinstance(c, Tree) and c.data in ("block", "statement"):
            _flatten(c, here, hlocs, path, out)


def _apply_groups(cfg: Config, lines: list[Line]) -> list[Line]:
    """`apply-groups G` at a level: the lines of `groups G` under that level, after the level's own."""
    groups: dict[str, list[Line]] = {}
    own: list[Line] = []
    applied: list[tuple[tuple[str, ...], str, Loc]] = []
    for ln in lines:
        w = ln.words
        if w[:1] == ("groups",) and len(w) > 2:
            groups.setdefault(w[1], []).append(Line(w[2:], ln.locs[2:]))
        elif "apply-groups" in w:
            k = w.index("apply-groups")
            for g in w[k + 1 :]:
                applied.append((w[:k], g, ln.loc(k)))
        else:
            own.append(ln)
    out = list(own)
    for level, g, at in applied:
        got = [ln for ln in groups.get(g, []) if ln.words[: len(level)] == level]
        if g not in groups:
            cfg.notes.append((f"apply-groups {g}: no such group", at))
        wild = [ln for ln in got if any(w.startswith("<") and w.endswith(">") for w in ln.words)]
        if wild:
            cfg.notes.append((f"apply-groups {g}: {len(wild)} line(s) with <wildcards> are not expanded", at))
        out += [ln for ln in got if ln not in wild]
    return out


def active(cfg: Config, words: tuple[str, ...]) -> bool:
    """False when a `deactivate` (or `inactive:`) covers these words."""
    return not any(words[: len(p)] == p for p in getattr(cfg, "inactive", []))
