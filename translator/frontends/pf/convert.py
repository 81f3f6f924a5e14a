"""pf's rules as the model's first-match rulesets.

pf decides by the *last* matching rule, unless a matching rule says `quick`, which decides at once;
no match passes.  So, exactly: the quick rules in order, then the others in reverse order, then pass.
An inline anchor's rules stand at its place, under its own criteria (with `quick`, its decision is
final: its rules become quick, in their own first-match order); an external anchor is unknown, so it
is read as a quick block of what it may match (the secure side), reported."""

from __future__ import annotations

from pathlib import PurePath

from ...errors import InputError, Loc, Warning_
from ...model.ruleset import ALLOW, DENY, Condition, Rule, Ruleset, Skipped, Svc
from ...model.space import ALL_V4, ALL_V6, FULL_SVC
from ..iptables.convert import addr_expr, host_bounds, model_rules
from ..iptables.flatten import Flattener, stage_denies
from ..iptables.match import ChainDecl, IptablesTable, IptRule, Match, MatchBounds
from .reader import PfFile
from .rule import PfRule, RuleReader

ALL_IP = ALL_V4 | ALL_V6
WHOLE = MatchBounds(ALL_IP, ALL_IP)
EVERYTHING = Match(WHOLE, WHOLE, FULL_SVC)
TRANSLATED = ("pass", "block", "match", "anchor")
NOT_FILTERING = {
    "scrub": "normalizes packets",
    "nat": "translates addresses",
    "rdr": "translates addresses",
    "binat": "translates addresses",
    "nat-anchor": "translates addresses",
    "rdr-anchor": "translates addresses",
    "binat-anchor": "translates addresses",
    "altq": "shapes traffic",
    "queue": "shapes traffic",
    "load": "loads an anchor's rules from a file, not read",
    "set": "sets an option",
    "antispoof": "adds block rules for an interface's networks, which need the interfaces' addresses",
    "include": "includes a file, not read",
}


class _Rd:
    def __init__(self, pf: PfFile):
        self.pf, self.everything = pf, EVERYTHING
        self.warnings: list[Warning_] = []
        self.out: dict = {}

    def fail_at(self, msg: str, loc: Loc) -> InputError:
        return self.pf.fail(msg, loc)


def rules_of(pf: PfFile, reader: RuleReader, warnings: list[Warning_]) -> tuple[list[PfRule], int]:
    """The file's rules (inline anchors with their bodies), and how many rule lines it has."""
    out, n = [], 0
    for items in pf.lines:
        head = items[0].text
        if head not in TRANSLATED:
            why = NOT_FILTERING.get(head)
            if why is None:
                raise pf.fail(f"unexpected {head!r}: a pf rule starts with pass, block, match or anchor", items[0].loc)
            if head == "antispoof":
                warnings.append(Warning_(f"antispoof {why}: its block rules are not translated", items[0].loc))
            elif head not in ("set", "scrub", "altq", "queue"):
                warnings.append(Warning_(f"{head} {why}: not translated (fw2np reads the filter rules)", items[0].loc))
            continue
        n += 1
        r = _rule(pf, reader, items, str(n))
        n += _count(r)
        out.append(r)
    return out, n


def _count(r: PfRule) -> int:
    return sum(1 + _count(x) for x in r.body or [])


def _rule(pf: PfFile, reader: RuleReader, items, rid: str) -> PfRule:
    r = reader.rule(items, rid)
    if r.action == "anchor" and items[-1].kind == "set":
        r.body = [_rule(pf, reader, line, f"{rid}.{k}") for k, line in enumerate([x for x in items[-1].elems if x], 1)]
    return r


def first_match(
    rules: list[PfRule], direction: str, guard: Match, skipped: list[Skipped]
) -> list[tuple[PfRule, Match]]:
    """RULES for packets of DIRECTION under GUARD, in first-match order (the module's docstring)."""
    quick, later = _split(rules, direction, guard, skipped)
    return quick + later[::-1]


def _split(rules, direction, guard, skipped) -> tuple[list, list]:
    """(the quick rules, the others), each in file order, anchors opened."""
    quick: list[tuple[PfRule, Match]] = []
    later: list[tuple[PfRule, Match]] = []
    for r in rules:
        if r.direction not in (None, direction):
            continue
        m = guard & r.match
        if m is None:
            continue
        if r.action == "match":
            skipped.append(Skipped(r.id, "a match rule sets options and decides nothing", r.loc))
            continue
        if r.action == "anchor":
            if r.body is None:
                why = f"the rules of anchor {r.anchor} are not in this file (loaded apart): read as a quick block"
                c = Condition(f"anchor {r.anchor}", why)
                ext = PfRule(r.id, r.loc, r.text, DENY, True, r.direction, Match(m.src, m.dst, m.svc, m.conds + (c,)))
                quick.append((ext, ext.match))
                continue
            q, lt = _split(r.body, direction, m, skipped)
            if r.quick:  # its decision is final: its own first-match order, all of it quick
                quick += q + lt[::-1]
            else:
                quick, later = quick + q, later + lt
            continue
        (quick if r.quick else later).append((r, m))
    return quick, later


