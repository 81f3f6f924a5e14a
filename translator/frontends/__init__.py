"""Frontends: one per input dialect, each producing `model.ruleset.Ruleset`s.

A frontend is a module with `NAME`, `detect(text, path) -> int` (confidence,
0 = not mine) and `load(text, path, **options) -> list[Ruleset]`.

May import: errors, limits, io, model.
"""

from __future__ import annotations

import re
from importlib import import_module

from ..errors import InputError, Loc
from ..io.text import read_text
from ..model.ruleset import Ruleset

FRONTENDS = [
    "rules",
    "iptables",
    "nftables",
    "pf",
    "cisco-asa",
    "cisco-ios",
    "azure-nsg",
    "gcp",
    "aws-nacl",
    "csv",
    "capirca",
    "junos",
    "fortigate",
    "panos",
    "checkpoint",
]
MODULES = {"csv": "csv_rules"}

ALIASES = {
    "csv-rules": "csv",
    "asa": "cisco-asa",
    "ios": "cisco-ios",
    "nsg": "azure-nsg",
    "nacl": "aws-nacl",
    "nft": "nftables",
    "aerleon": "capirca",
    "fortios": "fortigate",
    "pan-os": "panos",
}

# formats fw2np does not read, told apart so that an error names them instead of guessing
UNSUPPORTED = (("Terraform", re.compile(r'^resource\s+"[a-z0-9_]+"\s+"[^"]+"\s*\{', re.M)),)


def _module(name: str):
    return import_module(f"{__name__}.{MODULES.get(name, name.replace('-', '_'))}")


SURE = 90  # a detection score from which the format is not named in errors


def detect(text: str, path: str) -> str:
    """The name of the frontend that fits TEXT best (each scores the content; the highest wins)."""
    return _detect(text, path)[0]


def _detect(text: str, path: str) -> tuple[str, int]:
    best, score = None, 0
    for name in FRONTENDS:
        s = _module(name).detect(text, path)
        if s > score:
            best, score = name, s
    if best is None:
        head = text[:200000]
        known = next((what for what, rx in UNSUPPORTED if rx.search(head)), None)
        if known:
            raise InputError(
                f"this looks like a {known} configuration, which fw2np does not read (formats: {', '.join(FRONTENDS)})",
                Loc(path),
            )
        raise InputError(f"cannot tell the input format (use --from, one of: {', '.join(FRONTENDS)})", Loc(path))
    return best, score


# how an error names a format: "it looks like a Cisco ASA ruleset"
SHOWN = {
    "rules": "an fw2np ruleset",
    "iptables": "an iptables ruleset",
    "nftables": "an nftables ruleset",
    "pf": "a pf ruleset",
    "cisco-asa": "a Cisco ASA ruleset",
    "cisco-ios": "a Cisco IOS ruleset",
    "azure-nsg": "an Azure NSG ruleset",
    "gcp": "a GCP firewall ruleset",
    "aws-nacl": "an AWS network ACL ruleset",
    "csv": "a CSV ruleset",
    "capirca": "a capirca policy",
    "junos": "a Junos configuration",
    "fortigate": "a FortiGate configuration",
    "panos": "a PAN-OS configuration",
    "checkpoint": "a Check Point rulebase",
}


def ruleset_format(text: str, path: str) -> str | None:
    """What ruleset format TEXT looks like, as an error names it ('an iptables ruleset'), or None."""
    try:
        name, _ = _detect(text, path)
    except InputError:
        return None
    return SHOWN[name]


def load(path: str, fmt: str | None = None, text: str | None = None, **options) -> list[Ruleset]:
    """Parse PATH with frontend FMT (detected when None); TEXT: PATH's text when already read (a FIFO
    can be read once only)."""
    text = read_text(path) if text is None else text
    fmt = ALIASES.get(fmt, fmt) if fmt else fmt
    score = SURE
    if fmt is None:
        fmt, score = _detect(text, path)
    elif fmt not in FRONTENDS:
        raise InputError(f"unknown input format {fmt!r} (one of: {', '.join(FRONTENDS)})")
    try:
        return _module(fmt).load(text, path, **options)
    except InputError as exc:
        if score < SURE:  # a guess from weak signs: say which format the error speaks of
            exc.message += f" (read as --from {fmt}, detected from the content)"
        raise
