"""SRX security policies as one first-match ruleset: for each zone pair its policies in order, then the
global policies, then the default policy (deny-all unless `default-policy permit-all`).

A packet from zone A to zone B meets only A->B's policies, so the zones decide which rules apply.
When the inventory says which zone a workload sits in (`zone:`), a zone is the legacy addresses of
its workloads, and a zone no workload names holds every other address: the rules of A->B are
limited to those addresses.  Without that, each rule carries its zone pair as a condition (an allow
then matches nothing: the secure side), said in a warning."""

from __future__ import annotations

from ...errors import Loc, Warning_
from ...model.ruleset import ALLOW, DENY, AddrExpr, Condition, Rule, Ruleset, Skipped, Svc
from ...model.space import ALL_V4, ALL_V6, EMPTY, IntervalSet
from ..common.zones import Zones
from ..iptables.convert import addr_items
from .lines import Config, Line, active
from .objects import Objects

ALL = ALL_V4 | ALL_V6
ACTIONS = {"permit": ALLOW, "deny": DENY, "reject": DENY}
MATCH_CONDITIONS = {"source-identity", "dynamic-application", "url-category", "source-end-user-profile",
                    "application-services"}  # fmt: skip


def _policies(cfg: Config) -> dict[tuple[str, str] | None, dict[str, list[Line]]]:
    """(from, to) -> policy name -> its lines (match ..., then ...); None: the global policies."""
    out: dict = {}
    for ln in cfg.under("security", "policies"):
        w = ln.words
        if len(w) >= 8 and w[2] == "from-zone" and w[4] == "to-zone" and w[6] == "policy":
            key, name, rest, n = (w[3], w[5]), w[7], w[8:], 8
        elif len(w) >= 5 and w[2] == "global" and w[3] == "policy":
            key, name, rest, n = None, w[4], w[5:], 5
        else:
            continue
        if not active(cfg, w[:n]):
            continue
        out.setdefault(key, {}).setdefault(name, []).append(Line(rest, ln.locs[n:] or ln.locs[-1:]))
    return out


def ruleset(cfg: Config, objs: Objects, inventory, stem: str) -> Ruleset | None:
    pols = _policies(cfg)
    default_lines = cfg.under("security", "policies", "default-policy")
    if not pols and not default_lines:
        return None
    rs = Ruleset(name=f"{stem}-security-policies", source=cfg.path, default=DENY, text=cfg.text)
    zones = Zones(inventory)
    zone_set = zones.addresses
    pairs = [k for k in pols if k is not None]
    if zones.named is None and pairs:
        rs.warnings.append(
            Warning_(
                "no inventory workload names its zone (zone: NAME): each policy carries its zone pair as a "
                "condition, so its allows match nothing (the secure side); name the zones in the inventory",
                None,
            )
        )
    elif zones.named is not None:
        rest = sorted(zones.unnamed({z for p in pairs for z in p}))
        rs.warnings.append(
            Warning_(
                "zones from the inventory: "
                + ", ".join(f"{z} = the addresses of its workloads" for z in sorted(zones.named))
                + (f"; {', '.join(rest)}: every address no workload's zone holds" if rest else ""),
                None,
            )
        )
    used = {z for p in pairs for z in p}
    unnamed = zones.unnamed(used)
    if zones.named is not None and len(unnamed) > 1:
        rs.warnings.append(
            Warning_(
                f"zones {', '.join(sorted(unnamed))} are named by no workload: an address outside the named zones "
                "may sit in any of them, so their policies carry the zone pair as a condition (the secure side)",
                None,
            )
        )
    glob = pols.get(None, {})
    for pair in pairs:
        cond = not zones.exact(pair, used)
        for name, lines in pols[pair].items():
            _policy(rs, cfg, objs, f"{pair[0]}>{pair[1]}:{name}", lines, pair, zone_set, cond)
        if not cond:  # the global policies, for this pair's traffic, before its default
            for name, lines in glob.items():
                if _global_applies(lines, pair):
                    _policy(rs, cfg, objs, f"global:{name}@{pair[0]}>{pair[1]}", lines, pair, zone_set, False, True)
    for name, lines in glob.items():  # traffic of zone pairs without policies of their own
        _policy(rs, cfg, objs, f"global:{name}", lines, None, zone_set, False)
    action = ALLOW if any(ln.words[3:4] == ("permit-all",) for ln in default_lines) else DENY
    at = default_lines[0].loc(3) if default_lines else Loc(cfg.path)
    rs.rules.append(
        Rule(
            "default-policy",
            action,
            AddrExpr.any(),
            AddrExpr.any(),
            (Svc.any(),),
            at,
            "security policies default-policy " + ("permit-all" if action == ALLOW else "deny-all"),
        )  # fmt: skip
    )
    return rs


