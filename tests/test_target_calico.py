"""The Calico target (`--target calico`): documents valid against the published projectcalico.org/v3 CRDs,
decisions equal to the firewall's secure reading on random rulesets (decided by the evaluator written from
Calico's documentation), Calico's traps, the evaluator on hand-written documents, cuts and the table."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings

from translator import targets
from translator.compiler.findings import APPROXIMATIONS
from translator.evaluate import FirewallEvaluator, Ip, Pod
from translator.evaluate.calico import CalicoEvaluator, holds, parse_selector
from translator.evaluate.concrete import LegacyFlows
from translator.frontends import load as load_file
from translator.frontends.rules import parse
from translator.io.manifests import render
from translator.model.inventory import parse_inventory
from translator.reverse.formats import render_table
from translator.targets import calico
from translator.verify.ordered import verify_target

from .conftest import SAMPLES
from .strategies import FLOW_SERVICES, endpoints, governed, load, scenarios
from .test_soundness import odd_scenarios

TARGET = "calico"
SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas"
# the projectcalico.org/v3 CRDs (api/config/crd/ upstream), not the crd.projectcalico.org/v1 ones
CRDS = {
    "GlobalNetworkPolicy": "calico-globalnetworkpolicies.yaml",
    "NetworkPolicy": "calico-networkpolicies.yaml",
    "GlobalNetworkSet": "calico-globalnetworksets.yaml",
    "NetworkSet": "calico-networksets.yaml",
}
API = "projectcalico.org/v3"
PODS = "has(projectcalico.org/orchestrator)"


# --- schemas ------------------------------------------------------------------------------------

_schemas: dict = {}


def schema(kind: str) -> dict:
    if not SCHEMAS.is_dir():
        pytest.skip(f"the published CRD schemas are not here ({SCHEMAS} is missing)")
    if kind not in _schemas:
        crd = yaml.safe_load((SCHEMAS / CRDS[kind]).read_text())
        assert crd["spec"]["group"] == "projectcalico.org" and crd["spec"]["names"]["kind"] == kind
        served = [v for v in crd["spec"]["versions"] if v.get("served") and v["name"] == "v3"]
        assert served, f"the {kind} CRD serves projectcalico.org/v3"
        _schemas[kind] = served[0]["schema"]["openAPIV3Schema"]
    return _schemas[kind]


def _unknown(doc, sch, path="") -> list[str]:
    """Fields the schema does not declare (the API server would prune them: a silent change)."""
    out = []
    if isinstance(doc, dict) and isinstance(sch.get("properties"), dict):
        for k, v in doc.items():
            if k not in sch["properties"]:
                if path.endswith("metadata") or path.endswith("annotations") or sch.get("additionalProperties"):
                    continue
                out.append(f"{path}.{k}")
            else:
                out += _unknown(v, sch["properties"][k], f"{path}.{k}")
    elif isinstance(doc, list) and isinstance(sch.get("items"), dict):
        for i, v in enumerate(doc):
            out += _unknown(v, sch["items"], f"{path}[{i}]")
    return out


def _cel(doc: dict) -> list[str]:
    """The CRD's x-kubernetes-validations rules (CEL, which jsonschema skips) our documents could break,
    and Calico's validator rules the docs state (ports need TCP, UDP or SCTP; nets of one family)."""
    out = []
    for key in ("ingress", "egress"):
        for i, r in enumerate(doc.get("spec", {}).get(key) or []):
            at = f"spec.{key}[{i}]"
            proto = r.get("protocol")
            for k in ("icmp", "notICMP"):
                if k in r:
                    if proto not in ("ICMP", "ICMPv6", 1, 58):
                        out.append(f"{at}.{k}: ICMP fields require protocol ICMP or ICMPv6")
                    if "code" in r[k] and "type" not in r[k]:
                        out.append(f"{at}.{k}: code without type")
            for side in ("source", "destination"):
                e = r.get(side) or {}
                if ("ports" in e or "notPorts" in e) and proto not in ("TCP", "UDP", "SCTP"):
                    out.append(f"{at}.{side}: ports need protocol TCP, UDP or SCTP")
                if "global(" in e.get("selector", ""):
                    out.append(f"{at}.{side}.selector: global() only in a namespaceSelector")
                fams = {ipaddress.ip_network(c).version for k in ("nets", "notNets") for c in e.get(k) or []}
                if len(fams) > 1:
                    out.append(f"{at}.{side}: IPv4 and IPv6 CIDRs mixed")
                for k in ("selector", "notSelector"):
                    if k in e:
                        parse_selector(e[k])  # Calico's selector syntax
    return out


