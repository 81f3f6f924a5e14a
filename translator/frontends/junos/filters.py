"""Junos firewall filters (`firewall family inet|inet6 filter NAME term T from ... then ...`) as
first-match rulesets: terms in order, the filter's implicit discard last.

Within a term, the values of one match condition are alternatives and the conditions are all
required; `source-address X except` takes X out (the longest prefix decides).  `address`,
`prefix-list` and `port` match either side: such a term becomes two rules, one a side."""

from __future__ import annotations

from ...errors import Warning_
from ...model.ruleset import ALLOW, DENY, PROTO_NAMES, AddrExpr, Condition, Rule, Ruleset, Skipped, Unresolved
from ...model.space import ALL_V4, ALL_V6, EMPTY, FULL_SVC, IntervalSet, svc_range, whole_proto
from ..iptables.convert import addr_items, svc_items
from ..iptables.options import PORT_NAMES
from .lines import Config, Line, active
from .objects import Objects, network

PROTOS = {**PROTO_NAMES, "icmp6": 58, "icmpv6": 58}
FAMILIES = {"inet": ALL_V4, "inet6": ALL_V6}
ICMP = {"echo-reply": 0, "unreachable": 3, "source-quench": 4, "redirect": 5, "echo-request": 8,
        "router-advertisement": 9, "router-solicit": 10, "time-exceeded": 11, "parameter-problem": 12,
        "timestamp": 13, "timestamp-reply": 14, "info-request": 15, "info-reply": 16, "mask-request": 17,
        "mask-reply": 18}  # fmt: skip
ICMP6 = {"destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3, "parameter-problem": 4,
         "echo-request": 128, "echo-reply": 129, "router-solicit": 133, "router-advertisement": 134,
         "neighbor-solicit": 135, "neighbor-advertisement": 136, "redirect": 137}  # fmt: skip
TERMINAL = {"accept": ALLOW, "discard": DENY, "reject": DENY}
MODIFIERS = {"count", "log", "syslog", "sample", "forwarding-class", "loss-priority", "dscp", "traffic-class",
             "port-mirror", "service-accounting", "three-color-policer", "packet-mode", "next-hop-group"}  # fmt: skip
CONDITIONS = {"interface", "interface-group", "interface-set", "dscp", "dscp-except", "packet-length",
              "packet-length-except", "fragment-flags", "fragment-offset", "fragment-offset-except", "is-fragment",
              "first-fragment", "ttl", "ttl-except", "hop-limit", "precedence", "forwarding-class",
              "loss-priority", "traffic-type", "ip-options", "ip-options-except", "source-class",
              "destination-class", "flexible-match-mask", "flexible-match-range", "extension-header",
              "icmp-code", "icmp-code-except", "payload-protocol", "gre-key"}  # fmt: skip


def rulesets(cfg: Config, objs: Objects) -> list[Ruleset]:
    filters: dict[tuple[str, str], dict[str, list[Line]]] = {}
    locs = {}
    for ln in cfg.lines:
        w = ln.words
        if w[:2] == ("firewall", "family") and len(w) >= 6 and w[3] == "filter" and w[5:6] == ("term",):
            fam, name, rest, at = w[2], w[4], w[5:], ln.locs[4]
            prefix = w[:5]
        elif w[:2] == ("firewall", "filter") and len(w) >= 4 and w[3] == "term":
            fam, name, rest, at = "inet", w[2], w[3:], ln.locs[2]
            prefix = w[:3]
        else:
            continue
        if fam not in FAMILIES or len(rest) < 2:
            continue
        if not active(cfg, prefix) or not active(cfg, prefix + rest[:2]):
            continue
        locs.setdefault((fam, name), at)
        filters.setdefault((fam, name), {}).setdefault(rest[1], []).append(
            Line(rest[2:], ln.locs[len(w) - len(rest) + 2 :])
        )
    out = []
    for (fam, name), terms in filters.items():
        shared = sum(n == name for _, n in filters) > 1
        rs = Ruleset(name=f"{name}-{fam}" if shared else name, source=cfg.path, default=DENY, text=cfg.text)
        why = f"filter {name} (family {fam}): terms in order, then the implicit discard"
        rs.warnings.append(Warning_(why, locs[(fam, name)]))
        for term, lines in terms.items():
            _term(rs, cfg, objs, term, lines, FAMILIES[fam], locs[(fam, name)])
        out.append(rs)
    return out


