"""verify: exact equivalence over flow classes, counterexamples confirmed by the brute-force evaluators."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.compiler.synth import convert
from translator.evaluate.concrete import LegacyFlows
from translator.evaluate.endpoints import Ip, Pod
from translator.evaluate.firewall import FirewallEvaluator
from translator.evaluate.netpol import NetpolEvaluator
from translator.frontends.rules import parse
from translator.model.inventory import parse_inventory
from translator.model.policies import load_policies
from translator.verify.core import verify
from translator.verify.kinds import LESS, MORE
from translator.verify.report import difference_dict

from . import strategies

ROOT = Path(__file__).resolve().parents[1]
V = ROOT / "samples" / "verify"
NON_L4 = (1, 58, 47, 0)

# --- a compact random scenario -------------------------------------------------------

LEGACY = ["10.0.1.0/24", "10.0.2.0/25", "10.0.2.128/25", "10.0.3.5", "10.0.4.0-10.0.4.9", "2001:db8::/64"]
ADDRS = [
    "any",
    "any",
    "any4",
    "any6",
    "10.0.0.0/16",
    "10.0.2.0/24",
    "10.0.1.0/24",
    "10.0.3.5",
    "192.0.2.0/24",
    "192.0.2.0/24 except 192.0.2.128/25",
    "10.0.0.0/8 except 10.0.2.0/24",
    "2001:db8::/32",
    "0.0.0.0/1",
    "10.0.2.64/26",
    "10.0.4.5",
    "grp",
    "any except grp",
    "10.244.0.0/16",
    "10.0.0.0/8 except 10.244.0.0/16",
]
OBJECTS = "address grp 10.0.1.0/24, 192.0.2.0/25 except 192.0.2.5\n"
SVCS = [
    "any",
    "tcp/80",
    "tcp/80-90",
    "tcp/85",
    "udp/53",
    "udp",
    "icmp/8",
    "icmp",
    "proto/47",
    "sctp/9",
    "tcp/1000-2000",
]


@st.composite
def scenario(draw):
    """(ruleset text, inventory text): 1-3 namespaces, a few workloads, rules with overlaps."""
    nss = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    inv = {"namespaces": {ns: {"labels": {"team": draw(st.sampled_from(["x", "y"]))}} for ns in nss}, "workloads": {}}
    pool = draw(st.permutations(LEGACY))
    for i in range(draw(st.integers(0, 4))):
        w = {
            "namespace": draw(st.sampled_from(nss)),
            "labels": {"app": f"w{i}"},
            "addresses": [pool[i]] if draw(st.integers(0, 5)) else [],
        }
        if draw(st.booleans()):
            w["ports"] = {"web": 85}
        inv["workloads"][f"w{i}"] = w
    if draw(st.integers(0, 3)) == 0:
        inv["cluster"] = {"podCIDRs": ["10.244.0.0/16"], "serviceCIDRs": ["10.96.0.0/12"]}
    lines = [f"default {draw(st.sampled_from(['deny', 'deny', 'allow']))}", OBJECTS]
    if draw(st.integers(0, 3)) == 0:
        lines.append(f"scope {draw(st.sampled_from(['ingress', 'egress', 'both']))}")
    if draw(st.integers(0, 4)) == 0:
        lines.append(f"protect {draw(st.sampled_from(LEGACY[:3] + ['10.0.0.0/16']))}")
    for k in range(draw(st.integers(0, 6))):
        src, dst = draw(st.sampled_from(ADDRS)), draw(st.sampled_from(ADDRS))
        svcs = ", ".join(draw(st.lists(st.sampled_from(SVCS), min_size=1, max_size=2, unique=True)))
        via = " via eth1" if draw(st.integers(0, 9)) == 0 else ""
        lines.append(f"{k + 1} {draw(st.sampled_from(['allow', 'allow', 'deny']))} {src} -> {dst} {svcs}{via}")
    return "\n".join(lines) + "\n", yaml.safe_dump(inv)


def load(sc):
    return parse(sc[0], "random.fw"), parse_inventory(sc[1], "inv.yaml")


def ns_labels(inv, extra=None):
    return {**{ns: dict(inv.namespaces[ns]) for ns in inv.namespaces}, **(extra or {})}


def sample_flows(inv):
    """Concrete flows with a governed pod at one end (never a legacy address)."""
    pods = [Pod.of(w.namespace, {**w.labels, "extra": "1"}, ports=dict(w.ports)) for w in inv.workloads.values()]
    pods += [Pod.of(ns, {}) for ns in inv.namespaces]
    pods += [Pod.of(ns, {"app": "stranger"}, ports={"web": 85}) for ns in inv.namespaces]
    outside = [Pod.of("elsewhere", {}), Pod.of("elsewhere", {"app": "w0"})]
    ips = [
        Ip(a)
        for a in (
            "8.8.8.8",
            "10.0.2.200",
            "10.0.9.1",
            "192.0.2.1",
            "192.0.2.200",
            "10.9.9.9",
            "2001:db8:1::1",
            "2001:db9::1",
            "200.1.1.1",
        )
    ]
    services = [(6, 80), (6, 85), (6, 91), (6, 1500), (17, 53), (17, 54), (1, 8), (1, 0), (47, 0), (132, 9)]
    ends = [(s, d) for s in pods for d in pods + outside + ips] + [(s, d) for s in outside + ips for d in pods]
    out = []
    for s, d in ends:
        for proto, port in services:
            out.append((s, d, proto, port))
    return out


def external_ok(fw, flow):
    try:
        fw._check(flow[0], flow[1])
        return True
    except ValueError:  # a legacy address: not an endpoint
        return False


def confirm(rs, inv, pols, diff: dict) -> bool:
    """Does a counterexample (JSON form) really differ under fresh brute-force evaluators?"""

    def ep(e):
        if e["kind"] == "ip":
            return Ip(e["address"])
        ports = {n: tuple(v.split("/")) for n, v in (e.get("ports") or {}).items()}
        ports = {n: (p.upper(), int(x)) for n, (p, x) in ports.items()}
        return Pod.of(e["namespace"], e["labels"], ports=ports, ip=e.get("ip"))

    extra = {e["namespace"]: e["namespace_labels"] for e in (diff["src"], diff["dst"]) if "namespace_labels" in e}
    src, dst = ep(diff["src"]), ep(diff["dst"])
    fw = LegacyFlows(rs, inv).allowed(src, dst, diff["protocol_number"], diff["port"])
    # a counterexample with pod IPs was found on a CNI that matches them against ipBlocks
    pod_ips = any(e.get("ip") for e in (diff["src"], diff["dst"]) if e["kind"] == "pod")
    np = NetpolEvaluator(pols, ns_labels(inv, extra), pod_ips_match_ipblocks=pod_ips).allows(
        src, dst, diff["protocol_number"], diff["port"]
    )
    return fw != np and (diff["direction"] == MORE) == np


# --- the compiler's output is equivalent -------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(scenario())
def test_compiled_policies_verify(sc):
    """Never more permissive, and every flow left denied is one an approximation the compiler reports touches."""
    rs, inv = load(sc)
    rep, v = verify(rs, inv, convert(rs, inv).policies, limit=1000)
    assert rep.by_direction[MORE] == 0, [difference_dict(v, d) for d in rep.examples[:3]]
    assert rep.unreported == 0, [difference_dict(v, d) for d in rep.examples if not d.reported][:3]
    assert rep.exit_code() == 0


CLUSTER_INV = """
cluster: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}
namespaces: {a: {}}
workloads:
  w0: {namespace: a, labels: {app: w0}, addresses: []}
  w2: {namespace: a, labels: {app: w2}, addresses: [10.0.2.128/25]}
