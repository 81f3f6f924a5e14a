"""The grammars' terminals as regexes (for the fast line scanners) and lark's syntax errors as InputErrors."""

from __future__ import annotations

import re
from functools import cache

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ...errors import InputError, Loc, line_of
from ...io.resources import lalr_parser


@cache
def terminal_regex(grammar: str, name: str) -> str:
    """The regex of terminal NAME of grammars/GRAMMAR, as lark matches it."""
    return lalr_parser(grammar).get_terminal(name).pattern.to_regexp()


@cache
def terminal(grammar: str, name: str) -> re.Pattern:
    """terminal_regex compiled."""
    return re.compile(terminal_regex(grammar, name))


def syntax_error(exc: UnexpectedInput, text: str, path: str, names: dict[str, str]) -> InputError:
    """A file:line:col InputError for a lark parse error; NAMES spells terminals for users."""
    line, col = getattr(exc, "line", 0) or 0, getattr(exc, "column", 0) or 0

    def expected(ts) -> str:
        words = sorted({names.get(t, t.lower()) for t in ts if not t.startswith("__")})
        return ", ".join(words[:8]) + (" ..." if len(words) > 8 else "")

    if isinstance(exc, UnexpectedCharacters):
        ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        msg = f"unexpected character {ch!r}"
    elif isinstance(exc, UnexpectedToken):
        tok = exc.token
        what = "end of line" if tok.type.endswith("NL") else "end of input" if tok.type == "$END" else repr(str(tok))
        msg = f"unexpected {what}; expected {expected(exc.expected)}"
    elif isinstance(exc, UnexpectedEOF):
        msg = f"unexpected end of input; expected {expected(exc.expected)}"
    else:  # pragma: no cover
        msg = str(exc)
    return InputError(msg, Loc(path, line, col), line_of(text, line))
