"""The indexed verify walk: its shared answers (per distinct peer, port list, pod set) hide no difference."""

from __future__ import annotations

import copy
import json

import pytest

from bench import generate
from translator.compiler.synth import convert
from translator.evaluate.concrete import LegacyFlows
from translator.evaluate.endpoints import Ip, Pod
from translator.evaluate.netpol import NetpolEvaluator
from translator.frontends.rules import parse
from translator.model.inventory import parse_inventory
from translator.verify.core import verify
from translator.verify.kinds import MORE
from translator.verify.report import difference_dict


def report(rs, inv, pols, method, limit=10**6):
    rep, v = verify(rs, inv, pols, limit=limit, approximations=False, method=method)
    return (
        (rep.checked, rep.differences, rep.by_direction),
        [(difference_dict(v, d), str(d.src_class), str(d.dst_class)) for d in rep.examples],
    )


def same(rs, inv, pols, limit=10**6):
    """The index walk and the pair walk report the same counts and counterexamples."""
    out = report(rs, inv, pols, "index", limit)
    assert out == report(rs, inv, pols, "pairs", limit)
    return out


def _ns_labels(inv, diff):
    out = {ns: dict(inv.namespaces[ns]) for ns in inv.namespaces}
    for e in (diff["src"], diff["dst"]):
        if "namespace_labels" in e:
            out[e["namespace"]] = e["namespace_labels"]
    return out


def confirmed(rs, inv, pols, diff) -> bool:
    """A counterexample differs under fresh brute-force evaluators."""

    def ep(e):
        if e["kind"] == "ip":
            return Ip(e["address"])
        return Pod.of(e["namespace"], e["labels"], ip=e.get("ip"))

    src, dst = ep(diff["src"]), ep(diff["dst"])
    proto, port = diff["protocol_number"], diff["port"]
    fw = LegacyFlows(rs, inv).allowed(src, dst, proto, port)
    pod_ips = bool(diff["src"].get("ip") or diff["dst"].get("ip"))
    np = NetpolEvaluator(pols, _ns_labels(inv, diff), pod_ips_match_ipblocks=pod_ips).allows(src, dst, proto, port)
    return fw != np and (diff["direction"] == MORE) == np


# --- a slice of the benchmark: many rules repeat the same peer and port lists ----------------------


@pytest.fixture(scope="module")
def bench_slice():
    g = generate.generate(120, workloads=24, seed=7)
    rs = parse(generate.rules_text(g), "bench.fw")
    inv = parse_inventory(generate.inventory_text(g), "inventory.yaml")
    # through JSON, as verify reads them: equal lists are distinct objects
    pols = json.loads(json.dumps(convert(rs, inv).policies))
    return rs, inv, pols


def _rules(pols):
    for i, p in enumerate(pols):
        for key, peer_key in (("ingress", "from"), ("egress", "to")):
            for j, r in enumerate(p["spec"].get(key) or []):
                yield i, key, j, peer_key, r


def _repeated(pols, what):
    """(policy, direction, rule) of every rule whose WHAT list (peers or ports) another rule repeats."""
    seen: dict = {}
    for i, key, j, peer_key, r in _rules(pols):
        lst = r.get(peer_key if what == "peers" else "ports")
        if lst:
            seen.setdefault((pols[i]["metadata"]["namespace"], repr(lst)), []).append((i, key, j, peer_key))
    return [places for places in seen.values() if len(places) > 1]


def test_bench_slice_agrees_with_pair_walk(bench_slice):
    rs, inv, pols = bench_slice
    counts, examples = same(rs, inv, pols, limit=50)
    assert counts[2][MORE] == 0
    assert all(confirmed(rs, inv, pols, d) for d, _, _ in examples)


def test_one_copy_of_a_repeated_peer_list_mutated_is_caught(bench_slice):
    """Peer answers are shared by equal lists; a mutated copy is a list of its own."""
    rs, inv, pols = bench_slice
    base = report(rs, inv, pols, "index", limit=0)[0]
    groups = _repeated(pols, "peers")
    assert groups, "the slice should repeat peer lists"
    caught = 0
    for places in groups[:4]:
        i, key, j, peer_key = places[-1]
        m = copy.deepcopy(pols)
        peers = m[i]["spec"][key][j][peer_key]
        if len(peers) > 1:
            peers.pop()
        else:  # a peer of another namespace: pods the ruleset never lets in
            peers[0] = {"namespaceSelector": {"matchLabels": {"fw2np-test": "x"}}}
        counts, examples = same(rs, inv, m, limit=5)
        caught += counts != base
        assert all(confirmed(rs, inv, m, d) for d, _, _ in examples)
    assert caught


def test_one_copy_of_a_repeated_port_list_mutated_is_caught(bench_slice):
    rs, inv, pols = bench_slice
    base = report(rs, inv, pols, "index", limit=0)[0]
    groups = _repeated(pols, "ports")
    assert groups, "the slice should repeat port lists"
    caught = 0
    for places in groups[:4]:
        i, key, j, _ = places[0]
        m = copy.deepcopy(pols)
        m[i]["spec"][key][j]["ports"] = [{"protocol": "UDP", "port": 7}]
        counts, examples = same(rs, inv, m, limit=5)
        caught += counts != base
        assert all(confirmed(rs, inv, m, d) for d, _, _ in examples)
    assert caught == min(4, len(groups))


