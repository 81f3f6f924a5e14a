"""Locate the grammars and templates, in a wheel or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for base in (_HERE / name, _HERE.parent / name):
        if base.is_dir():
            return base
    raise FileNotFoundError(f"fw2np installation is missing its {name}/ folder")


def grammar_path(name: str) -> Path:
    """Path of grammars/NAME."""
    return _find("grammars") / name


def templates_dir() -> Path:
    """The templates/ folder."""
    return _find("templates")
