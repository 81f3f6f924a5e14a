"""Fuzzing the library: mutated samples and corpus slices never raise anything but InputError."""

from __future__ import annotations

import copy
import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from translator.compiler.synth import convert
from translator.errors import InputError
from translator.frontends import FRONTENDS, _module, detect
from translator.model.inventory import parse_inventory
from translator.model.policies import load_policy_text

from .conftest import CORPUS, SAMPLES

# every input the frontends read: (frontend, file) from the samples and small slices of the corpus
SEEDS = {
    "rules": ["staging/rules.fw", "ipv6/rules.fw", "deny-before-allow/rules.fw", "verify/three-tier.fw"],
    "iptables": ["iptables/web01.rules", "@iptables/tor-relay-bootstrap_rules.v4", "@iptables/ustc-liimstrap_rules.v4"],
    "cisco-asa": ["cisco-asa/dmz-asa.cfg", "@cisco-asa/flatAsaAcl_sample_config.txt", "@cisco-asa/batfish_asa_acl.cfg"],
    "cisco-ios": ["cisco-ios/branch-rtr.cfg", "@cisco-ios/batfish_example_as2dept1.cfg"],
    "azure-nsg": ["azure-nsg/web-nsg.json", "@azure-nsg/batfish_cloud-azure_VM1-nsg.json"],
    "gcp": ["gcp/firewall-rules.json"],
    "aws-nacl": ["aws-nacl/network-acls.json", "@aws-nacl/lab-validation_aws_demo_us-east-1_NetworkAcls.json"],
    "csv": ["csv/rules.csv", "@csv/panco_Firewall_Security_Rule_Template.csv"],
}
ODD = [
    "\x00",
    "\u202e",
    "\ufeff",
    "é",
    "日本",
    "{",
    "}",
    "[",
    "]",
    '"',
    "'",
    ":",
    ",",
    "-",
    "#",
    "\\",
    "\t",
    "\r",
    "\n",
    "*",
    "&a",
    "*a",
    "!",
    "%",
    "/",
    "0",
    "-1",
    "99999999999999999999",
    "1e309",
    "::",
    "/33",
    "/129",
    "0.0.0.0/0",
    "any",
    "!!python/object:os.system",
    "{{ 7*7 }}",
    "null",
    "  ",
    "\u2028",
    # non-ASCII digits and terminal controls where names, numbers and ports go (issue 22)
    "²",
    "٣",
    "１",
    "8²",
    "\x1b[2J",
    "\x7f",
]
GENERIC_INV = """namespaces:
  ns-a: {labels: {team: a}}
workloads:
  web:
    namespace: ns-a
    labels: {app: web}
    addresses: [10.0.0.0/24]
  db:
    namespace: ns-b
    labels: {app: db}
    addresses: [192.168.1.10, 2001:db8::5]
"""
WORK_BOUND = 20.0  # seconds any one fuzzed input may take (the library has no timer; the CLI has)


def seed_text(ref: str, max_lines: int = 120) -> str:
    """A sample file, or the head of a corpus file ('@...')."""
    path = CORPUS / ref[1:] if ref.startswith("@") else SAMPLES / ref
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return text  # slicing JSON only tests the syntax error path; mutations do that anyway
    return "".join(text.splitlines(keepends=True)[:max_lines])


def inventory_for(ref: str):
    if not ref.startswith("@"):
        path = SAMPLES / ref.split("/")[0] / "inventory.yaml"
        if path.exists():
            return parse_inventory(path.read_text(), str(path))
    return parse_inventory(GENERIC_INV, "generic.yaml")


_TOKEN = re.compile(r"\s+|[A-Za-z0-9_./:\-]+|.", re.S)