def _term(rs: Ruleset, cfg: Config, objs: Objects, term: str, lines: list[Line], whole: IntervalSet, at) -> None:
    match: dict[str, list[tuple[tuple[str, ...], Line]]] = {}
    then: list[Line] = []
    loc = lines[0].loc() if lines and lines[0].locs else at
    for given in lines:
        for ln in _statements(given):
            if ln.words[:1] == ("from",) and len(ln.words) >= 2:
                match.setdefault(ln.words[1], []).append((ln.words[2:], ln))
            elif ln.words[:1] == ("then",) and len(ln.words) >= 2:
                then.append(ln)
    actions = [ln.words[1] for ln in then]
    if "next" in actions:
        rs.skipped.append(Skipped(term, "then next term: it decides nothing (the next term decides)", loc))
        return
    terminal = next((a for a in actions if a in TERMINAL), None)
    conds: list[Condition] = []
    for a, ln in zip(actions, then):
        if a in ("policer", "routing-instance", "filter"):
            conds.append(Condition(f"then {' '.join(ln.words[1:])}", f"action {a}"))
        elif a not in TERMINAL and a not in MODIFIERS:
            conds.append(Condition(f"then {' '.join(ln.words[1:])}", "not modelled by fw2np"))
    action = TERMINAL.get(terminal or "accept")  # a term without a terminating action accepts
    src, unres_s = _addresses(cfg, objs, match, ("source-address", "source-prefix-list"), whole)
    dst, unres_d = _addresses(cfg, objs, match, ("destination-address", "destination-prefix-list"), whole)
    either, unres_e = _addresses(cfg, objs, match, ("address", "prefix-list"), whole, required=False)
    svc = _services(cfg, match, conds)
    for key, vals in match.items():
        if key in CONDITIONS:
            conds.append(Condition(f"from {key} {' '.join(v for w, _ in vals for v in w)}", key))
        elif key in ("source-port", "source-port-except"):
            conds.append(Condition(f"from {key} {' '.join(v for w, _ in vals for v in w)}", "source port"))
        elif key in ("tcp-established",):
            if action == ALLOW:
                rs.skipped.append(Skipped(term, "tcp-established takes only packets of established connections: "
                                          "NetworkPolicy allows those with the connection", loc))  # fmt: skip
                return
            conds.append(Condition("tcp-established", "takes only packets after a connection's first one"))
        elif key in ("tcp-flags",):
            conds.append(Condition(f"tcp-flags {' '.join(v for w, _ in vals for v in w)}", "TCP flags"))
    sides = [(src, dst)]
    if either is not None:  # `address` matches the source or the destination
        sides = [(src & either, dst), (src, dst & either)]
    port_either = [v for w, _ in match.get("port", []) for v in w]
    for w, ln in match.get("port", []):
        for v in w:
            lo, hi = _port_range(v)
            if lo < 0 or hi < lo or hi > 65535:
                raise cfg.fail(f"port {v!r}: a port, a range a-b or a service name", ln.loc(2))
    parts = [(s, d, v, extra) for s, d in sides for v, extra in _port_either(svc, port_either) if v]
    for k, (s, d, svc_k, extra) in enumerate(parts, 1):
        rid = term if len(parts) == 1 else f"{term}.{k}"
        rs.rules.append(
            Rule(
                id=rid,
                action=action,
                src=_expr(s, unres_s + unres_e),
                dst=_expr(d, unres_d + unres_e),
                services=svc_items(svc_k),
                loc=loc,
                comment=f"term {term}",
                conditions=tuple(conds + extra),
            )
        )


MATCHES = {"source-address", "destination-address", "address", "source-prefix-list", "destination-prefix-list",
           "prefix-list", "protocol", "protocol-except", "next-header", "next-header-except", "destination-port",
           "destination-port-except", "source-port", "source-port-except", "port", "icmp-type", "icmp-type-except",
           "tcp-established", "tcp-initial", "tcp-flags"} | CONDITIONS  # fmt: skip
ACTIONS = set(TERMINAL) | MODIFIERS | {"next", "policer", "routing-instance", "filter"}


