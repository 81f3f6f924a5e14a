"""verify reads the firewall from concrete legacy flows: LegacyFlows, issue 13's failures, verdicts and exit codes."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.compiler.synth import convert
from translator.evaluate.concrete import LegacyFlows, address_text
from translator.evaluate.endpoints import Ip, Pod
from translator.frontends.rules import parse
from translator.model.inventory import parse_inventory
from translator.model.ruleset import AddrExpr, Unresolved
from translator.verify.core import METHODS, Verifier, verify
from translator.verify.kinds import LESS, MORE

from .test_verify import load as load_scenario
from .test_verify import mutants, scenario

# --- LegacyFlows ----------------------------------------------------------------------------------

DUAL = """
namespaces: {a: {}}
workloads:
  dual: {namespace: a, labels: {app: dual}, addresses: [10.0.1.0/24, "2001:db8:1::/64"]}
  v4: {namespace: a, labels: {app: v4}, addresses: [10.0.2.0/24]}
  v6: {namespace: a, labels: {app: v6}, addresses: ["2001:db8:6::/64"]}
  none: {namespace: a, labels: {app: none}, addresses: []}
"""
DUAL_POD, V4, V6, NONE = (Pod.of("a", {"app": x}) for x in ("dual", "v4", "v6", "none"))
OTHER, OUTSIDE = Pod.of("a", {}), Pod.of("elsewhere", {"app": "v4"})


def flows(rules: str, inv: str = DUAL) -> LegacyFlows:
    return LegacyFlows(parse(rules, "r.fw"), parse_inventory(inv, "inv.yaml"))


def texts(lf, ep):
    return sorted(address_text(a) for a in lf.addresses(ep))


def test_dual_stack_workload_stands_for_both_families():
    lf = flows("default deny\n10 allow 10.0.0.0/8 -> any tcp/80\n")
    assert texts(lf, DUAL_POD) == ["10.0.1.1", "2001:db8:1::1"]
    assert lf.decide(DUAL_POD, Ip("192.0.2.1"), 6, 80) == (True, True)
    # the IPv6 legacy host never matched an IPv4 source
    assert lf.decide(DUAL_POD, Ip("2001:db8:9::1"), 6, 80) == (False, False)
    # with an IPv4-only destination only the IPv4 legacy flow counts
    assert lf.decide(DUAL_POD, V4, 6, 80) == (True, True)
    # both families to a dual-stack destination: the IPv6 flow is denied
    assert lf.decide(DUAL_POD, DUAL_POD, 6, 80) == (False, True)


def test_no_common_family_is_denied_even_by_default_allow():
    lf = flows("default allow\n")
    assert lf.decide(V6, V4, 6, 80) == (False, False)
    assert lf.decide(V4, Ip("2001:db8:9::1"), 17, 53) == (False, False)
    assert lf.witness(V6, V4, 6, 80) == (False, None, None)
    assert lf.decide(V4, V4, 6, 80) == (True, True)
    with pytest.raises(ValueError, match="one family"):
        lf.decide_address((4, 1), (6, 1), 6, 80)


def test_unknown_pods_without_pod_cidrs_may_have_any_other_address():
    lf = flows(
        "default deny\n10 allow 0.0.0.0/0 -> 10.0.2.0/24 tcp/80\n20 allow any -> 10.0.1.0/24, 2001:db8:1::/64 tcp/80\n"
    )
    for ep in (OTHER, OUTSIDE, NONE):
        addrs = lf.addresses(ep)
        assert {v for v, _ in addrs} == {4, 6}
        assert lf.decide(ep, V4, 6, 80) == (True, True)  # IPv4 sources only: all in 0.0.0.0/0
        assert lf.decide(ep, DUAL_POD, 6, 80) == (True, True)  # rule 20: any, both families
        assert lf.decide(ep, V6, 6, 80) == (False, False)
    # an unknown pod is never at a legacy address
    legacy = [r for ranges in lf.legacy.values() for r in ranges]
    assert not any(v == lv and lo <= x <= hi for v, x in lf.addresses(OTHER) for lv, lo, hi in legacy)


def test_unknown_pods_are_tried_inside_and_outside_each_rule():
    lf = flows("default allow\n10 deny 10.0.0.0/8 -> 10.0.2.0/24 tcp/5432\n")
    assert lf.decide(OTHER, V4, 6, 5432) == (False, True)  # some may be in 10/8, some not
    assert lf.witness(OTHER, V4, 6, 5432)[2].id == "10"
    assert lf.decide(OTHER, V4, 6, 5433) == (True, True)


POD_CIDRS = DUAL + "cluster: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}\n"


def test_unknown_pods_with_pod_cidrs():
    lf = flows("default deny\n10 allow 10.244.0.0/16 -> any tcp/80\n20 allow 10.244.0.0/17 -> any tcp/81\n", POD_CIDRS)
    assert texts(lf, OTHER) == ["10.244.0.1", "10.244.128.1"]  # IPv4 pod CIDRs only: no IPv6 address
    assert lf.decide(OTHER, V4, 6, 80) == (True, True)
    assert lf.decide(OTHER, V4, 6, 81) == (False, True)  # half the pod CIDR
    assert lf.decide(OTHER, V6, 6, 80) == (False, False)  # no common family
    assert texts(flows("default deny\n", POD_CIDRS), OTHER) == ["10.244.0.1"]
    with pytest.raises(ValueError, match="pod or service CIDRs"):
        lf.decide(Ip("10.96.0.1"), V4, 6, 80)
    with pytest.raises(ValueError, match="legacy address of workload v4"):
        lf.decide(Ip("10.0.2.7"), V4, 6, 80)


EXCEPT = """
namespaces: {a: {}}
workloads:
  w1: {namespace: a, labels: {app: w1}, addresses: [10.2.11.0/24]}
