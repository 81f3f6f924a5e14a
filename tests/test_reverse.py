"""fw2np reverse: NetworkPolicies as firewall tables, and as rules that compile back."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.compiler.synth import convert
from translator.errors import Loc
from translator.evaluate.endpoints import Ip, Pod
from translator.evaluate.firewall import FirewallEvaluator
from translator.evaluate.netpol import NetpolEvaluator
from translator.frontends.rules import parse
from translator.model.inventory import load_inventory, parse_inventory
from translator.model.policies import load_policies, load_policy_text
from translator.model.ruleset import AddrExpr, Net, Rule, Ruleset, Svc
from translator.reverse.formats import FORMATS, render_table, to_csv
from translator.reverse.rules import reverse_rules
from translator.reverse.table import build_table

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "samples" / "policies"
INV = load_inventory(str(GOLD / "inventory.yaml"))


def rows(name: str, inv=None) -> list[tuple]:
    table = build_table(load_policies(str(GOLD / name)), inv)
    return [(r.target, r.direction, r.action, r.source, r.destination, r.service, r.policy) for r in table.rows]


def pick(rs, target, direction):
    return [r[2:] for r in rs if r[0] == target and r[1] == direction]


ALL_STAGING = "all pods in namespace staging"


# --- golden examples --------------------------------------------------------------


def test_deny_all_ingress():
    rs = rows("deny-all-ingress.yaml")
    assert pick(rs, ALL_STAGING, "ingress") == [
        ("deny", "any", ALL_STAGING, "any service", "cleanup (isolated by default-deny-ingress)")
    ]
    assert pick(rs, ALL_STAGING, "egress") == [
        ("allow", ALL_STAGING, "any", "any service", "(not isolated for egress)")
    ]


def test_allow_all_ingress():
    rs = rows("allow-all-ingress.yaml")
    ing = pick(rs, ALL_STAGING, "ingress")
    assert ing[0] == ("allow", "any", ALL_STAGING, "any service", "allow-all-ingress")
    assert ing[1][0] == "deny" and len(ing) == 2


def test_default_deny_egress():
    rs = rows("default-deny-egress.yaml")
    assert pick(rs, ALL_STAGING, "egress") == [
        ("deny", ALL_STAGING, "any", "any service", "cleanup (isolated by default-deny-egress)")
    ]
    assert pick(rs, ALL_STAGING, "ingress")[0][4] == "(not isolated for ingress)"


def test_namespace_isolation_infers_ingress():
    rs = rows("namespace-isolation.yaml")
    ing = pick(rs, ALL_STAGING, "ingress")
    assert ing[0] == ("allow", ALL_STAGING, ALL_STAGING, "any service", "same-namespace-only")
    assert ing[1][0] == "deny"
    assert pick(rs, ALL_STAGING, "egress")[0][0] == "allow"  # no egress field: not isolated


def test_three_tier_without_inventory():
    rs = rows("three-tier.yaml")
    db = "pods app=db in namespace staging"
    assert pick(rs, db, "ingress")[0] == (
        "allow",
        "pods app=backend in namespace staging or all pods in namespaces role=admin",
        db,
        "tcp/5432",
        "db-ingress",
    )
    fe = "pods app=frontend in namespace staging"
    assert pick(rs, fe, "ingress")[0] == ("allow", "any", fe, "tcp/80, tcp/443", "frontend-ingress")
    be = "pods app=backend in namespace staging"
    assert pick(rs, be, "ingress")[0][3] == "tcp/80"  # protocol defaults to TCP


def test_three_tier_with_inventory_names_workloads():
    rs = rows("three-tier.yaml", INV)
    db = "workload db in namespace staging"
    assert pick(rs, db, "ingress")[0][1] == (
        "workload backend in namespace staging or all pods in namespaces role=admin"
    )
    assert pick(rs, db, "egress") == [("allow", db, "any", "any service", "(not isolated for egress)")]
    table = build_table(load_policies(str(GOLD / "three-tier.yaml")), INV)
    assert any("other pods in namespace staging" in n and "workload admin-tools" in n for n in table.notes)


def test_dns_egress():
    rs = rows("dns-egress.yaml")
    eg = pick(rs, ALL_STAGING, "egress")
    assert eg[0] == (
        "allow",
        ALL_STAGING,
        "pods k8s-app=kube-dns in namespace kube-system",
        "udp/53, tcp/53",
        "dns-egress",
    )
    assert eg[1][0] == "deny"
    rs = rows("dns-egress.yaml", INV)
    fe = "workload frontend in namespace staging"
    assert pick(rs, fe, "egress")[0][2] == "workload kube-dns in namespace kube-system"


def test_egress_except_pod_cidr():
    rs = rows("egress-except-pod-cidr.yaml")
    be = "pods app=backend in namespace staging"
    assert pick(rs, be, "egress")[0] == (
        "allow",
        be,
        "0.0.0.0/0 except 10.244.0.0/16",
        "any service",
        "backend-egress-internet",
    )
    # policyTypes omitted with an egress field: Ingress and Egress
    assert pick(rs, be, "ingress") == [
        ("deny", "any", be, "any service", "cleanup (isolated by backend-egress-internet)")
    ]


def test_selector_words():
    rs = rows("selectors.yaml")
    t = "pods tier in (api, web), without label canary in namespace staging"
    ing = pick(rs, t, "ingress")
    assert ing[0][1] == "pods with label app in namespaces role not in (guest)"
    assert ing[0][3] == "tcp/8000-8100, tcp/http (named port), sctp/3868"
    assert pick(rs, t, "egress")[0][:4] == ("allow", t, "any", "any service")


def test_union_of_overlapping_targets():
    text = (GOLD / "deny-all-ingress.yaml").read_text() + "---\n" + (GOLD / "three-tier.yaml").read_text()
    objs = load_policy_text(text, "x.yaml")
    plain = build_table(objs)
    assert any("pods app=db in namespace staging" in n and ALL_STAGING in n for n in plain.notes)
    exact = build_table(objs, INV)
    db = [r for r in exact.rows if r.target == "workload db in namespace staging" and r.direction == "ingress"]
    assert [r.policy for r in db[:-1]] == ["db-ingress"]
    assert "default-deny-ingress" in db[-1].policy and "db-ingress" in db[-1].policy
    other = [r for r in exact.rows if r.target == "other pods in namespace staging" and r.direction == "ingress"]
    assert [r.action for r in other] == ["deny"]


# --- formats -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in GOLD.glob("*.yaml") if p.name != "inventory.yaml"))
@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "rules"])
def test_every_format_renders(name, fmt):
    table = build_table(load_policies(str(GOLD / name)), INV)
    out = render_table(table, fmt)
    for r in table.rows:
        if fmt == "markdown":
            assert r.target.replace("_", "\\_") in out
        elif fmt == "html":
            assert r.policy.replace("(", "(") in out.replace("&#39;", "'")
        else:
            assert r.target in out


@pytest.mark.parametrize("name", sorted(p.name for p in GOLD.glob("*.yaml") if p.name != "inventory.yaml"))
def test_csv_parses_back(name):
    table = build_table(load_policies(str(GOLD / name)))
    got = list(csv.reader(io.StringIO(to_csv(table))))
    assert got[0] == ["target", "direction", "action", "source", "destination", "service", "policy"]
    assert got[1:] == [r.cells() for r in table.rows]


HOSTILE = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: evil
  namespace: staging
  annotations: {note: "<script>alert(1)</script>"}
spec:
  podSelector:
    matchLabels: {app: "<script>x</script>"}
  ingress:
  - from:
    - podSelector:
        matchLabels: {"a|b": "<b>|</b>"}
"""


