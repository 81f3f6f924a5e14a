"""The Cilium target (`--target cilium`): documents valid against the published CRDs, decisions equal to
the firewall's on random rulesets (the evaluator written from Cilium's documentation), Cilium's traps, the
evaluator on hand-written documents, the deny splitting, cuts and the table."""

from __future__ import annotations

import ipaddress
import itertools
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from translator import targets
from translator.compiler.findings import APPROXIMATIONS
from translator.errors import InputError
from translator.evaluate import FirewallEvaluator, Ip, Pod
from translator.evaluate.cilium import CiliumEvaluator
from translator.evaluate.concrete import LegacyFlows
from translator.frontends.rules import parse
from translator.model.inventory import parse_inventory
from translator.model.space import IntervalSet
from translator.reverse.formats import render_table
from translator.targets import cilium
from translator.verify.ordered import verify_target

from .conftest import SAMPLES
from .strategies import FLOW_SERVICES, endpoints, governed, load, scenarios
from .test_soundness import odd_scenarios

TARGET = "cilium"
SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas"
CRDS = {
    "newest": "cilium-ciliumclusterwidenetworkpolicies.yaml",
    "v1.19": "cilium-v1.19-ciliumclusterwidenetworkpolicies.yaml",
}
API = "cilium.io/v2"
CCNP = "CiliumClusterwideNetworkPolicy"
CNP = "CiliumNetworkPolicy"


# --- schemas ------------------------------------------------------------------------------------

_validators: dict = {}


def validator(version: str = "newest"):
    if not SCHEMAS.is_dir():
        pytest.skip(f"the published CRD schemas are not here ({SCHEMAS} is missing)")
    jsonschema = pytest.importorskip("jsonschema")
    if version not in _validators:
        crd = yaml.safe_load((SCHEMAS / CRDS[version]).read_text())
        served = [v for v in crd["spec"]["versions"] if v.get("served") and v["name"] == "v2"]
        assert served, "the CRD serves cilium.io/v2"
        schema = served[0]["schema"]["openAPIV3Schema"]
        checker = jsonschema.FormatChecker()

        @checker.checks("cidr", raises=ValueError)
        def _cidr(text) -> bool:
            return not isinstance(text, str) or bool(ipaddress.ip_network(text, strict=True))

        _validators[version] = jsonschema.Draft7Validator(schema, format_checker=checker)
    return _validators[version]


def assert_valid(docs: list[dict]) -> None:
    assert docs, "no documents"
    for version in CRDS:
        v = validator(version)
        for d in docs:
            errors = sorted(v.iter_errors(d), key=lambda e: list(e.path))
            assert not errors, (
                f"{d['metadata']['name']} against the {version} CRD: {errors[0].message} at {list(errors[0].path)}"
            )
            assert d["apiVersion"] == API and d["kind"] == CCNP
            labels = d["metadata"]["labels"]
            assert labels["app.kubernetes.io/managed-by"] == "fw2np" and labels["fw2np.io/ruleset"]
            assert all(s.get("description") for s in d["specs"]), "every rule names its source"


def sample_sets():
    return sorted(p.parent.name for p in SAMPLES.glob("*/inventory.yaml") if list(p.parent.glob("*.fw")))


def convert_sample(name: str):
    d = SAMPLES / name
    rules = next(p for p in sorted(d.iterdir()) if p.suffix == ".fw")
    rs = parse(rules.read_text(), str(rules))
    inv = parse_inventory((d / "inventory.yaml").read_text(), str(d / "inventory.yaml"))
    return rs, inv, targets.convert(rs, inv, TARGET)


@pytest.mark.parametrize("name", sample_sets())
def test_every_sample_validates_against_the_crds_and_decides_as_the_firewall(name):
    rs, inv, result = convert_sample(name)
    if not result.policies:
        assert not rs.directions or not inv.namespaces
        return
    assert_valid(result.policies)
    rep, _ = verify_target(rs, inv, result.policies, TARGET)
    assert rep.verdict in ("equivalent", "approximations"), rep.verdict


# --- decisions ----------------------------------------------------------------------------------


def check(rs, inv, result, pod_ips: bool = False) -> int:
    """The evaluator on the documents against the concrete firewall decision, flow by flow."""
    ev = CiliumEvaluator(result.policies, inv.namespaces)
    secure = FirewallEvaluator(rs, inv, "secure")
    optimistic = FirewallEvaluator(rs, inv, "optimistic")
    concrete = LegacyFlows(rs, inv)
    approximated = {f.kind for f in result.findings} & set(APPROXIMATIONS)
    pods, ips = endpoints(inv, pod_ips)
    differ = 0
    for src in pods + ips:
        for dst in pods + ips:
            if isinstance(src, Ip) and isinstance(dst, Ip):
                continue
            if not secure.in_reach(src, dst):
                if governed(src, inv) or governed(dst, inv):
                    assert all(ev.allows(src, dst, p, q) for p, q in FLOW_SERVICES), f"{src} -> {dst}: out of scope"
                continue
            for proto, port in FLOW_SERVICES:
                got = ev.allows(src, dst, proto, port)
                every, some = concrete.decide(src, dst, proto, port)
                flow = f"{src} -> {dst} {proto}/{port}"
                assert every or not got, f"{flow}: Cilium allows, a legacy flow behind it is denied"
                assert optimistic.decide(src, dst, proto, port)[0] or not got, f"{flow}: allowed, the ruleset may deny"
                if got != every:
                    assert approximated, f"{flow}: Cilium denies what the firewall allows, nothing reported"
                    differ += 1
    return differ