"""


@pytest.mark.parametrize("method", ["index", "pairs", "flows"])
def test_deny_on_pod_cidr_is_a_reported_approximation(method):
    """A deny naming the pod CIDR is taken to hit every pod, a workload with other legacy addresses too:
    convert says so (partial-cover on that rule), and verify counts the flows it denies as reported."""
    rs = parse("default deny\n1 deny any -> 10.244.0.0/16 any\n2 allow any -> any any\n", "r.fw")
    inv = parse_inventory(CLUSTER_INV, "inv.yaml")
    result = convert(rs, inv)
    found = [f for f in result.findings if f.kind == "partial-cover" and f.rule is rs.rules[0]]
    assert len(found) == 1 and "a/w2" in found[0].message and "cluster" in found[0].message
    rep, _ = verify(rs, inv, result.policies, limit=1000, method=method)
    assert rep.by_direction[LESS] > 0 and rep.by_direction[MORE] == 0
    assert rep.unreported == 0 and rep.exit_code() == 0


def test_inexpressible_services_of_several_rules_are_all_reported():
    """ICMP and GRE allowed by two rules beside ports are left denied in one finding: verify counts the
    flows of both rules as reported, not only those of the finding's first rule."""
    rs = parse("default deny\n1 allow any -> any icmp/8\n2 allow any -> any proto/47\n3 allow any -> any tcp/22\n")
    inv = parse_inventory("namespaces: {a: {}}\nworkloads:\n  w: {namespace: a, labels: {app: w}, addresses: []}\n")
    result = convert(rs, inv)
    (found,) = [f for f in result.findings if f.kind == "inexpressible"]
    assert {r.id for r in found.rules} == {"1", "2"}
    rep, _ = verify(rs, inv, result.policies, limit=1000)
    assert rep.by_direction[LESS] > 0 and rep.unreported == 0 and rep.exit_code() == 0


