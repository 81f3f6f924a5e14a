"""The definitions a policy's names come from: NETWORK.net / SERVICES.svc (grammars/capirca_defs.lark)
and aerleon's YAML definitions, from a `def/` folder beside or above the policy or `--definitions`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ...errors import InputError, Loc
from ...io.text import read_text
from .policy import Value, _loc, _parse
from .yamlform import read_yaml_definitions


@dataclass
class Definitions:
    """NAME -> its values (with where each is), from every .net and .svc file of a folder."""

    networks: dict[str, list[Value]] = field(default_factory=dict)
    services: dict[str, list[Value]] = field(default_factory=dict)
    folder: str = ""
    texts: dict[str, str] = field(default_factory=dict)


def find_definitions(policy_path: str, given: str | None) -> str | None:
    """The definitions folder: GIVEN, else a `def/` beside the policy or in a folder above it."""
    if given:
        return given
    base = os.path.dirname(os.path.abspath(policy_path))
    for _ in range(5):
        cand = os.path.join(base, "def")
        if os.path.isdir(cand):
            return cand
        base = os.path.dirname(base)
    return None


def read_definitions(folder: str) -> Definitions:
    d = Definitions(folder=folder)
    if not os.path.isdir(folder):
        raise InputError(f"--definitions: {folder} is not a folder", Loc(folder))
    for name in sorted(os.listdir(folder)):
        ext = os.path.splitext(name)[1]
        path = os.path.join(folder, name)
        if ext in (".yaml", ".yml"):  # aerleon's definitions
            text = read_text(path)
            d.texts[path] = text
            nets, svcs = read_yaml_definitions(text, path, d.texts)
            d.networks.update(nets)
            d.services.update(svcs)
            continue
        kind = {".net": d.networks, ".svc": d.services}.get(ext)
        if kind is None:
            continue
        text = read_text(path)
        d.texts[path] = text
        for node in _parse("capirca_defs.lark", text, path).children:
            name_tok, *vals = node.children
            kind[str(name_tok)] = [Value(str(v), _loc(path, v)) for v in vals]
    return d