def _statements(ln: Line) -> list[Line]:
    """`from protocol tcp destination-port 22` (several statements in one set command) as one line a
    statement: a new one starts at each match condition (after from) or action (after then) keyword."""
    w = ln.words
    if len(w) < 3 or w[0] not in ("from", "then"):
        return [ln]
    keys = MATCHES if w[0] == "from" else ACTIONS
    out, start = [], 1
    for k in range(2, len(w) + 1):
        if k == len(w) or (w[k] in keys and w[k - 1] not in ("next",)):
            out.append(Line((w[0],) + w[start:k], (ln.locs[0],) + ln.locs[start:k]))
            start = k
    return out


def _port_either(svc: IntervalSet, ports: list[str]) -> list[tuple[IntervalSet, list[Condition]]]:
    """`from port P`: the destination port P, or (a condition) the source port P."""
    if not ports:
        return [(svc, [])]
    dst = EMPTY
    for lo, hi in (_port_range(p) for p in ports):
        for p in (6, 17, 132):
            dst = dst | svc_range(p, lo, hi)
    cond = Condition(f"from port {' '.join(ports)} (as the source port)", "source port")
    return [(svc & dst, []), (svc & (whole_proto(6) | whole_proto(17) | whole_proto(132)), [cond])]


def _port_range(t: str) -> tuple[int, int]:
    lo, _, hi = t.partition("-")

    def one(x: str) -> int:
        return int(x) if x.isdigit() else PORT_NAMES.get(x, -1)

    return one(lo), one(hi or lo)


def _expr(s: IntervalSet | None, unresolved: list) -> AddrExpr:
    items = tuple(addr_items(s)) if s else ()
    return AddrExpr(
        items + tuple(Unresolved(u, "resolved by the router") if isinstance(u, str) else u for u in unresolved)
    )


def _addresses(cfg, objs, match, keys, whole, required=True):
    """The addresses the conditions KEYS (an address and a prefix-list condition) allow, excepts out;
    WHOLE when none is given (None when REQUIRED is False and none is given)."""
    given = [(k, w, ln) for k in keys for w, ln in match.get(k, [])]
    if not given:
        return (whole if required else None), []
    entries, unresolved = [], []
    for k, w, ln in given:
        if not w:
            continue
        exc = len(w) > 1 and w[1] == "except"
        if k.endswith("prefix-list"):
            got, unres = objs.prefix_list(w[0], ln.loc(2))
            unresolved += unres
        else:
            got = network(w[0])
            if got is None:
                raise cfg.fail(f"{k} {w[0]!r} is not an address prefix", ln.loc(2))
        got = got & whole
        size = min((hi - lo for lo, hi in got.iv), default=0)
        entries.append((size, exc, got))
    s = EMPTY
    for _, exc, got in sorted(entries, key=lambda e: -e[0]):  # longest prefix wins: smaller ones last
        s = (s - got) if exc else (s | got)
    return s, unresolved


def _services(cfg: Config, match, conds: list[Condition]) -> IntervalSet:
    protos = []
    for key in ("protocol", "next-header"):
        for w, ln in match.get(key, []):
            for v in w:
                p = int(v) if v.isdigit() else PROTOS.get(v)
                if p is None:
                    raise cfg.fail(f"unknown protocol {v!r}", ln.loc(2))
                protos.append(p)
    for key in ("protocol-except", "next-header-except"):
        if key in match:
            conds.append(Condition(f"{key} {' '.join(v for w, _ in match[key] for v in w)}", "protocol exclusion"))
    ports = [(v, ln) for w, ln in match.get("destination-port", []) for v in w]
    icmp = [(v, ln) for key in ("icmp-type",) for w, ln in match.get(key, []) for v in w]
    if "destination-port-except" in match:
        conds.append(Condition("destination-port-except", "port exclusion"))
    if not protos:
        if ports:
            protos = [6, 17, 132]
        elif icmp:
            protos = [1, 58]
        else:
            return FULL_SVC
    out = EMPTY
    for p in protos:
        if ports and p in (6, 17, 132):
            for v, ln in ports:
                lo, hi = _port_range(v)
                if lo < 0 or hi < lo or hi > 65535:
                    raise cfg.fail(f"destination-port {v!r}: a port, a range a-b or a service name", ln.loc(2))
                out = out | svc_range(p, lo, hi)
        elif icmp and p in (1, 58):
            names = ICMP if p == 1 else ICMP6
            for v, ln in icmp:
                t = int(v) if v.isdigit() else names.get(v)
                if t is None:
                    raise cfg.fail(f"unknown icmp-type {v!r}", ln.loc(2))
                out = out | svc_range(p, t, t)
        elif not ports:
            out = out | whole_proto(p)
    return out