def test_staging_sample_is_equivalent():
    rs = parse((ROOT / "samples/staging/rules.fw").read_text(), "rules.fw")
    inv = parse_inventory((ROOT / "samples/staging/inventory.yaml").read_text())
    rep, _ = verify(rs, inv, convert(rs, inv).policies)
    assert rep.equivalent and rep.checked > 100 and rep.approximations == 0


# --- mutations of the compiled policies ------------------------------------------------------


def _rules(pol):
    spec = pol["spec"]
    return [(k, r) for k in ("ingress", "egress") for r in spec.get(k) or []]


def mutants(pols):
    """(name, mutated policy list) for every applicable mutation."""
    out = []
    for i, p in enumerate(pols):
        if p["metadata"]["annotations"]["fw2np.io/rules"].startswith("default deny"):
            out.append((f"drop cleanup {i}", pols[:i] + pols[i + 1 :]))
        for j, (_, rule) in enumerate(_rules(p)):
            peers = rule.get("from") or rule.get("to") or []
            for k, peer in enumerate(peers):

                def edit(q, fn, i=i, j=j, k=k):
                    m = copy.deepcopy(q)
                    r = _rules(m[i])[j][1]
                    fn(r, (r.get("from") or r.get("to"))[k])
                    return m

                out.append((f"drop peer {i}.{j}.{k}", edit(pols, lambda r, pe: (r.get("from") or r["to"]).remove(pe))))
                if "except" in (peer.get("ipBlock") or {}):
                    out.append((f"drop except {i}.{j}.{k}", edit(pols, lambda r, pe: pe["ipBlock"].pop("except"))))
                sel = peer.get("podSelector") or {}
                if sel.get("matchLabels"):

                    def relabel(r, pe):
                        ml = pe["podSelector"]["matchLabels"]
                        ml[sorted(ml)[0]] = "changed"

                    out.append((f"relabel {i}.{j}.{k}", edit(pols, relabel)))
            for k, port in enumerate(rule.get("ports") or []):
                if isinstance(port.get("port"), int):

                    def widen(q, i=i, j=j, k=k):
                        m = copy.deepcopy(q)
                        e = _rules(m[i])[j][1]["ports"][k]
                        e["endPort"] = e.get("endPort", e["port"]) + 3
                        return m

                    def narrow(q, i=i, j=j, k=k):
                        m = copy.deepcopy(q)
                        e = _rules(m[i])[j][1]["ports"][k]
                        e["port"] = min(e["port"] + 1, 65535)
                        e.pop("endPort", None)
                        return m

                    out += [(f"widen {i}.{j}.{k}", widen(pols)), (f"narrow {i}.{j}.{k}", narrow(pols))]
        sel = p["spec"]["podSelector"].get("matchLabels")
        if sel:
            m = copy.deepcopy(pols)
            m[i]["spec"]["podSelector"]["matchLabels"][sorted(sel)[0]] = "changed"
            out.append((f"retarget {i}", m))
    return out


