"""The filter table as the model's rulesets: host chains, FORWARD, policies."""

from __future__ import annotations

from pathlib import PurePath

import netaddr

from ...errors import InputError, Loc, Warning_, line_of
from ...model.ruleset import (
    ALLOW,
    DENY,
    AddrExpr,
    AnyAddr,
    Net,
    Rule,
    Ruleset,
    Skipped,
    Svc,
    Unresolved,
    port_domain,
    proto_label,
)
from ...model.space import ALL_IP, ALL_V4, ALL_V6, FULL_SVC, V6_BASE, IntervalSet, ip_range, split_svc
from ..common.addresses import ipv4_text, net_text
from .flatten import Flattener, stage_denies
from .match import ChainDecl, IptablesTable, Match, MatchBounds, meet
from .options import BUILTIN, NON_TERMINAL, TERMINAL, builtin_chains
from .tables import READ_TABLES, parse


def addr_items(s: IntervalSet) -> tuple:
    if len(s.iv) == 1 and s.iv[0][1] < V6_BASE and s.iv[0] != (0, V6_BASE - 1):  # one IPv4 range, not all
        lo, hi = s.iv[0]
        return (Net(lo, hi, 4, addr_text(lo, hi, 4)),)
    if s == ALL_IP:
        return (AnyAddr(),)
    out = []
    for part, version, base, whole in ((meet(s, ALL_V4), 4, 0, ALL_V4), (meet(s, ALL_V6), 6, V6_BASE, ALL_V6)):
        if part == whole:
            out.append(AnyAddr(version))
            continue
        for lo, hi in part:
            out.append(Net(lo - base, hi - base, version, addr_text(lo - base, hi - base, version)))
    return tuple(out)


def addr_text(first: int, last: int, version: int) -> str:
    """net_text, without netaddr for IPv4."""
    if version != 4:
        return net_text(first, last, version)
    if first == last:
        return ipv4_text(first)
    size = last - first + 1
    if size & (size - 1) == 0 and first & (size - 1) == 0:  # one CIDR
        return f"{ipv4_text(first)}/{33 - size.bit_length()}"
    return f"{ipv4_text(first)}-{ipv4_text(last)}"


def addr_expr(b: MatchBounds) -> AddrExpr:
    if b.lower == b.upper:
        return AddrExpr(addr_items(b.lower))
    why = "; ".join(b.notes) or "unresolved"
    return AddrExpr(
        addr_items(b.lower) + (Unresolved(why, "resolved by iptables when loaded, not known offline"),),
        addr_items(ALL_IP - b.upper),
    )


def svc_items(s: IntervalSet) -> tuple:
    if s == FULL_SVC:
        return (Svc.any(),)
    out = []
    for p, ranges in sorted(split_svc(s).items()):
        if ranges == [port_domain(p)]:
            out.append(Svc.whole(p))
            continue
        for lo, hi in ranges:
            out.append(Svc(p, lo, hi, f"{proto_label(p)}/{lo}" + (f"-{hi}" if hi != lo else "")))
    return tuple(out)


def host_bounds(addrs: list[str], path: str, family: int) -> MatchBounds:
    sets = []
    for a in addrs:
        try:
            if "-" in a:
                x, y = (netaddr.IPAddress(v.strip()) for v in a.split("-", 1))
                sets.append(ip_range(int(x), int(y), x.version))
            else:
                n = netaddr.IPNetwork(a)
                sets.append(ip_range(int(n.first), int(n.last), n.version))
        except (netaddr.AddrFormatError, ValueError):
            raise InputError(
                f"--host: {a!r} is not a CIDR or range; iptables rules need the workload's addresses as CIDRs",
                Loc(path),
            ) from None
    s = IntervalSet(iv for x in sets for iv in x)
    return MatchBounds(s, s)


