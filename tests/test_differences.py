"""The compiler's search for example flows (Readings.sweep's differences) against the brute-force evaluators."""

import netaddr
from hypothesis import given, settings

from translator.compiler.synth import Synth
from translator.evaluate import FirewallEvaluator
from translator.evaluate.endpoints import Pod
from translator.model.space import V6_BASE

from .strategies import FLOW_SERVICES, endpoints, load, scenarios


def point_of(ep, uni) -> int:
    """The compiler's endpoint-line point of evaluator endpoint EP (its pod class or its address)."""
    if not isinstance(ep, Pod):
        ip = netaddr.IPAddress(ep.address)
        return int(ip) + (V6_BASE if ip.version == 6 else 0)
    group = uni.by_ns.get(ep.namespace)
    if group is None:
        return uni.outside.point
    labels = dict(ep.labels)
    owners = [a for a in group if a.kind == "workload" and labels.items() >= a.workload.labels.items()]
    return (owners[0] if owners else group[-1]).point


@settings(max_examples=50, deadline=None)
@given(scenarios())
def test_differences_are_exactly_the_flows_the_two_readings_decide_apart(scenario):
    rs, inv = load(scenario)
    s = Synth(rs, inv)
    secure, optimistic = FirewallEvaluator(rs, inv, "secure"), FirewallEvaluator(rs, inv, "optimistic")
    pods, ips = endpoints(inv)
    for pod in pods:
        if pod.namespace not in inv.namespaces:
            continue
        pinned = point_of(pod, s.universe)
        for end in ("src", "dst"):
            found = [
                (lo, hi, s.classes.set(m))
                for lo, hi, m in s.readings.sweep(end, s.universe.pod_class_at(pinned), regions=False)[1]
            ]
            for other in pods + ips:
                x = point_of(other, s.universe)
                flow = (pod, other) if end == "src" else (other, pod)
                for proto, port in FLOW_SERVICES:
                    apart = secure.decide(*flow, proto, port)[0] != optimistic.decide(*flow, proto, port)[0]
                    v = (proto << 16) | port
                    listed = any(lo <= x <= hi and v in svc for lo, hi, svc in found)
                    assert apart == listed, (flow, proto, port, scenario)