def check_mutant(rs, inv, pols, flows) -> tuple[bool, bool]:
    """(verify found a difference, the sample flows found one); counterexamples confirmed."""
    rep, v = verify(rs, inv, pols, limit=5, approximations=False)
    for d in rep.examples:
        assert confirm(rs, inv, pols, difference_dict(v, d)), difference_dict(v, d)
    fw, lf = FirewallEvaluator(rs, inv, "secure"), LegacyFlows(rs, inv)
    np = NetpolEvaluator(pols, ns_labels(inv))
    sampled = any(fw.in_reach(f[0], f[1]) and lf.allowed(*f) != np.allows(*f) for f in flows)
    return rep.differences > 0, sampled


@settings(max_examples=25, deadline=None)
@given(scenario(), st.data())
def test_mutants_are_caught(sc, data):
    rs, inv = load(sc)
    pols = convert(rs, inv).policies
    muts = mutants(pols)
    if not muts:
        return
    name, mutated = data.draw(st.sampled_from(muts))
    flows = [f for f in sample_flows(inv) if external_ok(FirewallEvaluator(rs, inv), f)]
    found, sampled = check_mutant(rs, inv, mutated, flows)
    # whenever a concrete flow tells them apart, verify must find a difference
    assert found or not sampled, name


def test_staging_mutants():
    rs = parse((ROOT / "samples/staging/rules.fw").read_text(), "rules.fw")
    inv = parse_inventory((ROOT / "samples/staging/inventory.yaml").read_text())
    pols = convert(rs, inv).policies
    flows = [f for f in sample_flows(inv) if external_ok(FirewallEvaluator(rs, inv), f)]
    flows += [
        (Ip("203.0.113.5"), Pod.of("staging", {"app": "frontend"}), 6, 80),
        (Pod.of("staging", {"app": "backend"}), Ip("198.51.100.7"), 6, 8101),
    ]
    caught = 0
    for name, mutated in mutants(pols):
        found, sampled = check_mutant(rs, inv, mutated, flows)
        if sampled:
            assert found, name
        caught += found
    assert caught >= 10


# --- hand-written policies and tables ----------------------------------------------------------


def sample(name, policies=None):
    rs = parse((V / f"{name}.fw").read_text(), f"{name}.fw")
    inv = parse_inventory((V / "inventory.yaml").read_text(), "inventory.yaml")
    return rs, inv, load_policies(str(V / f"{policies or name}.yaml"))


@pytest.mark.parametrize("name", ["deny-all", "allow-all", "isolation", "three-tier"])
def test_hand_written_equivalent(name):
    rs, inv, pols = sample(name)
    rep, _ = verify(rs, inv, pols)
    assert rep.equivalent, rep.examples[:1]


