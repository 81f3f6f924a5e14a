"""PAN-OS security rules as one first-match ruleset, in Panorama's order: shared pre-rules, device-group
pre-rules, the rules of the vsys, device-group post-rules, shared post-rules, then the default rules
(intrazone allow, interzone deny, unless overridden).

App-ID decides applications, which NetworkPolicy cannot see: a rule naming an application other than
`any` carries it as a condition (an allow then matches nothing: the secure side), except applications
that application-override rules assign by port and protocol, which are exact.  Zones are address
limits when inventory workloads name their zone (`zone:`), else conditions."""

from __future__ import annotations

import ipaddress
from pathlib import PurePath

from ...errors import InputError, Loc, Warning_, line_of
from ...model.ruleset import ALLOW, DENY, AddrExpr, Condition, Rule, Ruleset, Skipped, Svc, Unresolved
from ...model.space import ALL_V4, ALL_V6, EMPTY, FULL_SVC, IntervalSet, ip_range, svc_range, whole_proto
from ..common.setlines import Line
from ..common.sides import side_expr
from ..common.zones import Zones
from ..iptables.convert import addr_items, svc_items

ALL = ALL_V4 | ALL_V6
ACTIONS = {"allow": ALLOW, "deny": DENY, "drop": DENY, "reset-client": DENY, "reset-server": DENY, "reset-both": DENY}
PREDEFINED = {"service-http": [(6, 80, 80), (6, 8080, 8080)], "service-https": [(6, 443, 443)]}
# the default ports of common applications (App-ID still decides: a condition stays on the rule)
APP_PORTS = {"ssh": [(6, 22, 22)], "telnet": [(6, 23, 23)], "web-browsing": [(6, 80, 80)], "ssl": [(6, 443, 443)],
             "dns": [(6, 53, 53), (17, 53, 53)], "ntp": [(17, 123, 123)], "smtp": [(6, 25, 25)], "ftp": [(6, 21, 21)],
             "ping": [(1, 8, 8)], "icmp": [(1, None, None)], "ldap": [(6, 389, 389)], "snmp": [(17, 161, 161)],
             "syslog": [(17, 514, 514)], "ms-rdp": [(6, 3389, 3389)], "mysql": [(6, 3306, 3306)]}  # fmt: skip
CONDITIONS = {"source-user": "user", "category": "URL category", "source-hip": "HIP profile",
              "destination-hip": "HIP profile", "schedule": "time schedule"}  # fmt: skip


class Config:
    """The set lines of a configuration, by scope: ("vsys", NAME), ("device-group", NAME), ("shared",)."""

    def __init__(self, path: str, text: str, lines: list[tuple[str, Line]], notes):
        self.path, self.text, self.notes = path, text, list(notes)
        self.scoped: dict[tuple, list[Line]] = {}
        for cmd, ln in lines:
            if cmd != "set":
                continue
            for one in (x for part in _fields(ln) for x in _open_lists(part)):
                w = one.words
                if w[:1] in (("vsys",), ("device-group",)) and len(w) > 2:
                    scope, rest, n = (w[0], w[1]), w[2:], 2
                elif w[:1] == ("shared",):
                    scope, rest, n = ("shared",), w[1:], 1
                else:
                    scope, rest, n = ("vsys", "vsys1"), w, 0
                self.scoped.setdefault(scope, []).append(Line(rest, one.locs[n:] or one.locs))

    def fail(self, msg: str, loc: Loc) -> InputError:
        return InputError(msg, loc, line_of(self.text, loc.line))

    def under(self, scope, *prefix) -> list[Line]:
        n = len(prefix)
        return [ln for ln in self.scoped.get(scope, []) if ln.words[:n] == prefix]


RULE_FIELDS = {
    "from", "to", "source", "destination", "service", "application", "action", "disabled", "negate-source",
    "negate-destination", "source-user", "category", "source-hip", "destination-hip", "rule-type", "schedule",
    "tag", "description", "log-start", "log-end", "log-setting", "profile-setting", "option", "group-tag",
    "uuid", "port", "protocol", "target", "hip-profiles",
}  # fmt: skip