def assert_valid(docs: list[dict]) -> None:
    import jsonschema

    from .test_schema import DNS_SUBDOMAIN, QUALIFIED

    names = set()
    for d in docs:
        assert d["apiVersion"] == API, d["apiVersion"]
        sch = schema(d["kind"])
        errors = sorted(jsonschema.Draft7Validator(sch).iter_errors(d), key=str)
        assert not errors, f"{d['kind']} {d['metadata']['name']}: {errors[0].message} at {list(errors[0].path)}"
        assert not _unknown(d, sch), _unknown(d, sch)
        assert not _cel(d), _cel(d)
        meta = d["metadata"]
        assert DNS_SUBDOMAIN.match(meta["name"]) and len(meta["name"]) <= 253, meta["name"]
        for k, v in meta["labels"].items():
            assert QUALIFIED.match(k.split("/")[-1]) and (v == "" or (QUALIFIED.match(v) and len(v) <= 63)), (k, v)
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "fw2np" and "fw2np.io/ruleset" in meta["labels"]
        key = (d["kind"], meta.get("namespace"), meta["name"])
        assert key not in names, f"duplicate {key}"
        names.add(key)
        for k in ("ingress", "egress"):
            for r in d["spec"].get(k) or []:
                assert r["metadata"]["annotations"]["fw2np.io/rules"], r  # the source rule ids on every rule
    assert list(yaml.safe_load_all(render(docs, "yaml"))) == (
        docs or [{"apiVersion": "v1", "kind": "List", "items": []}]
    )


SAMPLE_INPUTS = [
    ("staging", "rules.fw", {}),
    ("default-allow", "rules.fw", {}),
    ("deny-before-allow", "rules.fw", {}),
    ("ipv6", "rules.fw", {}),
    ("iptables", "web01.rules", {"host": "web"}),
    ("cisco-asa", "dmz-asa.cfg", {}),
    ("cisco-ios", "branch-rtr.cfg", {}),
    ("azure-nsg", "web-nsg.json", {}),
    ("gcp", "firewall-rules.json", {}),
    ("aws-nacl", "network-acls.json", {}),
    ("csv", "rules.csv", {}),
    ("verify", "three-tier.fw", {}),
]


def sample_rulesets(folder: str, name: str, opts: dict):
    inv_path = SAMPLES / folder / "inventory.yaml"
    inv = parse_inventory(inv_path.read_text(), str(inv_path))
    extra = {"host_addresses": list(inv.workloads[opts["host"]].addresses)} if "host" in opts else {}
    return load_file(str(SAMPLES / folder / name), **extra), inv


@pytest.mark.parametrize("folder,name,opts", SAMPLE_INPUTS, ids=[s[0] for s in SAMPLE_INPUTS])
def test_every_sample_converts_to_valid_documents_that_verify(folder, name, opts):
    rulesets, inv = sample_rulesets(folder, name, opts)
    total = 0
    for rs in rulesets:
        res = targets.convert(rs, inv, TARGET)
        assert_valid(res.policies)
        total += len(res.policies)
        rep, _ = verify_target(rs, inv, res.policies, TARGET)
        assert rep.verdict in ("equivalent", "approximations"), (rs.name, rep.verdict, rep.examples[:1])
    assert total > 0


@settings(max_examples=30, deadline=None)
@given(scenarios())
def test_random_rulesets_convert_to_valid_documents(scenario):
    rs, inv = load(scenario)
    assert_valid(targets.convert(rs, inv, TARGET).policies)


# --- soundness and exactness on random rulesets ----------------------------------------------------


def check(rs, inv, docs, findings, pod_ips: bool) -> int:
    """Every sampled flow in reach: Calico's decision equals the secure reading of the concrete legacy
    flows (LegacyFlows), but flows it denies more with an approximation reported; out of reach: allowed."""
    ev = CalicoEvaluator(docs, inv.namespaces)
    scope = FirewallEvaluator(rs, inv, "secure")
    concrete = LegacyFlows(rs, inv)
    approximated = {f.kind for f in findings} & set(APPROXIMATIONS)
    pods, ips = endpoints(inv, pod_ips)
    checked = 0
    for src in pods + ips:
        for dst in pods + ips:
            if isinstance(src, Ip) and isinstance(dst, Ip):
                continue
            if not scope.in_reach(src, dst):
                if governed(src, inv) or governed(dst, inv):
                    assert all(ev.allows(src, dst, p, q) for p, q in FLOW_SERVICES), (src, dst)
                continue
            for proto, port in FLOW_SERVICES:
                got = ev.allows(src, dst, proto, port)
                want = concrete.allowed(src, dst, proto, port)
                checked += 1
                if got and not want:
                    raise AssertionError(
                        f"{src} -> {dst} {proto}/{port}: Calico allows, the secure reading denies: "
                        f"{concrete.witness(src, dst, proto, port)}; {ev.explain(src, dst, proto, port)}"
                    )
                if want and not got:
                    assert approximated, (
                        f"{src} -> {dst} {proto}/{port}: Calico denies what the secure reading allows, nothing "
                        f"reported: {ev.explain(src, dst, proto, port)}"
                    )
    return checked


@settings(max_examples=30, deadline=None)
@given(odd_scenarios())
def test_calico_decides_as_the_secure_reading_and_never_allows_more(case):
    _, rs, inv = case
    res = targets.convert(rs, inv, TARGET)
    check(rs, inv, res.policies, res.findings, pod_ips=False)
    if inv.pod_cidrs:
        check(rs, inv, res.policies, res.findings, pod_ips=True)