def test_no_policies_is_allow_all_but_across_families():
    """No policy allows every flow, also between IPv4-only workloads and IPv6 addresses: no legacy flow."""
    rs, inv, _ = sample("allow-all")
    rep, v = verify(rs, inv, [], limit=1000)
    assert rep.differences == rep.by_direction[MORE] > 0
    for d in rep.examples:
        assert v.why(d)["firewall"]["legacy_flow"] is None
        assert "::" in str(d.src_class) + str(d.dst_class)


@pytest.mark.parametrize(
    "table,policies",
    [("deny-all", "allow-all"), ("allow-all", "deny-all"), ("three-tier", "isolation"), ("isolation", "three-tier")],
)
def test_hand_written_mismatches(table, policies):
    rs, inv, pols = sample(table, policies)
    rep, v = verify(rs, inv, pols, limit=20)
    assert not rep.equivalent
    for d in rep.examples:
        assert confirm(rs, inv, pols, difference_dict(v, d))


def test_broken_three_tier_counterexample():
    rs, inv, pols = sample("three-tier", "three-tier-bad")
    rep, v = verify(rs, inv, pols, limit=50)
    assert rep.differences == 1 and rep.by_direction[MORE] == 1
    d = difference_dict(v, rep.examples[0])
    assert d["src"]["kind"] == "pod" and d["src"]["labels"] == {"app": "frontend"}
    assert d["src"]["namespace"] not in inv.namespaces
    assert d["dst"] == {
        "kind": "pod",
        "namespace": "shop",
        "labels": {"app": "backend"},
        "workload": "backend",
        "governed": True,
    }
    assert (d["protocol"], d["port"]) == ("tcp", 8080)
    assert d["firewall"] == {
        "decision": "deny",
        "rule": None,
        "line": None,
        "by": "the default (deny)",
        "legacy_flow": "0.0.0.1 -> 10.0.2.1",
    }
    assert d["policies"]["decision"] == "allow"
    assert d["policies"]["ingress"]["by"] == [{"policy": "shop/backend", "rule": 0}]
    assert confirm(rs, inv, pols, d)


def test_named_port_on_other_pods():
    """A named port lets any pod that declares it in: verify must try such a pod."""
    rs, inv, _ = sample("deny-all")
    pols = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "p", "namespace": "shop"},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"ports": [{"port": "metrics"}]}],
            },
        }
    ]
    rep, v = verify(rs, inv, pols, limit=50)
    assert rep.by_direction[MORE] > 0
    d = difference_dict(v, rep.examples[0])
    assert d["dst"]["ports"] == {"metrics": f"tcp/{d['port']}"}
    assert confirm(rs, inv, pols, d)