def _fields(ln: Line) -> list[Line]:
    """`set rulebase security rules R from a to b action allow` (several fields in one command) as one
    line a field, each with its value or `[ list ]`."""
    w = ln.words
    k = next(
        (
            i
            for i in range(len(w) - 1)
            if w[i] == "rules" and i >= 2 and w[i - 1] in ("security", "application-override")
        ),
        None,
    )
    if k is None or len(w) < k + 3:
        return [ln]
    head, start = k + 2, k + 2
    out, j = [], head
    while j < len(w):
        j += 1
        depth = 0
        while j < len(w) and (depth or w[j] not in RULE_FIELDS):
            depth += {"[": 1, "]": -1}.get(w[j], 0)
            j += 1
        out.append(Line(w[:head] + w[start:j], ln.locs[:head] + ln.locs[start:j]))
        start = j
    return out


def _open_lists(ln: Line) -> list[Line]:
    """`set ... key [ a b ]` as one line a member."""
    w = ln.words
    if "[" not in w:
        return [ln]
    k = w.index("[")
    end = w.index("]", k) if "]" in w[k:] else len(w)
    head, locs = w[:k], ln.locs[:k]
    return [Line(head + (m,), locs + (ln.locs[j],)) for j, m in enumerate(w[k + 1 : end], k + 1)]


class _Objects:
    def __init__(self, cfg: Config, scopes: list[tuple]):
        self.cfg, self.scopes = cfg, scopes  # the scopes searched, nearest first (then shared)

    def _entries(self, kind: str, name: str) -> list[Line]:
        for scope in self.scopes:
            got = [
                Line(ln.words[2:], ln.locs[2:] or ln.locs)
                for ln in self.cfg.under(scope, kind, name)
                if len(ln.words) > 2
            ]
            if got:
                return got
        return []

    def address(self, name: str, at: Loc, stack=()) -> tuple[IntervalSet, list]:
        if name == "any":
            return ALL, []
        if name in stack:
            raise self.cfg.fail(f"address-group {name} contains itself", at)
        group = self._entries("address-group", name)
        if group:
            out, unres = EMPTY, []
            for ln in group:
                if ln.words[0] == "static" and len(ln.words) > 1:
                    got, u = self.address(ln.words[1], ln.loc(1), (*stack, name))
                    out, unres = out | got, unres + u
                elif ln.words[0] == "dynamic":
                    unres.append(
                        Unresolved(f"dynamic address-group {name}", "its members are tagged at run time", ln.loc())
                    )
            return out, unres
        entry = self._entries("address", name)
        for ln in entry:
            kind, val = ln.words[0], ln.words[1] if len(ln.words) > 1 else ""
            if kind == "ip-netmask":
                return _net(self.cfg, val, ln.loc(1)), []
            if kind == "ip-range":
                return _range(self.cfg, val, ln.loc(1)), []
            if kind == "fqdn":
                return EMPTY, [Unresolved(f"fqdn {val}", "resolved by the firewall when it runs", ln.loc(1), fqdn=val)]
            if kind == "ip-wildcard":
                return EMPTY, [Unresolved(f"ip-wildcard {val}", "a wildcard mask, not read", ln.loc(1))]
        if entry:
            return EMPTY, [Unresolved(f"address {name}", "an address kind fw2np does not read", at)]
        try:  # an address written in the rule
            return (_range(self.cfg, name, at) if "-" in name else _net(self.cfg, name, at)), []
        except InputError:
            raise self.cfg.fail(f"address {name!r} is not defined (address or address-group)", at) from None

    def service(self, name: str, at: Loc, stack=()) -> tuple[IntervalSet, list[str]]:
        """(services, source-port conditions)."""
        if name == "any":
            return FULL_SVC, []
        if name in stack:
            raise self.cfg.fail(f"service-group {name} contains itself", at)
        group = self._entries("service-group", name)
        if group:
            out, conds = EMPTY, []
            for ln in group:
                if ln.words[0] == "members" and len(ln.words) > 1:
                    s, c = self.service(ln.words[1], ln.loc(1), (*stack, name))
                    out, conds = out | s, conds + c
            return out, conds
        entry = self._entries("service", name)
        if not entry:
            if name in PREDEFINED:
                return _ports(PREDEFINED[name]), []
            raise self.cfg.fail(f"service {name!r} is not defined (service or service-group)", at)
        out, conds = EMPTY, []
        for ln in entry:
            if ln.words[0] == "protocol" and len(ln.words) >= 4 and ln.words[2] == "port":
                p = {"tcp": 6, "udp": 17, "sctp": 132}.get(ln.words[1])
                if p is None:
                    raise self.cfg.fail(f"service {name}: protocol {ln.words[1]!r} (tcp, udp or sctp)", ln.loc(1))
                for part in ln.words[3].split(","):
                    lo, _, hi = part.partition("-")
                    if not lo.isdigit() or (hi and not hi.isdigit()) or int(hi or lo) > 65535:
                        raise self.cfg.fail(f"service {name}: port {part!r} is not PORT or PORT-PORT", ln.loc(3))
                    out = out | svc_range(p, int(lo), int(hi or lo))
            elif ln.words[0] == "protocol" and len(ln.words) >= 4 and ln.words[2] == "source-port":
                conds.append(f"service {name} source-port {ln.words[3]}")
        return out, conds

    def app_ports(self, name: str) -> tuple[IntervalSet | None, list]:
        """A custom application's default ports (`default port tcp/9100`), or a known one's."""
        got = EMPTY
        for ln in self._entries("application", name):
            if ln.words[:2] == ("default", "port") and len(ln.words) > 2:
                proto, _, ports = ln.words[2].partition("/")
                p = {"tcp": 6, "udp": 17}.get(proto)
                for part in ports.split(","):
                    lo, _, hi = part.partition("-")
                    if p and lo.isdigit():
                        got = got | svc_range(p, int(lo), int(hi or lo))
        if got:
            return got, []
        if name in APP_PORTS:
            return _ports(APP_PORTS[name]), []
        return None, [Unresolved(f"application-default ports of {name}", "known to App-ID, not offline", None)]


