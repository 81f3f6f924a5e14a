"""The grammars' terminals as regexes (for the fast line scanners) and lark's syntax errors as InputErrors."""

from __future__ import annotations

import re
from functools import lru_cache

from ...io.resources import lalr_parser


@lru_cache(maxsize=None)
def terminal_regex(grammar: str, name: str) -> str:
    """The regex of terminal NAME of grammars/GRAMMAR, as lark matches it."""
    return lalr_parser(grammar).get_terminal(name).pattern.to_regexp()


@lru_cache(maxsize=None)
def terminal(grammar: str, name: str) -> re.Pattern:
    """terminal_regex compiled."""
    return re.compile(terminal_regex(grammar, name))
