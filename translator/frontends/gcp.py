"""GCP VPC firewall rules (`gcloud compute firewall-rules list --format=json`) and
`networks.getEffectiveFirewalls` dumps (`firewalls` plus hierarchical `firewallPolicys`).

One ruleset per network and direction (`<network>-ingress`, `-egress`).  Order:
hierarchical policies (as listed: organization first), then VPC rules, then
network firewall policies; within one, priority (lowest first) and deny before
allow at equal priority.  The implied rules are the default: deny ingress,
allow egress.  A `goto_next` rule sends its flows to the next level: it is
compiled exactly by copying the next levels' rules, limited to its match,
in its place.  Tags and service accounts have no addresses in the export:
they become `Unresolved` (a target restricts the instance side).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import Loc, Warning_
from ..io.jsonsrc import Doc, looks_like_json
from ..model.names import is_digits
from ..model.resolve import Resolver, SetBounds
from ..model.ruleset import (
    ALLOW,
    DENY,
    PORT_PROTOCOLS,
    PROTO_NAMES,
    AddrExpr,
    AnyAddr,
    Condition,
    Rule,
    Ruleset,
    Skipped,
    Svc,
    Unresolved,
    proto_label,
)
from ..model.space import ALL_IP, FULL_SVC, IntervalSet, split_svc
from .common.cloud import host_side, port_svc, restrict, to_net, with_loc

NAME = "gcp"
GOTO = "goto_next"
DIRS = (("INGRESS", "ingress", DENY), ("EGRESS", "egress", ALLOW))
SRC_EXTRA = ("srcSecureTags", "srcFqdns", "srcRegionCodes", "srcThreatIntelligences", "srcAddressGroups", "srcNetworks")
DST_EXTRA = ("destFqdns", "destRegionCodes", "destThreatIntelligences", "destAddressGroups")


def detect(text: str, path: str) -> int:
    if not looks_like_json(text):
        return 0
    head = text[:200000]
    if '"firewallPolicys"' in head or "compute#firewall" in head:
        return 90
    if '"IPProtocol"' in head and ('"sourceRanges"' in head or '"direction"' in head):
        return 85
    return 0


@dataclass
class GcpEntry:
    """One rule of one level before flattening (action may be goto_next)."""

    id: str
    action: str
    src: AddrExpr
    dst: AddrExpr
    services: tuple
    loc: Loc
    comment: str
    conditions: tuple = ()

    def rule(self) -> Rule:
        return Rule(
            id=self.id,
            action=self.action,
            src=self.src,
            dst=self.dst,
            services=self.services,
            loc=self.loc,
            comment=self.comment,
            conditions=self.conditions,
        )


class _Gcp:
    def __init__(self, doc: Doc, host_addresses):
        self.doc = doc
        self.instance = host_side(host_addresses)
        self.host_given = bool(host_addresses)
        self.resolver = Resolver(Ruleset("gcp", doc.path))
        self.warnings: list[Warning_] = []
        self.skipped: list[Skipped] = []
        self.folded = 0

    # --- pieces ------------------------------------------------------------

    def ranges(self, obj, key) -> list:
        doc, out = self.doc, []
        for text in doc.get(obj, key, list, []):
            net = to_net(str(text))
            if net is None:
                raise doc.fail(f"{key}: {text!r} is not a valid IP address or CIDR", obj, key)
            out.append(with_loc(net, doc.loc(obj, key)))
        return out

    def unresolved(self, obj, keys, what) -> list:
        out = []
        for key in keys:
            for v in self.doc.get(obj, key, list, []):
                text = v if isinstance(v, str) else str(v.get("name", v)) if isinstance(v, dict) else str(v)
                out.append(
                    Unresolved(
                        f"{key}:{text}",
                        f"{what} {key} {text!r}: the instances it names are not in the export",
                        self.doc.loc(obj, key),
                        text.lower() if key.endswith("Fqdns") else "",
                    )
                )
        return out

    def instance_side(self, obj, range_key, target_keys, ranges_obj=None) -> AddrExpr:
        """The protected instances: --host or any, within RANGE_KEY, minus the unknown of targets."""
        expr = self.instance
        ranges = self.ranges(ranges_obj if ranges_obj is not None else obj, range_key)
        if ranges:
            region = IntervalSet(iv for b in (self.resolver.address(AddrExpr((n,))) for n in ranges) for iv in b.lower)
            expr = AddrExpr(tuple(ranges)) if expr.include == (AnyAddr(),) else restrict(expr, region)
        targets = [
            Unresolved(
                u.text,
                u.reason.replace(
                    "the instances it names are not in the export",
                    "the rule applies only to instances it names, which are not in the export",
                ),
                u.loc,
            )
            for u in self.unresolved(obj, target_keys, "target")
        ]
        if targets:
            expr = AddrExpr(expr.include, expr.exclude + tuple(targets))
        return expr

    def services(self, obj, configs, proto_key: str, rid: str) -> tuple:
        doc, out = self.doc, []
        for c in configs:
            if not isinstance(c, dict):
                raise doc.fail(f"expected an object with {proto_key}", obj)
            raw = str(doc.get(c, proto_key, (str, int), required=True)).strip().lower()
            if raw == "all":
                out.append(Svc(None, 0, 0, "all", doc.loc(c)))
                continue
            proto = int(raw) if is_digits(raw) else PROTO_NAMES.get(raw)
            if proto is None or not 0 <= proto <= 255:
                raise doc.fail(
                    f"unknown {proto_key} {raw!r} (expected tcp, udp, icmp, esp, ah, sctp, ipip, "
                    "all or a number 0-255)",
                    c,
                    proto_key,
                )
            ports = doc.get(c, "ports", list, [])
            if ports and proto not in PORT_PROTOCOLS:
                raise doc.fail(f"ports are only allowed with tcp, udp and sctp, not {raw}", c, "ports")
            if not ports:
                out.append(replace(Svc.whole(proto), loc=doc.loc(c)))
            for p in ports:
                svc = port_svc(proto, str(p), doc.loc(c, "ports"))
                if svc is None:
                    raise doc.fail(f"bad port {p!r} (expected a port or a range such as 8000-8100)", c, "ports")
                out.append(svc)
        if not out:
            raise doc.fail("rule matches no protocol", obj)
        return tuple(out)

    # --- VPC rules and policy rules ------------------------------------------

    def vpc_entry(self, r: dict, direction: str) -> GcpEntry | None:
        doc = self.doc
        name = str(doc.get(r, "name", str, required=True))
        if doc.get(r, "disabled", bool, False):
            self.skipped.append(Skipped(name, "disabled: GCP does not apply it", doc.loc(r)))
            return None
        allowed, denied = doc.get(r, "allowed", list), doc.get(r, "denied", list)
        if (allowed is None) == (denied is None):
            raise doc.fail("a firewall rule needs exactly one of 'allowed' and 'denied'", r)
        action = ALLOW if allowed is not None else DENY
        services = self.services(r, allowed if allowed is not None else denied, "IPProtocol", name)
        remote_key, local_key = (
            ("sourceRanges", "destinationRanges") if direction == "INGRESS" else ("destinationRanges", "sourceRanges")
        )
        remote = self.ranges(r, remote_key)
        if direction == "INGRESS":
            remote += self.unresolved(r, ("sourceTags", "sourceServiceAccounts"), "source")
        if not remote:
            remote = [to_net("0.0.0.0/0")]  # GCP's default when no source (destination) is given
        local = self.instance_side(r, local_key, ("targetTags", "targetServiceAccounts"))
        src, dst = (AddrExpr(tuple(remote)), local) if direction == "INGRESS" else (local, AddrExpr(tuple(remote)))
        comment = f"priority {r.get('priority', 1000)}" + (f": {r['description']}" if r.get("description") else "")
        return GcpEntry(name, action, src, dst, services, doc.loc(r), comment)

    def policy_entry(self, pol: dict, r: dict, direction: str) -> GcpEntry | None:
        doc = self.doc
        pname = str(pol.get("shortName") or pol.get("displayName") or pol.get("name") or "policy")
        prio = doc.get(r, "priority", int, required=True)
        rid = f"{pname}/{prio}"
        if doc.get(r, "disabled", bool, False):
            self.skipped.append(Skipped(rid, "disabled: GCP does not apply it", doc.loc(r)))
            return None
        action = str(doc.get(r, "action", str, required=True)).lower()
        conditions = ()
        if action == "apply_security_profile_group":
            action = ALLOW
            conditions = (Condition("security profile inspection", "layer-7 inspection may drop the flow"),)
        if action not in (ALLOW, DENY, GOTO):
            raise doc.fail(f"unknown action {action!r} (expected allow, deny or goto_next)", r, "action")
        match = doc.get(r, "match", dict, required=True)
        services = self.services(match, doc.get(match, "layer4Configs", list, required=True), "ipProtocol", rid)
        targets = ("targetServiceAccounts", "targetSecureTags", "targetResources")
        if direction == "INGRESS":
            remote = self.ranges(match, "srcIpRanges") + self.unresolved(match, SRC_EXTRA, "source")
            local = self.instance_side(r, "destIpRanges", targets, ranges_obj=match)
        else:
            remote = self.ranges(match, "destIpRanges") + self.unresolved(match, DST_EXTRA, "destination")
            local = self.instance_side(r, "srcIpRanges", targets, ranges_obj=match)
        remote_expr = AddrExpr(tuple(remote)) if remote else AddrExpr.any()
        src, dst = (remote_expr, local) if direction == "INGRESS" else (local, remote_expr)
        comment = f"{action} in firewall policy {pname}" + (f": {r['description']}" if r.get("description") else "")
        return GcpEntry(rid, action, src, dst, services, doc.loc(r), comment, conditions)

    # --- flattening ----------------------------------------------------------

    def bounds(self, e: GcpEntry) -> tuple[SetBounds, SetBounds, SetBounds]:
        return (self.resolver.address(e.src), self.resolver.address(e.dst), self.resolver.services(e.services))

    def merge(self, entries: list[GcpEntry]) -> list[GcpEntry]:
        """Join neighbouring goto_next rules that differ in one dimension only."""
        out: list[GcpEntry] = []
        for e in entries:
            prev = out[-1] if out else None
            if prev and prev.action == GOTO and e.action == GOTO and not prev.conditions:
                a, b = self.bounds(prev), self.bounds(e)
                same = [x == y for x, y in zip(a, b)]
                if same[1] and same[2]:
                    out[-1] = replace(prev, id=f"{prev.id}+{e.id}", src=AddrExpr(prev.src.include + e.src.include))
                    continue
                if same[0] and same[2]:
                    out[-1] = replace(prev, id=f"{prev.id}+{e.id}", dst=AddrExpr(prev.dst.include + e.dst.include))
                    continue
            out.append(e)
        return out

    def within(self, expr: AddrExpr, region: IntervalSet) -> AddrExpr:
        return expr if self.resolver.address(expr).upper.issubset(region) else restrict(expr, region)

    def limit(self, rule: Rule, g: GcpEntry, gb) -> Rule | None:
        """RULE limited to the flows goto_next rule G sends on (secure side where G is unsure)."""
        pick = (lambda b: b.lower) if rule.action == ALLOW else (lambda b: b.upper)
        src, dst = (self.within(rule.src, pick(gb[0])), self.within(rule.dst, pick(gb[1])))
        svc_set = self.resolver.services(rule.services).upper & pick(gb[2])
        if not self.resolver.address(src).upper or not self.resolver.address(dst).upper or not svc_set:
            return None
        services = rule.services if svc_set == self.resolver.services(rule.services).upper else svcs_of(svc_set)
        return replace(
            rule,
            id=f"{rule.id}@{g.id}",
            src=src,
            dst=dst,
            services=services,
            comment=f"{rule.comment} [for flows sent on by goto_next rule {g.id}]",
        )

    def flatten(self, levels: list[list[GcpEntry]], k: int, default: str) -> list[Rule]:
        if k == len(levels):
            return []
        out: list[Rule] = []
        rest = None
        unsure: list[GcpEntry] = []
        entries = self.merge(levels[k])
        for i, e in enumerate(entries):
            if e.action != GOTO:
                rule = e.rule()
                if unsure and rule.action == ALLOW:
                    rule.conditions += tuple(
                        Condition(f"not sent on by goto_next rule {g.id}", "goto_next rule with unresolved parts")
                        for g in unsure
                    )
                out.append(rule)
                continue
            if rest is None:
                rest = self.flatten(levels, k + 1, default)
            gb = self.bounds(e)
            if all(b.lower == full for b, full in zip(gb, (ALL_IP, ALL_IP, FULL_SVC))):
                for later in entries[i + 1 :]:  # everything goes on: the rest of this level is unreachable
                    for part in later.id.split("+"):
                        why = f"unreachable: goto_next rule {e.id} sends every flow on to the next level first"
                        self.skipped.append(Skipped(part, why, later.loc))
                return out + rest
            implied = Rule(
                id=f"implied-{default}",
                action=default,
                src=AddrExpr.any(),
                dst=AddrExpr.any(),
                services=(Svc.any(),),
                loc=e.loc,
                comment="GCP implied rule",
            )
            out += [r for r in (self.limit(x, e, gb) for x in rest + [implied]) if r is not None]
            if not all(b.exact for b in gb):
                unsure.append(e)
                self.warnings.append(
                    Warning_(
                        "goto_next rule with unresolved parts: later allow rules of "
                        "this policy are taken as not matching",
                        e.loc,
                        e.id,
                    )
                )
        return out + (rest if rest is not None else self.flatten(levels, k + 1, default))

    # --- rulesets ------------------------------------------------------------

    def rulesets(self, vpc: list, policies: list) -> list[Ruleset]:
        doc = self.doc
        networks: dict[str, list] = {}
        for r in vpc:
            if not isinstance(r, dict):
                raise doc.fail("expected a firewall rule object", vpc)
            net = str(r.get("network") or "").rstrip("/").rsplit("/", 1)[-1] or "gcp"
            networks.setdefault(net, []).append(r)
        if not networks:
            networks["gcp"] = []
        hier = [p for p in policies if str(p.get("type", "HIERARCHY")).upper() == "HIERARCHY"]
        netpol = [p for p in policies if p not in hier]
        base = []
        if netpol:
            base.append(
                Warning_(
                    "network firewall policies are evaluated after the VPC rules (the default enforcement order)",
                    doc.loc(netpol[0]),
                )
            )
        out = []
        for net, rules in networks.items():
            for direction, suffix, default in DIRS:
                seen = 0

                def level_of(items, make):
                    nonlocal seen
                    seen += len(items)
                    entries = [x for x in (make(i) for i in items) if x is not None]
                    self.folded += sum(e.action == GOTO for e in entries)
                    return entries

                self.warnings, self.skipped, self.folded = list(base), [], 0
                levels = []
                for pol in hier + [None] + netpol:
                    if pol is None:
                        mine = [r for r in rules if str(r.get("direction", "INGRESS")).upper() == direction]
                        mine.sort(key=lambda r: (doc.get(r, "priority", int, 1000), "denied" not in r))
                        levels.append(level_of(mine, lambda r: self.vpc_entry(r, direction)))
                    else:
                        prs = [
                            r
                            for r in doc.get(pol, "rules", list, [])
                            if isinstance(r, dict) and str(r.get("direction", "")).upper() == direction
                        ]
                        prs.sort(
                            key=lambda r: (
                                doc.get(r, "priority", int, required=True),
                                str(r.get("action", "")).lower() != DENY,
                            )
                        )
                        levels.append(level_of(prs, lambda r, pol=pol: self.policy_entry(pol, r, direction)))
                rs = Ruleset(name=f"{net}-{suffix}", source=doc.path, default=default, text=doc.text)
                rs.directions = ("ingress",) if direction == "INGRESS" else ("egress",)
                rs.protects = self.instance if self.host_given else None
                rs.rules = self.flatten(levels, 0, default)
                rs.warnings = _dedup(self.warnings)
                rs.skipped, rs.lines, rs.folded = self.skipped, seen, self.folded
                out.append(rs)
        return out


def _dedup(ws: list[Warning_]) -> list[Warning_]:
    seen, out = set(), []
    for w in ws:
        key = (w.message, w.loc, w.rule)
        if key not in seen:
            seen.add(key)
            out.append(w)
    return out


def svcs_of(s: IntervalSet) -> tuple[Svc, ...]:
    """Svc items for a service set."""
    if s == FULL_SVC:
        return (Svc.any(),)
    out = []
    for proto, ivs in sorted(split_svc(s).items()):
        for lo, hi in ivs:
            whole = Svc.whole(proto)
            if (lo, hi) == (whole.lo, whole.hi):
                out.append(whole)
            else:
                out.append(Svc(proto, lo, hi, f"{proto_label(proto)}/{lo}" + (f"-{hi}" if hi > lo else "")))
    return tuple(out)


def load(text: str, path: str, host_addresses=None, **_options) -> list[Ruleset]:
    doc = Doc(text, path)
    data = doc.data
    if isinstance(data, dict) and ("firewalls" in data or "firewallPolicys" in data):
        vpc = doc.get(data, "firewalls", list, [])
        policies = [p for p in doc.get(data, "firewallPolicys", list, []) if isinstance(p, dict)]
    elif isinstance(data, dict) and isinstance(data.get("items"), list):
        vpc, policies = data["items"], []
    elif isinstance(data, list):
        vpc, policies = data, []
    else:
        raise doc.fail(
            "expected GCP firewall rules: a JSON list (gcloud compute firewall-rules list "
            "--format=json) or an object with firewalls/firewallPolicys (getEffectiveFirewalls)",
            data,
        )
    return _Gcp(doc, host_addresses).rulesets(vpc, policies)