"""


def test_except_and_objects():
    lf = flows(
        "default deny\naddress hole 10.2.11.0/24\n"
        "10 deny any, 10.0.0.0/8 except hole -> 198.51.100.0/24 any\n"
        "20 allow 10.2.11.0/24 -> 198.51.100.0/24 any\n",
        EXCEPT,
    )
    w1 = Pod.of("a", {"app": "w1"})
    assert lf.decide(w1, Ip("198.51.100.9"), 6, 22) == (True, True)
    ok, legacy, rule = lf.witness(w1, Ip("198.51.100.9"), 6, 22)
    assert ok and rule.id == "20" and address_text(legacy[0]).startswith("10.2.11.")
    assert lf.decide(Pod.of("a", {}), Ip("198.51.100.9"), 6, 22) == (False, False)


def _with_unresolved(text: str, rule_no: int, side: str):
    rs = parse(text, "r.fw")
    rule = rs.rules[rule_no]
    expr = AddrExpr((Unresolved("www.example.com", "an FQDN"),))
    rs.rules[rule_no] = dataclasses.replace(rule, **{side: expr})
    return LegacyFlows(rs, parse_inventory(DUAL, "inv.yaml"))


def test_unresolved_items_lower_and_upper():
    # an allow with an unresolved source matches nothing securely, anything optimistically
    lf = _with_unresolved("default deny\n10 allow any -> any tcp/80\n", 0, "src")
    assert lf.decide(V4, Ip("192.0.2.1"), 6, 80) == (False, True)
    # a deny with an unresolved destination may match anything: secure denies, optimistic does not
    lf = _with_unresolved("default allow\n10 deny any -> any tcp/80\n", 0, "dst")
    assert lf.decide(V4, Ip("192.0.2.1"), 6, 80) == (False, True)
    assert lf.decide(V4, Ip("192.0.2.1"), 6, 81) == (True, True)
    # except an unresolved item: lower(A - B) = lower(A) - upper(B)
    rs = parse("default deny\n10 allow any -> any tcp/80\n", "r.fw")
    rs.rules[0] = dataclasses.replace(
        rs.rules[0], dst=AddrExpr(rs.rules[0].dst.include, (Unresolved("db.example.com", "an FQDN"),))
    )
    lf = LegacyFlows(rs, parse_inventory(DUAL, "inv.yaml"))
    assert lf.decide(V4, Ip("192.0.2.1"), 6, 80) == (False, True)


def test_conditions():
    lf = flows("default deny\n10 allow any -> any tcp/80 via eth0\n")
    assert lf.decide(V4, Ip("192.0.2.1"), 6, 80) == (False, True)
    lf = flows("default allow\n10 deny any -> any tcp/80 via eth0\n")
    assert lf.decide(V4, Ip("192.0.2.1"), 6, 80) == (False, True)
    with pytest.raises(ValueError, match="mode"):
        lf.decide_address((4, 1), (4, 2), 6, 80, "guess")


# --- issue 13: three reading errors of the compiler, shown by verify --------------------------------


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _policy(name, ns, selector, types, ingress=None, egress=None):
    spec = {"podSelector": selector, "policyTypes": types}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


CLEANUP = _policy("cleanup", "a", {}, ["Ingress", "Egress"])
TCP80 = [{"protocol": "TCP", "port": 80}]
ISSUE1 = (
    "default deny\n10 allow 0.0.0.0/0 -> any tcp/80\n",
    """
namespaces: {a: {}}
workloads:
  web: {namespace: a, labels: {app: web}, addresses: ["2001:db8:1::/64"]}
  db: {namespace: a, labels: {app: db}, addresses: ["2001:db8:2::/64"]}
