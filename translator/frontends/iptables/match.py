"""What iptables rules match (address bounds, Match), and the rules and tables of a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from ...errors import Loc
from ...model.ruleset import Condition
from ...model.space import FULL_SVC, IntervalSet


@dataclass(frozen=True, slots=True)
class MatchBounds:
    """Addresses surely matched (lower) and maybe matched (upper); NOTES name what is unresolved."""

    lower: IntervalSet
    upper: IntervalSet
    notes: tuple[str, ...] = ()

    def __and__(self, o: MatchBounds) -> MatchBounds:
        if self.lower is self.upper and len(self.lower.iv) == 1 and not self.notes and len(o.notes) < 2:
            (lo, hi), x, y = self.lower.iv[0], o.lower.iv, o.upper.iv  # SELF is one interval: o when inside it
            if (not x or lo <= x[0][0] and x[-1][1] <= hi) and (not y or lo <= y[0][0] and y[-1][1] <= hi):
                return o
        lower, upper, notes = meet(self.lower, o.lower), meet(self.upper, o.upper), merge(self.notes, o.notes)
        if lower is o.lower and upper is o.upper and notes is o.notes:
            return o
        if lower is self.lower and upper is self.upper and notes is self.notes:
            return self
        return MatchBounds(lower, upper, notes)

    def negate(self, whole: IntervalSet) -> MatchBounds:
        return MatchBounds(whole - self.upper, whole - self.lower, self.notes)


def merge(a: tuple, b: tuple) -> tuple:
    if not a and len(b) < 2:
        return b
    if not b and len(a) < 2:
        return a
    return tuple(dict.fromkeys(a + b))


def meet(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    """a & b, without work when one of them is a single interval holding the other."""
    x, y = a.iv, b.iv
    if x and y:
        if len(y) == 1 and y[0][0] <= x[0][0] and x[-1][1] <= y[0][1]:
            return a
        if len(x) == 1 and x[0][0] <= y[0][0] and y[-1][1] <= x[0][1]:
            return b
    return a & b


@lru_cache(maxsize=4096)
def svc_meet(a: IntervalSet, b: IntervalSet) -> IntervalSet:
    """a & b for service sets (few distinct ones, many rules)."""
    return meet(a, b)


class Conn(NamedTuple):
    """Which packets of a connection a match can take (the stateful model, docs/semantics.md).

    FIRST: it takes the first packet of every connection its other dimensions match (False: of
    none; "some" is FIRST with a Condition). LATER: it may take later packets (replies, the rest
    of the stream). WHY: the options that restrict it (--ctstate, --syn, --tcp-flags)."""

    first: bool = True
    later: bool = True
    why: tuple[str, ...] = ()

    def __and__(self, o: Conn) -> Conn:
        if not o.why:
            return self
        if not self.why:
            return o
        return Conn(self.first and o.first, self.later and o.later, merge(self.why, o.why))


ANY_CONN = Conn()


@dataclass(frozen=True, slots=True)
class Match:
    """What a rule (or a chain of jumps) matches: a conjunction of four dimensions, and which
    packets of a connection it takes (CONN)."""

    src: MatchBounds
    dst: MatchBounds
    svc: IntervalSet
    conds: tuple[Condition, ...] = ()
    conn: Conn = ANY_CONN

    def __and__(self, o: Match) -> Match | None:
        src, dst, svc = self.src & o.src, self.dst & o.dst, svc_meet(self.svc, o.svc)
        if not (src.upper and dst.upper and svc):
            return None
        conds = merge(self.conds, o.conds)
        conn = self.conn & o.conn
        if src is o.src and dst is o.dst and svc is o.svc and conds is o.conds and conn is o.conn:
            return o
        return Match(src, dst, svc, conds, conn)

    def negate(self, everything: Match, rid: str) -> list[Match]:
        """Disjuncts of NOT self (each a Match), the others dimensions left whole.

        CONN is left out: the caller excludes a match only when it takes the first packet of
        every connection it matches (a RETURN of later packets changes no connection's path)."""
        out = []
        if self.src != everything.src:
            out.append(Match(self.src.negate(everything.src.upper), everything.dst, FULL_SVC))
        if self.dst != everything.dst:
            out.append(Match(everything.src, self.dst.negate(everything.dst.upper), FULL_SVC))
        if self.svc != FULL_SVC:
            out.append(Match(everything.src, everything.dst, FULL_SVC - self.svc))
        if self.conds:
            text = " and ".join(c.text for c in self.conds)
            out.append(
                Match(
                    everything.src,
                    everything.dst,
                    FULL_SVC,
                    (Condition(f"not ({text}) [{rid} RETURN]", "negated match condition"),),
                )
            )
        return [m for m in out if m.src.upper and m.dst.upper and m.svc]


@dataclass(slots=True)
class IptRule:
    chain: str
    pos: int | str
    loc: Loc
    text: str
    match: Match
    target: str = ""
    goto: bool = False
    skip: str = ""  # why an ACCEPT is left out (loopback)
    target_loc: Loc | None = None
    comment: str = ""
    table: str = "filter"

    @property
    def id(self) -> str:
        return f"{self.chain}:{self.pos}" if self.table == "filter" else f"{self.table}:{self.chain}:{self.pos}"


class ChainDecl(NamedTuple):
    """A chain's declaration: its policy (ACCEPT, DROP or '-') and where it is."""

    policy: str
    loc: Loc


@dataclass
class IptablesTable:
    """One table of the file: its chains (policy, where declared) and each chain's rules."""

    name: str
    loc: Loc
    chains: dict[str, ChainDecl] = field(default_factory=dict)
    rules: dict[str, list[IptRule]] = field(default_factory=dict)
    committed: bool = False
