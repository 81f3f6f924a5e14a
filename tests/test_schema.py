"""Every manifest fw2np writes validates against the Kubernetes OpenAPI schema and name rules."""

from __future__ import annotations

import json
import re
from functools import lru_cache

import jsonschema
import pytest
import referencing
import yaml
from click.testing import CliRunner
from hypothesis import given, settings

from translator.cli.main import cli
from translator.compiler.synth import convert
from translator.errors import Loc
from translator.frontends import load as load_file
from translator.io.manifests import EMPTY_LIST, render
from translator.model.inventory import parse_inventory
from translator.model.ruleset import AddrExpr, Net, Rule, Ruleset, Svc

from .conftest import SAMPLES
from .strategies import load, scenarios

kv = pytest.importorskip("kubernetes_validate.utils")
K8S_VERSION = "1.30.0"

# Kubernetes validation rules, written out here independently of translator/k8snames.py
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
ANNOTATIONS_MAX = 256 * 1024


@lru_cache(maxsize=1)
def validator():
    """A strict NetworkPolicy validator from the schemas kubernetes-validate ships (offline)."""
    version = [v for v in kv.all_versions() if kv.major_minor(v) <= kv.major_minor(K8S_VERSION)][-1]
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    schema = kv.schema_contents(f"{folder}/networkpolicy-networking-v1.json", K8S_VERSION)
    defs = kv.schema_contents(f"{folder}/_definitions.json", K8S_VERSION)
    registry = referencing.Resource.from_contents(defs) @ (
        referencing.Resource.from_contents(schema) @ referencing.Registry()
    )
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def qualified_name_ok(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if "/" in key and not (len(prefix) <= 253 and DNS_SUBDOMAIN.match(prefix)):
        return False
    return len(name) <= 63 and bool(QUALIFIED.match(name))


def problems(doc: dict) -> list[str]:
    """Why DOC would be rejected by the API server (schema and the name rules it does not carry)."""
    out = [e.message for e in validator().iter_errors(doc)]
    meta = doc.get("metadata", {})
    name, ns = meta.get("name", ""), meta.get("namespace", "")
    if not (len(name) <= 253 and DNS_SUBDOMAIN.match(name)):
        out.append(f"metadata.name {name!r}")
    if not (len(ns) <= 63 and DNS_LABEL.match(ns)):
        out.append(f"metadata.namespace {ns!r}")
    labels = dict(meta.get("labels") or {})
    spec = doc.get("spec", {})
    selectors = [spec.get("podSelector") or {}]
    for rule in spec.get("ingress", []) + spec.get("egress", []):
        for peer in rule.get("from", []) + rule.get("to", []):
            selectors += [peer.get("podSelector") or {}, peer.get("namespaceSelector") or {}]
    for sel in selectors:
        labels.update({f"{k}": v for k, v in (sel.get("matchLabels") or {}).items()})
        for expr in sel.get("matchExpressions") or []:
            if not qualified_name_ok(expr["key"]):
                out.append(f"selector key {expr['key']!r}")
            for v in expr.get("values") or []:
                if not (v == "" or (len(v) <= 63 and QUALIFIED.match(v))):
                    out.append(f"selector value {v!r}")
    for k, v in labels.items():
        if not qualified_name_ok(k):
            out.append(f"label key {k!r}")
        if not (v == "" or (len(v) <= 63 and QUALIFIED.match(v))):
            out.append(f"label value {v!r}")
    ann = meta.get("annotations") or {}
    for k in ann:
        if not qualified_name_ok(k):
            out.append(f"annotation key {k!r}")
    if sum(len(k) + len(v) for k, v in ann.items()) > ANNOTATIONS_MAX:
        out.append("annotations over 256 KiB")
    return out


def assert_valid(policies: list[dict]) -> None:
    names = set()
    for doc in policies:
        assert not problems(doc), (problems(doc), doc)
        key = (doc["metadata"]["namespace"], doc["metadata"]["name"])
        assert key not in names, f"two policies named {key}"
        names.add(key)
    # the text fw2np writes parses back to the same objects (none: an empty List, never an empty file)
    assert list(yaml.safe_load_all(render(policies, "yaml"))) == (policies or [EMPTY_LIST])
    assert json.loads(render(policies, "json"))["items"] == policies


def test_the_validator_rejects_what_the_api_server_rejects():
    good = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "a", "namespace": "ns"},
        "spec": {"podSelector": {}},
    }
    assert problems(good) == []
    bad = [
        {**good, "spec": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": 1}}]}]}},
        {**good, "spec": {"podSelector": {}, "bogus": True}},
        {**good, "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": "80", "endPort": "x"}]}]}},
        {**good, "metadata": {"name": "Bad_Name", "namespace": "ns"}},
        {**good, "metadata": {"name": "a" * 254, "namespace": "ns"}},
        {**good, "metadata": {"name": "a", "namespace": "ns", "labels": {"k": "v" * 64}}},
        {**good, "metadata": {"name": "a", "namespace": "ns", "annotations": {"bad key": "x"}}},
    ]
    for doc in bad:
        assert problems(doc), doc


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