@settings(max_examples=15, deadline=None)
@given(scenarios())
def test_verify_finds_the_conversion_equivalent(scenario):
    rs, inv = load(scenario)
    res = targets.convert(rs, inv, TARGET)
    rep, _ = verify_target(rs, inv, res.policies, TARGET)
    assert rep.verdict in ("equivalent", "approximations"), rep.examples[:1]
    if not {f.kind for f in res.findings} & set(APPROXIMATIONS):
        assert rep.verdict == "equivalent"


# --- generator traps -----------------------------------------------------------------------------

INV = """namespaces:
  shop: {labels: {team: a}}
  ops: {labels: {team: b}}
workloads:
  web:
    namespace: shop
    labels: {app: web}
    addresses: [10.0.0.0/26]
  db:
    namespace: shop
    labels: {app: db}
    addresses: [10.0.1.0/24]
  tools:
    namespace: ops
    labels: {app: tools}
    addresses: [10.0.2.0/24]
"""
WEB, DB, TOOLS = Pod.of("shop", {"app": "web"}), Pod.of("shop", {"app": "db"}), Pod.of("ops", {"app": "tools"})
OTHER, OUTSIDE = Pod.of("shop", {"app": "x"}), Pod.of("elsewhere", {"app": "web"})


def convert(rules: str, inv: str = INV):
    rs, inv_ = parse(rules, "t.fw"), parse_inventory(inv, "i.yaml")
    res = targets.convert(rs, inv_, TARGET)
    assert_valid(res.policies)
    return rs, inv_, res


def calico_rules(docs, direction="ingress"):
    return [r for d in docs if d["kind"] == "GlobalNetworkPolicy" for r in d["spec"].get(direction) or []]


def test_icmp_types_are_exact_now():
    rs, inv, res = convert("default deny\n1 allow any -> 10.0.0.0/26 icmp/8\n2 allow 10.0.2.0/24 -> any icmp\n")
    ev = CalicoEvaluator(res.policies, inv.namespaces)
    assert ev.allows(Ip("192.0.2.1"), WEB, 1, 8) and not ev.allows(Ip("192.0.2.1"), WEB, 1, 0)
    assert ev.allows(TOOLS, Ip("192.0.2.1"), 1, 3) and not ev.allows(TOOLS, Ip("192.0.2.1"), 58, 128)
    assert not [f for f in res.findings if f.kind == "inexpressible"]
    icmp = [r for r in calico_rules(res.policies) if r.get("protocol") == "ICMP"]
    assert icmp and icmp[0]["icmp"] == {"type": 8}
    check(rs, inv, res.policies, res.findings, False)


def test_net_rules_never_match_pods_without_pod_cidrs():
    """Calico matches nets against pod IPs: without pod CIDRs a pod may have any IP, so every rule that
    names nets leaves pods out (notSelector of the label every workload endpoint has)."""
    _, inv, res = convert("default deny\n1 allow 0.0.0.0/1 -> 10.0.0.0/26 tcp/80\n2 deny any -> 10.0.1.0/24 any\n")
    nets = [
        r
        for k in ("ingress", "egress")
        for r in calico_rules(res.policies, k)
        for e in r.values()
        if isinstance(e, dict) and "nets" in e
    ]
    assert nets
    for r in nets:
        for side in ("source", "destination"):
            if "nets" in (r.get(side) or {}):
                assert r[side]["notSelector"] == PODS, r
    ev = CalicoEvaluator(res.policies, inv.namespaces)
    # a pod whose IP falls in 0.0.0.0/1 is still not allowed by the net rule
    assert not ev.allows(Pod.of("shop", {"app": "x"}, ip="10.9.9.9"), WEB, 6, 80)
    assert ev.allows(Ip("10.9.9.9"), WEB, 6, 80)


def test_with_pod_cidrs_nets_leave_them_out_and_pods_with_ips_are_checked():
    inv = "cluster:\n  podCIDRs: [10.244.0.0/16]\n" + INV
    rs, inv_, res = convert("default deny\n1 allow 10.244.0.0/17, 192.0.2.0/24 -> 10.0.1.0/24 tcp/5432\n", inv)
    mine = [r for r in calico_rules(res.policies) if r["metadata"]["annotations"]["fw2np.io/rules"] == "1"]
    nets = [c for r in mine for c in (r.get("source") or {}).get("nets", [])]
    assert nets == ["192.0.2.0/24"]  # the pod CIDR is no external address
    assert "partial-cover" in {f.kind for f in res.findings}  # other pods may be anywhere in 10.244.0.0/16
    ev = CalicoEvaluator(res.policies, inv_.namespaces)
    assert not ev.allows(Pod.of("shop", {"app": "x"}, ip="10.244.0.7"), DB, 6, 5432)
    assert ev.allows(Ip("192.0.2.1"), DB, 6, 5432) and not ev.allows(WEB, DB, 6, 5432)
    check(rs, inv_, res.policies, res.findings, True)