def _global_applies(lines: list[Line], pair) -> bool:
    fz = [ln.words[2] for ln in lines if ln.words[:2] == ("match", "from-zone") and len(ln.words) > 2]
    tz = [ln.words[2] for ln in lines if ln.words[:2] == ("match", "to-zone") and len(ln.words) > 2]
    return (not fz or pair[0] in fz or "any" in fz) and (not tz or pair[1] in tz or "any" in tz)


def _policy(rs, cfg, objs: Objects, rid: str, lines: list[Line], pair, zone_set, zone_cond: bool, shadow=False):
    src_names = [ln for ln in lines if ln.words[:2] == ("match", "source-address") and len(ln.words) > 2]
    dst_names = [ln for ln in lines if ln.words[:2] == ("match", "destination-address") and len(ln.words) > 2]
    apps = [ln for ln in lines if ln.words[:2] == ("match", "application") and len(ln.words) > 2]
    then = [ln.words[1] for ln in lines if ln.words[:1] == ("then",) and len(ln.words) > 1]
    loc = lines[0].loc()
    action = next((ACTIONS[a] for a in then if a in ACTIONS), None)
    if action is None:
        rs.skipped.append(Skipped(rid, "no then permit, deny or reject", loc))
        return
    fz = pair[0] if pair else None
    tz = pair[1] if pair else None
    src, su = _side(objs, src_names, fz, ("match", "source-address-excluded") in {ln.words[:2] for ln in lines}, loc)
    dst, du = _side(
        objs, dst_names, tz, ("match", "destination-address-excluded") in {ln.words[:2] for ln in lines}, loc
    )
    if pair is not None and not zone_cond:
        src, dst = src & zone_set(pair[0]), dst & zone_set(pair[1])
    services, conds = [], []
    for ln in apps:
        items, cs = objs.application(ln.words[2], ln.loc(2))
        services += items
        conds += [Condition(c, "source port") for c in cs]
    if not apps:
        services = [Svc.any()]
    for ln in lines:
        if ln.words[:1] == ("match",) and len(ln.words) > 1 and ln.words[1] in MATCH_CONDITIONS:
            conds.append(Condition(" ".join(ln.words), ln.words[1]))
    if pair is not None and zone_cond:
        conds.append(Condition(f"from-zone {pair[0]} to-zone {pair[1]}", "zone"))
    rs.rules.append(
        Rule(
            id=rid,
            action=action,
            src=AddrExpr(tuple(addr_items(src)) + tuple(su)) if src or su else AddrExpr(()),
            dst=AddrExpr(tuple(addr_items(dst)) + tuple(du)) if dst or du else AddrExpr(()),
            services=tuple(dict.fromkeys(services)),
            loc=loc,
            comment=f"policy {rid.split(':', 1)[1]}" + (" (global, for this zone pair)" if shadow else ""),
            conditions=tuple(conds),
        )
    )


def _side(objs: Objects, lines: list[Line], zone, negated: bool, at) -> tuple[IntervalSet, list]:
    if not lines:
        return ALL, []
    out, unres = EMPTY, []
    for ln in lines:
        got, u = objs.address(ln.words[2], zone, ln.loc(2))
        out, unres = out | got, unres + u
    if negated:
        return ALL - out, unres
    return out, unres
