"""Locate the grammars and templates, in a wheel or in a source checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # translator/


def _find(name: str) -> Path:
    for base in (_PACKAGE / name, _PACKAGE.parent / name):
        if base.is_dir():
            return base
    raise FileNotFoundError(f"fw2np installation is missing its {name}/ folder")


def grammar_path(name: str) -> Path:
    """Path of grammars/NAME."""
    return _find("grammars") / name


def templates_dir() -> Path:
    """The templates/ folder."""
    return _find("templates")


@cache
def lalr_parser(name: str, positions: bool = False):
    """The LALR parser (contextual lexer) of grammars/NAME, built once.

    positions: keep line/column on tree nodes (and no placeholders for missing optionals)."""
    from lark import Lark

    extra = {"propagate_positions": True, "maybe_placeholders": False} if positions else {}
    return Lark(grammar_path(name).read_text(), parser="lalr", lexer="contextual", **extra)
