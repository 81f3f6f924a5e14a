"""nftables base chains as the model's rulesets, under netfilter's order of base chains."""

from __future__ import annotations

from pathlib import PurePath

from ...errors import InputError, Loc, Warning_
from ...model.ruleset import ALLOW, DENY, Rule, Ruleset, Skipped, Svc
from ...model.space import ALL_V4, ALL_V6, FULL_SVC
from ..iptables.convert import addr_expr, host_bounds, model_rules
from ..iptables.flatten import Flattener, stage_denies
from ..iptables.match import ChainDecl, IptablesTable, Match, MatchBounds
from .reader import Chain, NftFile, Table
from .rule import RuleReader

FAMILIES = {"ip": (4,), "ip6": (6,), "inet": (4, 6)}
WHOLE = {4: ALL_V4, 6: ALL_V6}
HOOKS = ("input", "forward", "output")


class _Rd:
    """What the iptables flattener needs of a reader: errors, warnings, the whole space, a cache."""

    def __init__(self, nft: NftFile, everything: Match):
        self.nft, self.everything = nft, everything
        self.warnings: list[Warning_] = []
        self.out: dict = {}

    def fail_at(self, msg: str, loc: Loc) -> InputError:
        return self.nft.fail(msg, loc)


def _whole(fams: tuple[int, ...]):
    out = WHOLE[fams[0]]
    for f in fams[1:]:
        out = out | WHOLE[f]
    return out


def _everything(fams: tuple[int, ...]) -> Match:
    w = MatchBounds(_whole(fams), _whole(fams))
    return Match(w, w, FULL_SVC)


def _passes(nft: NftFile, hook: str) -> list[tuple[int, ...]]:
    """The families to flatten HOOK for, together when the same base chains see both (inet only)."""
    v4, v6 = _base_chains(nft, hook, 4), _base_chains(nft, hook, 6)
    if v4 and [id(c) for _, c in v4] == [id(c) for _, c in v6]:
        return [(4, 6)]
    return [(4,), (6,)]


def _ipt_table(rd: RuleReader, table: Table, name: str, tid: str) -> IptablesTable:
    """TABLE's chains as an iptables table (the flattener's input); NAME 'filter' for the deciding chain."""
    t = IptablesTable(name, table.loc)
    for c in table.chains.values():
        t.chains[c.name] = ChainDecl("-" if c.hook is None else c.policy.upper(), c.policy_loc or c.loc)
    for c in table.chains.values():
        t.rules[c.name] = [r for k, items in enumerate(c.lines, 1) for r in rd.rules(c.name, k, items, tid)]
    return t


def _base_chains(nft: NftFile, hook: str, fam: int) -> list[tuple[Table, Chain]]:
    out = []
    for table in nft.tables.values():
        if fam not in FAMILIES.get(table.family, ()):
            continue
        for c in table.chains.values():
            if c.hook == hook and c.type == "filter":
                out.append((table, c))
    return sorted(out, key=lambda tc: tc[1].priority)  # stable: equal priorities in file order


def rulesets(nft: NftFile, host_addresses: list[str] | None) -> list[Ruleset]:
    path = nft.path
    stem = PurePath(path).stem or "nftables"
    warnings: list[Warning_] = []
    for table in nft.tables.values():
        if table.family not in FAMILIES:
            warnings.append(
                Warning_(f"table {table.family} {table.name} skipped: fw2np reads ip, ip6 and inet tables", table.loc)
            )
    for table in nft.tables.values():
        for c in table.chains.values():
            if c.hook is not None and c.type != "filter" and table.family in FAMILIES:
                warnings.append(Warning_(f"chain {c.name} (type {c.type}) skipped: it does not filter", c.loc))
    host_chains = [(t, c) for h in ("input", "output") for f in (4, 6) for t, c in _base_chains(nft, h, f)]
    host_lines = [c for _, c in host_chains if c.lines]
    if host_lines and not host_addresses:
        first = host_lines[0].lines[0][0]
        raise nft.fail(
            "the input/output chains protect one host: pass --host WORKLOAD (the inventory workload "
            "that replaces this host) so fw2np knows its addresses",
            first.loc,
        )
    out: list[Ruleset] = []
    state = _State(nft, warnings)
    if host_addresses and host_chains:
        host = host_bounds(host_addresses, path, 4)
        rs = Ruleset(name=stem, source=path, default=DENY, text=nft.text)
        rs.protects = addr_expr(host)
        for hook, is_in in (("input", True), ("output", False)):
            for fams in _passes(nft, hook):
                whole = _whole(fams)
                mine = MatchBounds(host.lower & whole, host.upper & whole)
                if not mine.upper:
                    continue
                ev = _everything(fams)
                guard = Match(ev.src, mine, FULL_SVC) if is_in else Match(mine, ev.dst, FULL_SVC)
                rs.rules += state.hook(hook, fams, guard, id(rs))
        rs.warnings.append(
            Warning_("read as a host firewall: the input and output base chains, for the --host workload", None)
        )
        out.append(rs)
    fwd = [(f, tc) for f in (4, 6) for tc in _base_chains(nft, "forward", f)]
    if any(c.lines for _, (_, c) in fwd) or (fwd and not out):
        rs = Ruleset(name=f"{stem}-forward", source=path, default=DENY, text=nft.text)
        for fams in _passes(nft, "forward"):
            rs.rules += state.hook("forward", fams, _everything(fams), id(rs))
        rs.warnings.append(Warning_("read as a central firewall: the forward base chains", None))
        out.append(rs)
    elif fwd:
        _, (_, c) = fwd[0]
        warnings.append(
            Warning_(f"chain {c.name} (hook forward) has no rules (policy {c.policy}): no forward ruleset", c.loc)
        )
    if not out:
        raise InputError("no filter base chain on the input, forward or output hook to translate", Loc(path, 1))
    for rs in out:
        rs.warnings = list(dict.fromkeys(rs.warnings + warnings + state.warnings()))
        state.account(rs)
    return out