def _ports(spec) -> IntervalSet:
    out = EMPTY
    for p, lo, hi in spec:
        out = out | (whole_proto(p) if lo is None else svc_range(p, lo, hi))
    return out


def _net(cfg, text: str, at: Loc) -> IntervalSet:
    try:
        n = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise cfg.fail(f"{text!r} is not an address or prefix", at) from None
    return ip_range(int(n.network_address), int(n.broadcast_address), n.version)


def _range(cfg, text: str, at: Loc) -> IntervalSet:
    try:
        a, b = (ipaddress.ip_address(x) for x in text.split("-", 1))
    except ValueError:
        raise cfg.fail(f"{text!r} is not an address range A-B", at) from None
    return ip_range(int(a), int(b), a.version)


def _rules(cfg: Config, scope, base: str) -> dict[str, list[Line]]:
    out: dict[str, list[Line]] = {}
    for ln in cfg.under(scope, base, "security", "rules"):
        if len(ln.words) > 4:
            out.setdefault(ln.words[3], []).append(Line(ln.words[4:], ln.locs[4:]))
    return out


def rulesets(cfg: Config, inventory) -> list[Ruleset]:
    stem = PurePath(cfg.path).stem or "panos"
    groups = sorted(s for s in cfg.scoped if s[0] == "device-group")
    vsyses = sorted(s for s in cfg.scoped if s[0] == "vsys") or ([] if groups else [("vsys", "vsys1")])
    out = []
    for local in groups + vsyses:
        ordered: list[tuple[str, str, list[Line]]] = []
        for scope, base in ((("shared",), "pre-rulebase"), (local, "pre-rulebase"), (local, "rulebase"),
                            (local, "post-rulebase"), (("shared",), "post-rulebase")):  # fmt: skip
            for name, lines in _rules(cfg, scope, base).items():
                ordered.append((f"{'' if base == 'rulebase' else base.split('-')[0] + ':'}{name}", name, lines))
        if not ordered:
            continue
        name = stem if len(groups + vsyses) == 1 else f"{stem}-{local[1]}"
        rs = Ruleset(name=name, source=cfg.path, default=DENY, text=cfg.text)
        rs.warnings += [Warning_(msg, at) for msg, at in cfg.notes]
        _convert(rs, cfg, _Objects(cfg, [local, ("shared",)]), local, ordered, Zones(inventory))
        out.append(rs)
    if not out:
        raise InputError("no security rule in this configuration", Loc(cfg.path, 1))
    return out