def test_html_and_markdown_escape_hostile_strings():
    # the loader rejects such label values; the renderers are safe without it (unchecked manifest)
    table = build_table([yaml.safe_load(HOSTILE)])
    html = render_table(table, "html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    md = render_table(table, "markdown")
    assert "<script>" not in md
    for line in md.splitlines():
        if line.startswith("| 1 |"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 7  # no cell broken by a pipe
    text = render_table(table, "table")
    assert "<script>x</script>" in text  # plain text shows it as it is


def test_table_aligns_columns():
    out = render_table(build_table(load_policies(str(GOLD / "three-tier.yaml"))), "table")
    heads = [ln for ln in out.splitlines() if ln.strip().startswith("#") and "ACTION" in ln]
    assert len({ln.index("SOURCE") for ln in heads}) == 1


# --- CLI ---------------------------------------------------------------------------------


def test_cli_formats_and_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["reverse", str(GOLD / "dns-egress.yaml"), "--format", "csv"])
    assert res.exit_code == 0 and "udp/53, tcp/53" in res.output
    res = runner.invoke(cli, ["reverse", str(GOLD / "dns-egress.yaml"), "--format", "rules"])
    assert res.exit_code == 2 and "needs --inventory" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec:\n  ingress: 3\n")
    res = runner.invoke(cli, ["reverse", str(bad)])
    assert res.exit_code == 2 and "bad.yaml:5" in res.output and "Traceback" not in res.output
    out = tmp_path / "t.fw"
    res = runner.invoke(
        cli,
        [
            "reverse",
            str(GOLD / "three-tier.yaml"),
            "-i",
            str(GOLD / "inventory.yaml"),
            "--format",
            "rules",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["convert", str(out), "-i", str(GOLD / "inventory.yaml"), "-q"])
    assert res.exit_code == 0, res.output
    assert "NetworkPolicy" in res.output


def test_staging_sample_round_trip_with_objects(tmp_path):
    inv_path = ROOT / "samples" / "staging" / "inventory.yaml"
    rules_path = ROOT / "samples" / "staging" / "rules.fw"
    inv = load_inventory(str(inv_path))
    rs = parse(rules_path.read_text(), str(rules_path))
    pols = convert(rs, inv).policies
    text, _ = reverse_rules(pols, inv, str(rules_path))
    back = parse(text, "t.fw")
    ips = EXTERNAL + ["198.51.100.7", "203.0.113.1"]
    _assert_same(
        fw(FirewallEvaluator(rs, inv)), fw(FirewallEvaluator(back, inv)), _endpoints(inv, ips), exact=True, inv=inv
    )


# --- round trips with the brute-force evaluators -------------------------------------------

INV_TEXT = """
namespaces:
  staging: {labels: {env: staging}}
  admin: {labels: {role: admin}}
workloads:
  web: {namespace: staging, labels: {app: web}, addresses: [10.1.1.0/24]}
  api: {namespace: staging, labels: {app: api}, addresses: [10.1.2.0-10.1.2.9]}
  tools: {namespace: admin, labels: {app: tools}, addresses: [10.2.0.0/16, "2001:db8:2::/48"]}
  batch: {namespace: staging, labels: {app: batch}}
"""
PINV = parse_inventory(INV_TEXT, "inv.yaml")
# with pod CIDRs, pods without legacy addresses have addresses apart from every external one
CINV = parse_inventory('cluster:\n  podCIDRs: [100.64.0.0/16, "fd00:10::/64"]\n' + INV_TEXT, "inv.yaml")
NS_LABELS = {ns: PINV.namespace_labels(ns) for ns in PINV.namespaces}
EXTERNAL = ["8.8.8.8", "10.1.3.1", "10.1.2.10", "203.0.113.5", "203.0.113.200", "2001:db8:1::1", "10.9.0.1"]
SERVICES = [(6, 80), (6, 443), (17, 53), (6, 8050), (6, 22), (1, 8), (132, 80)]


def _endpoints(inv, ips):
    eps = [Pod.of(w.namespace, dict(w.labels)) for w in inv.workloads.values()]
    eps += [Pod.of(ns, {"app": "zzz"}) for ns in inv.namespaces]
    eps += [Pod.of("elsewhere", {"app": "web"})]
    return eps + [Ip(a) for a in ips]


def _in_reach(s, d, inv):
    return any(isinstance(e, Pod) and e.namespace in inv.namespaces for e in (s, d))


def _assert_same(want, got, eps, exact: bool, inv=PINV):
    """GOT never allows more than WANT; with EXACT, they decide alike (flows in reach)."""
    for s in eps:
        for d in eps:
            if not _in_reach(s, d, inv):
                continue
            for proto, port in SERVICES:
                a, b = want(s, d, proto, port), got(s, d, proto, port)
                assert a or not b, ("more permissive", s, d, proto, port)
                if exact:
                    assert a == b, (s, d, proto, port)


def fw(ev):
    return lambda s, d, p, v: ev.decide(s, d, p, v)[0]


LOC = Loc("<t>", 1, 1)
NETS = {
    "web": "10.1.1.0/24",
    "ext": "203.0.113.0/24",
    "ext-half": "203.0.113.128/25",
    "v6": "2001:db8::/32",
    "tools": ("10.2.0.0/16", "2001:db8:2::/48"),
    "tools-v4": "10.2.0.0/16",
    "any": None,
}


def _net(text):
    import netaddr

    n = netaddr.IPNetwork(text)
    return Net(int(n.first), int(n.last), n.version, text)


def _addr(keys):
    if "any" in keys:
        return AddrExpr.any()
    texts = [t for k in keys for t in ((NETS[k],) if isinstance(NETS[k], str) else NETS[k])]
    return AddrExpr(tuple(_net(t) for t in texts))


@st.composite
def rulesets(draw):
    rules = []
    keys = st.lists(st.sampled_from(sorted(NETS)), min_size=1, max_size=2, unique=True)
    svcs = st.sampled_from(
        [(Svc(6, 80, 80),), (Svc(6, 443, 443), Svc(17, 53, 53)), (Svc(6, 8000, 8100),), (Svc.any(),)]
    )
    for i in range(draw(st.integers(1, 5))):
        rules.append(
            Rule(
                str(i + 1),
                draw(st.sampled_from(["allow", "deny"])),
                _addr(draw(keys)),
                _addr(draw(keys)),
                draw(svcs),
                LOC,
            )
        )
    return Ruleset("r", "<r>", default="deny", rules=rules)


@settings(max_examples=25, deadline=None)
@given(rulesets(), st.sampled_from([PINV, CINV]))
def test_reverse_of_compile_is_equivalent(rs, inv):
    result = convert(rs, inv)
    text, notes = reverse_rules(result.policies, inv)
    back = parse(text, "<reversed>")
    eps = _endpoints(inv, EXTERNAL)
    # the compiled policies pick whole pod classes: with pod CIDRs, reversing them is exact; without, a
    # pod without legacy addresses may have any address, and every rule that cannot say so is reported
    if inv is CINV:
        assert notes == []
    _assert_same(
        NetpolEvaluator(result.policies, NS_LABELS).allows,
        fw(FirewallEvaluator(back, inv)),
        eps,
        exact=not notes,
        inv=inv,
    )
    # and equal to the source ruleset wherever the compiler was exact
    vague = [f for f in result.findings if f.kind in ("inexpressible", "partial-cover", "family-split")]
    _assert_same(
        fw(FirewallEvaluator(rs, inv)), fw(FirewallEvaluator(back, inv)), eps, exact=not (vague or notes), inv=inv
    )


PEERS = [
    {"podSelector": {"matchLabels": {"app": "web"}}},
    {"podSelector": {"matchLabels": {"app": "api"}}},
    {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "admin"}},
        "podSelector": {"matchLabels": {"app": "tools"}},
    },
    {"namespaceSelector": {"matchLabels": {"role": "admin"}}},
    {"namespaceSelector": {}},
    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "staging"}}},
    {"podSelector": {}},
    {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}},
    {"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]}},
    {"ipBlock": {"cidr": "::/0"}},
    {"ipBlock": {"cidr": "10.1.3.0/24"}},
]
PORTS = [
    [{"port": 80}],
    [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 443}],
    [{"port": 8000, "endPort": 8100}],
    [{"protocol": "UDP"}],
]
TARGETS = [
    ("staging", {"matchLabels": {"app": "web"}}),
    ("staging", {"matchLabels": {"app": "api"}}),
    ("admin", {"matchLabels": {"app": "tools"}}),
    ("staging", {}),
    ("admin", {}),
]