def model_rules(flat: Flattener, entries=None) -> list[Rule]:
    """The model's rules (of ENTRIES, else FLAT's); equal sets share their (immutable) output items."""
    out, cache = [], flat.rd.out  # id(set) -> (set, items): holding the set keeps its id unique
    get = cache.get
    for r, m, via in flat.out if entries is None else entries:
        src, dst, svc = get(id(m.src)), get(id(m.dst)), get(id(m.svc))
        if src is None:
            src = cache[id(m.src)] = (m.src, addr_expr(m.src))
        if dst is None:
            dst = cache[id(m.dst)] = (m.dst, addr_expr(m.dst))
        if svc is None:
            svc = cache[id(m.svc)] = (m.svc, svc_items(m.svc))
        out.append(
            Rule(
                r.id,
                TERMINAL[r.target],
                src[1],
                dst[1],
                svc[1],
                r.loc,
                r.comment or (r.text if len(r.text) <= 160 else ""),
                m.conds,
                (("via", " > ".join(via)),) if via else (),
            )
        )
    return out


def rulesets(text: str, path: str, host_addresses: list[str] | None) -> list[Ruleset]:
    tables, rd = parse(text, path)
    for name, t in tables.items():
        if name not in READ_TABLES:
            rd.warnings.append(Warning_(f"table {name} skipped: it does not filter (no DROP is allowed in it)", t.loc))
    if "filter" not in tables:
        found = ", ".join(tables) or "none"
        raise InputError(
            f"no *filter table in this file (found: {found}); fw2np reads the filter table only", Loc(path, 1)
        )
    table = tables["filter"]
    for rules in table.rules.values():
        for r in rules:
            if (
                r.target
                and r.target not in TERMINAL
                and r.target not in NON_TERMINAL
                and r.target != "RETURN"
                and r.target not in table.chains
            ):
                raise rd.fail_at(
                    f"jump to {r.target!r}: no such chain in the filter table and not a known target", r.target_loc
                )
            if r.target in BUILTIN:
                raise rd.fail_at(f"cannot jump to built-in chain {r.target}", r.target_loc)
    stem = PurePath(path).stem or "iptables"
    policy = {c: table.chains.get(c, ChainDecl("ACCEPT", table.loc)) for c in BUILTIN}
    for c in BUILTIN:
        if c not in table.chains:
            rd.warnings.append(
                Warning_(f"chain {c} is not declared: its policy is taken as ACCEPT (the kernel default)", table.loc)
            )
    out = []
    host_rules = table.rules.get("INPUT", []) + table.rules.get("OUTPUT", [])
    if host_rules and not host_addresses:
        first = host_rules[0]
        raise InputError(
            "the INPUT/OUTPUT chains protect one host: pass --host WORKLOAD (the inventory workload "
            "that replaces this host) so fw2np knows its addresses",
            first.loc,
            line_of(text, first.loc.line),
        )
    feeds: dict[int, list[tuple[Flattener, tuple[str, ...]]]] = {}  # id(ruleset) -> (flattener, its start chain)
    host = host_bounds(host_addresses, path, rd.family) if host_addresses else None
    if host is not None and not meet(host.lower, rd.all):
        fed = feed(table, ("INPUT", "OUTPUT"))
        n = sum(len(table.rules[c]) for c in fed)
        other = "IPv4" if rd.family == 6 else "IPv6"
        msg = (
            f"--host has no IPv{rd.family} address ({', '.join(host_addresses)}): the IPv{rd.family} rules of "
            f"INPUT and OUTPUT protect nothing on it, so their {n} rule line(s) ({', '.join(fed)}) are not "
            f"converted; this file holds IPv{rd.family} rules only (give the workload its IPv{rd.family} "
            f"addresses, or convert the {other} rules file)"
        )
        if not table.rules.get("FORWARD"):
            raise InputError(msg, table.loc, line_of(text, table.loc.line))
        rd.warnings.append(Warning_(msg, table.loc))
        host = None
    if host is not None:
        rs = Ruleset(name=stem, source=path, default=DENY, text=text)
        rs.protects = addr_expr(host)  # the host's own chains govern only the host's traffic
        everything = rd.everything
        for chain, guard, is_in in (
            ("INPUT", Match(everything.src, host, FULL_SVC), True),
            ("OUTPUT", Match(host, everything.dst, FULL_SVC), False),
        ):
            rs.rules += stage_rules(tables, rd, STAGES[chain], guard, feeds.setdefault(id(rs), []))
            flat = Flattener(table, rd)
            flat.chain(chain, guard, (), (chain,))
            feeds[id(rs)].append((flat, (chain,)))
            rs.rules += model_rules(flat)
            pol, ploc = policy[chain]
            act = ALLOW if pol == "ACCEPT" else DENY
            anywhere = addr_expr(everything.src)
            src, dst = (anywhere, addr_expr(host)) if is_in else (addr_expr(host), anywhere)
            rs.rules.append(
                Rule(
                    id=f"{chain}:policy",
                    action=act,
                    src=src,
                    dst=dst,
                    services=(Svc.any(),),
                    loc=ploc,
                    comment=f"policy of chain {chain} ({pol})",
                )
            )
        out.append(rs)
    fwd_feeds: list = []
    fwd_stages = stage_rules(tables, rd, STAGES["FORWARD"], rd.everything, fwd_feeds)
    if table.rules.get("FORWARD") or fwd_stages:
        rs = Ruleset(
            name=f"{stem}-forward",
            source=path,
            text=text,
            default=ALLOW if policy["FORWARD"].policy == "ACCEPT" else DENY,
        )
        flat = Flattener(table, rd)
        flat.chain("FORWARD", rd.everything, (), ("FORWARD",))
        feeds[id(rs)] = fwd_feeds + [(flat, ("FORWARD",))]
        rs.rules = fwd_stages + model_rules(flat)
        out.append(rs)
    elif "FORWARD" in table.chains:
        forward = policy["FORWARD"]
        rd.warnings.append(
            Warning_(f"chain FORWARD has no rules (policy {forward.policy}): no forward ruleset", forward.loc)
        )
    reach = reachable(table)
    unreached = [c for c in table.chains if c not in BUILTIN and c not in reach]
    for c in unreached:
        rd.warnings.append(
            Warning_(f"chain {c} is never jumped to from INPUT, OUTPUT or FORWARD: ignored", table.chains[c].loc)
        )
    if not out:
        raise InputError(
            "the filter table has no INPUT, OUTPUT or FORWARD rules to translate",
            table.loc,
            line_of(text, table.loc.line),
        )
    for rs in out:
        rs.warnings = list(dict.fromkeys(rd.warnings))
        account(rs, feeds[id(rs)])
    return out


