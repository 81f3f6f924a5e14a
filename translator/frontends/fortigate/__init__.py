"""Fortinet FortiGate (FortiOS) configurations: `show` or `show full-configuration` output, blocks in
grammars/fortigate.lark.  Only the blocks the policies need are parsed (reader); the firewall policies
become one first-match ruleset (convert).
"""

from __future__ import annotations

import re

from ...model.ruleset import Ruleset

NAME = "fortigate"


def detect(text: str, path: str) -> int:
    head = text[:400000]
    if re.search(r"^config firewall policy6?\s*$", head, re.M):
        return 95
    if re.search(r"^config firewall (address|service custom|addrgrp)\s*$", head, re.M):
        return 80
    return 0


def load(text: str, path: str, inventory=None, **_options) -> list[Ruleset]:
    from .convert import rulesets
    from .reader import read

    return rulesets(read(text, path), inventory)