def test_pods_are_named_with_their_namespace_and_outside_pods_are_workload_endpoints_only():
    _, inv, res = convert(
        "default deny\n1 allow 10.0.0.0/26 -> 10.0.1.0/24 tcp/5432\n2 allow 0.0.0.0/0 -> 10.0.2.0/24 tcp/22\n"
    )
    sels = [
        e.get("selector", "")
        for r in calico_rules(res.policies)
        for e in (r.get("source") or {}, r.get("destination") or {})
    ]
    assert "projectcalico.org/namespace == 'shop' && app == 'web'" in sels
    ev = CalicoEvaluator(res.policies, inv.namespaces)
    assert ev.allows(WEB, DB, 6, 5432)
    assert not ev.allows(OUTSIDE, DB, 6, 5432)  # a pod of another namespace with the same labels
    assert not ev.allows(OTHER, DB, 6, 5432)


def test_a_deny_stays_a_deny_in_order():
    rs, inv, res = convert("default allow\n1 deny 192.0.2.0/24 -> 10.0.0.0/26 tcp\n2 allow any -> 10.0.0.0/26 tcp/80\n")
    actions = [(r["action"], r["metadata"]["annotations"]["fw2np.io/rules"]) for r in calico_rules(res.policies)]
    assert ("Deny", "1") in actions and actions.index(("Deny", "1")) < actions.index(("Allow", "2"))
    assert actions[-1] == ("Allow", "(default)")
    ev = CalicoEvaluator(res.policies, inv.namespaces)
    assert not ev.allows(Ip("192.0.2.9"), WEB, 6, 80) and ev.allows(Ip("198.51.100.1"), WEB, 6, 80)
    check(rs, inv, res.policies, res.findings, False)


def test_ports_ranges_and_complements():
    rs, inv, res = convert(
        "default deny\n1 allow any -> 10.0.0.0/26 tcp/8000-8100, tcp/443\n2 allow any -> 10.0.1.0/24 tcp/2-65535\n"
    )
    by_id = {r["metadata"]["annotations"]["fw2np.io/rules"]: r for r in calico_rules(res.policies)}
    assert by_id["1"]["destination"]["ports"] == [443, "8000:8100"]
    assert by_id["2"]["destination"]["notPorts"] == [1]
    check(rs, inv, res.policies, res.findings, False)


def test_icmp_type_255_and_protocol_0_are_reported():
    rs, inv = (
        parse(
            "default deny\n1 allow any -> 10.0.0.0/26 icmp/255, proto/0, tcp/80\n2 deny any -> 10.0.1.0/24 proto/0\n",
            "t.fw",
        ),
        parse_inventory(INV, "i.yaml"),
    )
    res = targets.convert(rs, inv, TARGET)
    assert_valid(res.policies)
    kinds = [(f.kind, f.rule.id) for f in res.findings if f.kind == "inexpressible"]
    assert ("inexpressible", "1") in kinds and ("inexpressible", "2") in kinds
    assert all(f.example for f in res.findings if f.kind == "inexpressible")
    ev = CalicoEvaluator(res.policies, inv.namespaces)
    assert ev.allows(Ip("192.0.2.1"), WEB, 6, 80) and not ev.allows(Ip("192.0.2.1"), WEB, 1, 255)
    assert not ev.allows(Ip("192.0.2.1"), DB, 0, 0)


def test_long_selectors_and_long_rule_lists_are_split():
    wl = "".join(
        f"  w{i:03d}-with-a-long-name:\n    namespace: ns{i % 3}\n    labels: {{app: workload-number-{i:03d}}}\n"
        f"    addresses: [10.1.{i}.0/24]\n"
        for i in range(120)
    )
    inv = "namespaces:\n  ns0: {}\n  ns1: {}\n  ns2: {}\nworkloads:\n" + wl
    rules = "default deny\n" + "".join(
        f"{k} allow 192.0.2.{k % 250}/32 -> 10.1.0.0/17 tcp/{k}\n" for k in range(1, 1100)
    )
    rs, inv_, res = convert(rules, inv)
    pols = [d for d in res.policies if d["kind"] == "GlobalNetworkPolicy" and d["spec"]["types"] == ["Ingress"]]
    assert len(pols) >= 2 and [p["spec"]["order"] for p in pols] == sorted({p["spec"]["order"] for p in pols})
    sels = [
        r["destination"]["selector"]
        for p in pols
        for r in p["spec"]["ingress"]
        if "selector" in (r.get("destination") or {})
    ]
    assert max(map(len, sels)) <= 1024 and len({s for s in sels}) >= 2
    ev = CalicoEvaluator(res.policies, inv_.namespaces)
    assert ev.allows(Ip("192.0.2.7"), Pod.of("ns1", {"app": "workload-number-001"}), 6, 1007)
    assert not ev.allows(Ip("192.0.2.7"), Pod.of("ns1", {"app": "workload-number-001"}), 6, 1008)