@st.composite
def mutated(draw, text: str) -> str:
    """TEXT with a few token-level edits: delete, duplicate, swap, insert odd text, truncate, nest."""
    toks = _TOKEN.findall(text) or [""]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "dup", "swap", "insert", "truncate", "nest", "number", "line"]))
        i = draw(st.integers(0, len(toks) - 1))
        j = draw(st.integers(0, len(toks) - 1))
        if op == "delete":
            del toks[i : i + draw(st.integers(1, 3))]
        elif op == "dup":
            toks[i:i] = toks[i : i + draw(st.integers(1, 8))] * draw(st.integers(1, 3))
        elif op == "swap":
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "insert":
            toks.insert(i, draw(st.sampled_from(ODD)))
        elif op == "truncate":
            toks = toks[:i]
        elif op == "nest":
            k = draw(st.integers(1, 120))
            toks.insert(
                i,
                draw(
                    st.sampled_from(["[" * k + "]" * k, "{" * k, '{"a":' * k + "1" + "}" * k, "(" * k, "- " * k + "x"])
                ),
            )
        elif op == "number":
            toks.insert(i, draw(st.sampled_from(["0", "65536", "-5", "4294967296", "256", "1.5", "0x10", "007"])))
        else:  # duplicate a whole line many times
            lines = "".join(toks).splitlines(keepends=True) or [""]
            line = lines[i % len(lines)]
            lines[i % len(lines) : i % len(lines)] = [line] * draw(st.integers(2, 200))
            toks = _TOKEN.findall("".join(lines)) or [""]
        if not toks:
            toks = [""]
    return "".join(toks)


JSON_ODD = [
    None,
    0,
    -1,
    65536,
    1e308,
    True,
    "",
    "x",
    "*",
    "-1",
    "0-65535",
    "80-22",
    "65536",
    "0.0.0.0/0",
    "::/0",
    "10.0.0.0/33",
    "10.0.0.1/8",
    "a b",
    "日本",
    [],
    {},
    ["*"],
    {"a": None},
    "Allow",
    "Deny",
    "INGRESS",
    "all",
    "²",
    "٣",
    "tcp/8²",
    "10.0.0.٣/24",
    "x\x1b[2Jy",
]


@st.composite
def json_mutated(draw, text: str) -> str:
    """TEXT (JSON) with a few values replaced by odd ones or keys deleted, then re-serialised."""
    data = json.loads(text)
    for _ in range(draw(st.integers(1, 5))):
        nodes = []

        def walk(obj):
            if isinstance(obj, dict):
                for k in obj:
                    nodes.append((obj, k))
                    walk(obj[k])
            elif isinstance(obj, list):
                for k in range(len(obj)):
                    nodes.append((obj, k))
                    walk(obj[k])

        walk(data)
        if not nodes:
            break
        parent, key = draw(st.sampled_from(nodes))
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = copy.deepcopy(draw(st.sampled_from(JSON_ODD)))
    return json.dumps(data)


def run_frontend(fmt: str, text: str, path: str, inv) -> None:
    """Parse TEXT with FMT and compile what comes out: only InputError may escape, within the bound."""
    start = time.monotonic()
    try:
        opts = {"host_addresses": list(inv.workloads["web"].addresses)} if fmt == "iptables" else {}
        rulesets = _module(fmt).load(text, path, **opts)
        for rs in rulesets[:3]:
            if len(rs.rules) <= 200:
                result = convert(rs, inv)
                assert all(p["kind"] == "NetworkPolicy" for p in result.policies)
    except InputError as exc:
        msg = exc.render()
        assert msg.strip() and "Traceback" not in msg
        if exc.loc is not None:
            assert msg.startswith(f"{exc.loc}: error: ")
    assert time.monotonic() - start < WORK_BOUND, f"{fmt}: {path} took too long"


CASES = [(fmt, ref) for fmt, refs in SEEDS.items() for ref in refs]


@pytest.mark.parametrize("fmt,ref", CASES, ids=[f"{f}:{r.split('/')[-1]}" for f, r in CASES])
def test_mutated_inputs_give_results_or_input_errors(fmt, ref):
    text = seed_text(ref)
    inv = inventory_for(ref)
    suffix = "." + ref.rsplit(".", 1)[-1]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutated(text))
    def check(mut):
        run_frontend(fmt, mut, f"fuzz{suffix}", inv)
        detect_safely(mut, f"fuzz{suffix}")

    check()