def test_outside_namespace_labels_and_names():
    """namespaceSelector tests on labels and names of namespaces outside the inventory."""
    rs, inv, _ = sample("three-tier")
    pols = load_policies(str(V / "three-tier.yaml"))
    extra = yaml.safe_load("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: monitoring, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {purpose: monitoring}}
      podSelector: {matchExpressions: [{key: role, operator: Exists}]}
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: audit}}
""")
    rep, v = verify(rs, inv, pols + [extra], limit=100)
    srcs = {
        (d["src"]["namespace"], json.dumps(d["src"].get("namespace_labels")), json.dumps(d["src"]["labels"]))
        for d in (difference_dict(v, x) for x in rep.examples)
    }
    assert any(ns == "audit" for ns, _, _ in srcs)
    assert any('"purpose": "monitoring"' in nl and '"role"' in lab for _, nl, lab in srcs)
    assert rep.by_direction[LESS] == 0
    for x in rep.examples:
        assert confirm(rs, inv, pols + [extra], difference_dict(v, x))


# --- CLI ----------------------------------------------------------------------------


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_cli_equivalent():
    r = run("verify", str(V / "three-tier.fw"), str(V / "three-tier.yaml"), "-i", str(V / "inventory.yaml"))
    assert r.exit_code == 0, r.output
    assert "equivalent" in r.output and "NOT" not in r.output and len(r.output.strip().splitlines()) == 1


def test_cli_difference_text_and_json():
    args = ["verify", str(V / "three-tier.fw"), str(V / "three-tier-bad.yaml"), "-i", str(V / "inventory.yaml")]
    r = run(*args)
    assert r.exit_code == 1
    assert "more-permissive" in r.output and "shop/app=backend" in r.output and "tcp/8080" in r.output
    r = run(*args, "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.output)
    assert doc["equivalent"] is False and doc["differences"]["more-permissive"] == 1
    assert len(doc["counterexamples"]) == 1


def test_cli_only_and_limit():
    args = [
        "verify",
        str(V / "deny-all.fw"),
        str(V / "allow-all.yaml"),
        "-i",
        str(V / "inventory.yaml"),
        "--format",
        "json",
    ]
    doc = json.loads(run(*args, "--limit", "3").output)
    assert len(doc["counterexamples"]) == 3 and doc["differences"]["total"] > 3
    args = ["verify", str(V / "allow-all.fw"), str(V / "deny-all.yaml"), "-i", str(V / "inventory.yaml")]
    r = run(*args, "--only", "more-permissive")
    assert r.exit_code == 0 and "no more-permissive flow" in r.output, r.output
    r = run(*args, "--only", "less-permissive", "--format", "json")
    doc = json.loads(r.output)
    assert r.exit_code == 1 and doc["differs"] and doc["equivalent"] is None
    assert {c["direction"] for c in doc["counterexamples"]} == {"less-permissive"}


def test_cli_bad_input(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: shop}\n"
        "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/33}\n"
    )
    r = run("verify", str(V / "deny-all.fw"), str(bad), "-i", str(V / "inventory.yaml"))
    assert r.exit_code == 2 and f"{bad}:8:" in r.output and "not a valid CIDR" in r.output
    rules = tmp_path / "bad.fw"
    rules.write_text("allow any -> any tcp/99999\n")
    r = run("verify", str(rules), str(V / "deny-all.yaml"), "-i", str(V / "inventory.yaml"))
    assert r.exit_code == 2 and f"{rules}:1:" in r.output and "Traceback" not in r.output


@settings(max_examples=30, deadline=None)
@given(scenario(), st.data())
def test_fast_path_matches_evaluators(sc, data):
    """The per-pair shortcut decides every flow class exactly as the evaluators do."""
    rs, inv = load(sc)
    pols = convert(rs, inv).policies
    muts = mutants(pols)
    if muts:
        pols = data.draw(st.sampled_from(muts))[1]
    fast, vf = verify(rs, inv, pols, limit=10**6, approximations=False)
    slow, vs = verify(rs, inv, pols, limit=10**6, approximations=False, fast=False)
    assert (fast.checked, fast.differences, fast.by_direction) == (slow.checked, slow.differences, slow.by_direction)
    assert [difference_dict(vf, d) for d in fast.examples] == [difference_dict(vs, d) for d in slow.examples]


POD_CIDR_INV = """
cluster: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}
namespaces: {shop: {}}
workloads:
  frontend: {namespace: shop, labels: {app: frontend}, addresses: [10.0.1.0/24]}
