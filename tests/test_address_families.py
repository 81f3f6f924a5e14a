"""Address families and pods without legacy addresses: three reading errors, now regression tests.

Each case converts a small ruleset and checks the policies against the brute-force evaluators:
the NetworkPolicy evaluator for the output, `LegacyFlows` for the concrete legacy flows.
"""

from translator.compiler.synth import convert
from translator.evaluate import Ip, NetpolEvaluator, Pod
from translator.evaluate.concrete import LegacyFlows
from translator.frontends.rules import parse
from translator.model.inventory import parse_inventory

WEB_DB_V6 = """\
namespaces:
  a: {}
workloads:
  web: {namespace: a, labels: {app: web}, addresses: ["2001:db8:1::/64"]}
  db: {namespace: a, labels: {app: db}, addresses: ["2001:db8:2::/64"]}
"""
WEB, DB = Pod.of("a", {"app": "web"}), Pod.of("a", {"app": "db"})
OTHER, OUTSIDE = Pod.of("a", {"app": "zzz"}), Pod.of("elsewhere", {})


def run(rules: str, inv_text: str):
    rs, inv = parse(rules, "case.fw"), parse_inventory(inv_text, "inv.yaml")
    result = convert(rs, inv)
    return rs, inv, result, NetpolEvaluator(result.policies, inv.namespaces)


def never_exceeds(rs, inv, result, pods, ips, services) -> None:
    """No flow the policies allow has a legacy flow behind it that the firewall denies."""
    lf = LegacyFlows(rs, inv)
    for pod_ips in [False, True] if inv.pod_cidrs else [False]:
        np = NetpolEvaluator(result.policies, inv.namespaces, pod_ips_match_ipblocks=pod_ips)
        for s in pods + ips:
            for d in pods + ips:
                if not any(isinstance(e, Pod) and e.namespace in inv.namespaces for e in (s, d)):
                    continue  # out of reach
                for proto, port in services:
                    if np.allows(s, d, proto, port):
                        assert lf.decide(s, d, proto, port)[0], (s, d, proto, port)


def test_an_ipv4_slash_zero_is_not_every_pod():
    rs, inv, result, np = run("default deny\n10 allow 0.0.0.0/0 -> any tcp/80\n", WEB_DB_V6)
    assert not np.allows(WEB, DB, 6, 80)  # an IPv4 source never matched an IPv6 host
    assert not np.allows(Ip("192.0.2.1"), DB, 6, 80)
    assert np.allows(Ip("192.0.2.1"), OTHER, 6, 80)  # pods without legacy addresses may have IPv4 ones
    assert not np.allows(Ip("2001:db8:9::1"), OTHER, 6, 80)
    # other pods to other pods: IPv4 allows, IPv6 does not: left denied and reported with a flow
    assert not np.allows(OTHER, OTHER, 6, 80)
    split = [f for f in result.findings if f.kind == "family-split"]
    assert split and split[0].rule.id == "10" and "tcp/80" in split[0].example
    never_exceeds(rs, inv, result, [WEB, DB, OTHER, OUTSIDE], [Ip("192.0.2.1"), Ip("2001:db8:9::1")], [(6, 80)])


def test_an_ipv6_slash_zero_is_not_every_pod():
    inv_text = WEB_DB_V6.replace('"2001:db8:1::/64"', "10.0.1.0/24").replace('"2001:db8:2::/64"', "10.0.2.0/24")
    rs, inv, result, np = run("default deny\n10 allow ::/0 -> any tcp/80\n", inv_text)
    assert not np.allows(WEB, DB, 6, 80)
    assert np.allows(Ip("2001:db8:9::1"), OTHER, 6, 80) and not np.allows(Ip("192.0.2.1"), OTHER, 6, 80)


def test_an_except_is_not_overridden_by_the_other_family():
    inv_text = "namespaces:\n  a: {}\nworkloads:\n  w1: {namespace: a, labels: {app: w1}, addresses: [10.2.11.0/24]}\n"
    rules = (
        "default deny\n10 deny any, 10.0.0.0/8 except 10.2.11.0/24 -> 198.51.100.0/24 any\n"
        "20 allow 10.2.11.0/24 -> 198.51.100.0/24 any\n"
    )
    rs, inv, result, np = run(rules, inv_text)
    w1 = Pod.of("a", {"app": "w1"})
    assert np.allows(w1, Ip("198.51.100.7"), 6, 443)  # rule 10 excepts w1; rule 20 allows it
    assert np.allows(w1, Ip("198.51.100.7"), 17, 53)
    assert not np.allows(w1, Ip("198.51.101.7"), 6, 443)
    assert not np.allows(OTHER, Ip("198.51.100.7"), 6, 443)
    # nothing about w1 is approximated
    assert not [f for f in result.findings if f.kind != "note" and "w1" in f.message]
    never_exceeds(rs, inv, result, [w1, OTHER, OUTSIDE], [Ip("198.51.100.7"), Ip("2001:db8::1")], [(6, 443), (17, 53)])


