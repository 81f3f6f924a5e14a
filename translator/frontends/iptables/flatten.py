"""User chains flattened into first-match order (jumps followed, RETURNs excluded), under the
stateful model: a connection is decided by its first packet (docs/semantics.md, "Stateful model:
iptables")."""

from __future__ import annotations

from ...model.ruleset import ALLOW, Condition, Skipped, Warning_
from .match import IptablesTable, IptRule, Match
from .options import BUILTIN, NON_TERMINAL, TERMINAL
from .reader import IptablesReader

MAX_GUARDS = 64
LATER_ONLY = (
    "matches only packets after a connection's first one; dropping them breaks connections whose first "
    "packet is accepted, which NetworkPolicy cannot say: the deny is applied to the whole connection"
)


class Flattener:
    """Rules of the chains reached from one built-in chain, in first-match order.

    OUT: the terminal rules (ACCEPT, DROP, REJECT) each path into them gives, with the Match of
    that path; SKIPPED: the rule lines that make no rule (see _skip); SEEN: the ids of every line
    some packet can reach and match; NEW_ONLY: allows whose match restricts the connection state
    and still takes every first packet (the "new connection" forms)."""

    def __init__(self, table: IptablesTable, rd: IptablesReader):
        self.table, self.rd = table, rd
        self.out: list[tuple[IptRule, Match, tuple[str, ...]]] = []
        self.skipped: dict[tuple[str, str], Skipped] = {}
        self.seen: set[str] = set()
        self.new_only: dict[str, str] = {}  # rule id -> the options that say "new connection"

    def _skip(self, r: IptRule, reason: str) -> None:
        self.skipped.setdefault((r.id, reason), Skipped(r.id, reason, r.loc))

    def chain(self, name: str, guard: Match, via: tuple[str, ...], stack: tuple[str, ...]) -> None:
        live = [guard]
        for r in self.table.rules.get(name, []):
            if not live:
                return
            t = r.target
            hits = [m for g in live for m in [g & r.match] if m is not None]
            if not hits:
                continue
            self.seen.add(r.id)
            if r.skip:
                self._skip(r, r.skip)
                continue
            if t in TERMINAL:
                for m in hits:
                    self.terminal(r, m, via)
            elif t == "RETURN" or t in self.table.chains:
                if t != "RETURN":
                    if t in BUILTIN:
                        raise self.rd.fail_at(f"cannot jump to built-in chain {t}", r.loc)
                    if t in stack:
                        raise self.rd.fail_at(f"chain loop: {' -> '.join(stack + (t,))}", r.loc)
                    for m in hits:
                        self.chain(t, m, via + (r.id,), stack + (t,))
                if t == "RETURN" or r.goto:
                    if r.match.conn.first:
                        live = self.exclude(live, r)
                    elif t == "RETURN":  # a goto's chain is followed above; only the return is void
                        why = " and ".join(r.match.conn.why)
                        self._skip(
                            r,
                            f"RETURN with {why}: it takes no connection's first packet, so no connection "
                            f"leaves {name} here (later packets of connections are not decided by rules)",
                        )
            elif t in NON_TERMINAL:
                self._skip(r, f"target {t} does not end matching: it decides nothing")
            elif t == "":
                self._skip(r, "no target (-j): the rule only counts packets")
            else:
                raise self.rd.fail_at(f"jump to {t!r}: no such chain in this table and not a known target", r.loc)

    def terminal(self, r: IptRule, m: Match, via: tuple[str, ...]) -> None:
        """One path's match of an ACCEPT, DROP or REJECT, read under the stateful model."""
        conn, why = m.conn, " and ".join(m.conn.why)
        if TERMINAL[r.target] == ALLOW:
            if not conn.first:
                self._skip(
                    r,
                    f"{why} takes only packets after a connection's first one (replies, the rest of the "
                    "stream): NetworkPolicy allows those with the connection"
                    if conn.later
                    else f"{why} matches only invalid packets: it allows no connection",
                )
                return
            if conn.why:
                self.new_only.setdefault(r.id, why)
        elif not conn.first:
            if not conn.later:
                self._skip(r, f"{why} matches only invalid packets: no packet of a valid connection")
                return
            m = Match(m.src, m.dst, m.svc, m.conds + (Condition(why, LATER_ONLY),), m.conn)
        self.out.append((r, m, via))

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
        return [Match(g.src, g.dst, g.svc, g.conds + (c,), g.conn) for g in live]
