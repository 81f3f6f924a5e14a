"""A word of a keyword-driven configuration line (nftables, pf), with where it is."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import Loc


@dataclass
class Item:
    """A word (KIND 'w'), a quoted string ('str') or a braced list ('set', ELEMS: lists of items)."""

    kind: str
    text: str
    loc: Loc
    elems: list[list[Item]] = field(default_factory=list)