@settings(max_examples=15, deadline=None)
@given(odd_scenarios())
def test_random_rulesets_decide_as_the_firewall(case):
    _, rs, inv = case
    result = targets.convert(rs, inv, TARGET)
    if result.policies:
        assert_valid(result.policies)
    check(rs, inv, result)
    if inv.pod_cidrs:
        check(rs, inv, result, pod_ips=True)  # Cilium's CIDR rules ignore pod IPs: the same decisions
    assert all(f.example for f in result.findings if f.kind == "inexpressible")


@settings(max_examples=8, deadline=None)
@given(odd_scenarios())
def test_random_rulesets_verify_over_every_flow_class(case):
    """The verifier's flow classes (from `cuts`) with this evaluator: a difference is only ever a denial
    that an approximation's rule touches."""
    _, rs, inv = case
    result = targets.convert(rs, inv, TARGET)
    rep, _ = verify_target(rs, inv, result.policies, TARGET)
    assert rep.verdict in ("equivalent", "approximations"), [str(d.flow) for d in rep.examples[:3]]


@settings(max_examples=15, deadline=None)
@given(scenarios())
def test_without_approximations_the_decisions_are_exact(scenario):
    rs, inv = load(scenario)
    result = targets.convert(rs, inv, TARGET)
    if {f.kind for f in result.findings} & set(APPROXIMATIONS):
        return
    assert check(rs, inv, result) == 0


def decide(rules: str, inv: str, flows: list[tuple]) -> tuple[list[dict], list, list[bool], list[bool]]:
    rs, iv = parse(rules, "t.fw"), parse_inventory(inv, "i.yaml")
    result = targets.convert(rs, iv, TARGET)
    assert_valid(result.policies)
    ev = CiliumEvaluator(result.policies, iv.namespaces)
    lf = LegacyFlows(rs, iv)
    got = [ev.allows(*f) for f in flows]
    return result.policies, result.findings, got, [lf.allowed(*f) for f in flows]


INV = """namespaces:
  shop: {labels: {team: a}}
workloads:
  web: {namespace: shop, labels: {app: web}, addresses: [10.0.1.0/24]}
  db: {namespace: shop, labels: {app: db}, addresses: [10.0.2.0/24]}
"""
WEB, DB = Pod.of("shop", {"app": "web"}), Pod.of("shop", {"app": "db"})


def test_a_deny_after_an_allow_does_not_take_back_what_the_allow_decided():
    """Cilium's deny wins whatever the order: written as it is, rule 20 would block rule 10's flows.  It is
    written less what rule 10 allowed, or (when shorter) not at all and taken out of the later allows."""
    rules = "10 allow 192.0.2.0/28 -> 10.0.1.0/24 tcp/80\n20 deny 192.0.2.0/24 -> 10.0.1.0/24 any\n"
    rules += "30 allow any -> 10.0.1.0/24 tcp/80-81\n"
    flows = [(Ip("192.0.2.5"), WEB, 6, 80), (Ip("192.0.2.100"), WEB, 6, 80), (Ip("198.51.100.1"), WEB, 6, 81)]
    flows += [(Ip("192.0.2.100"), WEB, 17, 53), (Ip("198.51.100.1"), WEB, 17, 53)]
    docs, findings, got, want = decide("default allow\n" + rules, INV, flows)
    assert got == want == [True, False, True, False, True]
    specs = [s for d in docs for s in d["specs"]]
    assert any("less what rule 10 allowed first" in s["description"] for s in specs if "ingressDeny" in s) or any(
        "less what rule 20 denied first" in s["description"] for s in specs if "ingress" in s
    )
    docs, findings, got, want = decide("default deny\n" + rules, INV, flows)
    assert got == want == [True, False, True, False, False]
    specs = [s for d in docs for s in d["specs"]]
    assert not any("ingressDeny" in s for s in specs if "rule 20" in s["description"].split(",")[0])
    assert any("rule 30, less what rule 20 denied first" in s["description"] for s in specs)


def test_the_deny_split_is_exact_and_small():
    """A deny minus several overlapping allows, split along pods, services and addresses, then merged."""
    rules = "default allow\n"
    rules += "10 allow 192.0.2.0/25 -> 10.0.1.0/24 tcp/80\n11 allow 192.0.2.0/24 -> 10.0.2.0/24 tcp/443\n"
    rules += "12 allow 10.0.2.0/24 -> 10.0.1.0/24 any\n20 deny any -> any tcp, udp\n"
    flows = [
        (Ip("192.0.2.1"), WEB, 6, 80),
        (Ip("192.0.2.1"), WEB, 6, 81),
        (Ip("192.0.2.200"), WEB, 6, 80),
        (Ip("192.0.2.200"), DB, 6, 443),
        (DB, WEB, 17, 53),
        (WEB, DB, 17, 53),
        (Ip("203.0.113.1"), DB, 1, 8),
    ]
    docs, findings, got, want = decide(rules, INV, flows)
    assert got == want
    pieces = [s for d in docs for s in d["specs"] if "ingressDeny" in s and "rule 20" in s["description"]]
    assert 1 <= len(pieces) <= 6, len(pieces)