@st.composite
def policy_sets(draw):
    pols = []
    for i in range(draw(st.integers(1, 4))):
        ns, sel = draw(st.sampled_from(TARGETS))
        spec = {"podSelector": sel}
        for key, peer_key in (("ingress", "from"), ("egress", "to")):
            if draw(st.booleans()):
                rules = []
                for _ in range(draw(st.integers(0, 2))):
                    rule = {}
                    if draw(st.booleans()):
                        rule[peer_key] = draw(st.lists(st.sampled_from(PEERS), min_size=1, max_size=2))
                    if draw(st.booleans()):
                        rule["ports"] = draw(st.sampled_from(PORTS))
                    rules.append(rule)
                spec[key] = rules
        if draw(st.booleans()) or not ({"ingress", "egress"} & set(spec)):
            spec["policyTypes"] = draw(st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
        pols.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"p{i}", "namespace": ns},
                "spec": spec,
            }
        )
    return pols


@settings(max_examples=25, deadline=None)
@given(policy_sets())
def test_compile_of_reverse_is_equivalent(pols):
    text, notes = reverse_rules(pols, PINV)
    rs = parse(text, "<reversed>")
    compiled = convert(rs, PINV).policies
    want = NetpolEvaluator(pols, NS_LABELS).allows
    got = NetpolEvaluator(compiled, NS_LABELS).allows
    _assert_same(want, got, _endpoints(PINV, EXTERNAL), exact=not notes)