def _overrides(cfg: Config, objs: _Objects, local) -> dict[str, list[tuple]]:
    """Application -> [(from, to, source, destination, services)] of the application-override rules."""
    out: dict[str, list[tuple]] = {}
    for scope in (local, ("shared",)):
        for base in ("pre-rulebase", "rulebase", "post-rulebase"):
            rules: dict[str, dict[str, list[Line]]] = {}
            for ln in cfg.under(scope, base, "application-override", "rules"):
                if len(ln.words) > 5:
                    rules.setdefault(ln.words[3], {}).setdefault(ln.words[4], []).append(ln)
            for f in rules.values():
                vals = {k: [ln.words[5] for ln in v] for k, v in f.items()}
                if "yes" in vals.get("disabled", []):
                    continue
                proto = {"tcp": 6, "udp": 17}.get((vals.get("protocol") or ["tcp"])[0], 6)
                svc = EMPTY
                for part in ",".join(vals.get("port", [])).split(","):
                    lo, _, hi = part.partition("-")
                    if lo.isdigit():
                        svc = svc | svc_range(proto, int(lo), int(hi or lo))
                src = _names(objs, f.get("source", []))
                dst = _names(objs, f.get("destination", []))
                for app in vals.get("application", []):
                    out.setdefault(app, []).append((vals.get("from", ["any"]), vals.get("to", ["any"]), src, dst, svc))
    return out


def _names(objs: _Objects, lines: list[Line]) -> tuple[IntervalSet, list]:
    if not lines:
        return ALL, []
    out, unres = EMPTY, []
    for ln in lines:
        got, u = objs.address(ln.words[5], ln.loc(5))
        out, unres = out | got, unres + u
    return out, unres


def _convert(rs: Ruleset, cfg: Config, objs: _Objects, local, ordered, zones: Zones) -> None:
    defined = {ln.words[1] for ln in cfg.under(local, "zone") if len(ln.words) > 1}
    used = set(defined)
    for _, _, lines in ordered:
        used |= {ln.words[1] for ln in lines if ln.words[0] in ("from", "to") and len(ln.words) > 1} - {"any"}
    if used and zones.named is None:
        rs.warnings.append(Warning_("no inventory workload names its zone (zone: NAME): the rules' zones are "
                                    "conditions, so their allows match nothing (the secure side)", None))  # fmt: skip
    overrides = _overrides(cfg, objs, local)
    for rid, name, lines in ordered:
        f: dict[str, list[Line]] = {}
        for ln in lines:
            f.setdefault(ln.words[0], []).append(ln)
        vals = {k: [ln.words[1] for ln in v if len(ln.words) > 1] for k, v in f.items()}
        loc = lines[0].loc()
        if "yes" in vals.get("disabled", []):
            rs.skipped.append(Skipped(rid, "disabled yes", loc))
            continue
        action = ACTIONS.get((vals.get("action") or ["allow"])[0])
        if action is None:
            raise cfg.fail(f"rule {name}: action {(vals.get('action') or [''])[0]!r}", f["action"][0].loc(1))
        src = _side(objs, f.get("source", []), "yes" in vals.get("negate-source", []))
        dst = _side(objs, f.get("destination", []), "yes" in vals.get("negate-destination", []))
        conds: list[Condition] = []
        for side, key in ((src, "from"), (dst, "to")):
            zs = [z for z in vals.get(key, ["any"]) if z != "any"]
            if not zs:
                continue
            if all(zones.exact((z,), used) for z in zs):
                lim = EMPTY
                for z in zs:
                    lim = lim | zones.addresses(z)
                side[0] = side[0] & lim
            else:
                conds.append(Condition(f"{key} {' '.join(zs)}", "zone"))
        for key, why in CONDITIONS.items():
            if key in vals and [v for v in vals[key] if v not in ("any", "always")]:
                conds.append(Condition(f"{key} {' '.join(vals[key])}", why))
        rt = (vals.get("rule-type") or ["universal"])[0]
        if rt != "universal":
            conds.append(Condition(f"rule-type {rt}", "zone"))
        services = vals.get("service", ["any"])
        apps = vals.get("application", ["any"])
        parts = []  # (services set, unresolved services, conditions, src limit, dst limit)
        if "application-default" in services:
            if "any" in apps:
                parts.append((FULL_SVC, [], [], None, None))
            for app in (a for a in apps if a != "any"):
                if app in overrides:
                    for fz, tz, (osrc, _), (odst, _), osvc in overrides[app]:
                        parts.append((osvc, [], _override_zones(app, fz, tz), osrc, odst))
                else:
                    ports, unres = objs.app_ports(app)
                    parts.append((ports or EMPTY, unres, [Condition(f"application {app}", "application")], None, None))
        else:
            svc, sconds = EMPTY, []
            for ln in f.get("service", []) or [Line(("service", "any"), (loc, loc))]:
                got, c = objs.service(ln.words[1], ln.loc(1))
                svc, sconds = svc | got, sconds + [Condition(x, "source port") for x in c]
            if "any" in apps:
                parts.append((svc, [], sconds, None, None))
            for app in (a for a in apps if a != "any"):
                if app in overrides:
                    for fz, tz, (osrc, _), (odst, _), osvc in overrides[app]:
                        parts.append((svc & osvc, [], sconds + _override_zones(app, fz, tz), osrc, odst))
                else:
                    parts.append((svc, [], sconds + [Condition(f"application {app}", "application")], None, None))
        for k, (svc, unres, extra, slim, dlim) in enumerate(parts, 1):
            s, d = list(src), list(dst)
            if slim is not None:
                s[0] = s[0] & slim
            if dlim is not None:
                d[0] = d[0] & dlim
            items = tuple(svc_items(svc)) if svc else ()
            rs.rules.append(
                Rule(
                    id=rid if len(parts) == 1 else f"{rid}.{k}",
                    action=action,
                    src=side_expr(s),
                    dst=side_expr(d),
                    services=items + tuple(unres),
                    loc=loc,
                    comment=f"rule {name}",
                    conditions=tuple(conds + extra),
                )
            )
    _defaults(rs, cfg, local, defined, zones, used)


