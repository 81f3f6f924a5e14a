"""Check Point management API `show-access-rulebase` JSON (with its `objects-dictionary`): one
first-match ruleset a layer.  Sections are opened in order; an inline layer (`Apply Layer`) stands at
its rule's place, its rules under that rule's match, then the layer's implicit cleanup (drop) for
what it did not decide; disabled rules are skipped and reported; the layer ends with its implicit
cleanup (drop)."""

from __future__ import annotations

import ipaddress
import re

from ..errors import InputError, Loc, Warning_, line_of
from ..io.jsonsrc import looks_like_json, parse_json
from ..io.yamlio import loc_of
from ..model.ruleset import ALLOW, DENY, AddrExpr, Condition, Rule, Ruleset, Skipped, Svc, Unresolved
from ..model.space import EMPTY, FULL_SVC, IntervalSet, ip_range, svc_range, whole_proto
from .common.sides import side_expr
from .iptables.convert import svc_items

NAME = "checkpoint"
ANY = "CpmiAnyObject"
ACTIONS = {"accept": ALLOW, "drop": DENY, "reject": DENY, "ask": ALLOW, "inform": ALLOW}


def detect(text: str, path: str) -> int:
    head = text[:20000]
    if looks_like_json(text) and '"rulebase"' in head and ('"objects-dictionary"' in text or '"access-rule"' in head):
        return 95
    return 0


class _Objects:
    def __init__(self, doc, text: str, path: str):
        self.text, self.path = text, path
        self.by_uid = {}
        for o in doc.get("objects-dictionary") or []:
            if isinstance(o, dict) and "uid" in o:
                self.by_uid[o["uid"]] = o

    def fail(self, msg: str, obj) -> InputError:
        loc = obj if isinstance(obj, Loc) else loc_of(obj) or Loc(self.path)
        return InputError(msg, loc, line_of(self.text, loc.line))

    def get(self, ref, at):
        if isinstance(ref, dict):
            return ref
        o = self.by_uid.get(ref)
        if o is None:
            raise self.fail(f"object {ref!r} is not in the objects-dictionary", at)
        return o

    def addresses(self, ref, at, stack=()) -> tuple[IntervalSet, list]:
        o = self.get(ref, at)
        kind, name = o.get("type"), o.get("name", "?")
        if kind == ANY:
            return ip_range(0, (1 << 32) - 1, 4) | ip_range(0, (1 << 128) - 1, 6), []
        if o.get("uid") in stack:
            raise self.fail(f"group {name} contains itself", at)
        stack = (*stack, o.get("uid"))
        if kind in ("group",):
            out, unres = EMPTY, []
            for m in o.get("members") or []:
                got, u = self.addresses(m, at, stack)
                out, unres = out | got, unres + u
            return out, unres
        if kind == "group-with-exclusion":
            inc, u1 = self.addresses(o.get("include"), at, stack)
            exc, u2 = self.addresses(o.get("except"), at, stack)
            return inc - exc, u1 + [Unresolved(x.text, x.reason, x.loc) for x in u2]
        out = EMPTY
        for v in ("ipv4-address", "ipv6-address"):
            if o.get(v):
                a = ipaddress.ip_address(o[v])
                out = out | ip_range(int(a), int(a), a.version)
        for s, m in (("subnet4", "mask-length4"), ("subnet6", "mask-length6")):
            if o.get(s):
                n = ipaddress.ip_network(f"{o[s]}/{o.get(m)}", strict=False)
                out = out | ip_range(int(n.network_address), int(n.broadcast_address), n.version)
        for lo, hi in (("ipv4-address-first", "ipv4-address-last"), ("ipv6-address-first", "ipv6-address-last")):
            if o.get(lo):
                a, b = ipaddress.ip_address(o[lo]), ipaddress.ip_address(o.get(hi) or o[lo])
                out = out | ip_range(int(a), int(b), a.version)
        if out:
            return out, []
        if kind == "dns-domain":
            fq = name.lstrip(".")
            return EMPTY, [
                Unresolved(
                    f"dns-domain {name}",
                    "resolved by the gateway when it runs",
                    loc_of(o),
                    fqdn=("*." + fq) if name.startswith(".") else fq,
                )
            ]
        return EMPTY, [
            Unresolved(f"{kind} {name}", "not known offline (dynamic, updatable or identity object)", loc_of(o))
        ]

    def services(self, ref, at, stack=()) -> tuple[IntervalSet, list]:
        o = self.get(ref, at)
        kind, name = o.get("type"), o.get("name", "?")
        if kind == ANY:
            return FULL_SVC, []
        if o.get("uid") in stack:
            raise self.fail(f"service group {name} contains itself", at)
        if kind == "service-group":
            out, unres = EMPTY, []
            for m in o.get("members") or []:
                got, u = self.services(m, at, (*stack, o.get("uid")))
                out, unres = out | got, unres + u
            return out, unres
        p = {"service-tcp": 6, "service-udp": 17, "service-sctp": 132}.get(kind)
        if p is not None:
            out = EMPTY
            for part in str(o.get("port", "")).split(","):
                part = part.strip()
                m = re.fullmatch(r"(\d+)(?:-(\d+))?|([<>])(\d+)", part)
                if not m:
                    raise self.fail(f"service {name}: port {part!r} (N, N-M, <N or >N)", o)
                if m.group(3):
                    n = int(m.group(4))
                    lo, hi = (0, n - 1) if m.group(3) == "<" else (n + 1, 65535)
                else:
                    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
                out = out | svc_range(p, lo, hi)
            return out, []
        if kind in ("service-icmp", "service-icmp6"):
            p = 1 if kind == "service-icmp" else 58
            t = o.get("icmp-type")
            return (svc_range(p, int(t), int(t)) if isinstance(t, int) else whole_proto(p)), []
        if kind == "service-other" and isinstance(o.get("ip-protocol"), int):
            return whole_proto(o["ip-protocol"]), []
        return EMPTY, [Unresolved(f"{kind} {name}", "a service fw2np does not read", loc_of(o))]