def feed(table: IptablesTable, starts: tuple[str, ...]) -> list[str]:
    """The chains that feed a ruleset: its built-in chains STARTS and every user chain reached from
    them by -j or -g, each once, in the order first reached."""
    out, todo = [], list(starts)
    while todo:
        c = todo.pop(0)
        if c in out or c not in table.rules:
            continue
        out.append(c)
        todo += [
            r.target for r in table.rules[c] if r.target in table.chains and r.target not in builtin_chains(table.name)
        ]
    return out


def account(rs: Ruleset, feeds: list[tuple[Flattener, tuple[str, ...]]]) -> None:
    """RS's rule lines: rs.lines is the number of -A lines of the chains that feed it (feed(): a user
    chain reached from INPUT counts toward the host ruleset, one reached from both INPUT and FORWARD
    toward both, each line once however many jumps reach it; jumps, RETURNs, LOG lines are rule lines
    too; so are the lines of the raw, mangle and security chains the packets of the ruleset cross).
    Each line that makes no rule is a Skipped entry with why: loopback, later packets only,
    invalid packets only, a target that decides nothing, a void RETURN, or no packet that reaches
    it can match it. So no line vanishes: every line is a rule's, a jump's, a RETURN's or a raw/mangle
    ACCEPT's (which shape the rules after them: rs.folded counts them), or skipped. Rules read may exceed
    the lines (a chain reached twice gives its rules twice) and count the built-in chains' policies."""
    chains = list(
        dict.fromkeys((f.table.name, c) for f, starts in feeds for c in feed(f.table, starts))
    )  # (table, chain), each once
    tables = {f.table.name: f.table for f, _ in feeds}
    lines = [(c, r) for t, c in chains for r in tables[t].rules[c]]
    rs.lines = len(lines)
    flats = [f for f, _ in feeds]
    seen = set().union(*(f.seen for f in flats))
    skipped = {k: v for f in flats for k, v in f.skipped.items()}
    made = {r.id for r in rs.rules}
    for c, r in lines:
        if r.id not in seen:
            skipped.setdefault(
                (r.id, ""),
                Skipped(
                    r.id,
                    f"no packet that reaches it can match it (the jumps into {c} and the RETURNs "
                    "before it leave nothing it matches)",
                    r.loc,
                ),
            )
    # a line skipped on one path and made a rule on another is not skipped
    rs.skipped = sorted(
        (s for s in skipped.values() if s.id not in made),
        key=lambda s: (s.loc.line or 0, s.reason),
    )
    gone = {s.id for s in rs.skipped}
    rs.folded = sum(
        r.id not in made
        and r.id not in gone
        and (
            r.target == "RETURN" or r.target in tables[r.table].chains or (r.table != "filter" and r.target == "ACCEPT")
        )
        for _c, r in lines
    )
    untracked = [
        r.id
        for _c, r in lines
        if r.table == "raw" and (r.target == "NOTRACK" or (r.target == "CT" and "--notrack" in r.text))
    ]
    if untracked:
        rs.warnings.append(
            Warning_(
                f"{', '.join(untracked[:5])}{' ...' if len(untracked) > 5 else ''}: NOTRACK in table raw makes the "
                "conntrack state of the packets it matches UNTRACKED, so filter rules on --ctstate NEW or "
                "ESTABLISHED do not match them on the device; fw2np reads those rules as for tracked packets "
                "(docs/semantics.md, Stateful model: iptables)",
                None,
            )
        )
    new = {k: v for f in flats for k, v in f.new_only.items()}
    if new:
        forms = ", ".join(dict.fromkeys(new.values()))
        rs.warnings.append(
            Warning_(
                f"stateful model: {len(new)} allow(s) match a connection's first packet ({forms}); "
                "NetworkPolicy is stateful (a connection's replies and later packets go with it), so each "
                "allows the connections it matches (docs/semantics.md, Stateful model: iptables)",
                None,
            )
        )