def test_a_selector_that_cannot_be_split_is_left_out_of_an_allow_and_widens_a_deny():
    """The other pods of a namespace of 36 long-named workloads: `app not in {...}` is longer than 1,024
    characters and cannot be split (it is one conjunction)."""
    wl = "".join(
        f"  w{i:03d}:\n    namespace: big\n    labels: {{app: a-rather-long-workload-label-{i:03d}}}\n"
        f"    addresses: [10.2.{i}.0/24]\n"
        for i in range(36)
    )
    base = "namespaces:\n  big: {}\n  small: {}\nworkloads:\n" + wl
    other, w = Pod.of("big", {"app": "zzz"}), Pod.of("big", {"app": "a-rather-long-workload-label-007"})
    # an allow of the pod CIDR: the other pods of big are left out
    inv = "cluster:\n  podCIDRs: [100.64.0.0/16]\n" + base
    rules = "default deny\n1 allow 192.0.2.0/24 -> 100.64.0.0/16 tcp/80\n"
    rs, inv_, res = convert(rules, inv)
    assert {f.rule.id for f in res.findings if f.kind == "inexpressible"} == {"1"}
    ev = CalicoEvaluator(res.policies, inv_.namespaces)
    assert not ev.allows(Ip("192.0.2.1"), other, 6, 80) and ev.allows(Ip("192.0.2.1"), Pod.of("small", {}), 6, 80)
    check(rs, inv_, res.policies, res.findings, True)
    # a deny of every address but the workloads': widened to the whole namespace
    rules = "default allow\n1 deny 198.51.100.0/24 -> any except 10.2.0.0/16 tcp/81\n"
    rs, inv_, res = convert(rules, base)
    assert {f.rule.id for f in res.findings if f.kind == "inexpressible"} == {"1"}
    ev = CalicoEvaluator(res.policies, inv_.namespaces)
    assert not ev.allows(Ip("198.51.100.1"), other, 6, 81) and not ev.allows(Ip("198.51.100.1"), w, 6, 81)
    assert not ev.allows(Ip("198.51.100.1"), Pod.of("small", {}), 6, 81) and ev.allows(Ip("198.51.100.1"), w, 6, 82)
    check(rs, inv_, res.policies, res.findings, False)


def test_a_long_address_list_becomes_a_global_network_set():
    nets = ", ".join(f"198.51.{i}.{j}" for i in range(2) for j in range(0, 256, 2))
    rules = (
        f"default deny\naddress many {nets}\n1 allow many -> 10.0.0.0/26 tcp/80\n2 allow many -> 10.0.1.0/24 tcp/81\n"
    )
    rs, inv, res = convert(rules)
    sets = [d for d in res.policies if d["kind"] == "GlobalNetworkSet"]
    assert len(sets) == 1 and len(sets[0]["spec"]["nets"]) == 256
    label = sets[0]["metadata"]["labels"]["fw2np.io/set"]
    assert (
        sum(
            1
            for r in calico_rules(res.policies)
            if (r.get("source") or {}).get("selector") == f"fw2np.io/set == '{label}'"
        )
        == 2
    )
    ev = CalicoEvaluator(res.policies, inv.namespaces)
    assert ev.allows(Ip("198.51.1.4"), WEB, 6, 80) and not ev.allows(Ip("198.51.1.5"), WEB, 6, 80)
    check(rs, inv, res.policies, res.findings, False)


# --- the evaluator on hand-written documents (checked against the documentation) -------------------