def test_whole_classes_and_ip_blocks_are_exact():
    pols = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "web", "namespace": "staging"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "web"}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [PEERS[2], PEERS[8]], "ports": PORTS[0]}],
                "egress": [{"to": [PEERS[1], PEERS[7]]}, {"to": [PEERS[4]], "ports": PORTS[1]}],
            },
        }
    ]
    text, notes = reverse_rules(pols, CINV)
    # api, left unrestricted, has no IPv6 legacy address: the rules cannot allow its IPv6 flows
    assert notes and all("workload api" in n and "no IPv6 address" in n for n in notes)
    compiled = convert(parse(text), CINV).policies
    v4 = [a for a in EXTERNAL if ":" not in a]
    _assert_same(
        NetpolEvaluator(pols, NS_LABELS).allows,
        NetpolEvaluator(compiled, NS_LABELS).allows,
        _endpoints(CINV, v4),
        exact=True,
        inv=CINV,
    )
    # without pod CIDRs, the deny of web's egress to 10.0.0.0/8 may hit pods without legacy addresses
    text, notes = reverse_rules(pols, PINV)
    assert any("10.0.0.0-10.1.0.255: pods without legacy addresses may have this address" in n for n in notes)
    compiled = convert(parse(text), PINV).policies
    _assert_same(
        NetpolEvaluator(pols, NS_LABELS).allows,
        NetpolEvaluator(compiled, NS_LABELS).allows,
        _endpoints(PINV, EXTERNAL),
        exact=False,
    )


