"""Cisco ASA access lists (running-config or `show running-config access-list` output).

One ruleset per ACL, named after it, default deny (the implicit deny).  Network
objects and groups become named addresses; service, protocol and ICMP groups
are expanded into each rule (source ports become conditions).  Lines that are
not about access lists are ignored.
"""

from __future__ import annotations

import re

from ...model.names import is_digits
from ..common.cisco import ASA_MARKS, IOS_MARKS
from .lists import load

__all__ = ["NAME", "detect", "load"]

NAME = "cisco-asa"


def detect(text: str, path: str) -> int:
    """Content only: access-list entries in ASA/PIX form, with ASA-only lines and no IOS-only ones.

    `access-list NAME permit ...` without `extended` is PIX 6 (and ASA) syntax, and IOS's numbered
    lists look the same: a numeric NAME counts only with ASA-only lines around it."""
    head = text[:200000]
    entries = re.findall(r"^access-list (\S+) (line [0-9]+ )?(extended |standard )?(permit|deny|remark)\b", head, re.M)
    named = sum(1 for e in entries if not is_digits(e[0]) or e[2])
    asa = len(ASA_MARKS.findall(head))
    if IOS_MARKS.search(head) and asa == 0:
        return 0
    if entries and asa:
        return 92
    if named:
        return 86
    return 40 if asa else 0