def gnp(name, spec, kind="GlobalNetworkPolicy", namespace=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": API, "kind": kind, "metadata": meta, "spec": spec}


NS = {"shop": {"team": "a"}, "ops": {"team": "b"}}


def test_selector_syntax_and_precedence():
    labels = {"app": "web", "env": "prod"}
    assert holds(parse_selector("app == 'web' && env in {'a','prod'}"), labels)
    assert holds(parse_selector('! has(x) || x starts with "p" && y == "z"'), labels)  # (!has(x)) || (...)
    assert not holds(parse_selector("!(app == 'web') || env != 'prod'"), labels)
    assert holds(parse_selector("env not in {'dev'} && app contains 'e' && app ends with 'b'"), labels)
    assert (
        holds(parse_selector(""), {}) and holds(parse_selector("all()"), {}) and not holds(parse_selector("!all()"), {})
    )
    assert holds(parse_selector("k != 'v'"), {}) and not holds(parse_selector("k in {'v'}"), {})
    for bad in ("app = 'web'", "app == web", "has(app", "app in {'a' 'b'}", "&& x == 'y'"):
        with pytest.raises(ValueError):
            parse_selector(bad)


def test_policies_in_order_first_allow_or_deny_decides_and_the_tier_ends_in_deny():
    docs = [
        gnp("b-allow", {"order": 20, "selector": "app == 'web'", "ingress": [{"action": "Allow"}]}),
        gnp(
            "a-deny",
            {
                "order": 10,
                "selector": "app == 'web'",
                "ingress": [
                    {"action": "Log"},
                    {"action": "Deny", "protocol": "TCP", "destination": {"ports": ["8000:8100"]}},
                ],
            },
        ),
        gnp("z-noorder", {"selector": "app == 'web'", "ingress": [{"action": "Deny"}]}),
        gnp("only-db", {"selector": "app == 'db'", "ingress": [{"action": "Allow", "protocol": "UDP"}]}),
    ]
    ev = CalicoEvaluator(docs, NS)
    src = Ip("192.0.2.1")
    assert not ev.allows(src, WEB, 6, 8050) and ev.allows(src, WEB, 6, 80)  # a-deny first, then b-allow
    assert ev.allows(src, DB, 17, 53) and not ev.allows(src, DB, 6, 80)  # selected, no rule matches: tier end
    assert ev.allows(src, TOOLS, 6, 80)  # selected by no policy: the profile allows
    ex = ev.explain(src, WEB, 6, 8050)
    assert ex["ingress"]["policy"] == "a-deny" and ex["ingress"]["rule"] == 1 and not ex["allowed"]
    # same order: by name
    docs = [
        gnp("b", {"order": 1, "ingress": [{"action": "Allow"}]}),
        gnp("a", {"order": 1, "ingress": [{"action": "Deny"}]}),
    ]
    assert not CalicoEvaluator(docs, NS).allows(src, WEB, 6, 80)


def test_types_default_from_the_rules_present():
    egress_only = gnp("e", {"selector": "all()", "egress": [{"action": "Deny"}]})
    ev = CalicoEvaluator([egress_only], NS)
    assert ev.allows(Ip("192.0.2.1"), WEB, 6, 80) and not ev.allows(WEB, Ip("192.0.2.1"), 6, 80)
    none = gnp("n", {"selector": "all()"})  # no rules: Ingress only, and it denies
    ev = CalicoEvaluator([none], NS)
    assert not ev.allows(Ip("192.0.2.1"), WEB, 6, 80) and ev.allows(WEB, Ip("192.0.2.1"), 6, 80)


def test_pass_goes_to_the_next_tier_and_then_to_the_profile():
    tier = {"apiVersion": API, "kind": "Tier", "metadata": {"name": "security"}, "spec": {"order": 100}}
    docs = [
        tier,
        gnp("s", {"tier": "security", "ingress": [{"action": "Pass", "protocol": "TCP"}, {"action": "Deny"}]}),
        gnp(
            "d",
            {
                "ingress": [
                    {"action": "Deny", "protocol": "TCP", "destination": {"ports": [22]}},
                    {"action": "Allow", "protocol": "TCP", "destination": {"ports": [80]}},
                ]
            },
        ),
    ]
    ev = CalicoEvaluator(docs, NS)
    assert not ev.allows(Ip("192.0.2.1"), WEB, 17, 53)  # security tier denies
    assert not ev.allows(Ip("192.0.2.1"), WEB, 6, 22) and ev.allows(Ip("192.0.2.1"), WEB, 6, 80)
    assert not ev.allows(Ip("192.0.2.1"), WEB, 6, 81)  # default tier's end
    only_pass = [tier, gnp("s", {"tier": "security", "ingress": [{"action": "Pass"}]})]
    assert CalicoEvaluator(only_pass, NS).allows(Ip("192.0.2.1"), WEB, 6, 81)  # passed beyond the last tier
    with pytest.raises(ValueError, match="spec.tier"):
        CalicoEvaluator([gnp("x", {"tier": "nope"})], NS)


def test_not_selector_negates_the_match_not_the_selector():
    """`selector: !has(x)` matches endpoints (and network sets) without x; `notSelector: has(x)` matches
    anything, outside the cluster too, but endpoints with x."""
    pos = gnp("p", {"selector": "app == 'db'", "ingress": [{"action": "Allow", "source": {"selector": "!has(app)"}}]})
    neg = gnp("p", {"selector": "app == 'db'", "ingress": [{"action": "Allow", "source": {"notSelector": "has(app)"}}]})
    ext, bare = Ip("192.0.2.1"), Pod.of("shop", {})
    assert not CalicoEvaluator([pos], NS).allows(ext, DB, 6, 1) and CalicoEvaluator([pos], NS).allows(bare, DB, 6, 1)
    assert CalicoEvaluator([neg], NS).allows(ext, DB, 6, 1) and CalicoEvaluator([neg], NS).allows(bare, DB, 6, 1)
    assert not CalicoEvaluator([neg], NS).allows(WEB, DB, 6, 1)


def test_selector_scopes_namespaces_and_automatic_labels():
    rule = {"action": "Allow", "source": {"selector": "app == 'web'"}}
    glob = gnp("g", {"selector": "app == 'db'", "ingress": [rule]})
    local = gnp("l", {"selector": "app == 'db'", "ingress": [rule]}, "NetworkPolicy", "shop")
    assert CalicoEvaluator([glob], NS).allows(OUTSIDE, DB, 6, 1)  # a global rule's selector: every namespace
    assert not CalicoEvaluator([local], NS).allows(OUTSIDE, DB, 6, 1)  # a namespaced one: its namespace
    assert CalicoEvaluator([local], NS).allows(WEB, DB, 6, 1)
    for ns_sel in ("projectcalico.org/name == 'elsewhere'", "kubernetes.io/metadata.name == 'elsewhere'"):
        doc = gnp(
            "n",
            {
                "selector": "app == 'db'",
                "ingress": [{"action": "Allow", "source": {"namespaceSelector": ns_sel, "selector": "app == 'web'"}}],
            },
        )
        assert CalicoEvaluator([doc], NS).allows(OUTSIDE, DB, 6, 1) and not CalicoEvaluator([doc], NS).allows(
            WEB, DB, 6, 1
        )
    by_label = gnp(
        "t",
        {"selector": "app == 'db'", "ingress": [{"action": "Allow", "source": {"namespaceSelector": "team == 'b'"}}]},
    )
    assert CalicoEvaluator([by_label], NS).allows(TOOLS, DB, 6, 1) and not CalicoEvaluator([by_label], NS).allows(
        WEB, DB, 6, 1
    )
    auto = gnp(
        "a",
        {
            "selector": "projectcalico.org/namespace == 'shop' && app == 'db'",
            "ingress": [{"action": "Allow", "source": {"selector": PODS}}],
        },
    )
    ev = CalicoEvaluator([auto], NS)
    assert ev.allows(OUTSIDE, DB, 6, 1) and not ev.allows(Ip("192.0.2.1"), DB, 6, 1)
    assert ev.allows(Ip("192.0.2.1"), Pod.of("ops", {"app": "db"}), 6, 1)  # not selected: another namespace
    scoped = gnp("s", {"namespaceSelector": "team == 'b'", "ingress": [{"action": "Deny"}]})
    ev = CalicoEvaluator([scoped], NS)
    assert not ev.allows(Ip("192.0.2.1"), TOOLS, 6, 1) and ev.allows(Ip("192.0.2.1"), WEB, 6, 1)


def test_ingress_destination_tests_the_local_endpoint():
    doc = gnp("i", {"selector": "all()", "ingress": [{"action": "Allow", "destination": {"selector": "app == 'web'"}}]})
    ev = CalicoEvaluator([doc], NS)
    assert ev.allows(Ip("192.0.2.1"), WEB, 6, 1) and not ev.allows(Ip("192.0.2.1"), DB, 6, 1)


def test_nets_not_nets_network_sets_and_pod_ips():
    rule = {"action": "Allow", "source": {"nets": ["10.0.0.0/8"], "notNets": ["10.1.0.0/16"]}}
    doc = gnp("n", {"selector": "app == 'db'", "ingress": [rule]})
    ev = CalicoEvaluator([doc], NS)
    assert ev.allows(Ip("10.2.0.1"), DB, 6, 1) and not ev.allows(Ip("10.1.0.1"), DB, 6, 1)
    assert ev.allows(Pod.of("shop", {}, ip="10.2.0.1"), DB, 6, 1)  # nets match pod IPs too
    assert not ev.allows(Pod.of("shop", {}), DB, 6, 1)  # a pod without an IP: in no net
    gns = {
        "apiVersion": API,
        "kind": "GlobalNetworkSet",
        "metadata": {"name": "s", "labels": {"k": "v"}},
        "spec": {"nets": ["192.0.2.0/24"]},
    }
    nset = {
        "apiVersion": API,
        "kind": "NetworkSet",
        "metadata": {"name": "t", "namespace": "ops", "labels": {"k": "v"}},
        "spec": {"nets": ["198.51.100.0/24"]},
    }
    by_set = gnp("s", {"selector": "app == 'db'", "ingress": [{"action": "Allow", "source": {"selector": "k == 'v'"}}]})
    ev = CalicoEvaluator([gns, nset, by_set], NS)
    assert ev.allows(Ip("192.0.2.9"), DB, 6, 1) and ev.allows(Ip("198.51.100.9"), DB, 6, 1)
    assert not ev.allows(Ip("203.0.113.1"), DB, 6, 1)
    local = gnp(
        "l",
        {"selector": "app == 'db'", "ingress": [{"action": "Allow", "source": {"selector": "k == 'v'"}}]},
        "NetworkPolicy",
        "shop",
    )
    ev = CalicoEvaluator([gns, nset, local], NS)
    assert not ev.allows(Ip("192.0.2.9"), DB, 6, 1) and not ev.allows(Ip("198.51.100.9"), DB, 6, 1)
    glob = gnp(
        "l",
        {
            "selector": "app == 'db'",
            "ingress": [{"action": "Allow", "source": {"namespaceSelector": "global()", "selector": "k == 'v'"}}],
        },
        "NetworkPolicy",
        "shop",
    )
    assert CalicoEvaluator([gns, glob], NS).allows(Ip("192.0.2.9"), DB, 6, 1)


def test_protocols_ports_and_icmp():
    rules = [
        {"action": "Deny", "protocol": "ICMP", "icmp": {"type": 8, "code": 0}},
        {"action": "Allow", "protocol": "ICMP", "notICMP": {"type": 3}},
        {"action": "Allow", "notProtocol": "TCP", "protocol": 17},
        {"action": "Allow", "protocol": "TCP", "destination": {"notPorts": [22, "1000:2000"]}},
        {"action": "Allow", "protocol": "SCTP", "source": {"ports": [1]}},
    ]
    ev = CalicoEvaluator([gnp("p", {"selector": "all()", "ingress": rules})], NS)
    src = Ip("192.0.2.1")
    assert not ev.allows(src, WEB, 1, 8)  # a code: undecided, the deny takes the secure side
    assert ev.allows(src, WEB, 1, 0) and not ev.allows(src, WEB, 1, 3)
    assert ev.allows(src, WEB, 17, 53) and not ev.allows(src, WEB, 47, 0)
    assert ev.allows(src, WEB, 6, 80) and not ev.allows(src, WEB, 6, 22) and not ev.allows(src, WEB, 6, 1500)
    assert not ev.allows(src, WEB, 132, 5)  # a source port the flow does not fix: undecided allow
    named = gnp(
        "n",
        {"selector": "all()", "ingress": [{"action": "Allow", "protocol": "TCP", "destination": {"ports": ["http"]}}]},
    )
    ev = CalicoEvaluator([named], NS)
    assert ev.allows(src, Pod.of("shop", {"app": "web"}, ports={"http": 8080}), 6, 8080)
    assert not ev.allows(src, Pod.of("shop", {"app": "web"}, ports={"http": 8080}), 6, 80)
    v6 = gnp("v", {"selector": "all()", "ingress": [{"action": "Allow", "ipVersion": 6}]})
    ev = CalicoEvaluator([v6], NS)
    assert ev.allows(Ip("2001:db8::1"), WEB, 6, 80) and not ev.allows(Ip("192.0.2.1"), WEB, 6, 80)
    assert not ev.allows(TOOLS, WEB, 6, 80)  # two pods without IPs: the version is undecided


@pytest.mark.parametrize(
    "rule,field",
    [
        ({"action": "Accept"}, "action"),
        ({"action": "Allow", "protocol": "TCPX"}, "protocol"),
        ({"action": "Allow", "protocol": 0}, "protocol"),
        ({"action": "Allow", "destination": {"ports": [80]}}, "destination.ports"),
        ({"action": "Allow", "protocol": "TCP", "destination": {"ports": ["90:80"]}}, "destination.ports[0]"),
        ({"action": "Allow", "icmp": {"type": 8}}, "icmp"),
        ({"action": "Allow", "protocol": "ICMP", "icmp": {"type": 255}}, "icmp.type"),
        ({"action": "Allow", "protocol": "ICMP", "icmp": {"code": 1}}, "icmp"),
        ({"action": "Allow", "source": {"nets": ["10.0.0.0/33"]}}, "source.nets[0]"),
        ({"action": "Allow", "source": {"nets": ["10.0.0.0/8", "fd00::/8"]}}, "source"),
        ({"action": "Allow", "source": {"selector": "app = 'x'"}}, "source.selector"),
        ({"action": "Allow", "source": {"selector": "global()"}}, "source.selector"),
        ({"action": "Allow", "source": {"serviceAccounts": {"names": ["a"]}}}, "source.serviceAccounts"),
        ({"action": "Allow", "ipVersion": 5}, "ipVersion"),
    ],
)
def test_malformed_documents_name_the_field(rule, field):
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        CalicoEvaluator([gnp("bad", {"ingress": [rule]})], NS)


def test_malformed_policies_name_the_field():
    for spec, field in (
        ({"order": "x"}, "spec.order"),
        ({"types": ["In"]}, "spec.types"),
        ({"selector": "a =="}, "spec.selector"),
    ):
        with pytest.raises(ValueError, match=field):
            CalicoEvaluator([gnp("bad", spec)], NS)
    with pytest.raises(ValueError, match="metadata.name"):
        CalicoEvaluator([{"apiVersion": API, "kind": "GlobalNetworkPolicy", "metadata": {}, "spec": {}}], NS)


# --- cuts and the table ----------------------------------------------------------------------------


def test_cuts_read_selectors_cidrs_ports_and_icmp_types():
    _, inv, res = convert(
        "default deny\n1 allow 192.0.2.0/24 except 192.0.2.7 -> 10.0.0.0/26 tcp/8000-8100\n"
        "2 allow 10.0.2.0/24 -> any icmp/8\n"
    )
    src = calico.cuts(res.policies, TARGET)
    seven = int(ipaddress.ip_address("192.0.2.7"))
    assert (4, seven, seven) in src.blocks and (4, seven - 7, seven + 248) in src.blocks
    assert (6, 8000, 8100) in src.ports and (1, 8, 8) in src.ports and 1 in src.protos
    pods = {(s.reqs, p.reqs) for _, s, p in src.peers}
    assert ((("kubernetes.io/metadata.name", "In", frozenset({"shop"})),), (("app", "In", frozenset({"web"})),)) in pods


def test_table_lists_the_rules_in_evaluation_order_with_their_ids():
    rs, inv = sample_rulesets("staging", "rules.fw", {})
    res = targets.convert(rs[0], inv, TARGET)
    table = calico.table(res.policies, inv, TARGET)
    ingress = [r for r in table.rows if r.direction == "ingress"]
    assert [r.action for r in ingress][-2:] == ["deny", "deny"]  # the cleanup rule, then the tier's end
    ids = [r.policy for r in ingress]
    assert ids.index(next(p for p in ids if "(rules 30)" in p)) < ids.index(next(p for p in ids if "(rules 40)" in p))
    assert any(r.source == "staging/frontend or admin/admin-tools" or "staging/frontend" in r.source for r in ingress)
    for fmt in ("table", "markdown", "csv", "html"):
        out = render_table(table, fmt)
        assert "30" in out and "40" in out and "staging-shop-ingress" in out