""",
    [CLEANUP]
    + [
        _policy(
            f"{w}-{d}",
            "a",
            {"matchLabels": {"app": w}},
            [d.title()],
            **{
                d: [
                    {
                        ("from" if d == "ingress" else "to"): [
                            {"namespaceSelector": {}},
                            {"ipBlock": {"cidr": "0.0.0.0/0"}},
                        ],
                        "ports": TCP80,
                    }
                ]
            },
        )
        for w in ("web", "db")
        for d in ("ingress", "egress")
    ],
)
ISSUE2 = (
    "default deny\n10 deny any, 10.0.0.0/8 except 10.2.11.0/24 -> 198.51.100.0/24 any\n"
    "20 allow 10.2.11.0/24 -> 198.51.100.0/24 any\n",
    EXCEPT,
    [CLEANUP],
)
PG = {"matchLabels": {"app": "pg"}}
NOT_PG = {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["pg"]}]}
OTHER_PORTS = [
    {"protocol": "TCP", "port": 1, "endPort": 5431},
    {"protocol": "TCP", "port": 5433, "endPort": 65535},
    {"protocol": "UDP"},
    {"protocol": "SCTP"},
]
ISSUE3 = (
    "default allow\n60 deny 0.0.0.0/0, 10.1.13.0/24 except 203.0.113.128/25 -> 10.1.0.0/16 tcp/5432\n",
    """
namespaces: {a: {}}
workloads:
  pg: {namespace: a, labels: {app: pg}, addresses: [10.1.5.0/24]}
