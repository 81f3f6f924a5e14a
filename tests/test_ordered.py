"""The ordered model (targets/ordered.py) every ordered target renders, checked by itself.

A flow is decided on the model as a target with ordered allow and deny rules would: the
destination pod's ingress rules (when the ruleset governs its ingress) and the source pod's egress
rules (likewise), each by first match over `Ordered.direction`, both needed for pod to pod.  On
random rulesets with inexpressible parts (tests/test_soundness.py), the model must never allow a
flow some legacy flow behind it is denied by (`LegacyFlows`), nor one the optimistic reading
denies, and may deny a flow the secure reading allows only with an approximation reported.
"""

from __future__ import annotations

import netaddr
from hypothesis import given, settings

from translator.compiler.findings import APPROXIMATIONS
from translator.evaluate import FirewallEvaluator
from translator.evaluate.concrete import LegacyFlows
from translator.evaluate.endpoints import Ip, Pod
from translator.model.space import V6_BASE
from translator.targets.ordered import order

from .strategies import FLOW_SERVICES, endpoints, load
from .test_soundness import odd_scenarios


class ModelEval:
    """First match over the model's per-direction rules, endpoints placed by the inventory."""

    def __init__(self, ordered):
        self.o = ordered
        self.rules = {d: ordered.direction(d) for d in ("ingress", "egress")}
        self.subjects = {a.index for a in ordered.subjects}

    def place(self, ep) -> tuple[str, int]:
        """('pod', pod class index) or ('ip', point on the endpoint line)."""
        uni = self.o.universe
        if isinstance(ep, Ip):
            ip = netaddr.IPAddress(ep.address)
            return "ip", int(ip) + (V6_BASE if ip.version == 6 else 0)
        if ep.namespace not in uni.by_ns:
            return "pod", uni.outside.index
        labels = ep.label_map
        group = uni.by_ns[ep.namespace]
        for a in group:
            if a.kind == "workload" and all(labels.get(k) == v for k, v in a.workload.labels.items()):
                return "pod", a.index
        return "pod", group[-1].index  # the namespace's other pods

    @staticmethod
    def holds(side, where) -> bool:
        kind, x = where
        return any(a.index == x for a in side.pods) if kind == "pod" else x in side.nets

    def decide(self, direction, s, d, v) -> bool:
        for r in self.rules[direction]:
            if v in r.services and self.holds(r.src, s) and self.holds(r.dst, d):
                return r.allow
        return True  # past every rule (a target ends each direction with the default)

    def in_reach(self, s, d) -> tuple[bool, bool]:
        dirs = self.o.directions
        ing = d[0] == "pod" and d[1] in self.subjects and "ingress" in dirs
        eg = s[0] == "pod" and s[1] in self.subjects and "egress" in dirs
        return ing, eg

    def allows(self, src, dst, proto, port) -> bool | None:
        s, d = self.place(src), self.place(dst)
        ing, eg = self.in_reach(s, d)
        if not (ing or eg):
            return None
        v = (proto << 16) | port
        return (not ing or self.decide("ingress", s, d, v)) and (not eg or self.decide("egress", s, d, v))


def check(rs, inv) -> int:
    ordered = order(rs, inv)
    model = ModelEval(ordered)
    secure = FirewallEvaluator(rs, inv, "secure")
    optimistic = FirewallEvaluator(rs, inv, "optimistic")
    concrete = LegacyFlows(rs, inv)
    approximated = {f.kind for f in ordered.findings} & set(APPROXIMATIONS)
    pods, ips = endpoints(inv)
    every = pods + ips
    decided = 0
    for src in every:
        for dst in every:
            if isinstance(src, Ip) and isinstance(dst, Ip):
                continue
            reach = secure.in_reach(src, dst)
            for proto, port in FLOW_SERVICES:
                got = model.allows(src, dst, proto, port)
                if got is None:
                    assert not reach, f"{src} -> {dst}: the ruleset governs it, the model does not"
                    continue
                assert reach, f"{src} -> {dst}: the model governs a flow the ruleset does not"
                decided += 1
                may, _ = optimistic.decide(src, dst, proto, port)
                assert may or not got, f"{src} -> {dst} {proto}/{port}: allowed, the ruleset may deny"
                every_flow, _ = concrete.decide(src, dst, proto, port)
                assert every_flow or not got, (
                    f"{src} -> {dst} {proto}/{port}: allowed, a legacy flow behind it is denied: "
                    f"{concrete.witness(src, dst, proto, port)}"
                )
                want, rule = secure.decide(src, dst, proto, port)
                if want and not got:
                    assert approximated, (
                        f"{src} -> {dst} {proto}/{port}: denied, the secure reading allows "
                        f"(rule {rule.id if rule else 'default'}), nothing reported"
                    )
    return decided