def load(text: str, path: str, **_options) -> list[Ruleset]:
    doc = parse_json(text, path)
    if not isinstance(doc, dict) or not isinstance(doc.get("rulebase"), list):
        loc = loc_of(doc) or Loc(path, 1, 1)
        raise InputError(
            'expected the output of show-access-rulebase: {"rulebase": [...], "objects-dictionary": [...]}', loc
        )
    objs = _Objects(doc, text, path)
    rs = Ruleset(name=str(doc.get("name") or "checkpoint"), source=path, default=DENY, text=text)
    rs.warnings.append(
        Warning_(f"layer {doc.get('name', '?')}: its rules in order, then its implicit cleanup (drop)", loc_of(doc))
    )
    _rules(rs, objs, doc["rulebase"], None)
    rs.rules.append(
        Rule(
            "implicit-cleanup",
            DENY,
            AddrExpr.any(),
            AddrExpr.any(),
            (Svc.any(),),
            Loc(path),
            "the layer's implicit cleanup rule (drop)",
        )
    )
    return [rs]


def _rules(rs: Ruleset, objs: _Objects, entries, outer) -> None:
    """Add ENTRIES' rules to RS; OUTER: the (src, dst, svc, conditions, id) of the inline layer's rule."""
    for e in entries:
        if not isinstance(e, dict):
            continue
        if e.get("type") == "access-section":
            _rules(rs, objs, e.get("rulebase") or [], outer)
            continue
        if e.get("type") != "access-rule":
            continue
        rid = str(e.get("rule-number", e.get("name", "?")))
        rid = f"{outer[4]}.{rid}" if outer else rid
        at = loc_of(e) or Loc(objs.path)
        if e.get("enabled") is False:
            rs.skipped.append(Skipped(rid, f"rule {e.get('name', rid)} is disabled", at))
            continue
        src = _side(objs, e, "source", at)
        dst = _side(objs, e, "destination", at)
        svc, svc_u = EMPTY, []
        for ref in e.get("service") or []:
            got, u = objs.services(ref, at)
            svc, svc_u = svc | got, svc_u + u
        conds = []
        if e.get("service-negate"):
            if svc_u:  # everything but an unknown service: the allow cannot be exact
                conds.append(Condition("service-negate of unresolved services", "unresolved service"))
            svc, svc_u = FULL_SVC - svc, []
        for key, why in (("time", "time"), ("vpn", "VPN community"), ("content", "data type")):
            refs = e.get(key) or []
            if any(objs.get(r, at).get("type") != ANY for r in refs):
                names = ", ".join(objs.get(r, at).get("name", "?") for r in refs)
                conds.append(Condition(f"{key} {names}", why))
        if outer:
            src, dst = _meet(src, outer[0]), _meet(dst, outer[1])
            svc = svc & outer[2]
            conds = list(outer[3]) + conds
        action_obj = objs.get(e.get("action"), at)
        action = str(action_obj.get("name", "")).lower()
        if action == "apply layer":
            inner = e.get("inline-layer")
            sub = e.get("rulebase") if isinstance(e.get("rulebase"), list) else None
            if sub is None:
                cond = Condition(f"inline layer {inner}", "the inline layer's rules are not in this export")
                rs.rules.append(
                    Rule(
                        rid,
                        DENY,
                        side_expr(src),
                        side_expr(dst),
                        _svc(svc, svc_u),
                        at,
                        e.get("name", ""),
                        tuple(conds + [cond]),
                    )
                )
                continue
            _rules(rs, objs, sub, (src, dst, svc, conds, rid))
            rs.rules.append(
                Rule(
                    f"{rid}.cleanup",
                    DENY,
                    side_expr(src),
                    side_expr(dst),
                    _svc(svc, svc_u),
                    at,
                    "the inline layer's implicit cleanup (drop)",
                    tuple(conds),
                )
            )
            continue
        if action not in ACTIONS:
            raise objs.fail(
                f"rule {rid}: action {action_obj.get('name')!r} (Accept, Drop, Reject, Ask, Inform, Apply Layer)", e
            )
        if action in ("ask", "inform"):
            conds.append(Condition(f"action {action_obj.get('name')}", "UserCheck"))
        rs.rules.append(
            Rule(
                rid,
                ACTIONS[action],
                side_expr(src),
                side_expr(dst),
                _svc(svc, svc_u),
                at,
                e.get("name", ""),
                tuple(conds),
            )
        )


def _side(objs: _Objects, e, key: str, at) -> list:
    """[include set, include unresolved, exclude set, exclude unresolved]."""
    out, unres = EMPTY, []
    for ref in e.get(key) or []:
        got, u = objs.addresses(ref, at)
        out, unres = out | got, unres + u
    if e.get(f"{key}-negate"):
        whole = ip_range(0, (1 << 32) - 1, 4) | ip_range(0, (1 << 128) - 1, 6)
        return [whole, [], out, unres]
    return [out, unres, EMPTY, []]


def _meet(side: list, outer: list) -> list:
    return [side[0] & outer[0], side[1] + outer[1], side[2] | outer[2], side[3] + outer[3]]


def _svc(svc: IntervalSet, unres: list) -> tuple:
    return (tuple(svc_items(svc)) if svc else ()) + tuple(unres)