"""


def _ingress_from(*blocks):
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "fe", "namespace": "shop"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "frontend"}},
                "ingress": [{"from": [{"ipBlock": b} for b in blocks], "ports": [{"port": 443}]}],
            },
        }
    ]


def test_pod_cidrs_ipblocks_that_match_pod_ips():
    """With pod CIDRs declared, an ipBlock that holds pod IPs lets pods in on CNIs that match pod IPs."""
    rs = parse("scope ingress\nprotect 10.0.1.0/24\nallow 0.0.0.0/1 except 10.0.0.0/8 -> 10.0.1.0/24 tcp/443\n", "r.fw")
    inv = parse_inventory(POD_CIDR_INV)
    good = _ingress_from({"cidr": "0.0.0.0/1", "except": ["10.0.0.0/8"]})
    assert verify(rs, inv, good, approximations=False)[0].equivalent
    # the extra block holds only pod IPs: no external endpoint tells the two apart
    bad = _ingress_from({"cidr": "0.0.0.0/1", "except": ["10.0.0.0/8"]}, {"cidr": "10.244.0.0/16"})
    rep, v = verify(rs, inv, bad, limit=50, approximations=False)
    assert rep.by_direction == {MORE: rep.differences, LESS: 0} and rep.differences > 0
    for x in rep.examples:
        d = difference_dict(v, x)
        assert d["src"]["kind"] == "pod" and d["src"]["ip"].startswith("10.244.")
        assert (d["dst"]["labels"], d["port"]) == ({"app": "frontend"}, 443)
        src = Pod.of(d["src"]["namespace"], d["src"]["labels"], ip=d["src"]["ip"])
        dst = Pod.of("shop", {"app": "frontend"})
        extra = {d["src"]["namespace"]: d["src"].get("namespace_labels", {})}
        assert NetpolEvaluator(bad, ns_labels(inv, extra), pod_ips_match_ipblocks=True).allows(src, dst, 6, 443)
        assert not LegacyFlows(rs, inv).allowed(src, dst, 6, 443)
    # cluster addresses are not external endpoints
    assert all(not c.address.startswith(("10.244.", "10.96.")) for c in v.part.ips)


def test_cli_frontend_options(tmp_path):
    """--host reaches the frontend (iptables host chains), as in convert."""
    d = ROOT / "samples" / "iptables"
    out = tmp_path / "pols.yaml"
    r = run("convert", str(d / "web01.rules"), "-i", str(d / "inventory.yaml"), "--host", "web", "-q", "-o", str(out))
    assert r.exit_code == 0, r.output
    r = run(
        "verify",
        str(d / "web01.rules"),
        str(out),
        "-i",
        str(d / "inventory.yaml"),
        "--host",
        "web",
        "--only",
        "more-permissive",
    )
    assert r.exit_code == 0 and "no more-permissive flow" in r.output, r.output
    r = run("verify", str(d / "web01.rules"), str(out), "-i", str(d / "inventory.yaml"))
    assert r.exit_code == 2 and "--host" in r.output


def _same_report(rs, inv, pols, limit):
    out = []
    for method in ("index", "pairs"):
        rep, v = verify(rs, inv, pols, limit=limit, approximations=False, method=method)
        out.append(
            (
                (rep.checked, rep.differences, rep.by_direction),
                [(difference_dict(v, d), str(d.src_class), str(d.dst_class)) for d in rep.examples],
            )
        )
    assert out[0] == out[1]
    return out[0]


@settings(max_examples=40, deadline=None)
@given(strategies.scenarios(), st.data())
def test_index_walk_matches_pair_walk(sc, data):
    """The indexed walk counts the same flow classes and reports the same counterexamples, in order."""
    rs, inv = strategies.load(sc)
    pols = convert(rs, inv).policies
    muts = mutants(pols)
    if muts and data.draw(st.booleans()):
        pols = data.draw(st.sampled_from(muts))[1]
    _same_report(rs, inv, pols, data.draw(st.sampled_from([0, 1, 3, 10**6])))


@pytest.mark.parametrize(
    "table,policies",
    [
        ("deny-all", "allow-all"),
        ("three-tier", "isolation"),
        ("three-tier", "three-tier-bad"),
        ("isolation", "three-tier"),
    ],
)
def test_index_walk_on_mismatches(table, policies):
    rs, inv, pols = sample(table, policies)
    for limit in (2, 50):
        counts, examples = _same_report(rs, inv, pols, limit)
        assert counts[1] > 0 and 0 < len(examples) <= limit


def test_unknown_method():
    rs, inv, pols = sample("deny-all")
    with pytest.raises(ValueError, match="method"):
        verify(rs, inv, pols, method="guess")
