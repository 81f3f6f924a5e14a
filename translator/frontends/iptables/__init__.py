"""iptables-save / ip6tables-save files (the filter table), grammar in grammars/iptables.lark.

INPUT and OUTPUT protect one host (`host_addresses`): they become one ruleset
(INPUT rules with dst = host, INPUT's policy, OUTPUT rules with src = host,
OUTPUT's policy, then deny).  FORWARD becomes `<stem>-forward`.  User chains
are flattened in first-match order: a RETURN excludes what it matches from the
rest of its chain (split on the complement, or a secure-side condition when
that would explode).

Modules, in pipeline order: options (tables), scanner (records), reader (one rule's
options), match (what rules match), tables (the file's tables), flatten (chains in
first-match order), convert (rulesets).
"""

from __future__ import annotations

import re

from ...model.ruleset import Ruleset
from .convert import rulesets

NAME = "iptables"


def detect(text: str, path: str) -> int:
    head = text[:20000]
    tables = re.search(r"^\*(filter|nat|mangle|raw|security)\s*$", head, re.M)
    rules = len(re.findall(r"^(\[[0-9]+:[0-9]+\]\s+)?-A\s+\S+", head, re.M))
    if tables and re.search(r"^COMMIT\s*$", head, re.M):
        return 95
    if tables or rules >= 2:
        return 70
    return 0


def load(text: str, path: str, host_addresses: list[str] | None = None, **_options) -> list[Ruleset]:
    from ..rules import no_gc

    with no_gc():
        return rulesets(text, path, host_addresses)
