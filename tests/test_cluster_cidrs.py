"""Pod and service CIDRs: ipBlocks for the outside world never reach pods by IP."""

import ipaddress

from translator.compiler.synth import convert
from translator.evaluate import FirewallEvaluator, Ip, NetpolEvaluator, Pod
from translator.frontends.rules import parse
from translator.model.inventory import parse_inventory

# the outside world, minus the internal ranges and a piece of the pod CIDR: the ipBlocks must not reach pods
RULES = """\
address api 10.1.0.5
address internet 0.0.0.0/0 except 10.0.0.0/8, 100.64.0.0/12
10 allow api -> internet tcp/443
20 allow internet -> api tcp/8443
99 deny any -> any any
"""
INV = """\
cluster:
  podCIDRs: [100.64.0.0/10]
  serviceCIDRs: [10.96.0.0/12]
workloads:
  api:
    namespace: shop
    labels: {app: api}
    addresses: [10.1.0.5]
  db:
    namespace: shop
    labels: {app: db}
    addresses: [10.1.0.6]
"""


def blocks(policies):
    for p in policies:
        for rule in p["spec"].get("ingress", []) + p["spec"].get("egress", []):
            for peer in rule.get("from", rule.get("to", [])):
                if "ipBlock" in peer:
                    yield peer["ipBlock"]


def test_egress_to_the_internet_does_not_open_pods():
    rs, inv = parse(RULES, "leak.fw"), parse_inventory(INV, "inv.yaml")
    policies = convert(rs, inv).policies
    found = list(blocks(policies))
    assert found
    for net in ("100.64.0.0/10", "10.96.0.0/12"):
        cluster = ipaddress.ip_network(net)
        for block in found:
            if ipaddress.ip_network(block["cidr"]).overlaps(cluster):
                assert any(ipaddress.ip_network(e).supernet_of(cluster) for e in block.get("except", [])), block
    # a CNI that matches pod IPs against ipBlocks (Calico, Cilium) must still keep api away from db
    api = Pod.of("shop", {"app": "api"}, ip="100.64.1.5")
    db = Pod.of("shop", {"app": "db"}, ip="100.64.2.7")
    for pod_ips in (False, True):
        ev = NetpolEvaluator(policies, inv.namespaces, pod_ips_match_ipblocks=pod_ips)
        assert not ev.allows(api, db, 6, 443)
        assert not ev.allows(db, api, 6, 8443)
        assert ev.allows(api, Ip("8.8.8.8"), 6, 443)
        assert ev.allows(Ip("203.0.113.9"), api, 6, 8443)
        assert not ev.allows(api, Ip("10.200.0.1"), 6, 443)


def test_address_covering_the_pod_cidr_stands_for_pods_without_legacy_addresses_and_says_so():
    rs = parse("address api 10.1.0.5\n10 allow api -> 0.0.0.0/0 except 10.0.0.0/8 tcp/443\n", "all.fw")
    inv = parse_inventory(INV, "inv.yaml")
    result = convert(rs, inv)
    api, db = Pod.of("shop", {"app": "api"}, ip="100.64.1.5"), Pod.of("shop", {"app": "db"}, ip="100.64.2.7")
    other = Pod.of("elsewhere", {"app": "x"}, ip="100.64.3.9")
    fw = FirewallEvaluator(rs, inv)
    assert fw.decide(api, other, 6, 443)[0]
    assert not fw.decide(api, db, 6, 443)[0]  # db is its legacy address, 10.1.0.6: excepted
    for pod_ips in (False, True):
        ev = NetpolEvaluator(result.policies, inv.namespaces, pod_ips_match_ipblocks=pod_ips)
        assert ev.allows(api, other, 6, 443)
        assert not ev.allows(api, db, 6, 443)
    assert any(f.kind == "note" and "whole pod CIDR" in f.message and f.rule.id == "10" for f in result.findings)


def test_address_covering_part_of_the_pod_cidr():
    rs = parse(
        "address api 10.1.0.5\naddress db 10.1.0.6\n10 allow 100.64.0.0/10 -> api tcp/80\n"
        "20 allow 100.64.0.0/16 -> api tcp/81\n"
        "30 deny 100.64.1.0/24 -> db any\n40 allow any -> db tcp/5432\n",
        "c.fw",
    )
    inv = parse_inventory(INV, "inv.yaml")
    result = convert(rs, inv)
    fw = FirewallEvaluator(rs, inv)
    ev = NetpolEvaluator(result.policies, inv.namespaces)
    other = Pod.of("elsewhere", {"app": "x"})
    api, db = Pod.of("shop", {"app": "api"}), Pod.of("shop", {"app": "db"})
    assert fw.decide(other, api, 6, 80)[0] and ev.allows(other, api, 6, 80)
    # a part of the pod CIDR: the allow takes no pod (secure side), reported
    assert not fw.decide(other, api, 6, 81)[0] and not ev.allows(other, api, 6, 81)
    # a part of the pod CIDR in a deny: every pod is denied
    assert not fw.decide(api, db, 6, 5432)[0] and not ev.allows(api, db, 6, 5432)
    assert ev.allows(Ip("192.0.2.1"), db, 6, 5432)
    kinds = [(f.kind, f.rule.id if f.rule else None) for f in result.findings]
    assert ("partial-cover", "20") in kinds and ("partial-cover", "30") in kinds
    assert not any(f.kind == "note" and "names no pod CIDR" in f.message for f in result.findings)


def test_no_pod_cidr_is_said_once():
    rs, inv = (
        parse(RULES, "leak.fw"),
        parse_inventory(
            INV.split("workloads:")[0].replace(
                "cluster:\n  podCIDRs: [100.64.0.0/10]\n  serviceCIDRs: [10.96.0.0/12]\n", ""
            )
            + "workloads:"
            + INV.split("workloads:")[1],
            "inv.yaml",
        ),
    )
    notes = [f for f in convert(rs, inv).findings if f.kind == "note" and "pod CIDR" in f.message]
    assert len(notes) == 1 and "podCIDRs" in notes[0].message


def test_reverse_names_the_pod_cidr():
    from translator.reverse.formats import render_table
    from translator.reverse.table import build_table

    policies = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "out", "namespace": "shop"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "api"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["100.64.0.0/10", "10.96.0.0/12"]}}]}],
            },
        }
    ]
    inv = parse_inventory(INV, "inv.yaml")
    text = render_table(build_table(policies, inv), "table")
    assert "0.0.0.0/0 except cluster pods (100.64.0.0/10), cluster services (10.96.0.0/12)" in text
