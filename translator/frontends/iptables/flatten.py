"""User chains flattened into first-match order (jumps followed, RETURNs excluded)."""

from __future__ import annotations

from ...model.ruleset import Condition, Warning_
from .match import IptablesTable, IptRule, Match
from .options import BUILTIN, NON_TERMINAL, TERMINAL
from .reader import IptablesReader

MAX_GUARDS = 64


class Flattener:
    def __init__(self, table: IptablesTable, rd: IptablesReader):
        self.table, self.rd = table, rd
        self.out: list[tuple[IptRule, Match, tuple[str, ...]]] = []

    def chain(self, name: str, guard: Match, via: tuple[str, ...], stack: tuple[str, ...]) -> None:
        live = [guard]
        for r in self.table.rules.get(name, []):
            if not live:
                return
            if r.skip:
                self.rd.warnings.append(Warning_(f"skipped: {r.skip}", r.loc, r.id))
                continue
            t = r.target
            if t in TERMINAL:
                for g in live:
                    m = g & r.match
                    if m is not None:
                        self.out.append((r, m, via))
            elif t == "RETURN" or t in self.table.chains:
                if t != "RETURN":
                    if t in BUILTIN:
                        raise self.rd.fail_at(f"cannot jump to built-in chain {t}", r.loc)
                    if t in stack:
                        raise self.rd.fail_at(f"chain loop: {' -> '.join(stack + (t,))}", r.loc)
                    for g in live:
                        m = g & r.match
                        if m is not None:
                            self.chain(t, m, via + (r.id,), stack + (t,))
                if t == "RETURN" or r.goto:
                    live = self.exclude(live, r)
            elif t in NON_TERMINAL or t == "":
                continue  # LOG and friends do not end matching
            else:
                raise self.rd.fail_at(f"jump to {t!r}: no such chain in this table and not a known target", r.loc)

    def exclude(self, live: list[Match], r: IptRule) -> list[Match]:
        neg = r.match.negate(self.rd.everything, r.id)
        split = [m for g in live for d in neg for m in [g & d] if m is not None]
        if len(split) <= MAX_GUARDS:
            return split
        self.rd.warnings.append(
            Warning_(
                f"RETURN at {r.id}: excluding its match from the rest of {r.chain} would take {len(split)} "
                "rules; later rules of the chain carry it as a condition instead "
                "(allows never match, denies ignore it)",
                r.loc,
                r.id,
            )
        )
        c = Condition(f"not matched by {r.id} (RETURN)", "RETURN exclusion too large to expand")
        return [Match(g.src, g.dst, g.svc, g.conds + (c,)) for g in live]