# --- distinct values that print alike elsewhere stay apart ------------------------------------


INV = """
namespaces: {a: {labels: {team: x}}, b: {labels: {team: y}}}
workloads:
  web-a: {namespace: a, labels: {app: web}, addresses: [10.0.1.0/24]}
  web-b: {namespace: b, labels: {app: web}, addresses: [10.0.2.0/24]}
  db-a: {namespace: a, labels: {app: db}, addresses: [10.0.3.0/24]}
  db-b: {namespace: b, labels: {app: db}, addresses: [10.0.4.0/24]}
"""

RULES = """
allow 10.0.1.0/24 -> 10.0.3.0/24 tcp/5432
allow 10.0.2.0/24 -> 10.0.4.0/24 tcp/5432
"""


def _db_ingress(ns, peer):
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "db", "namespace": ns},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer], "ports": [{"protocol": "TCP", "port": 5432}]}],
        },
    }


def test_same_peer_in_two_namespaces_means_two_namespaces():
    """A podSelector-only peer selects pods of its policy's namespace: equal peers of two namespaces differ."""
    rs = parse("scope ingress\nprotect 10.0.3.0/24, 10.0.4.0/24\n" + RULES, "r.fw")
    inv = parse_inventory(INV)
    peer = {"podSelector": {"matchLabels": {"app": "web"}}}
    good = [_db_ingress("a", dict(peer)), _db_ingress("b", dict(peer))]
    assert same(rs, inv, good)[0][1] == 0
    # web of namespace b let into db of namespace a: caught though the peer text is the one used above
    bad = good + [_db_ingress("a", {"namespaceSelector": {"matchLabels": {"team": "y"}}, **peer})]
    bad[-1]["metadata"]["name"] = "db-extra"
    counts, examples = same(rs, inv, bad)
    assert counts[2][MORE] > 0
    # team=y pods (namespace b, or outside namespaces labelled so) into db of namespace a
    assert all(d["src"]["namespace"] != "a" and d["dst"]["namespace"] == "a" for d, _, _ in examples)
    assert any(d["src"]["namespace"] == "b" for d, _, _ in examples)


def test_label_key_types_are_not_merged():
    """matchLabels {1: web} (an int key: no pod label) and {"1": web} are different peers."""
    rs = parse("scope ingress\nprotect 10.0.3.0/24\nallow 10.0.1.0/24 -> 10.0.3.0/24 tcp/5432\n", "r.fw")
    inv = parse_inventory(INV)
    text_key = _db_ingress("a", {"podSelector": {"matchLabels": {"1": "web"}}})
    int_key = _db_ingress("a", {"podSelector": {"matchLabels": {1: "web"}}})
    int_key["metadata"]["name"] = "db-int"
    only_text = same(rs, inv, [text_key])
    only_int = same(rs, inv, [int_key])
    both = same(rs, inv, [int_key, text_key])
    assert only_text[0][2][MORE] > 0  # pods labelled 1=web get in
    assert only_int[0][2][MORE] == 0  # no pod label has the key 1 (an int)
    assert both[0] == only_text[0]


# --- pods with IPs: the second pod set --------------------------------------------------------


POD_INV = INV + "cluster: {podCIDRs: [100.64.0.0/16]}\n"


def test_second_pod_set_counted_and_reported():
    """With pod CIDRs every pair is checked twice; differences of the second set are reported too."""
    rs = parse("allow 10.0.1.0/24 -> 10.0.3.0/24 tcp/5432\n", "r.fw")
    inv = parse_inventory(POD_INV)
    pols = [_db_ingress("a", {"podSelector": {"matchLabels": {"app": "web"}}})]
    counts, examples = same(rs, inv, pols)
    assert counts[1] > 0 and counts[1] % 2 == 0
    assert any(d["src"].get("ip") or d["dst"].get("ip") for d, _, _ in examples)
    assert all(confirmed(rs, inv, pols, d) for d, _, _ in examples)


def test_ipblock_holding_pod_ips_differs_only_in_second_pod_set():
    rs = parse("scope ingress\nprotect 10.0.3.0/24\nallow 10.0.1.0/24 -> 10.0.3.0/24 tcp/5432\n", "r.fw")
    inv = parse_inventory(POD_INV)
    exact = [_db_ingress("a", {"podSelector": {"matchLabels": {"app": "web"}}})]
    assert same(rs, inv, exact)[0][1] == 0
    leaky = copy.deepcopy(exact)
    leaky[0]["spec"]["ingress"][0]["from"].append({"ipBlock": {"cidr": "100.64.0.0/16"}})
    counts, examples = same(rs, inv, leaky)
    assert counts[2][MORE] == counts[1] > 0
    assert all(d["src"]["ip"].startswith("100.64.") for d, _, _ in examples)
    assert all(confirmed(rs, inv, leaky, d) for d, _, _ in examples)
