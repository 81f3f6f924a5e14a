"""Explain one flow: the ruleset's first-match trace, or the NetworkPolicy decision."""

from __future__ import annotations

import re
from pathlib import Path

import netaddr

from ..errors import InputError, Loc
from ..evaluate.endpoints import Ip, Pod
from ..evaluate.firewall import FirewallEvaluator
from ..evaluate.netpol import NetpolEvaluator
from ..frontends.common.icmp import RULESET_ICMP_TYPES as ICMP_TYPES
from ..model.inventory import Inventory
from ..model.names import ascii_number, is_dns_label, label_key_error, label_value_error
from ..model.ruleset import ALLOW, PORT_PROTOCOLS, PROTO_NAMES, TYPE_PROTOCOLS, Ruleset
from .core import service_text
from .report import endpoint_dict, pod_text, side_dict, side_lines

FLOW_FORM = (
    "expected 'SRC -> DST SERVICE', e.g. \"10.1.0.5 -> staging/app=api tcp/8080\"; "
    "an endpoint is an IP address, a workload name or namespace/key=value,key2=value2; "
    "a service is tcp/PORT, udp/PORT, sctp/PORT, icmp/TYPE, icmpv6/TYPE or proto/NUMBER"
)


def _bad(flow: str, why: str) -> InputError:
    return InputError(f"bad flow {flow!r}: {why}; {FLOW_FORM}", Loc("--flow"))


def parse_flow(text: str, inv: Inventory | None) -> tuple:
    """(src, dst, proto, port) from 'SRC -> DST SERVICE' (InputError with the expected form)."""
    m = re.fullmatch(r"\s*(\S+)\s*->\s*(\S+)\s+(\S+)\s*", text or "")
    if not m:
        raise _bad(text, "cannot split it into source, '->', destination and service")
    src, dst = (parse_endpoint(m.group(i), text, inv) for i in (1, 2))
    proto, port = parse_service(m.group(3), text)
    return src, dst, proto, port


def parse_endpoint(tok: str, flow: str, inv: Inventory | None):
    try:
        return Ip(str(netaddr.IPAddress(tok, flags=netaddr.INET_PTON)))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        pass
    if "/" in tok:
        ns, _, rest = tok.partition("/")
        if not is_dns_label(ns):
            raise _bad(flow, f"{ns!r} is not a namespace name")
        labels = {}
        for pair in filter(None, rest.split(",")):
            k, eq, v = pair.partition("=")
            err = (None if eq else f"label {pair!r} needs key=value") or label_key_error(k) or label_value_error(v)
            if err:
                raise _bad(flow, err)
            labels[k] = v
        w = _workload_of(inv, ns, labels)
        return Pod.of(ns, labels, ports=dict(w.ports) if w else None)
    if inv is not None and tok in inv.workloads:
        w = inv.workloads[tok]
        return Pod.of(w.namespace, w.labels, ports=dict(w.ports))
    known = f" (workloads: {', '.join(sorted(inv.workloads))})" if inv and inv.workloads else ""
    raise _bad(flow, f"{tok!r} is neither an IP address, a workload of the inventory{known}, nor namespace/labels")


def _workload_of(inv: Inventory | None, ns: str, labels: dict):
    if inv is None:
        return None
    return next((w for w in inv.workloads_in(ns) if all(labels.get(k) == v for k, v in w.labels.items())), None)


def parse_service(tok: str, flow: str) -> tuple[int, int]:
    if not tok.isascii():  # "tcp/²" ('²'.isdigit() holds, int('²') raises); the Kelvin sign lowercases to 'k'
        raise _bad(flow, f"service {tok!r} must be ASCII (numbers in the digits 0-9)")
    name, _, arg = tok.lower().partition("/")
    num = ascii_number(arg)
    if name == "proto":
        proto = num if num is not None else PROTO_NAMES.get(arg)
        if proto is None or not 0 <= proto <= 255:
            raise _bad(flow, f"bad protocol {arg!r}")
        return proto, 0
    proto = PROTO_NAMES.get(name)
    if proto is None:
        raise _bad(flow, f"unknown protocol {name!r}")
    if proto in PORT_PROTOCOLS:
        if num is None or not 1 <= num <= 65535:
            raise _bad(flow, f"{tok!r} needs a port 1-65535")
        return proto, num
    if proto in TYPE_PROTOCOLS:
        t = ICMP_TYPES.get(arg, num)
        if t is None or not 0 <= t <= 255:
            raise _bad(flow, f"{tok!r} needs an ICMP type 0-255")
        return proto, t
    if arg:
        raise _bad(flow, f"{tok!r}: protocol {name} has no ports")
    return proto, 0


