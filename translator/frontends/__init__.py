"""Frontends: one per input dialect, each producing `model.ruleset.Ruleset`s.

A frontend is a module with `NAME`, `detect(text, path) -> int` (confidence,
0 = not mine) and `load(text, path, **options) -> list[Ruleset]`.

May import: errors, limits, io, model.
"""

from __future__ import annotations

from importlib import import_module

from ..errors import InputError, Loc
from ..io.text import read_text
from ..model.ruleset import Ruleset

FRONTENDS = ["rules", "iptables", "cisco-asa", "cisco-ios", "azure-nsg", "gcp", "aws-nacl", "csv-rules"]


ALIASES = {"csv": "csv-rules", "asa": "cisco-asa", "ios": "cisco-ios", "nsg": "azure-nsg", "nacl": "aws-nacl"}


def _module(name: str):
    return import_module(f"{__name__}.{name.replace('-', '_')}")


def detect(text: str, path: str) -> str:
    """The name of the frontend that fits TEXT best."""
    best, score = None, 0
    for name in FRONTENDS:
        s = _module(name).detect(text, path)
        if s > score:
            best, score = name, s
    if best is None:
        raise InputError(f"cannot tell the input format (use --from, one of: {', '.join(FRONTENDS)})", Loc(path))
    return best


def load(path: str, fmt: str | None = None, **options) -> list[Ruleset]:
    """Parse PATH with frontend FMT (detected when None)."""
    text = read_text(path)
    fmt = ALIASES.get(fmt, fmt) if fmt else fmt
    if fmt is None:
        fmt = detect(text, path)
    elif fmt not in FRONTENDS:
        raise InputError(f"unknown input format {fmt!r} (one of: {', '.join(FRONTENDS)})")
    return _module(fmt).load(text, path, **options)