def test_lumped_pods_are_reported_and_denied():
    pols = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "web", "namespace": "staging"},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [PEERS[5]]}]},
        }
    ]
    text, notes = reverse_rules(pols, PINV)
    assert any("other pods in namespace staging -> workload web" in n for n in notes)
    assert "# fw2np: approximation:" in text
    ev = FirewallEvaluator(parse(text), PINV)
    assert not ev.decide(Pod.of("staging", {"app": "zzz"}), Pod.of("staging", {"app": "web"}), 6, 80)[0]
    assert ev.decide(Pod.of("staging", {"app": "api"}), Pod.of("staging", {"app": "web"}), 6, 80)[0]


def test_a_deny_of_an_address_pods_may_have_is_reported():
    """Without pod CIDRs a pod without legacy addresses may have any address: the reversed rule denying
    203.0.113.0/24 to it also takes its own flows out to 203.0.113.0/24, which the policies allow. The
    reversed text must say so (found by test_reverse_of_compile_is_equivalent)."""
    rs = parse("1 allow any -> 203.0.113.0/24 tcp/80\n2 allow 203.0.113.0/24 -> any tcp/80\n", "r.fw")
    result = convert(rs, PINV)
    text, notes = reverse_rules(result.policies, PINV)
    back = parse(text, "<reversed>")
    batch, ip = Pod("staging", (("app", "batch"),)), Ip("203.0.113.5")
    assert NetpolEvaluator(result.policies, NS_LABELS).allows(batch, ip, 6, 80)
    assert not FirewallEvaluator(back, PINV).decide(batch, ip, 6, 80)[0]  # the reading differs ...
    assert any("203.0.113.0/24: pods without legacy addresses may have this address" in n for n in notes)  # ... said