def is_policy_input(path: str, text: str | None) -> bool:
    """Policy manifests (a directory, or text holding a NetworkPolicy) rather than a ruleset."""
    if Path(path).is_dir():
        return True
    return text is not None and bool(
        re.search(
            r"""(^|\s|["'])kind["']?\s*:\s*["']?(Global|Cluster|Admin|BaselineAdmin|Cilium|CiliumClusterwide)?"""
            r"""NetworkPolicy""",
            text,
        )
    )


def endpoint_text(ep, inv: Inventory | None) -> str:
    if isinstance(ep, Ip):
        return ep.address
    text = pod_text(ep)
    if inv is None:
        return text
    w = _workload_of(inv, ep.namespace, ep.label_map)
    if w:
        return f"{text} (workload {w.name})"
    if ep.namespace in inv.namespaces:
        return f"{text} (no workload)"
    return f"{text} (namespace outside the inventory)"


# --- rulesets ------------------------------------------------------------------


def explain_rules(rs: Ruleset, inv: Inventory, flow: tuple) -> dict:
    """The secure-reading trace: each rule checked until the first match, and why."""
    src, dst, proto, port = flow
    try:
        ev = FirewallEvaluator(rs, inv, "secure")
        allowed, by, family = ev.decision(src, dst, proto, port)
        trace = ev.trace(src, dst, proto, port, family)
        families = ev.shared_families(src, dst)
    except ValueError as exc:
        raise InputError(str(exc), Loc("--flow")) from None
    steps = []
    for rule, matched in trace:
        steps.append(
            {
                "rule": rule.id,
                "line": rule.loc.line,
                "action": rule.action,
                "matched": matched,
                "why": "source, destination and service match" if matched else _why_not(ev, rule, flow, family),
            }
        )
    return {
        "kind": "ruleset",
        "ruleset": rs.name,
        "reading": "secure",
        "flow": _flow_dict(flow),
        "in_reach": ev.in_reach(src, dst),
        "families": [f"IPv{f}" for f in families],
        "family": f"IPv{family}" if family else None,
        "src_is": _denotes(ev, src),
        "dst_is": _denotes(ev, dst),
        "decision": "allow" if allowed else "deny",
        "by": {"rule": by.id, "line": by.loc.line} if by else {"default": rs.default},
        "trace": steps,
    }


def _why_not(ev: FirewallEvaluator, rule, flow: tuple, family: int) -> str:
    """Which parts of RULE miss the flow (secure reading: allows surely, denies possibly)."""
    src, dst, proto, port = flow
    sure = rule.action == ALLOW
    if rule.conditions and sure:
        return f"an allow with a condition NetworkPolicy cannot check ({rule.conditions[0].text}) never matches"
    why = []
    if not ev.side_matches(rule.src, src, not sure, sure, family):
        why.append("source does not match")
    if not ev.side_matches(rule.dst, dst, not sure, sure, family):
        why.append("destination does not match")
    if not ev.svc_has(rule.services, proto, port, not sure):
        why.append("service does not match")
    return "; ".join(why) or "does not match"


def _denotes(ev: FirewallEvaluator, ep) -> str:
    """What the ruleset sees at an endpoint: an address, a workload's legacy addresses, or only 'any'."""
    if isinstance(ep, Ip):
        return f"external address {ep.address}"
    w = ev.workload_of(ep)
    if w is not None and w.addresses:
        return f"workload {w.name} (legacy addresses: {', '.join(w.addresses)})"
    where = "an address of the pod CIDRs" if ev.pod_ranges else "any IPv4 or IPv6 address"
    unknown = f"its address is unknown ({where} that is no workload's): an allow must hold all of them, a deny any one"
    if w is not None or ep.namespace in ev.inv.namespaces:
        what = (
            f"workload {w.name} with no legacy addresses" if w else f"a pod of namespace {ep.namespace} in no workload"
        )
        return f"{what}: {unknown}"
    return f"a pod outside the inventory's namespaces: {unknown}"


