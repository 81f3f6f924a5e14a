"""Palo Alto Networks PAN-OS: `set` configurations (grammars/setlines.lark) and XML configurations
(xmlform, read as the same set lines).  The security rules of each vsys (or Panorama device group, with
the shared pre- and post-rules) are one first-match ruleset, the default rules last (convert).
"""

from __future__ import annotations

import re

from ...model.ruleset import Ruleset

NAME = "panos"


def detect(text: str, path: str) -> int:
    head = text[:400000]
    if re.search(
        r"^set (vsys \S+ |device-group \S+ |shared )?(pre-|post-)?rulebase (security|application-override)", head, re.M
    ):
        return 95
    if head.lstrip().startswith("<") and re.search(r"<(pre-|post-)?rulebase>", head) and "<security>" in head:
        return 95
    if re.search(r"^set (deviceconfig|zone \S+ network|address-group|service-group)\s", head, re.M):
        return 70
    return 0


def load(text: str, path: str, inventory=None, **_options) -> list[Ruleset]:
    from ..common import setlines
    from .convert import Config, rulesets
    from .xmlform import set_lines

    if text.lstrip().startswith("<"):
        lines, notes = set_lines(text, path), []
    else:
        lines, notes = setlines.parse(text, path)
    return rulesets(Config(path, text, lines, notes), inventory)