def test_icmp_is_exact_and_other_protocols_fall_back_to_the_secure_side():
    rules = "default deny\n10 allow any -> 10.0.1.0/24 icmp/8, proto/47\n20 deny 192.0.2.0/24 -> 10.0.2.0/24 proto/50\n"
    rules += "30 allow any -> 10.0.2.0/24 any\n"
    flows = [
        (Ip("198.51.100.1"), WEB, 1, 8),
        (Ip("198.51.100.1"), WEB, 1, 0),
        (Ip("198.51.100.1"), WEB, 47, 0),
        (Ip("192.0.2.1"), DB, 50, 0),
        (Ip("192.0.2.1"), DB, 6, 22),
        (Ip("198.51.100.1"), DB, 6, 22),
    ]
    docs, findings, got, want = decide(rules, INV, flows)
    assert want == [True, False, True, False, True, True]
    assert got == [True, False, False, False, False, True]  # proto 47 left out, the proto-50 deny takes all
    kinds = {(f.kind, f.rule.id) for f in findings if f.rule}
    assert ("inexpressible", "10") in kinds and ("inexpressible", "20") in kinds
    assert all(f.example for f in findings if f.kind == "inexpressible")
    widened = [f for f in findings if f.kind == "inexpressible" and f.rule.id == "20"]
    assert widened and all([r.id for r in f.others] == ["30"] for f in widened), "it names the allow it takes from"
    icmps = [e for d in docs for s in d["specs"] for e in s.get("ingress", []) if "icmps" in e]
    assert icmps and icmps[0]["icmps"] == [{"fields": [{"type": 8}]}]


def test_outside_pods_are_selected_with_exists_beside_notin():
    """A NotIn on the namespace label alone also selects the world (it has no such label)."""
    rules = "default deny\n10 deny 10.0.2.0/24 -> 10.0.1.0/24 any\n20 allow any -> 10.0.1.0/24 tcp/80\n"
    flows = [(Pod.of("elsewhere", {}), WEB, 6, 80), (Ip("198.51.100.1"), WEB, 6, 80), (DB, WEB, 6, 80)]
    docs, _, got, want = decide(rules, INV, flows)
    assert got == want == [True, True, False]
    for d in docs:
        for s in d["specs"]:
            for key in ("ingress", "ingressDeny", "egress", "egressDeny"):
                for e in s.get(key, []):
                    for sel in e.get("fromEndpoints", []) + e.get("toEndpoints", []):
                        ops = {(x["key"], x["operator"]) for x in sel.get("matchExpressions", [])}
                        if ("k8s:io.kubernetes.pod.namespace", "NotIn") in ops:
                            assert ("k8s:io.kubernetes.pod.namespace", "Exists") in ops


def test_a_default_allow_ruleset_is_an_explicit_allow_all_and_a_default_deny_one_needs_no_cleanup_rule():
    docs, _, got, want = decide(
        "default allow\n10 deny 192.0.2.0/24 -> 10.0.1.0/24 tcp/22\n", INV, [(Ip("192.0.2.1"), WEB, 6, 22)]
    )
    assert got == want == [False]
    allow_all = [s for d in docs for s in d["specs"] if s["description"] == "default allow"]
    assert [s["ingress"] for s in allow_all if "ingress" in s] == [[{"fromEntities": ["all"]}]]
    docs, _, got, want = decide(
        "default deny\n10 allow any -> 10.0.1.0/24 tcp/80\n99 deny any -> any any\n", INV, [(WEB, DB, 6, 80)]
    )
    assert got == want == [False]
    cleanup = [s for d in docs for s in d["specs"] if s["description"].startswith("default deny")]
    assert {tuple(s)[-1] for s in cleanup} == {"ingress", "egress"}
    assert all("rule 99" in s["description"] for s in cleanup)


def test_a_workload_selected_by_a_label_cilium_ignores_is_refused():
    inv = "namespaces: {shop: {}}\nworkloads:\n"
    inv += "  web: {namespace: shop, labels: {pod-template-hash: abc}, addresses: [10.0.1.0/24]}\n"
    rs, iv = parse("default deny\n10 allow any -> 10.0.1.0/24 tcp/80\n", "t.fw"), parse_inventory(inv, "i.yaml")
    with pytest.raises(InputError, match="pod-template-hash"):
        targets.convert(rs, iv, TARGET)


def test_subtract_is_the_set_difference():
    """Every point of a small universe: in a piece iff in P and in none of the others; pieces disjoint."""

    def prod(h, p, n, s):
        return cilium.Prod(frozenset(h), frozenset(p), IntervalSet(n), IntervalSet(s))

    p = prod({0, 1, 2}, {0, 1}, [(0, 9)], [(0, 9)])
    others = [
        prod({0, 1}, {0}, [(0, 4)], [(0, 5)]),
        prod({1, 2}, {1}, [], [(3, 9)]),
        prod({2}, {0, 1}, [(5, 9)], [(0, 0)]),
    ]
    pieces = cilium.subtract(p, others)

    for h, s in itertools.product(range(3), range(10)):
        for kind, o in [("pod", 0), ("pod", 1), *[("net", x) for x in range(10)]]:

            def inside(q):
                return h in q.here and s in q.svc and (o in q.pods if kind == "pod" else o in q.nets)

            want = inside(p) and not any(inside(a) for a in others)
            hits = sum(inside(q) for q in pieces)
            assert hits == int(want), (h, kind, o, s, pieces)
    assert len(pieces) <= 10, len(pieces)