""",
    [
        CLEANUP,
        _policy(
            "pg-ingress",
            "a",
            PG,
            ["Ingress"],
            ingress=[
                {
                    "from": [{"podSelector": PG}, {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["203.0.113.128/25"]}}],
                    "ports": OTHER_PORTS,
                },
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [
                                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["a"]}
                                ]
                            }
                        },
                        {"podSelector": NOT_PG},
                        {"ipBlock": {"cidr": "203.0.113.128/25"}},
                    ]
                },
            ],
        ),
        _policy("pg-egress", "a", PG, ["Egress"], egress=[{}]),
        _policy("other", "a", NOT_PG, ["Ingress", "Egress"], ingress=[{}], egress=[{}]),
    ],
)


def load(case):
    rules, inv, pols = case
    return parse(rules, "r.fw"), parse_inventory(inv, "inv.yaml"), pols


def examples(case, **kw):
    rs, inv, pols = load(case)
    rep, v = verify(rs, inv, pols, limit=10**6, approximations=False, **kw)
    return rep, [(d.category, d.src_class, d.dst_class, d.flow) for d in rep.examples]


def _files(tmp_path, case):
    rules, inv, pols = case
    (tmp_path / "r.fw").write_text(rules)
    (tmp_path / "inv.yaml").write_text(inv)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump_all(pols))
    return tmp_path / "r.fw", tmp_path / "p.yaml", "-i", tmp_path / "inv.yaml"


def test_issue1_ipv4_source_never_matches_ipv6_hosts(tmp_path):
    rep, ex = examples(ISSUE1)
    assert rep.verdict == "not-equivalent"
    assert any(
        c == MORE
        and getattr(s, "workload", None) == "web"
        and getattr(d, "workload", None) == "db"
        and (f.proto, f.port) == (6, 80)
        for c, s, d, f in ex
    )
    r = run("verify", *_files(tmp_path, ISSUE1), "--limit", "50")
    assert r.exit_code == 1
    line = (
        "more-permissive (policies allow, ruleset denies): "
        "pod a/app=web (workload web) -> pod a/app=db (workload db) tcp/80"
    )
    assert line in r.output
    assert "legacy flow 2001:db8:1::1 -> 2001:db8:2::1" in r.output


def test_issue2_except_lets_w1_through(tmp_path):
    rep, ex = examples(ISSUE2)
    assert rep.by_direction[MORE] == 0 and rep.unreported == rep.by_direction[LESS] > 0
    assert any(
        c == LESS and getattr(s, "workload", None) == "w1" and str(f.dst).startswith("198.51.100.") for c, s, d, f in ex
    )
    r = run("verify", *_files(tmp_path, ISSUE2), "--no-approximations", "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.output)
    assert doc["verdict"] == "not-equivalent" and doc["differences"]["less-permissive-unreported"] > 0
    c = doc["counterexamples"][0]
    assert c["direction"] == LESS and not c["reported"] and c["src"]["workload"] == "w1"
    assert c["dst"]["address"].startswith("198.51.100.")
    assert c["firewall"]["decision"] == "allow" and c["firewall"]["rule"] == "20"


def test_issue3_pods_without_addresses_are_not_the_public_25(tmp_path):
    rep, ex = examples(ISSUE3)
    into_pg = [
        (s, f)
        for c, s, d, f in ex
        if c == MORE and getattr(d, "workload", None) == "pg" and (f.proto, f.port) == (6, 5432)
    ]
    assert any(getattr(s, "governed", False) and s.workload is None for s, _ in into_pg)  # another pod of namespace a
    assert any(not getattr(s, "governed", True) for s, _ in into_pg)  # a pod outside the inventory
    r = run("verify", *_files(tmp_path, ISSUE3), "--limit", "200")
    assert r.exit_code == 1
    assert any("(no workload) -> pod a/app=pg (workload pg) tcp/5432" in ln for ln in r.output.splitlines())
    assert "deny by rule 60 (line 2)" in r.output


@pytest.mark.parametrize("case", [ISSUE1, ISSUE2, ISSUE3], ids=["issue1", "issue2", "issue3"])
def test_methods_agree_on_issues(case):
    rs, inv, pols = load(case)
    found = [r for r in rs.rules] + [None]
    for approx in ([], found[:1], found):
        out = []
        for m in METHODS:
            rep = Verifier(rs, inv, pols, method=m, approximations=approx).run(limit=10**6)
            out.append(
                (
                    rep.checked,
                    rep.differences,
                    rep.by_direction,
                    rep.reported,
                    [(d.category, str(d.src_class), str(d.dst_class), d.flow) for d in rep.examples],
                )
            )
        assert out[0][:4] == out[1][:4] == out[2][:4]
        assert out[0][4] == out[1][4]
        assert sorted(map(str, out[0][4])) == sorted(map(str, out[2][4]))


# --- verdicts and exit codes --------------------------------------------------------------------------


ICMP = ("default deny\n10 allow 203.0.113.0/24 -> 10.2.11.0/24 icmp/8\n", EXCEPT, [CLEANUP])


def test_reported_approximation_only_exits_0_and_strict_1(tmp_path):
    rs, inv, pols = load(ICMP)
    assert any(f.kind == "inexpressible" for f in convert(rs, inv).findings)
    rep, _ = verify(rs, inv, pols)
    assert rep.verdict == "approximations" and rep.reported == rep.differences > 0
    assert (rep.exit_code(), rep.exit_code(strict=True)) == (0, 1)
    files = _files(tmp_path, ICMP)
    r = run("verify", *files)
    assert r.exit_code == 0, r.output
    assert f"equivalent but for {rep.reported} reported approximations (deny more)" in r.output.splitlines()[0]
    assert "less-permissive, reported approximation" in r.output
    assert run("verify", *files, "--strict").exit_code == 1
    doc = json.loads(run("verify", *files, "--format", "json").output)
    assert doc["verdict"] == "approximations" and doc["differences"]["less-permissive-reported"] == rep.reported
    # the same differences, unreported: the ruleset is not compiled
    r = run("verify", *files, "--no-approximations")
    assert r.exit_code == 1 and f"of which {rep.reported} unreported" in r.output


def test_unreported_less_permissive_exits_1(tmp_path):
    # rule 20 allows w1 -> 198.51.100.0/24; the approximation the verifier is told of is about rule 10 only
    rs, inv, pols = load(ISSUE2)
    rep = Verifier(rs, inv, pols, approximations=[rs.rules[0]]).run()
    assert rep.reported < rep.by_direction[LESS] and rep.exit_code() == 1
    rep = Verifier(rs, inv, pols, approximations=[None]).run()
    assert rep.verdict == "approximations" and rep.exit_code() == 0


def test_equivalent_exits_0(tmp_path):
    rules, inv, _ = ISSUE2
    pols = [
        CLEANUP,
        _policy(
            "w1",
            "a",
            {"matchLabels": {"app": "w1"}},
            ["Egress"],
            egress=[{"to": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}],
        ),
    ]
    r = run("verify", *_files(tmp_path, (rules, inv, pols)), "--strict")
    assert r.exit_code == 0, r.output
    assert ": equivalent: " in r.output


@settings(max_examples=30, deadline=None)
@given(scenario(), st.data())
def test_methods_agree_on_reported(sc, data):
    """Index, pairs and flows: the same counts, reported ones included, for any set of approximating rules."""
    rs, inv = load_scenario(sc)
    pols = convert(rs, inv).policies
    muts = mutants(pols)
    if muts and data.draw(st.booleans()):
        pols = data.draw(st.sampled_from(muts))[1]
    approx = data.draw(st.lists(st.sampled_from(rs.rules + [None]), max_size=3)) if rs.rules else []
    limit = data.draw(st.sampled_from([0, 2, 10**6]))
    out = []
    for m in METHODS:
        rep = Verifier(rs, inv, pols, method=m, approximations=approx).run(limit)
        out.append(
            (
                (rep.checked, rep.differences, rep.by_direction, rep.reported),
                [(d.category, str(d.src_class), str(d.dst_class), d.flow) for d in rep.examples],
            )
        )
    assert out[0][0] == out[1][0] == out[2][0]
    assert out[0][1] == out[1][1]