class _State:
    """The flatteners of each (hook, family), for the rule-line accounting."""

    def __init__(self, nft: NftFile, warnings: list[Warning_]):
        self.nft, self.flats, self.base_warnings = nft, [], warnings
        self.shaped: dict[int, set[str]] = {}  # ruleset -> ids of earlier chains' accepts that shape its denies
        self.rds: list[_Rd] = []

    def warnings(self) -> list[Warning_]:
        return [w for rd in self.rds for w in rd.warnings]

    def hook(self, hook: str, fams: tuple[int, ...], guard: Match, owner: int) -> list[Rule]:
        """The rules of HOOK for the packets of families FAMS that GUARD matches: the denies of the base
        chains of lower priority first (an accept there only ends that chain), then the last chain,
        then its policy; no base chain: the kernel accepts."""
        chains = _base_chains(self.nft, hook, fams[0])
        ev = _everything(fams)
        rd = _Rd(self.nft, ev)
        self.rds.append(rd)
        name = " and ".join({4: "IPv4", 6: "IPv6"}[f] for f in fams)
        if not chains:
            if not any(_base_chains(self.nft, hook, f) for f in (4, 6) if f not in fams):
                return []
            rd.warnings.append(
                Warning_(
                    f"no {name} filter chain on hook {hook}: the kernel accepts those packets; the translation "
                    f"denies them (the secure side)",
                    None,
                )
            )
            return []
        out: list[Rule] = []
        for k, (table, c) in enumerate(chains):
            tid = f"{table.family}:{table.name}"
            reader = RuleReader(self.nft, table, ev)
            last = k == len(chains) - 1
            t = _ipt_table(reader, table, "filter" if last else f"{table.family} {table.name}", tid)
            if not last:
                flat, denies, shaped = stage_denies(t, rd, c.name, guard)
                self.shaped.setdefault(owner, set()).update(shaped)
                self.flats.append((owner, flat, c.name))
                out += model_rules(flat, denies)
                continue
            flat = Flattener(t, rd)
            flat.chain(c.name, guard, (), (c.name,))
            self.flats.append((owner, flat, c.name))
            out += model_rules(flat)
            act = ALLOW if c.policy == "accept" else DENY
            src, dst = addr_expr(guard.src), addr_expr(guard.dst)
            out.append(
                Rule(
                    id=f"{tid}:{c.name}:policy",
                    action=act,
                    src=src,
                    dst=dst,
                    services=(Svc.any(),),
                    loc=c.policy_loc or c.loc,
                    comment=f"policy of chain {c.name} ({c.policy}, {name})",
                )
            )
        return out

    def account(self, rs: Ruleset) -> None:
        """rs.lines: the rule lines of the chains that fed it (each once); each line that made no rule
        and shaped none (a jump, a return) is a Skipped entry with why."""
        made = {r.id for r in rs.rules}
        lines, skipped, seen = {}, {}, set()
        for owner, flat, start in self.flats:
            if owner != id(rs):
                continue
            seen |= flat.seen
            for k, v in flat.skipped.items():
                skipped.setdefault(k, v)
            for chain in _fed(flat.table, start):
                for r in flat.table.rules.get(chain, []):
                    lines.setdefault(r.id.rsplit(".", 1)[0] if "." in str(r.pos) else r.id, r)
        rs.lines = len(lines)
        for key, r in lines.items():
            if r.id not in seen and key not in made:
                skipped.setdefault((r.id, ""), Skipped(r.id, "no packet that reaches it can match it", r.loc))
        rs.skipped = sorted(
            (s for s in skipped.values() if s.id not in made), key=lambda s: (s.loc.line or 0, s.reason)
        )
        gone = {s.id for s in rs.skipped}
        shaped = self.shaped.get(id(rs), set())
        rs.folded = sum(
            r.id not in made
            and r.id not in gone
            and (r.target == "RETURN" or r.target in flat_chains(r) or r.id in shaped)
            for r in lines.values()
        )


def flat_chains(r) -> set:
    return {r.target} if r.target and r.target not in ("ACCEPT", "DROP", "REJECT", "RETURN") else set()


def _fed(table: IptablesTable, start: str) -> list[str]:
    out, todo = [], [start]
    while todo:
        c = todo.pop(0)
        if c in out or c not in table.rules:
            continue
        out.append(c)
        todo += [r.target for r in table.rules[c] if r.target in table.chains]
    return out
