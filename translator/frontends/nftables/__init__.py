"""nftables: `nft list ruleset` output, nftables.conf files and `nft -j list ruleset` JSON (tables ip,
ip6, inet); the text form's structure in grammars/nftables.lark.

Base chains of type filter are taken by hook: input and output protect one host (`--host`), as
iptables' INPUT and OUTPUT do; forward becomes `<stem>-forward`.  Several base chains on one hook run
in priority order: an accept ends only its own chain, so the denies of the earlier ones come first.
Regular chains (jump, goto, return) are flattened exactly by the iptables flattener, under the same
stateful model (`ct state`, `tcp flags`).

Modules, in pipeline order: reader (the file's tables, chains, sets, defines, includes), jsonform
(the JSON form as the same structure), rule (what one rule line matches and its verdict), convert
(rulesets).
"""

from __future__ import annotations

import re

from ...model.ruleset import Ruleset

NAME = "nftables"


def detect(text: str, path: str) -> int:
    head = text[:20000]
    if head.lstrip()[:1] == "{" and re.match(r'\s*\{\s*"nftables"\s*:', head):
        return 95
    if re.search(r"^\s*table\s+(ip|ip6|inet)\s+\S+\s*\{", head, re.M) and re.search(
        r"\b(chain\s+\S+\s*\{|hook\s+(input|forward|output))", head
    ):
        return 95
    if re.search(r"^\s*(flush ruleset|table\s+(ip|ip6|inet|arp|bridge|netdev)\s+\S+\s*\{)", head, re.M):
        return 70
    return 0


def load(text: str, path: str, host_addresses: list[str] | None = None, **_options) -> list[Ruleset]:
    from ...io.jsonsrc import looks_like_json
    from .convert import rulesets
    from .jsonform import read_json
    from .reader import read

    nft = read_json(text, path) if looks_like_json(text) else read(text, path)
    return rulesets(nft, host_addresses)
