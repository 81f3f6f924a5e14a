"""pf (OpenBSD and FreeBSD packet filter): pf.conf files, lines in grammars/pf.lark.

pf decides by the last matching rule unless one says `quick`; the rules are put in first-match order
exactly (convert).  With `--host WORKLOAD` the in rules govern the workload's incoming traffic and the
out rules its outgoing traffic; without it, the file is read as a router's (a forwarded packet passes
both).  Modules, in pipeline order: reader (lines, macros, tables), rule (one rule line), convert.
"""

from __future__ import annotations

import re

from ...model.ruleset import Ruleset

NAME = "pf"


def detect(text: str, path: str) -> int:
    head = text[:20000]
    rules = len(
        re.findall(r"^\s*(pass|block)(\s+(in|out|quick|log|drop|return|inet6?|proto|from|all|on))+\b", head, re.M)
    )
    if rules >= 2 or (rules and re.search(r"^\s*(set skip on|table\s+<|scrub\s)", head, re.M)):
        return 90
    return 60 if rules else 0


def load(text: str, path: str, host_addresses: list[str] | None = None, **_options) -> list[Ruleset]:
    from .convert import rulesets
    from .reader import read

    return rulesets(read(text, path), host_addresses)