@settings(max_examples=25, deadline=None)
@given(odd_scenarios())
def test_the_ordered_model_never_exceeds_the_ruleset(case):
    _, rs, inv = case
    check(rs, inv)


INV = (
    "namespaces:\n  ns-a: {}\n  ns-b: {}\n"
    "workloads:\n"
    "  w4:\n    namespace: ns-a\n    labels: {app: w4}\n    addresses: [10.0.0.0/26]\n"
    "  w6:\n    namespace: ns-b\n    labels: {app: w6}\n    addresses: ['2001:db8:1::/64']\n"
    "  wd:\n    namespace: ns-b\n    labels: {app: wd}\n    addresses: [10.0.3.0/24, '2001:db8:3::/64']\n"
)


def test_pods_of_no_common_family_are_denied_first():
    rs, inv = load(("default deny\n1 allow any -> any any\n", INV))
    model = ModelEval(order(rs, inv))
    w4, w6, wd = Pod.of("ns-a", {"app": "w4"}), Pod.of("ns-b", {"app": "w6"}), Pod.of("ns-b", {"app": "wd"})
    assert not model.allows(w4, w6, 6, 80) and not model.allows(w6, w4, 6, 80)
    assert not model.allows(w4, Ip("2001:db9::1"), 6, 80) and not model.allows(Ip("2001:db9::1"), w4, 6, 80)
    assert model.allows(w4, wd, 6, 80) and model.allows(wd, w6, 6, 80) and model.allows(w4, Ip("192.0.2.1"), 6, 80)
    assert check(rs, inv) > 0


def test_a_deny_keeps_its_order_and_partial_covers_go_to_the_secure_side():
    rules = (
        "default deny\n"
        "1 deny 10.0.0.0/27 -> any tcp/22\n"  # part of w4: the deny takes all of w4
        "2 allow 10.0.0.0/27 -> any tcp/80\n"  # part of w4: the allow leaves w4 out
        "3 allow any -> any tcp\n"
    )
    rs, inv = load((rules, INV))
    ordered = order(rs, inv)
    model = ModelEval(ordered)
    w4, wd = Pod.of("ns-a", {"app": "w4"}), Pod.of("ns-b", {"app": "wd"})
    assert not model.allows(w4, wd, 6, 22)
    assert model.allows(w4, wd, 6, 80)  # by rule 3
    assert model.allows(wd, w4, 6, 22)
    assert [f.kind for f in ordered.findings].count("partial-cover") >= 2
    check(rs, inv)


def test_egress_to_subjects_is_decided_at_their_ingress():
    rs, inv = load(("default deny\n1 allow 10.0.0.0/26 -> 10.0.3.0/24 tcp/80\n", INV))
    ordered = order(rs, inv)
    egress = ordered.direction("egress")
    assert egress[0].kind == "decided-at-ingress"
    assert all(not set(a.index for a in r.dst.pods) & {a.index for a in ordered.subjects} for r in egress[1:])
    model = ModelEval(ordered)
    assert model.allows(Pod.of("ns-a", {"app": "w4"}), Pod.of("ns-b", {"app": "wd"}), 6, 80)
    assert not model.allows(Pod.of("ns-a", {"app": "w4"}), Pod.of("ns-b", {"app": "wd"}), 6, 81)
    check(rs, inv)