DENY_BUT_ONE = "default allow\n60 deny 0.0.0.0/0, 10.1.13.0/24 except 203.0.113.128/25 -> 10.1.0.0/16 tcp/5432\n"
PG = "namespaces:\n  a: {}\nworkloads:\n  pg: {namespace: a, labels: {app: pg}, addresses: [10.1.5.0/24]}\n"


def test_a_deny_on_all_but_a_slash_25_reaches_pods_without_legacy_addresses():
    rs, inv, result, np = run(DENY_BUT_ONE, PG)
    pg = Pod.of("a", {"app": "pg"})
    for pod in (OTHER, OUTSIDE):
        assert not np.allows(pod, pg, 6, 5432)  # it may have any address the deny holds
        assert np.allows(pod, pg, 6, 5433)
    assert np.allows(Ip("203.0.113.200"), pg, 6, 5432)
    assert not np.allows(Ip("198.51.100.1"), pg, 6, 5432)
    covers = [f for f in result.findings if f.kind == "partial-cover" and f.rule.id == "60"]
    assert covers and all(f.example for f in covers)
    assert any("pod without legacy addresses" in f.message and "tcp/5432" in f.example for f in covers)
    never_exceeds(
        rs, inv, result, [pg, OTHER, OUTSIDE], [Ip("203.0.113.200"), Ip("198.51.100.1")], [(6, 5432), (6, 5433)]
    )


def test_with_pod_cidrs_the_same_deny_is_exact():
    inv_text = "cluster:\n  podCIDRs: [100.64.0.0/16]\n" + PG
    rs, inv, result, np = run(DENY_BUT_ONE, inv_text)
    pg = Pod.of("a", {"app": "pg"})
    assert not np.allows(OTHER, pg, 6, 5432) and np.allows(OTHER, pg, 6, 5433)
    assert not [f for f in result.findings if f.kind == "partial-cover"]
    never_exceeds(rs, inv, result, [pg, OTHER, OUTSIDE], [Ip("203.0.113.200")], [(6, 5432), (6, 5433)])


def test_a_dual_stack_workload_needs_both_families():
    inv_text = (
        "namespaces:\n  a: {}\nworkloads:\n"
        '  api: {namespace: a, labels: {app: api}, addresses: [10.0.1.0/24, "2001:db8:1::/64"]}\n'
        "  v4: {namespace: a, labels: {app: v4}, addresses: [10.0.2.0/24]}\n"
    )
    rules = "default deny\n10 allow 10.0.1.0/24 -> any tcp/80\n20 allow any -> any tcp/81\n"
    rs, inv, result, np = run(rules, inv_text)
    api, v4 = Pod.of("a", {"app": "api"}), Pod.of("a", {"app": "v4"})
    assert np.allows(api, v4, 6, 80)  # only IPv4 flows between them
    assert not np.allows(api, OTHER, 6, 80)  # IPv6 flows of api to other pods: not allowed
    assert np.allows(api, OTHER, 6, 81) and np.allows(api, Ip("2001:db8:9::1"), 6, 81)
    assert not np.allows(v4, Ip("2001:db8:9::1"), 6, 81)  # v4 never had an IPv6 flow
    assert any(
        f.kind == "note" and "a/v4" in f.message and "IPv6 flows are denied" in f.message for f in result.findings
    )
    never_exceeds(
        rs, inv, result, [api, v4, OTHER, OUTSIDE], [Ip("192.0.2.1"), Ip("2001:db8:9::1")], [(6, 80), (6, 81)]
    )


def test_a_protected_host_may_be_a_pod_without_legacy_addresses():
    inv_text = (
        "namespaces:\n  a: {}\nworkloads:\n"
        "  web: {namespace: a, labels: {app: web}, addresses: [10.0.1.0/24]}\n"
        "  db: {namespace: a, labels: {app: db}}\n"
    )
    db = Pod.of("a", {"app": "db"})
    wide = "protect 10.0.0.0/16\ndefault deny\n10 allow any -> 10.0.0.0/16 tcp/80\n"
    rs, inv, result, np = run(wide, inv_text)
    assert any(f.kind == "note" and "protected host" in f.message and "a/db" in f.message for f in result.findings)
    assert not np.allows(OUTSIDE, db, 6, 81)  # db may be the host: governed, secure side
    never_exceeds(rs, inv, result, [WEB, db, OTHER, OUTSIDE], [Ip("10.0.2.5"), Ip("192.0.2.1")], [(6, 80), (6, 81)])
    exact = "protect 10.0.1.0/24\ndefault deny\n10 allow any -> 10.0.1.0/24 tcp/80\n"
    _, _, result, _ = run(exact, inv_text)
    assert not [f for f in result.findings if "protected host" in f.message]
