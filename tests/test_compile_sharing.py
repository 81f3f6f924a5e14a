"""Smaller output with the same meaning: shared policies, pod-to-pod flows decided at the destination's
ingress, explicit allow-all policies, the ruleset label."""

from __future__ import annotations

import itertools

from translator.compiler.synth import ISOLATED_NOTE, convert
from translator.evaluate import FirewallEvaluator, Ip, NetpolEvaluator, Pod
from translator.frontends.rules import parse
from translator.model.inventory import parse_inventory

INV = """
cluster: {podCIDRs: [10.244.0.0/16]}
namespaces: {shop: {}, data: {}}
workloads:
  web1: {namespace: shop, labels: {app: web1}, addresses: [10.1.0.1]}
  web2: {namespace: shop, labels: {app: web2}, addresses: [10.1.0.2]}
  web3: {namespace: shop, labels: {app: web3}, addresses: [10.1.0.3]}
  web4: {namespace: shop, labels: {app: web4}, addresses: [10.1.0.4]}
  db:   {namespace: data, labels: {app: db}, addresses: [10.2.0.1]}
"""

# every web talks to the db and to many outside networks alike; each web has one port of its own
SHARED = (
    "ruleset shop\n"
    "deny 10.1.0.4 -> 10.2.0.1 tcp/5432\n"
    + "".join(f"allow 10.1.0.0/29 -> 198.51.{k}.0/24 tcp/{1000 + k}\n" for k in range(40))
    + "allow 10.1.0.0/29 -> 10.2.0.1 tcp/5432\n"
    + "".join(f"allow 203.0.113.0/24 -> 10.1.0.{k} tcp/{8000 + k}\n" for k in range(1, 5))
    + "allow any -> 10.1.0.0/29 tcp/443\n"
)


def _compiled(text: str, inv: str = INV):
    inventory = parse_inventory(inv, "inv.yaml")
    rs = parse(text, "rules.fw")
    return rs, inventory, convert(rs, inventory)


def _endpoints(inventory):
    pods = [Pod.of(w.namespace, dict(w.labels)) for w in inventory.workloads.values()]
    pods.append(Pod.of("shop", {"app": "stray"}))  # a pod of no workload
    ips = [Ip(a) for a in ("198.51.3.9", "198.51.39.1", "203.0.113.7", "192.0.2.1")]
    return pods + ips


def _same_decisions(rs, inventory, result) -> None:
    """Every sampled flow is decided by the policies as by the ruleset (secure reading)."""
    np_eval = NetpolEvaluator(result.policies, inventory.namespaces)
    fw = FirewallEvaluator(rs, inventory, "secure")
    ports = [(6, p) for p in (443, 5432, 1003, 1039, 8001, 8004, 22)]
    pairs = [(s, d) for s, d in itertools.product(_endpoints(inventory), repeat=2) if fw.in_reach(s, d)]
    assert len(pairs) >= 20
    for src, dst in pairs:
        for proto, port in ports:
            assert np_eval.allows(src, dst, proto, port) == fw.decide(src, dst, proto, port)[0], (src, dst, port)


def test_rules_several_workloads_have_alike_go_into_one_policy_over_them():
    rs, inventory, result = _compiled(SHARED)
    shared = [p for p in result.policies if "fw2np.io/shared-by" in p["metadata"]["annotations"]]
    assert shared, [p["metadata"]["name"] for p in result.policies]
    egress = [p for p in shared if p["spec"]["policyTypes"] == ["Egress"]]
    (sel,) = {str(p["spec"]["podSelector"]) for p in egress}
    assert egress[0]["spec"]["podSelector"] == {
        "matchExpressions": [{"key": "app", "operator": "In", "values": ["web1", "web2", "web3", "web4"]}]
    }, sel
    # the 40 outside networks are written once, not once a workload
    blocks = [
        peer["ipBlock"]["cidr"]
        for p in result.policies
        for r in p["spec"].get("egress", [])
        for peer in r.get("to", [])
        if "ipBlock" in peer
    ]
    assert blocks.count("198.51.7.0/24") == 1
    _same_decisions(rs, inventory, result)


def test_pod_to_pod_flows_are_decided_at_the_destination_ingress():
    rs, inventory, result = _compiled(SHARED)
    np_eval = NetpolEvaluator(result.policies, inventory.namespaces)
    web4, db = Pod.of("shop", {"app": "web4"}), Pod.of("data", {"app": "db"})
    web1 = Pod.of("shop", {"app": "web1"})
    # web4 -> db 5432 is denied by the first rule: the egress of web4 lets it out, db's ingress stops it
    assert np_eval.egress_allows(web4, db, 6, 5432)
    assert not np_eval.ingress_allows(web4, db, 6, 5432)
    assert np_eval.allows(web1, db, 6, 5432) and not np_eval.allows(web4, db, 6, 5432)
    notes = [p["metadata"]["annotations"]["fw2np.io/rules"] for p in result.policies]
    assert any(ISOLATED_NOTE in n for n in notes)
    # outside the cluster the egress is still exact
    assert not np_eval.egress_allows(web1, Ip("198.51.3.9"), 6, 1004)
    assert np_eval.egress_allows(web1, Ip("198.51.3.9"), 6, 1003)
    _same_decisions(rs, inventory, result)


def test_without_governed_ingress_the_egress_decides_pod_flows_itself():
    rs, inventory, result = _compiled("scope egress\n" + SHARED)
    np_eval = NetpolEvaluator(result.policies, inventory.namespaces)
    web4, db = Pod.of("shop", {"app": "web4"}), Pod.of("data", {"app": "db"})
    assert not [p for p in result.policies if "Ingress" in p["spec"]["policyTypes"]]
    assert not np_eval.egress_allows(web4, db, 6, 5432)
    assert np_eval.egress_allows(Pod.of("shop", {"app": "web1"}), db, 6, 5432)
    _same_decisions(rs, inventory, result)


def test_an_allow_all_ruleset_writes_allow_all_policies_and_says_so():
    dual = (
        "namespaces: {shop: {}, data: {}}\n"
        "workloads:\n  web: {namespace: shop, labels: {app: web}, addresses: [10.1.0.1, '2001:db8::1']}\n"
    )
    rs, inventory, result = _compiled("ruleset open\ndefault allow\n", dual)
    names = sorted(p["metadata"]["name"] for p in result.policies)
    assert names == ["open-allow-all", "open-allow-all"]  # one in each namespace
    for p in result.policies:
        assert p["spec"] == {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{}],
            "egress": [{}],
        }
    assert any("allow-all" in f.message for f in result.findings if f.kind == "note")
    _same_decisions(rs, inventory, result)


def test_every_policy_carries_its_ruleset_label():
    _, _, result = _compiled("ruleset DMZ_in\n" + SHARED.split("\n", 1)[1])
    (labels,) = {tuple(sorted(p["metadata"]["labels"].items())) for p in result.policies}
    assert dict(labels)["app.kubernetes.io/managed-by"] == "fw2np"
    value = dict(labels)["fw2np.io/ruleset"]
    assert all(p["metadata"]["name"].startswith(value + "-") for p in result.policies)
    assert len(value) <= 63 and value[0].isalnum() and value[-1].isalnum()
