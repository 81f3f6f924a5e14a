"""User chains flattened into first-match order (jumps followed, RETURNs excluded), under the
stateful model: a connection is decided by its first packet (docs/semantics.md, "Stateful model:
iptables")."""

from __future__ import annotations

from ...model.ruleset import ALLOW, Condition, Skipped, Warning_
from .match import ChainDecl, IptablesTable, IptRule, Match
from .options import NON_TERMINAL, TERMINAL, builtin_chains
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
        self.done: set[tuple[str, Match]] = set()  # (chain, guard) walked
        self.visits = 0  # rule lines walked, over every (chain, guard)
        self.ends: list[Match] = []  # what falls off the end of a chain (the start chain's: its policy)
        self.builtin = builtin_chains(table.name)

    def _skip(self, r: IptRule, reason: str) -> None:
        self.skipped.setdefault((r.id, reason), Skipped(r.id, reason, r.loc))

    def chain(self, name: str, guard: Match, via: tuple[str, ...] = (), stack: tuple[str, ...] = ()) -> None:
        """Follow chain NAME for the packets GUARD matches, jumps included, without recursion: a stack of
        chain walks (generators), each yielding the jumps it makes. A chain already walked with the same
        guard is not walked again: its rules, with the same matches, would come after their first copies
        in first-match order, where they decide nothing (so shared chains, as in a diamond of jumps, cost
        once per distinct guard, never once per path). Jumps nest at most FW2NP_MAX_DEPTH deep."""
        from ... import limits

        depth_max, visits_max = limits.max_depth(), limits.max_jump_visits()
        path = list(stack) or [name]
        walks = [self._walk(name, guard, via)]
        self.done.add((name, guard))
        while walks:
            try:
                jump = next(walks[-1])
            except StopIteration:
                walks.pop()
                path.pop()
                continue
            r, t, m, via2 = jump
            if t in path:
                raise self.rd.fail_at(f"chain loop: {' -> '.join(path + [t])}", r.target_loc or r.loc)
            if (t, m) in self.done:
                continue
            if len(path) >= depth_max:
                raise self.rd.fail_at(
                    f"chain jumps nest deeper than {depth_max} levels ({' -> '.join(path[:3])} -> ... -> "
                    f"{path[-1]} -> {t}); set FW2NP_MAX_DEPTH to read deeper nesting",
                    r.target_loc or r.loc,
                )
            self.visits += len(self.table.rules.get(t, ())) + 1
            if visits_max and self.visits > visits_max:
                raise self.rd.fail_at(
                    f"following the jumps into {t} makes more than {visits_max:,} rule visits: the chains "
                    "reach each other along too many distinct matches (as in a diamond of jumps whose "
                    "branches match differently); set FW2NP_MAX_JUMP_VISITS (0: no bound) to go on anyway",
                    r.target_loc or r.loc,
                )
            self.done.add((t, m))
            path.append(t)
            walks.append(self._walk(t, m, via2))

    def _walk(self, name: str, guard: Match, via: tuple[str, ...]):
        """Walk the rules of NAME for GUARD; yields (rule, chain, match, via) for each jump to follow."""
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
                    if t in self.builtin:
                        raise self.rd.fail_at(f"cannot jump to built-in chain {t}", r.loc)
                    for m in hits:
                        yield r, t, m, via + (r.id,)
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
            elif self.table.name != "filter":
                self._skip(r, f"target {t} is not one fw2np knows in table {self.table.name}: read as deciding nothing")
            else:
                raise self.rd.fail_at(f"jump to {t!r}: no such chain in this table and not a known target", r.loc)
        self.ends.extend(live)

    def terminal(self, r: IptRule, m: Match, via: tuple[str, ...]) -> None:
        """One path's match of an ACCEPT, DROP or REJECT, read under the stateful model."""
        conn, why = m.conn, " and ".join(m.conn.why)
        if TERMINAL[r.target] == ALLOW:
            if not conn.first and self.table.name != "filter":
                self._skip(
                    r,
                    f"ACCEPT in table {self.table.name} with {why} takes no connection's first packet: it lets "
                    f"no connection skip the later rules of {self.table.name} (and allows nothing: the filter "
                    "table decides)",
                )
                return
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


def stage_denies(table: IptablesTable, rd: IptablesReader, chain: str, guard: Match):
    """What built-in chain CHAIN of a table other than filter (raw, mangle, security) denies of GUARD, as
    (rule, match, via) denies in first-match order, with the flattener that walked it and the ids of the
    ACCEPTs that shaped them. An ACCEPT there only ends the table's walk (the packet goes on to the next
    table), so it allows nothing: it takes what it matches away from the DROPs after it (and from the
    chain's policy). A DROP or REJECT denies; a DROP policy denies what no ACCEPT took."""
    flat = Flattener(table, rd)
    flat.chain(chain, guard, (), (chain,))
    live, out, shaped = [guard], [], set()
    for r, m, via in flat.out:
        if not live:
            break
        if TERMINAL[r.target] == ALLOW:
            shaped.add(r.id)
            neg = m.negate(rd.everything, r.id)
            split = [x for g in live for d in neg for x in [g & d] if x is not None]
            if len(split) > MAX_GUARDS:
                c = Condition(f"not matched by {r.id} (ACCEPT)", "ACCEPT exclusion too large to expand")
                split = [Match(g.src, g.dst, g.svc, g.conds + (c,), g.conn) for g in live]
            live = split
        else:
            out += [(r, x, via) for g in live for x in [g & m] if x is not None]
    decl = table.chains.get(chain, ChainDecl("ACCEPT", table.loc))
    if decl.policy == "DROP" and live:
        pol = IptRule(chain, "policy", decl.loc, f":{chain} DROP", rd.everything, "DROP", table=table.name)
        pol.comment = f"policy of chain {chain} in table {table.name} (DROP)"
        out += [(pol, g, ()) for g in live]
    return flat, out, shaped