def render_rules(doc: dict, flow: tuple, inv: Inventory) -> str:
    src, dst, proto, port = flow
    lines = [
        f"flow: {endpoint_text(src, inv)} -> {endpoint_text(dst, inv)} {service_text(proto, port)}",
        f"  source is {doc['src_is']}",
        f"  destination is {doc['dst_is']}",
        f"ruleset {doc['ruleset']} (secure reading), first match wins:",
    ]
    for s in doc["trace"]:
        where = f" (line {s['line']})" if s["line"] else ""
        verdict = "MATCH" if s["matched"] else "no match"
        lines.append(f"  rule {s['rule']}{where} {s['action']}: {verdict}: {s['why']}")
    if doc.get("family"):
        shared = " and ".join(doc["families"])
        lines.insert(3, f"  legacy flows of {shared}; deciding: {doc['family']}")
    elif "families" in doc:
        lines.insert(3, "  the two ends share no address family: the legacy network had no such flow")
    by = doc["by"]
    how = (
        f"rule {by['rule']} (line {by['line']})" if "rule" in by else f"the default ({by['default']}): no rule matched"
    )
    if not doc.get("family") and "families" in doc:
        how = "no shared address family"
    lines.append(f"decision: {doc['decision']} by {how}")
    if not doc["in_reach"]:
        lines.append(
            "note: out of the ruleset's reach (no pod it governs sends or receives this flow): "
            "NetworkPolicy cannot govern this flow"
        )
    return "\n".join(lines) + "\n"


# --- policies ------------------------------------------------------------------


TARGET_NOUNS = {
    "calico": "Calico documents",
    "cnp": "ClusterNetworkPolicy documents",
    "anp": "AdminNetworkPolicy documents",
    "cilium": "Cilium documents",
}


def explain_policies(policies: list[dict], inv: Inventory | None, flow: tuple, target: str = "networkpolicy") -> dict:
    """The decision of FLOW under POLICIES (NetworkPolicies, or an ordered TARGET's documents)."""
    src, dst, proto, port = flow
    labels = {ns: dict(inv.namespaces[ns]) for ns in inv.namespaces} if inv else {}
    if target == "networkpolicy":
        np = NetpolEvaluator(policies, labels).explain(src, dst, proto, port)
    else:
        from ..targets import module

        np = module(target).evaluator(policies, labels, target).explain(src, dst, proto, port)
    out = {
        "kind": "policies",
        "policies": len(policies),
        "flow": _flow_dict(flow),
        "decision": "allow" if np["allowed"] else "deny",
        "egress": side_dict(np["egress"]),
        "ingress": side_dict(np["ingress"]),
    }
    if target != "networkpolicy":
        out["target"] = target
    return out


def render_policies(doc: dict, flow: tuple, inv: Inventory | None) -> str:
    src, dst, proto, port = flow
    lines = [
        f"flow: {endpoint_text(src, inv)} -> {endpoint_text(dst, inv)} {service_text(proto, port)}",
        f"{doc['policies']} {TARGET_NOUNS.get(doc.get('target'), 'NetworkPolicies')}:",
    ]
    raw = {k: {**doc[k], "by": [(b["policy"], b["rule"]) for b in doc[k].get("by", [])]} for k in ("egress", "ingress")}
    lines += [f"  {ln}" for ln in side_lines(raw)]
    for key in ("egress", "ingress"):
        for b in doc[key].get("by", [])[1:]:
            lines.append(f"  {key} also allowed by {b['policy']} {key} rule {b['rule']}")
    if not (doc["egress"].get("applies") or doc["ingress"].get("applies")):
        lines.append("  no pod at either end: NetworkPolicy does not govern this flow")
    lines.append(f"decision: {doc['decision']}")
    return "\n".join(lines) + "\n"


def _flow_dict(flow: tuple) -> dict:
    src, dst, proto, port = flow
    return {
        "src": endpoint_dict(src),
        "dst": endpoint_dict(dst),
        "protocol_number": proto,
        "port": port,
        "service": service_text(proto, port),
    }