# --- the evaluator on hand-written documents (from the documentation, not the generator) -------------


def ccnp(*specs, name="p") -> dict:
    return {"apiVersion": API, "kind": CCNP, "metadata": {"name": name}, "specs": list(specs)}


def cnp(spec, ns="shop", name="p") -> dict:
    return {"apiVersion": API, "kind": CNP, "metadata": {"name": name, "namespace": ns}, "spec": spec}


FRONT = Pod.of("shop", {"app": "front"})
OTHER_NS = Pod.of("other", {"app": "front"})
WORLD = Ip("198.51.100.7")
WEB_SEL = {"matchLabels": {"app": "web"}}


def test_deny_wins_over_allow_whatever_the_order_and_default_deny_follows_selection():
    docs = [
        ccnp(
            {
                "endpointSelector": WEB_SEL,
                "ingress": [{"fromEntities": ["all"]}],
                "ingressDeny": [
                    {
                        "fromEndpoints": [{"matchLabels": {"app": "front"}}],
                        "toPorts": [{"ports": [{"port": "22", "protocol": "TCP"}]}],
                    }
                ],
            }
        )
    ]
    ev = CiliumEvaluator(docs)
    assert not ev.allows(FRONT, WEB, 6, 22) and ev.allows(FRONT, WEB, 6, 80) and ev.allows(WORLD, WEB, 6, 22)
    assert ev.allows(WEB, FRONT, 6, 22)  # no rule selects front: not in default deny
    only_deny = CiliumEvaluator([ccnp({"endpointSelector": WEB_SEL, "ingressDeny": [{"fromEntities": ["world"]}]})])
    assert not only_deny.allows(FRONT, WEB, 6, 80), "a rule with only ingressDeny puts the endpoint in default deny"
    opted_out = CiliumEvaluator(
        [
            ccnp(
                {
                    "endpointSelector": WEB_SEL,
                    "enableDefaultDeny": {"ingress": False},
                    "ingressDeny": [{"fromEntities": ["world"]}],
                }
            )
        ]
    )
    assert opted_out.allows(FRONT, WEB, 6, 80) and not opted_out.allows(WORLD, WEB, 6, 80)


def test_cidr_rules_never_match_pods_whatever_their_ip():
    ev = CiliumEvaluator(
        [
            ccnp(
                {
                    "endpointSelector": WEB_SEL,
                    "ingress": [{"fromCIDRSet": [{"cidr": "0.0.0.0/0", "except": ["198.51.100.0/24"]}]}],
                }
            )
        ]
    )
    assert ev.allows(Ip("203.0.113.1"), WEB, 6, 80) and not ev.allows(WORLD, WEB, 6, 80)
    assert not ev.allows(Pod.of("shop", {"app": "front"}, ip="10.244.0.5"), WEB, 6, 80)


