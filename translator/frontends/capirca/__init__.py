"""Capirca / aerleon policies (.pol, with `#include`d .inc files, grammars/capirca.lark; or aerleon's
YAML) and their definitions (NETWORK.net, SERVICES.svc, grammars/capirca_defs.lark, or aerleon's YAML,
in a `def/` folder beside or above the policy, or `--definitions DIR`).

Each header and its terms is one filter, one ruleset: terms in order (first match), the filter's
implicit deny last.  A `k8s` target (INGRESS, or `k8s EGRESS`) governs every pod's traffic in that
direction; other targets are read as a router's filter over sources and destinations, of the
family the target names (inet by default).  Modules: policy (the .pol form), yamlform (aerleon's YAML
as the same blocks), definitions (the .net/.svc and YAML definitions), convert (rulesets).
"""

from __future__ import annotations

import re

from ...model.ruleset import Ruleset

NAME = "capirca"


def detect(text: str, path: str) -> int:
    head = text[:20000]
    if re.search(r"^filters:\s*$", head, re.M) and re.search(r"^\s+(- )?header:\s*$", head, re.M):
        return 95  # aerleon's YAML
    header = re.search(r"^\s*header\s*\{", head, re.M)
    term = re.search(r"^\s*term\s+\S+\s*\{", head, re.M)
    if header and (term or re.search(r"^\s*target::", head, re.M)):
        return 95
    if term and re.search(r"^\s*[a-z-]+::", head, re.M):
        return 80  # an include file of terms
    return 0


def part_of_a_policy(text: str, path: str) -> str | None:
    """Why PATH is a piece of a capirca policy rather than a policy (definitions, an include file), or None."""
    head = text[:20000]
    if path.endswith((".net", ".svc")) and re.search(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*\s*=", head, re.M):
        return "capirca definitions, read with the policies that use them"
    if not re.search(r"^\s*header\s*\{", head, re.M) and re.search(r"^\s*term\s+\S+\s*\{", head, re.M):
        if re.search(r"^\s*[a-z-]+::", head, re.M):
            return "a capirca include file, read with the policies that include it"
    return None


def load(text: str, path: str, definitions: str | None = None, **_options) -> list[Ruleset]:
    from .convert import rulesets
    from .definitions import find_definitions, read_definitions
    from .policy import read_policy

    if re.search(r"^filters:\s*$", text[:20000], re.M):
        from .yamlform import read_yaml_policy

        pol = read_yaml_policy(text, path)
    else:
        pol = read_policy(text, path)
    folder = find_definitions(path, definitions)
    return rulesets(pol, read_definitions(folder) if folder else None)