@pytest.mark.parametrize("folder,name,opts", SAMPLE_INPUTS, ids=[s[0] for s in SAMPLE_INPUTS])
def test_samples_compile_to_valid_manifests(folder, name, opts):
    inv_path = SAMPLES / folder / "inventory.yaml"
    inv = parse_inventory(inv_path.read_text(), str(inv_path))
    extra = {"host_addresses": list(inv.workloads[opts["host"]].addresses)} if "host" in opts else {}
    rulesets = load_file(str(SAMPLES / folder / name), **extra)
    total = 0
    for rs in rulesets:
        pols = convert(rs, inv).policies
        assert_valid(pols)
        total += len(pols)
    assert total > 0


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_random_rulesets_compile_to_valid_manifests(scenario):
    rs, inv = load(scenario)
    assert_valid(convert(rs, inv).policies)


HOSTILE_INV = """namespaces:
  shop: {labels: {team: shop}}
workloads:
  "Wébserver — 日本語 front end with a very long name that goes on and on and on and on and on and on and on":
    namespace: shop
    labels: {app: web}
    addresses: [10.0.0.0/24]
  "db/primary: {x}":
    namespace: shop
    labels: {app: db, tier: data}
    addresses: [10.0.1.5]
  "DB_PRIMARY":
    namespace: shop
    labels: {app: db, tier: data2}
    addresses: [10.0.1.6]
"""


def hostile_ruleset(name: str) -> Ruleset:
    loc = Loc("hostile.fw", 1, 1)

    def net(text, first, last):
        return AddrExpr((Net(first, last, 4, text),))

    web, db = net("10.0.0.0/24", 0x0A000000, 0x0A0000FF), net("10.0.1.5", 0x0A000105, 0x0A000106)
    outside = net("192.0.2.0/24", 0xC0000200, 0xC00002FF)
    rules = [
        Rule("rule with spaces ✓", "allow", outside, web, (Svc(6, 443, 443, "tcp/443"),), loc),
        Rule("x" * 500, "allow", web, db, (Svc(6, 5432, 5432, "tcp/5432"),), loc, comment="\n\x00 {{ 7*7 }}"),
        Rule("'; DROP TABLE --\n", "deny", outside, AddrExpr.any(), (Svc.any(),), loc),
        Rule("line\nbreak", "allow", db, outside, (Svc(17, 53, 53, "udp/53"),), loc),
    ]
    return Ruleset(name=name, source="hostile.fw", rules=rules)


@pytest.mark.parametrize(
    "name",
    [
        "n" * 300,
        "Ünïcödé ruleset 日本",
        "",
        "-",
        "a/b:c",
        "UPPER_case.with.dots",
        "x" * 70000,
        "\n\t",
        "{{ 7*7 }}",
    ],
)
def test_hostile_names_are_mapped_never_emitted_invalid(name):
    inv = parse_inventory(HOSTILE_INV, "hostile.yaml")
    pols = convert(hostile_ruleset(name), inv).policies
    assert len(pols) >= 3
    assert_valid(pols)


def test_cli_output_is_valid_in_both_formats(tmp_path):
    runner = CliRunner()
    for fmt in ("yaml", "json"):
        res = runner.invoke(
            cli,
            [
                "convert",
                str(SAMPLES / "staging" / "rules.fw"),
                "-i",
                str(SAMPLES / "staging" / "inventory.yaml"),
                "--format",
                fmt,
                "-q",
            ],
        )
        assert res.exit_code == 0, res.output
        docs = json.loads(res.stdout)["items"] if fmt == "json" else list(yaml.safe_load_all(res.stdout))
        assert docs and all(not problems(d) for d in docs)
