"""A capirca/aerleon policy's filters as the model's rulesets: terms in order (first match), the
filter's implicit deny last."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import PurePath

from ...errors import InputError, Loc, Warning_
from ...model.ruleset import ALLOW, DENY, PROTO_NAMES, AddrExpr, AnyAddr, Condition, Rule, Ruleset, Skipped, Svc
from ...model.space import ALL_V4, ALL_V6, EMPTY, IntervalSet, ip_range, svc_range, whole_proto
from ..iptables.convert import addr_items, svc_items
from .definitions import Definitions
from .policy import Block, Filter, Policy, Value

PROTOS = {**PROTO_NAMES, "icmpv6": 58, "hopopt": 0}
PORT_PROTOS = (6, 17, 132, 136)
ICMP = {
    "echo-reply": 0, "unreachable": 3, "source-quench": 4, "redirect": 5, "alternate-address": 6,
    "echo-request": 8, "router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11,
    "parameter-problem": 12, "timestamp-request": 13, "timestamp-reply": 14, "information-request": 15,
    "information-reply": 16, "mask-request": 17, "mask-reply": 18, "conversion-error": 31, "mobile-redirect": 32,
}  # fmt: skip
ICMP6 = {
    "destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3, "parameter-problem": 4,
    "echo-request": 128, "echo-reply": 129, "multicast-listener-query": 130, "multicast-listener-report": 131,
    "multicast-listener-done": 132, "router-solicit": 133, "router-advertisement": 134,
    "neighbor-solicit": 135, "neighbor-advertisement": 136, "redirect-message": 137,
    "router-renumbering": 138, "icmp-node-information-query": 139, "icmp-node-information-response": 140,
    "inverse-neighbor-discovery-solicitation": 141, "inverse-neighbor-discovery-advertisement": 142,
    "version-2-multicast-listener-report": 143, "home-agent-address-discovery-request": 144,
    "home-agent-address-discovery-reply": 145, "mobile-prefix-solicitation": 146,
    "mobile-prefix-advertisement": 147, "certification-path-solicitation": 148,
    "certification-path-advertisement": 149, "multicast-router-advertisement": 151,
    "multicast-router-solicitation": 152, "multicast-router-termination": 153,
}  # fmt: skip
KEYWORDS = {"inet", "inet6", "mixed", "ingress", "egress", "from-zone", "to-zone"}
ACTIONS = {"accept": ALLOW, "deny": DENY, "reject": DENY, "reject-with-tcp-rst": DENY}
ESTABLISHED = {"established", "tcp-established"}
FIRST = {"initial", "tcp-initial", "syn"}
# keywords that change nothing fw2np models (logging, counting, ownership, QoS)
IGNORED = {"comment", "owner", "counter", "logging", "log-name", "log-limit", "policer", "qos", "loss-priority",
           "traffic-class-count", "platform", "platform-exclude", "expiration", "action", "option", "protocol",
           "source-address", "source-exclude", "destination-address", "destination-exclude", "destination-port",
           "icmp-type", "source-port", "verbatim", "name", "priority", "encapsulate", "decapsulate",
           "routing-instance", "filter-term", "vpn", "target-resources", "target-service-accounts"}  # fmt: skip
CONDITIONS = {"source-tag": "network tag", "destination-tag": "network tag", "source-interface": "interface match",
              "destination-interface": "interface match", "source-zone": "zone", "destination-zone": "zone",
              "port": "source or destination port", "ttl": "TTL", "packet-length": "packet length",
              "fragment-offset": "fragment offset", "hop-limit": "hop limit", "dscp-match": "DSCP",
              "dscp-except": "DSCP", "traffic-type": "traffic type", "ether-type": "ether type",
              "precedence": "precedence", "next-ip": "next hop", "protocol-except": "protocol exclusion",
              "source-prefix": "prefix list", "destination-prefix": "prefix list",
              "source-prefix-except": "prefix list", "destination-prefix-except": "prefix list",
              "flexible-match-range": "flexible match",
              "icmp-code": "ICMP code", "forwarding-class": "forwarding class",
              "apply-groups": "apply-groups"}  # fmt: skip


class _Names:
    """Network and service names resolved through the definitions (nested, cycles are errors)."""

    def __init__(self, pol: Policy, defs: Definitions | None):
        self.pol, self.defs = pol, defs

    def fail(self, msg: str, loc: Loc) -> InputError:
        texts = {**self.pol.texts, **(self.defs.texts if self.defs else {})}
        from ...errors import line_of

        return InputError(msg, loc, line_of(texts.get(loc.file, ""), loc.line))

    def network(self, v: Value, stack=()) -> IntervalSet:
        text = v.text
        try:
            n = ipaddress.ip_network(text, strict=False)
            return ip_range(int(n.network_address), int(n.broadcast_address), n.version)
        except ValueError:
            pass
        if self.defs is None:
            raise self.fail(
                f"{text}: no definitions folder (a def/ beside or above the policy, or --definitions)", v.loc
            )
        if text not in self.defs.networks:
            raise self.fail(f"network {text!r} is not defined in {self.defs.folder}/*.net", v.loc)
        if text in stack:
            raise self.fail(f"network {text} contains itself ({' -> '.join((*stack, text))})", v.loc)
        out = EMPTY
        for x in self.defs.networks[text]:
            out = out | self.network(x, (*stack, text))
        return out

    def service(self, v: Value, stack=()) -> list[tuple[int, int, int]]:
        text = v.text
        if "/" in text:
            ports, _, proto = text.partition("/")
            p = PROTOS.get(proto.lower())
            lo, _, hi = ports.partition("-")
            if p is None or not lo.isdigit() or (hi and not hi.isdigit()):
                raise self.fail(f"service value {text!r}: PORT/PROTOCOL or LOW-HIGH/PROTOCOL", v.loc)
            a, b = int(lo), int(hi or lo)
            if not 0 <= a <= b <= 65535:
                raise self.fail(f"service value {text!r}: ports 0-65535, low to high", v.loc)
            return [(p, a, b)]
        if self.defs is None or text not in self.defs.services:
            where = f"{self.defs.folder}/*.svc" if self.defs else "a definitions folder"
            raise self.fail(f"service {text!r} is not defined in {where}", v.loc)
        if text in stack:
            raise self.fail(f"service {text} contains itself ({' -> '.join((*stack, text))})", v.loc)
        return [s for x in self.defs.services[text] for s in self.service(x, (*stack, text))]


def rulesets(pol: Policy, defs: Definitions | None, today: datetime.date | None = None) -> list[Ruleset]:
    today = today or datetime.date.today()
    names = _Names(pol, defs)
    stem = PurePath(pol.path).stem or "capirca"
    out: list[Ruleset] = []
    used: dict[str, int] = {}
    for k, f in enumerate(pol.filters, 1):
        rs = _filter(f, names, stem, k, today)
        n = used.get(rs.name, 0)
        used[rs.name] = n + 1
        if n:
            rs.name = f"{rs.name}-{n + 1}"
        rs.text = pol.texts.get(pol.path)
        out.append(rs)
    if not out:
        raise InputError("no header { } in this policy", Loc(pol.path, 1))
    return out


def _targets(h: Block) -> list[list[str]]:
    out, cur = [], None
    for v in h.fields.get("target", []):
        if v.text == "|":
            cur = []
            out.append(cur)
        elif cur is not None:
            cur.append(v.text)
    return [t for t in out if t]


def _filter(f: Filter, names: _Names, stem: str, k: int, today) -> Ruleset:
    targets = _targets(f.header)
    k8s = next((t for t in targets if t[0] == "k8s"), None)
    chosen = k8s or (targets[0] if targets else ["generic"])
    opts = [o.lower() for o in chosen[1:]]
    direction = "egress" if "egress" in opts or "output" in opts else "ingress"
    family = "mixed" if k8s else next((o for o in opts if o in ("inet", "inet6", "mixed")), "inet")
    whole = {"inet": ALL_V4, "inet6": ALL_V6, "mixed": ALL_V4 | ALL_V6}[family]
    if k8s:
        name = f"{stem}-k8s-{direction}"
    else:
        parts = [o for o in chosen[1:] if o.lower() not in KEYWORDS]
        name = "-to-".join(parts) if "from-zone" in chosen else "-".join(parts)
        name = (name or f"{stem}-{k}") + ("-inet6" if family == "inet6" and name else "")
    rs = Ruleset(name=name, source=f.header.loc.file, default=DENY)
    if k8s:
        rs.directions = (direction,)
    rs.warnings.append(
        Warning_(
            f"filter {name}: read for target {' '.join(chosen)} ({family}"
            + (f", {direction}: the terms govern every pod's {direction} traffic" if k8s else "")
            + "); the filter's implicit deny ends it",
            f.header.loc,
        )
    )
    for t in f.terms:
        _term(rs, t, names, whole, family, k8s is not None, direction, today)
    return rs


def _term(rs: Ruleset, t: Block, names: _Names, whole, family: str, k8s: bool, direction: str, today) -> None:
    words = t.words
    action = (words("action") or [""])[-1].lower()
    if action == "next":
        rs.skipped.append(Skipped(t.name, "action next: it decides nothing (the next term decides)", t.loc))
        return
    if action not in ACTIONS:
        loc = t.field_locs.get("action", t.loc)
        raise names.fail(
            f"term {t.name}: action {action or '(none)'}: accept, deny, reject, reject-with-tcp-rst or next", loc
        )
    if "verbatim" in t.fields:
        rs.skipped.append(Skipped(t.name, "verbatim: raw text for one platform, not a filter term", t.loc))
        return
    exp = words("expiration")
    if exp:
        try:
            when = datetime.date.fromisoformat(exp[0])
        except ValueError:
            raise names.fail(f"expiration {exp[0]!r}: YYYY-MM-DD", t.field_locs["expiration"]) from None
        if when <= today:
            why = f"expired on {when}: not translated (capirca skips expired terms)"
            rs.warnings.append(Warning_(why, t.loc, t.name))
            rs.skipped.append(Skipped(t.name, f"expired on {when}", t.loc))
            return
    src = _side(t, names, "source", whole)
    dst = _side(t, names, "destination", whole)
    if src is None or dst is None:
        rs.skipped.append(
            Skipped(t.name, f"its addresses hold none of family {family}: capirca renders no such term", t.loc)
        )
        return
    svc = _services(t, names)
    conds: list[Condition] = []
    for key, why in CONDITIONS.items():
        if key in t.fields:
            conds.append(Condition(f"{key}:: {' '.join(words(key))}", why))
    if "source-port" in t.fields:
        conds.append(Condition(f"source-port:: {' '.join(words('source-port'))}", "source port"))
    unknown = [key for key in t.fields if key not in IGNORED and key not in CONDITIONS]
    for key in unknown:
        conds.append(Condition(f"{key}:: {' '.join(words(key))}", "not modelled by fw2np"))
    options = [o.lower() for o in words("option")]
    for o in options:
        if o in ESTABLISHED:
            if ACTIONS[action] == ALLOW:
                rs.skipped.append(
                    Skipped(
                        t.name,
                        f"option {o} takes only packets of established connections: "
                        "NetworkPolicy allows those with the connection",
                        t.loc,
                    )  # fmt: skip
                )
                return
            conds.append(Condition(f"option:: {o}", "takes only packets after a connection's first one"))
        elif o not in FIRST:
            conds.append(Condition(f"option:: {o}", "not modelled by fw2np"))
    _aerleon_refusal(rs, t, action, direction if k8s else None)
    comment = " ".join(words("comment"))
    rs.rules.append(
        Rule(
            id=t.name,
            action=ACTIONS[action],
            src=src,
            dst=dst,
            services=svc,
            loc=t.loc,
            comment=comment,
            conditions=tuple(conds),
        )
    )


def _side(t: Block, names: _Names, side: str, whole: IntervalSet) -> AddrExpr | None:
    """A side's addresses (minus its excludes), of the filter's family; None: all were of the other."""
    given = t.fields.get(f"{side}-address", [])
    if not given:
        s = whole
    else:
        s = EMPTY
        for v in given:
            s = s | names.network(v)
        s = s & whole
        if not s:
            return None
    for v in t.fields.get(f"{side}-exclude", []):
        s = s - names.network(v)
    if s == whole and whole == ALL_V4 | ALL_V6:
        return AddrExpr((AnyAddr(),))
    return AddrExpr(addr_items(s) if s else ())


def _services(t: Block, names: _Names) -> tuple:
    protos = []
    for v in t.fields.get("protocol", []):
        p = int(v.text) if v.text.isdigit() else PROTOS.get(v.text.lower())
        if p is None or not 0 <= p <= 255:
            raise names.fail(f"unknown protocol {v.text!r}", v.loc)
        protos.append(p)
    ports = [s for v in t.fields.get("destination-port", []) for s in names.service(v)]
    icmp = t.fields.get("icmp-type", [])
    if ports and not protos:
        raise names.fail(f"term {t.name}: destination-port needs a protocol", t.field_locs["destination-port"])
    if not protos:
        return (Svc.any(),)
    out = EMPTY
    for p in protos:
        if ports and p in PORT_PROTOS:
            for q, lo, hi in ports:
                if q == p:
                    out = out | svc_range(p, lo, hi)
        elif icmp and p in (1, 58):
            table = ICMP if p == 1 else ICMP6
            for v in icmp:
                n = table.get(v.text.lower())
                if n is None:
                    raise names.fail(f"unknown {'icmp' if p == 1 else 'icmpv6'} type {v.text!r}", v.loc)
                out = out | svc_range(p, n, n)
        else:
            out = out | whole_proto(p)
    return svc_items(out) if out else ()


def _aerleon_refusal(rs: Ruleset, t: Block, action: str, direction: str | None) -> None:
    """What aerleon's k8s generator (aerleon/lib/k8s.py) refuses in this term (DIRECTION: the k8s
    filter's; None: another target's filter, as if rendered for k8s), as a warning: fw2np translates it."""
    why = []
    fields = set(t.fields) - {"comment", "owner", "expiration", "action", "logging", "name"}
    if action in ("deny", "reject", "reject-with-tcp-rst") and fields:
        why.append("an explicit deny (only a deny of everything is supported)")
    elif action != "accept" and action != "deny":
        why.append(f"action {action} (accept and deny only)")
    if action == "accept":
        if "source-port" in t.fields:
            why.append("a source port")
        if "option" in t.fields:
            why.append("term options")
        if "icmp-type" in t.fields:
            why.append("icmp-type")
        if direction == "ingress" and "source-address" not in t.fields:
            why.append("an ingress term without source-address")
        if direction == "ingress" and "destination-address" in t.fields:
            why.append("an ingress term with destination-address")
        if direction == "egress" and "destination-address" not in t.fields:
            why.append("an egress term without destination-address")
        if direction == "egress" and "source-address" in t.fields:
            why.append("an egress term with source-address")
    if why:
        rs.warnings.append(
            Warning_(
                f"aerleon's k8s generator {'refuses' if direction else 'would refuse'} "
                f"{', '.join(why)}; fw2np translates it exactly",
                t.loc,
                t.name,
            )
        )
