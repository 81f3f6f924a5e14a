"""Juniper Junos: `show configuration` in either form, the hierarchical one (grammars/junos.lark)
or `| display set` (grammars/setlines.lark).

Firewall filters (`firewall family inet|inet6 filter`) are one ruleset each, terms in order and the
implicit discard last; SRX security policies are one ruleset (`<stem>-security-policies`): each zone
pair's policies, the global policies, the default policy, with zones read from the inventory's
`zone:` of each workload.  Modules, in pipeline order: lines (both forms as set lines, deactivate and
apply-groups), objects (prefix lists, address books, applications), filters, srx.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from ...errors import InputError, Loc, Warning_
from ...model.ruleset import Ruleset

NAME = "junos"
_SET = re.compile(
    r"^set (firewall (family|filter)|security (policies|zones|address-book)|policy-options|applications)\s", re.M
)
_TREE = re.compile(r"^(firewall|security|policy-options|applications)\s*\{", re.M)


def detect(text: str, path: str) -> int:
    head = text[:200000]
    if _SET.search(head):
        return 95
    if _TREE.search(head) and re.search(r"^\s*(filter|policies|policy|term)\s", head, re.M):
        return 90
    if re.search(r"^(set )?version \d+\.\d+", head, re.M):
        return 60
    return 0


def load(text: str, path: str, inventory=None, **_options) -> list[Ruleset]:
    from . import filters, srx
    from .lines import read
    from .objects import Objects

    cfg = read(text, path)
    objs = Objects(cfg)
    out = filters.rulesets(cfg, objs)
    sec = srx.ruleset(cfg, objs, inventory, PurePath(path).stem or "junos")
    if sec is not None:
        out.append(sec)
    if not out:
        raise InputError("no firewall filter and no security policy in this configuration", Loc(path, 1))
    for rs in out:
        rs.warnings = [Warning_(msg, at) for msg, at in cfg.notes] + rs.warnings
    return out
