"""Text and JSON renderings of a verify report and of single-flow decisions."""

from __future__ import annotations

import json

from ..evaluate.endpoints import Ip, Pod
from ..model.inventory import NAME_LABEL
from ..model.ruleset import proto_label
from .classes import PodClass
from .core import Difference, Report, Verifier, service_text
from .kinds import LESS, MORE


def endpoint_dict(ep, cls=None) -> dict:
    """A concrete endpoint as JSON: an IP, or a pod's namespace, labels and named ports."""
    if isinstance(ep, Ip):
        return {"kind": "ip", "address": ep.address}
    out = {"kind": "pod", "namespace": ep.namespace, "labels": dict(ep.labels)}
    if ep.ip:
        out["ip"] = ep.ip
    if ep.ports:
        out["ports"] = {n: f"{p.lower()}/{v}" for n, p, v in ep.ports}
    if isinstance(cls, PodClass):
        out["workload"] = cls.workload
        out["governed"] = cls.governed
        if not cls.governed:
            out["namespace_labels"] = {k: v for k, v in cls.ns_labels if k != NAME_LABEL}
    return out


def endpoint_text(ep, cls=None) -> str:
    if isinstance(ep, Ip):
        return ep.address
    text = str(cls) if isinstance(cls, PodClass) else pod_text(ep)
    extra = [(n, p, v) for n, p, v in ep.ports if not (isinstance(cls, PodClass) and (n, p, v) in cls.ports)]
    if extra:
        text += " declaring named ports " + ", ".join(f"{n}={p.lower()}/{v}" for n, p, v in extra)
    return text


def pod_text(ep: Pod) -> str:
    labels = ",".join(f"{k}={v}" for k, v in ep.labels) or "(no labels)"
    return f"pod {ep.namespace}/{labels}"


def side_lines(np: dict) -> list[str]:
    """The NetworkPolicy explanation of one flow, a line per end that policies govern."""
    out = []
    for key, word in (("egress", "egress"), ("ingress", "ingress")):
        side = np.get(key) or {}
        if not side.get("applies"):
            continue
        sel = f"selected by {', '.join(side['policies'])}; " if side.get("policies") and side.get("allowed") else ""
        verdict = "allowed" if side.get("allowed") else "denied"
        out.append(f"{word} of {side['pod']}: {verdict} ({sel}{side['reason']})")
    return out


def difference_dict(v: Verifier, d: Difference) -> dict:
    why = v.why(d)
    f = d.flow
    np = why["policies"]
    return {
        "direction": d.direction,
        "reported": d.reported,
        "src": endpoint_dict(f.src, d.src_class),
        "dst": endpoint_dict(f.dst, d.dst_class),
        "protocol": proto_label(f.proto),
        "protocol_number": f.proto,
        "port": f.port,
        "service": service_text(f.proto, f.port),
        "firewall": why["firewall"],
        "policies": {
            "decision": "allow" if np["allowed"] else "deny",
            "egress": side_dict(np["egress"]),
            "ingress": side_dict(np["ingress"]),
        },
    }


def side_dict(side: dict) -> dict:
    """One direction of a NetworkPolicy decision as JSON: the allowing rules as {policy, rule}."""
    out = dict(side)
    if "by" in out:
        out["by"] = [{"policy": ref, "rule": i} for ref, i in out["by"]]
    return out


def summary(rep: Report, n_policies: int) -> str:
    cl = rep.classes
    counts = (
        f"{rep.checked} flow classes checked ({cl['pods']} pod classes, {cl['ips']} address classes, "
        f"{cl['services']} service classes"
        + (f"; pods also with IPs in the pod CIDRs, {cl['pod_ips']} class(es)" if cl.get("pod_ips") else "")
        + ")"
    )
    approx = ""
    if rep.approximations is not None:
        approx = f"; the compiler reports {rep.approximations} approximation(s) for this ruleset"
    head = f"fw2np verify: ruleset {rep.ruleset} vs {n_policies} policies: "
    if rep.equivalent and rep.only:
        return head + f"no {rep.only} flow: {counts}{approx}"
    if rep.verdict == "equivalent":
        return head + f"equivalent: {counts}{approx}"
    if rep.verdict == "approximations":
        return head + f"equivalent but for {rep.reported} reported approximations (deny more): {counts}{approx}"
    by = rep.by_direction
    return (
        head + f"NOT equivalent: {rep.differences} of {rep.checked} flow classes differ "
        f"({by[MORE]} more permissive, {by[LESS]} less permissive of which {rep.unreported} unreported){approx}"
    )


def difference_title(d: Difference) -> str:
    if d.direction == MORE:
        return "more-permissive (policies allow, ruleset denies)"
    kind = "reported approximation" if d.reported else "unreported"
    return f"less-permissive, {kind} (ruleset allows, policies deny)"


def render_text(v: Verifier, rep: Report, n_policies: int) -> str:
    lines = [summary(rep, n_policies)]
    if rep.examples:
        lines.append(f"counterexamples ({len(rep.examples)} shown):")
    for k, d in enumerate(rep.examples, 1):
        f = d.flow
        why = v.why(d)
        fw = why["firewall"]
        np = why["policies"]
        lines.append(
            f"{k}. {difference_title(d)}: {endpoint_text(f.src, d.src_class)} -> "
            f"{endpoint_text(f.dst, d.dst_class)} {f.service()}"
        )
        legacy = f" (legacy flow {fw['legacy_flow']})" if fw["legacy_flow"] else ""
        lines.append(f"   ruleset:  {fw['decision']} by {fw['by']}{legacy}")
        lines.append(f"   policies: {'allow' if np['allowed'] else 'deny'}")
        lines += [f"     {ln}" for ln in side_lines(np)]
    return "\n".join(lines) + "\n"


def render_json(v: Verifier, rep: Report, n_policies: int) -> str:
    doc = {
        "ruleset": rep.ruleset,
        "policies": n_policies,
        "only": rep.only,
        "equivalent": rep.equivalent if not rep.only else None,
        "differs": not rep.equivalent,
        "verdict": rep.verdict,
        "flow_classes_checked": rep.checked,
        "classes": rep.classes,
        "approximations": rep.approximations,
        "differences": {
            "total": rep.differences,
            **rep.by_direction,
            "less-permissive-reported": rep.reported,
            "less-permissive-unreported": rep.unreported,
        },
        "counterexamples": [difference_dict(v, d) for d in rep.examples],
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"