def _override_zones(app: str, fz: list[str], tz: list[str]) -> list[Condition]:
    """An override assigns APP only between its zones: a condition unless they are any."""
    if fz == ["any"] and tz == ["any"]:
        return []
    return [Condition(f"application-override of {app} from {' '.join(fz)} to {' '.join(tz)}", "zone")]


def _defaults(rs: Ruleset, cfg: Config, local, defined, zones: Zones, used) -> None:
    over = {}
    for ln in cfg.under(local, "rulebase", "default-security-rules", "rules"):
        if len(ln.words) >= 6 and ln.words[4] == "action":
            over[ln.words[3]] = ln.words[5]
    intra = ACTIONS.get(over.get("intrazone-default", "allow"), ALLOW)
    inter = ACTIONS.get(over.get("interzone-default", "deny"), DENY)
    at = Loc(cfg.path)
    for z in sorted(defined):
        if zones.exact((z,), used):
            a = zones.addresses(z)
            items = AddrExpr(tuple(addr_items(a))) if a else AddrExpr(())
            rs.rules.append(
                Rule(f"intrazone-default:{z}", intra, items, items, (Svc.any(),), at, f"traffic within zone {z}")
            )
        else:
            rs.rules.append(
                Rule(
                    f"intrazone-default:{z}",
                    intra,
                    AddrExpr.any(),
                    AddrExpr.any(),
                    (Svc.any(),),
                    at,
                    f"traffic within zone {z}",
                    (Condition(f"within zone {z}", "zone"),),
                )  # fmt: skip
            )
    rs.rules.append(
        Rule("interzone-default", inter, AddrExpr.any(), AddrExpr.any(), (Svc.any(),), at, "traffic between zones")
    )


def _side(objs: _Objects, lines: list[Line], negate: bool) -> list:
    """[include set, include unresolved, exclude set, exclude unresolved]."""
    if not lines:
        return [ALL, [], EMPTY, []]
    out, unres = EMPTY, []
    for ln in lines:
        got, u = objs.address(ln.words[1], ln.loc(1))
        out, unres = out | got, unres + u
    if negate:
        return [ALL, [], out, unres]
    return [out, unres, EMPTY, []]