def rulesets(pf: PfFile, host_addresses: list[str] | None) -> list[Ruleset]:
    path = pf.path
    stem = PurePath(path).stem or "pf"
    warnings: list[Warning_] = []
    host = host_bounds(host_addresses, path, 4) if host_addresses else None
    reader = RuleReader(pf, host)
    rules, lines = rules_of(pf, reader, warnings)
    if not rules:
        raise InputError("no pass or block rule in this file", Loc(path, 1))
    if pf.skip:
        warnings.append(
            Warning_(f"set skip on {', '.join(pf.skip)}: pf does not filter there (loopback, as a rule)", None)
        )
    rd = _Rd(pf)
    skipped: list[Skipped] = []
    rs = Ruleset(name=stem, source=path, default=DENY, text=pf.text)
    shaped: set[str] = set()
    if host is not None:
        rs.protects = addr_expr(host)
        for direction in ("in", "out"):
            guard = Match(WHOLE, host, FULL_SVC) if direction == "in" else Match(host, WHOLE, FULL_SVC)
            t = _table(first_match(rules, direction, guard, skipped), direction)
            flat = Flattener(t, rd)
            flat.chain(direction, guard, (), (direction,))
            rs.rules += model_rules(flat)
            skipped += flat.skipped.values()
            rs.rules.append(_pass_rule(guard, direction))
    else:
        warnings.append(
            Warning_(
                "no --host: read as a router, where a forwarded packet must pass the in rules (on the interface "
                "it enters) and the out rules (on the one it leaves); with --host WORKLOAD the in rules govern "
                "traffic to that workload and the out rules traffic from it",
                None,
            )
        )
        t_in = _table(first_match(rules, "in", EVERYTHING, skipped), "in")
        flat_in, denies, shaped = stage_denies(t_in, rd, "in", EVERYTHING)
        rs.rules += model_rules(flat_in, denies)
        skipped += flat_in.skipped.values()
        t_out = _table(first_match(rules, "out", EVERYTHING, skipped), "out")
        flat = Flattener(t_out, rd)
        flat.chain("out", EVERYTHING, (), ("out",))
        rs.rules += model_rules(flat)
        skipped += flat.skipped.values()
        rs.rules.append(_pass_rule(EVERYTHING, "out"))
    made = {r.id for r in rs.rules}
    rs.folded = len(shaped - made)
    gone = {s.id for s in skipped} | made | shaped
    for r in _walk(rules):
        if r.id not in gone and r.body is None:
            why = (
                "it decides no packet: in pf's order (the quick rules first, then the last matching rule) the "
                "rules that decide before it take everything it matches"
                if r.direction is None or host is not None or r.direction == "out"
                else "it decides no packet: the in rules' accepts before it take everything it matches, and "
                "only the in rules' blocks shape a forwarded packet's fate there"
            )
            skipped.append(Skipped(r.id, why, r.loc))
    rs.skipped = sorted({s.id: s for s in skipped if s.id not in made}.values(), key=lambda s: (s.loc.line or 0, s.id))
    rs.lines = lines
    rs.warnings = list(dict.fromkeys(warnings + rd.warnings))
    return [rs]


def _walk(rules: list[PfRule]):
    for r in rules:
        yield r
        yield from _walk(r.body or [])


def _table(ordered: list[tuple[PfRule, Match]], chain: str) -> IptablesTable:
    t = IptablesTable("filter", Loc(""))
    t.chains[chain] = ChainDecl("ACCEPT", Loc(""))
    t.rules[chain] = [
        _PfIptRule(chain, r.id, r.loc, r.text, m, "ACCEPT" if r.action == ALLOW else "DROP") for r, m in ordered
    ]
    return t


class _PfIptRule(IptRule):
    """A pf rule in the flattener: its id is pf's (the rule's number in the file)."""

    __slots__ = ()

    @property
    def id(self) -> str:
        return str(self.pos)


def _pass_rule(guard: Match, direction: str) -> Rule:
    return Rule(
        id=f"default-{direction}",
        action=ALLOW,
        src=addr_expr(guard.src),
        dst=addr_expr(guard.dst),
        services=(Svc.any(),),
        loc=Loc(""),
        comment=f"pf passes what no rule matches ({direction})",
    )