JSON_CASES = [(fmt, ref) for fmt, ref in CASES if ref.endswith(".json")]


@pytest.mark.parametrize("fmt,ref", JSON_CASES, ids=[f"{f}:{r.split('/')[-1]}" for f, r in JSON_CASES])
def test_json_exports_with_odd_values(fmt, ref):
    text = seed_text(ref)
    inv = inventory_for(ref)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(json_mutated(text))
    def check(mut):
        run_frontend(fmt, mut, "odd.json", inv)

    check()


def detect_safely(text: str, path: str) -> None:
    try:
        assert detect(text, path) in FRONTENDS
    except InputError as exc:
        assert "cannot tell the input format" in exc.message


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FRONTENDS), st.text(max_size=300))
def test_random_text_in_every_frontend(fmt, text):
    run_frontend(fmt, text, "random.txt", parse_inventory(GENERIC_INV, "generic.yaml"))
    detect_safely(text, "random.txt")


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(FRONTENDS), st.binary(max_size=200))
def test_bytes_decoded_loosely_in_every_frontend(fmt, data):
    run_frontend(fmt, data.decode("latin-1"), "bytes.bin", parse_inventory(GENERIC_INV, "generic.yaml"))


INVENTORIES = ["staging/inventory.yaml", "policies/inventory.yaml", "gcp/inventory.yaml", "iptables/inventory.yaml"]


@pytest.mark.parametrize("ref", INVENTORIES)
def test_mutated_inventories(ref):
    text = (SAMPLES / ref).read_text()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutated(text))
    def check(mut):
        try:
            inv = parse_inventory(mut, "inv.yaml")
        except InputError as exc:
            assert exc.render().startswith("inv.yaml")
            return
        # whatever is accepted is usable by the compiler
        rs = _module("rules").load("default deny\n1 allow any -> 10.0.0.0/8 tcp/80\n", "r.fw")[0]
        try:
            convert(rs, inv)
        except InputError:
            pass

    check()


POLICY_FILES = sorted(p.name for p in (SAMPLES / "policies").glob("*.yaml") if p.name != "inventory.yaml")


@pytest.mark.parametrize("name", POLICY_FILES)
def test_mutated_policy_manifests(name):
    text = (SAMPLES / "policies" / name).read_text()

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutated(text), st.booleans())
    def check(mut, as_json):
        path = "p.json" if as_json else "p.yaml"
        try:
            load_policy_text(mut, path)
        except InputError as exc:
            assert exc.render().startswith(path)

    check()


@pytest.mark.parametrize(
    "text,words",
    [
        ("[" * 5000 + "]" * 5000, "nesting deeper"),
        ("a: " + "[" * 200 + "]" * 200, "nesting deeper"),
        ('{"a":' * 3000 + "1" + "}" * 3000, "nesting deeper"),
        (
            "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                for p, c in zip("abcdefgh", "bcdefghi")
            ),
            "aliases are expanded",
        ),
    ],
)
def test_pathological_documents_hit_a_bound(text, words):
    for parse in (lambda: parse_inventory(text, "inv.yaml"), lambda: load_policy_text(text, "p.yaml")):
        with pytest.raises(InputError, match=words):
            parse()


@pytest.mark.parametrize("fmt", ["azure-nsg", "gcp", "aws-nacl"])
def test_deep_json_hits_the_bound(fmt):
    with pytest.raises(InputError, match="nesting deeper"):
        _module(fmt).load("[" * 100000 + "]" * 100000, "deep.json")


def test_yaml_tags_never_execute():
    for text in ("!!python/object/apply:os.system ['true']", "a: !!python/name:os.system", "!!binary AAAA"):
        with pytest.raises(InputError):
            parse_inventory(text, "inv.yaml")