def test_selectors_entities_and_namespaces():
    # an empty selector selects every identity, the world too, in a clusterwide policy
    ev = CiliumEvaluator([ccnp({"endpointSelector": WEB_SEL, "ingress": [{"fromEndpoints": [{}]}]})])
    assert ev.allows(WORLD, WEB, 6, 80) and ev.allows(OTHER_NS, WEB, 6, 80)
    # ... and in a namespaced policy the pods of its namespace only
    ev = CiliumEvaluator([cnp({"endpointSelector": WEB_SEL, "ingress": [{"fromEndpoints": [{}]}]})])
    assert ev.allows(FRONT, WEB, 6, 80) and not ev.allows(OTHER_NS, WEB, 6, 80) and not ev.allows(WORLD, WEB, 6, 80)
    # the namespace label opens other namespaces; a namespaced policy's endpointSelector stays in its namespace
    ev = CiliumEvaluator(
        [
            cnp(
                {
                    "endpointSelector": {},
                    "ingress": [{"fromEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "other"}}]}],
                }
            )
        ]
    )
    assert ev.allows(OTHER_NS, WEB, 6, 80) and not ev.allows(FRONT, WEB, 6, 80)
    assert ev.allows(FRONT, Pod.of("other", {"app": "web"}), 6, 80), "the policy does not select pods of other"
    # NotIn on the namespace label selects the world too (it has no namespace label)
    notin = {"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "NotIn", "values": ["shop"]}]}
    ev = CiliumEvaluator([ccnp({"endpointSelector": WEB_SEL, "ingress": [{"fromEndpoints": [notin]}]})])
    assert ev.allows(WORLD, WEB, 6, 80) and ev.allows(OTHER_NS, WEB, 6, 80) and not ev.allows(FRONT, WEB, 6, 80)
    # namespace labels, sources, entities
    by_ns = {"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "b"}}
    ev = CiliumEvaluator(
        [ccnp({"endpointSelector": WEB_SEL, "ingress": [{"fromEndpoints": [by_ns]}]})], {"other": {"team": "b"}}
    )
    assert ev.allows(OTHER_NS, WEB, 6, 80) and not ev.allows(FRONT, WEB, 6, 80)
    ev = CiliumEvaluator(
        [
            ccnp(
                {
                    "endpointSelector": {"matchLabels": {"container:app": "web"}},
                    "ingress": [{"fromEntities": ["world"]}],
                }
            )
        ]
    )
    assert ev.allows(FRONT, WEB, 6, 80), "a container: source selects no k8s label"
    ev = CiliumEvaluator([ccnp({"endpointSelector": WEB_SEL, "ingress": [{"fromEntities": ["cluster"]}]})])
    assert ev.allows(OTHER_NS, WEB, 6, 80) and not ev.allows(WORLD, WEB, 6, 80)
    ev = CiliumEvaluator([ccnp({"endpointSelector": WEB_SEL, "ingress": [{"fromEndpoints": []}]})])
    assert not ev.allows(FRONT, WEB, 6, 80) and not ev.allows(WORLD, WEB, 6, 80), "an empty list selects nothing"
    # labels the identity filter drops cannot be selected
    ev = CiliumEvaluator(
        [ccnp({"endpointSelector": {"matchLabels": {"pod-template-hash": "x"}}, "ingress": [{"fromEndpoints": []}]})]
    )
    assert ev.allows(FRONT, Pod.of("shop", {"pod-template-hash": "x"}), 6, 80)


def test_ports_icmp_and_protocols():
    def ev(l4):
        return CiliumEvaluator([ccnp({"endpointSelector": WEB_SEL, "ingress": [{"fromEntities": ["world"], **l4}]})])

    ranged = ev({"toPorts": [{"ports": [{"port": "8000", "endPort": 8100, "protocol": "TCP"}]}]})
    assert (
        ranged.allows(WORLD, WEB, 6, 8050)
        and not ranged.allows(WORLD, WEB, 6, 8101)
        and not ranged.allows(WORLD, WEB, 17, 8050)
    )
    anyp = ev({"toPorts": [{"ports": [{"port": "53"}]}]})
    assert anyp.allows(WORLD, WEB, 17, 53) and anyp.allows(WORLD, WEB, 132, 53) and not anyp.allows(WORLD, WEB, 1, 8)
    named = ev({"toPorts": [{"ports": [{"port": "http", "protocol": "TCP"}]}]})
    assert named.allows(WORLD, Pod.of("shop", {"app": "web"}, ports={"http": 8080}), 6, 8080)
    assert not named.allows(WORLD, WEB, 6, 8080)
    icmp = ev({"icmps": [{"fields": [{"type": "EchoRequest", "family": "IPv6"}, {"type": 8}]}]})
    assert icmp.allows(WORLD, WEB, 58, 128) and icmp.allows(WORLD, WEB, 1, 8) and not icmp.allows(WORLD, WEB, 1, 0)
    assert not icmp.allows(WORLD, WEB, 6, 80), "an ICMP rule restricts L4"
    l3 = ev({})
    assert l3.allows(WORLD, WEB, 47, 0) and l3.allows(WORLD, WEB, 1, 3), "no L4 member: every protocol"


@pytest.mark.parametrize(
    "entry, field",
    [
        ({"fromEndpoints": [{}], "fromCIDR": ["10.0.0.0/8"]}, "mutually exclusive"),
        ({"fromCIDRSet": [{"cidr": "10.0.0.0/33"}]}, "fromCIDRSet"),
        ({"fromEntities": ["everyone"]}, "fromEntities"),
        ({"toPorts": [{"ports": [{"port": "80", "protocol": "ICMP"}]}]}, "protocol"),
        ({"toPorts": [{"ports": [{"port": "80"}], "rules": {"http": [{}]}}]}, "rules"),
        ({"icmps": [{"fields": [{"type": "Nope"}]}]}, "type"),
        ({"fromEndpoints": [{"matchExpressions": [{"key": "a", "operator": "Has"}]}]}, "operator"),
    ],
)
def test_malformed_or_unmodelled_documents_are_refused_naming_the_field(entry, field):
    with pytest.raises(ValueError, match=field):
        CiliumEvaluator([ccnp({"endpointSelector": WEB_SEL, "ingress": [entry]})])


def test_explain_names_the_deciding_rule_and_its_source_ids():
    _, _, result = convert_sample("staging")
    ev = CiliumEvaluator(result.policies, {})
    front = Pod.of("staging", {"app": "frontend"})
    out = ev.explain(Ip("203.0.113.5"), front, 6, 80)
    assert not out["allowed"] and "default deny" in out["ingress"]["reason"]  # rule 30 is taken out of rule 40
    out = ev.explain(Ip("203.0.113.200"), front, 6, 443)
    assert out["allowed"] and out["ingress"]["rules"] == ["rule 40, less what rule 30 denied first"]
    assert not out["egress"]["applies"]
    out = ev.explain(Ip("203.0.113.5"), Pod.of("staging", {"app": "db"}), 6, 5432)
    assert not out["allowed"] and "default deny" in out["ingress"]["reason"]
    docs = [ccnp({"endpointSelector": WEB_SEL, "description": "rule 7", "ingressDeny": [{"fromEntities": ["world"]}]})]
    out = CiliumEvaluator(docs).explain(WORLD, WEB, 6, 80)
    assert out["ingress"]["denied_by"] == [("p specs[0]", "ingressDeny[0]")] and out["ingress"]["rules"] == ["rule 7"]


# --- cuts, table, layout ---------------------------------------------------------------------------


def test_cuts_hold_every_cidr_port_type_and_selector():
    _, _, result = convert_sample("staging")
    src = cilium.cuts(result.policies, TARGET)
    assert (4, int(ipaddress.ip_address("203.0.113.0")), int(ipaddress.ip_address("203.0.113.127"))) in src.blocks
    assert (6, 8000, 8100) in src.ports and (6, 443, 443) in src.ports and 6 in src.protos
    keys = {k for _, ns, pod in src.peers for sel in (ns, pod) if sel for k in sel.keys()}
    assert {"app", "kubernetes.io/metadata.name"} <= keys
    docs = [ccnp({"endpointSelector": WEB_SEL, "ingress": [{"icmps": [{"fields": [{"type": "EchoReply"}]}]}]})]
    assert (1, 0, 0) in cilium.cuts(docs, TARGET).ports


def test_table_lists_denies_before_allows_per_pod_class_in_every_format():
    _, inv, result = convert_sample("staging")
    table = cilium.table(result.policies, inv, TARGET)
    front = [r for r in table.rows if r.target == "staging/frontend" and r.direction == "ingress"]
    assert [r.action for r in front] == ["allow", "allow", "deny"]  # rule 40 (pods, addresses), the default
    assert all("(rule 40, less what rule 30 denied first)" in r.policy for r in front[:2])
    assert "203.0.113.0/25" in front[1].source and front[-1].policy.startswith("default deny")
    for fmt in ("table", "markdown", "csv", "html"):
        text = render_table(table, fmt)
        assert "rule 30" in text and "rule 40" in text
    plain = cilium.table(result.policies, None, TARGET)
    assert plain.rows and any("Pods selected by several targets" in n for n in plain.notes)
    # a hand-written policy: its deny rows come first, whatever the order of the rules
    docs = [
        ccnp(
            {"endpointSelector": WEB_SEL, "description": "a", "ingress": [{"fromEntities": ["world"]}]},
            {"endpointSelector": WEB_SEL, "description": "b", "ingressDeny": [{"fromCIDR": ["192.0.2.0/24"]}]},
        )
    ]
    rows = [r for r in cilium.table(docs, None, TARGET).rows if r.direction == "ingress"]
    assert [(r.action, r.source) for r in rows] == [
        ("deny", "192.0.2.0/24"),
        ("allow", "entities world"),
        ("deny", "any"),
    ]


def test_output_is_deterministic_and_chunked_into_valid_documents(monkeypatch):
    rs, inv, result = convert_sample("staging")
    again = targets.convert(rs, inv, TARGET)
    assert again.policies == result.policies
    monkeypatch.setattr(cilium, "CHUNK", 600)
    small = targets.convert(rs, inv, TARGET).policies
    assert len(small) > len(result.policies)
    assert_valid(small)
    names = [d["metadata"]["name"] for d in small]
    assert len(set(names)) == len(names) and "staging-shop-ingress-1" in names
    assert [s for d in small for s in d["specs"]] == [s for d in result.policies for s in d["specs"]]
    assert set(cilium.kinds(TARGET)) <= targets.KINDS[TARGET]


@settings(max_examples=10, deadline=None)
@given(
    st.sampled_from(
        ["10 allow any -> any icmp", "10 deny any -> 10.0.1.0/24 icmp", "10 allow any -> any tcp/1-65535, udp"]
    )
)
def test_whole_protocols_and_many_icmp_types_fit_the_crd_limits(rule):
    docs, _, got, want = decide(f"default deny\n{rule}\n", INV, [(Ip("198.51.100.1"), WEB, 1, 200), (WEB, DB, 17, 9)])
    assert got == want
    for d in docs:
        for s in d["specs"]:
            for key in ("ingress", "ingressDeny", "egress", "egressDeny"):
                for e in s.get(key, []):
                    assert all(len(ic["fields"]) <= 40 for ic in e.get("icmps", []))
                    assert all(len(tp["ports"]) <= 40 for tp in e.get("toPorts", []))


# --- DNS names: toFQDNs ---------------------------------------------------------------------------

FQDN_CSV = """id,action,source,destination,service
10,deny,10.0.1.0/24,203.0.113.0/24,tcp/443
20,allow,10.0.1.0/24,api.example.com;*.cdn.example.net,tcp/443
30,allow,10.0.1.0/24,198.51.100.0/24,tcp/80
35,allow,10.0.1.0/24,any,udp/53
40,deny,any,any,any
"""


def fqdn_convert(text: str, inv: str = INV):
    from translator.frontends import csv_rules

    rs, iv = csv_rules.load(text, "r.csv")[0], parse_inventory(inv, "i.yaml")
    result = targets.convert(rs, iv, TARGET)
    assert_valid(result.policies)
    return rs, iv, result


def resolved(text: str, name: str, address: str):
    """The ruleset as the firewall runs it when NAME resolves to ADDRESS (the name's cell holds it)."""
    from translator.frontends import csv_rules

    return csv_rules.load(text.replace(name, address), "r.csv")[0]


@pytest.mark.parametrize(
    "name, address, proto, port",
    [
        ("api.example.com", "192.0.2.9", 6, 443),  # rule 20
        ("api.example.com", "203.0.113.7", 6, 443),  # rule 10 denies first: Cilium's deny wins
        ("x.cdn.example.net", "192.0.2.9", 6, 443),  # the pattern, one label
        ("a.b.cdn.example.net", "192.0.2.9", 6, 443),  # two labels: not the pattern's
        ("api.example.com", "192.0.2.9", 6, 80),  # a port rule 20 does not allow
        ("other.example.org", "192.0.2.9", 6, 443),
    ],
)
def test_dns_names_become_tofqdns_and_decide_as_the_firewall_resolving_them(name, address, proto, port):
    rs, iv, result = fqdn_convert(FQDN_CSV)
    specs = [s for d in result.policies for s in d["specs"]]
    fq = [e["toFQDNs"] for s in specs for e in s.get("egress", []) if "toFQDNs" in e]
    assert fq == [[{"matchPattern": "*.cdn.example.net"}, {"matchName": "api.example.com"}]]
    ev = CiliumEvaluator(result.policies, iv.namespaces)
    pattern = name.endswith(".cdn.example.net") and name.count(".") == 3
    cell = "*.cdn.example.net" if pattern else "api.example.com" if name == "api.example.com" else None
    truth = LegacyFlows(resolved(FQDN_CSV, cell, address) if cell else rs, iv)
    assert ev.allows(WEB, Ip(address, name), proto, port) == truth.allowed(WEB, Ip(address), proto, port)
    assert not ev.allows(WEB, Ip(address), proto, port)  # an address not known to be the name's: no allow
    rep, _ = verify_target(rs, iv, result.policies, TARGET)
    assert rep.verdict in ("equivalent", "approximations"), [str(d.flow) for d in rep.examples[:3]]


def test_the_dns_visibility_rule_allows_only_what_the_ruleset_allows():
    """toFQDNs learns addresses from the pods' DNS answers: the rule sending them through the DNS proxy
    says the protocols the ruleset lets those pods use to kube-dns, and none is written when it allows none."""
    _, iv, result = fqdn_convert(FQDN_CSV)
    specs = [s for d in result.policies for s in d["specs"]]
    dns = [s for s in specs if s["description"].startswith("DNS visibility")]
    assert len(dns) == 1 and dns[0]["endpointSelector"]["matchLabels"]["k8s:app"] == "web"
    (tp,) = dns[0]["egress"][0]["toPorts"]
    assert tp["ports"] == [{"port": "53", "protocol": "UDP"}] and tp["rules"] == {"dns": [{"matchPattern": "*"}]}
    ev = CiliumEvaluator(result.policies, iv.namespaces)
    kube_dns = Pod.of("kube-system", {"k8s-app": "kube-dns"})
    assert ev.allows(WEB, kube_dns, 17, 53) and not ev.allows(WEB, kube_dns, 6, 53)
    _, _, result = fqdn_convert(FQDN_CSV.replace("35,allow,10.0.1.0/24,any,udp/53\n", ""))
    specs = [s for d in result.policies for s in d["specs"]]
    assert not any(s["description"].startswith("DNS visibility") for s in specs)
    assert any(f.kind == "note" and "query no DNS server" in f.message for f in result.findings)
    inv = INV + "  dns: {namespace: kube-system, labels: {k8s-app: kube-dns}, addresses: [10.0.9.0/24]}\n"
    inv = inv.replace("namespaces:\n", "namespaces:\n  kube-system: {}\n")
    _, _, result = fqdn_convert(FQDN_CSV, inv)
    assert any(f.kind == "note" and "kube-system is in the inventory" in f.message for f in result.findings)


def test_no_deny_before_a_dns_name_is_folded_into_later_allows():
    """A deny before an allow to a DNS name must stay written: the name's addresses are unknown, so
    taking the deny out of the later allows instead would leave the name's allow wider than first match."""
    text = "id,action,source,destination,service\n10,deny,10.0.1.0/24,192.0.2.0/24,tcp/443\n"
    text += "20,allow,10.0.1.0/24,api.example.com,tcp/443\n30,allow,10.0.1.0/24,any,tcp/443\n40,deny,any,any,any\n"
    rs, iv, result = fqdn_convert(text)
    ev = CiliumEvaluator(result.policies, iv.namespaces)
    assert not ev.allows(WEB, Ip("192.0.2.9", "api.example.com"), 6, 443)
    assert ev.allows(WEB, Ip("198.51.100.9", "api.example.com"), 6, 443)
    assert ev.allows(WEB, Ip("198.51.100.9"), 6, 443)
    rep, _ = verify_target(rs, iv, result.policies, TARGET)
    assert rep.verdict in ("equivalent", "approximations"), [str(d.flow) for d in rep.examples[:3]]


def test_a_later_deny_never_widens_a_name_and_the_finding_says_what_may_be_stricter():
    """A deny after the allow to a name is written as a Cilium deny (which would hold the name's addresses
    it matches: stricter) or, as here, taken out of the later allows (exact)."""
    text = "id,action,source,destination,service\n20,allow,10.0.1.0/24,api.example.com,tcp/443\n"
    text += "30,deny,10.0.1.0/24,192.0.2.0/24,any\n40,allow,any,any,any\n"
    _, iv, result = fqdn_convert(text)
    ev = CiliumEvaluator(result.policies, iv.namespaces)
    for address in ("192.0.2.9", "198.51.100.9"):
        truth = LegacyFlows(resolved(text, "api.example.com", address), iv)
        for proto, port in ((6, 443), (6, 80)):
            got = ev.allows(WEB, Ip(address, "api.example.com"), proto, port)
            assert got <= truth.allowed(WEB, Ip(address), proto, port)
    assert ev.allows(WEB, Ip("192.0.2.9", "api.example.com"), 6, 443)
    assert not ev.allows(WEB, Ip("192.0.2.9", "api.example.com"), 6, 80)
    (f,) = [f for f in result.findings if f.kind == "unresolved"]
    assert "becomes toFQDNs 'api.example.com'" in f.message and "later deny" in f.message


def test_a_name_under_an_except_or_in_a_deny_stays_unresolved():
    text = "id,action,source,destination,service\n10,deny,10.0.1.0/24,bad.example.com,tcp/443\n"
    text += "20,allow,10.0.1.0/24,any,tcp/443\n30,deny,any,any,any\n"
    _, _, result = fqdn_convert(text)
    assert "toFQDNs" not in str(result.policies)
    assert any("matches everything there" in f.message for f in result.findings if f.kind == "unresolved")


@pytest.mark.parametrize(
    "entry, field",
    [
        ({"toFQDNs": [{}]}, "matchName and matchPattern"),
        ({"toFQDNs": [{"matchName": "a.example"}], "toCIDR": ["10.0.0.0/8"]}, "mutually exclusive"),
        ({"toPorts": [{"ports": [{"port": "53"}], "rules": {"dns": [{"matchPattern": "*"}], "http": [{}]}}]}, "rules"),
    ],
)
def test_malformed_dns_entries_are_refused(entry, field):
    with pytest.raises(ValueError, match=field):
        CiliumEvaluator([ccnp({"endpointSelector": WEB_SEL, "egress": [entry]})])


def test_dns_rules_match_their_ports_for_any_query_only():
    star = {
        "toEndpoints": [{}],
        "toPorts": [{"ports": [{"port": "53", "protocol": "UDP"}], "rules": {"dns": [{"matchPattern": "*"}]}}],
    }
    some = {
        "toEndpoints": [{}],
        "toPorts": [{"ports": [{"port": "53", "protocol": "UDP"}], "rules": {"dns": [{"matchName": "a.example"}]}}],
    }
    assert CiliumEvaluator([ccnp({"endpointSelector": WEB_SEL, "egress": [star]})]).allows(WEB, DB, 17, 53)
    assert not CiliumEvaluator([ccnp({"endpointSelector": WEB_SEL, "egress": [some]})]).allows(WEB, DB, 17, 53)


def test_every_frontend_naming_a_dns_name_hands_it_to_tofqdns():
    """CSV cells, ASA `fqdn` objects and GCP `destFqdns` carry the name itself into the model."""
    import json

    from translator.frontends import cisco_asa, csv_rules, gcp
    from translator.model.resolve import fqdns_of

    csv = csv_rules.load("id,action,source,destination,service\n1,allow,any,API.Example.com,tcp/443\n", "r.csv")[0]
    asa = cisco_asa.load(
        "object network cdn\n fqdn v4 cdn.example.com\naccess-list out extended permit tcp any object cdn eq https\n",
        "a.cfg",
    )[0]
    rule = {
        "priority": 1,
        "action": "allow",
        "direction": "EGRESS",
        "match": {"destFqdns": ["pkg.example.org"], "layer4Configs": [{"ipProtocol": "tcp", "ports": ["443"]}]},
    }
    dump = {"firewallPolicys": [{"shortName": "org", "type": "HIERARCHY", "rules": [rule]}], "firewalls": []}
    g = next(r for r in gcp.load(json.dumps(dump), "g.json") if r.name.endswith("egress"))
    got = [fqdns_of(rs, rs.rules[0].dst) for rs in (csv, asa, g)]
    assert got == [("api.example.com",), ("cdn.example.com",), ("pkg.example.org",)]
    for rs in (csv, asa, g):
        text = "workloads:\n  web: {namespace: shop, labels: {app: web}, addresses: [10.0.1.0/24]}\n"
        result = targets.convert(rs, parse_inventory("namespaces:\n  shop: {}\n" + text, "i.yaml"), TARGET)
        assert_valid(result.policies)
        names = [
            n for d in result.policies for s in d["specs"] for e in s.get("egress", []) for n in e.get("toFQDNs", [])
        ]
        assert names == [{"matchName": got[(csv, asa, g).index(rs)][0]}]


def test_the_table_names_the_dns_names_of_an_allow():
    _, iv, result = fqdn_convert(FQDN_CSV)
    rows = [r for r in cilium.table(result.policies, iv, TARGET).rows if "rule 20" in r.policy]
    assert [(r.action, r.destination, r.service) for r in rows] == [
        ("allow", "DNS names *.cdn.example.net, api.example.com", "tcp/443"),
        ("allow", "pods namespace=kube-system, k8s-app=kube-dns", "udp/53"),  # its DNS visibility rule
    ]