# the chains of the other tables a ruleset's packets cross besides filter's (iptables(8), packet order):
# before it raw and mangle, after it security and mangle POSTROUTING; each can only drop, so their denies
# go first, whatever their order
STAGES = {
    "INPUT": (("raw", "PREROUTING"), ("mangle", "PREROUTING"), ("mangle", "INPUT"), ("security", "INPUT")),
    "FORWARD": (
        ("raw", "PREROUTING"),
        ("mangle", "PREROUTING"),
        ("mangle", "FORWARD"),
        ("security", "FORWARD"),
        ("mangle", "POSTROUTING"),
    ),
    "OUTPUT": (("raw", "OUTPUT"), ("mangle", "OUTPUT"), ("security", "OUTPUT"), ("mangle", "POSTROUTING")),
}


def stage_rules(tables: dict, rd, stages, guard: Match, feeds: list) -> list[Rule]:
    """The denies of the raw, mangle and security chains STAGES for the packets GUARD matches (their
    flatteners appended to FEEDS, for the rule-line accounting)."""
    out: list[Rule] = []
    for name, chain in stages:
        t = tables.get(name)
        if t is None or chain not in t.chains:
            continue
        flat, denies, _shaped = stage_denies(t, rd, chain, guard)
        feeds.append((flat, (chain,)))
        out += model_rules(flat, denies)
    return out


def reachable(table: IptablesTable) -> set[str]:
    """The chains reached from the built-in chains by -j or -g (once, however many chains there are)."""
    seen, todo = set(), list(BUILTIN)
    while todo:
        c = todo.pop()
        if c in seen:
            continue
        seen.add(c)
        todo += [r.target for r in table.rules.get(c, []) if r.target in table.chains]
    return seen
