"""Fuzzing hostile manifests and inventories (issue 22).

Policies: a valid NetworkPolicy with one field (a leaf or a whole collection) replaced by a value
of a random wrong type (integer, huge integer, float, list, mapping, string, null, boolean), or a
string with control characters and non-ASCII digits. Inventories: control characters and
non-ASCII digits put into every name, label and port field. Each example runs the loader and the
commands (verify, explain, reverse); it passes when the outcome is a result or a clear InputError
(exit 2 with `error:`, no traceback), within TIME_BOUND seconds.
"""

from __future__ import annotations

import copy
import json
import re
import time

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.errors import InputError
from translator.evaluate.endpoints import Ip, Pod
from translator.evaluate.netpol import NetpolEvaluator
from translator.model.inventory import parse_inventory
from translator.model.policies import load_policy_text
from translator.reverse.table import build_table

TIME_BOUND = 5.0  # seconds per example (loader, evaluator or one command)
LOADER_EXAMPLES = 300
CLI_EXAMPLES = 40
INVENTORY_EXAMPLES = 300

BASE = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"team": "shop"}},
    "spec": {
        "podSelector": {
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
        },
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {
                "from": [
                    {"podSelector": {"matchLabels": {"app": "api"}}, "namespaceSelector": {}},
                    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                ],
                "ports": [{"protocol": "TCP", "port": 80, "endPort": 90}, {"port": "http"}],
            }
        ],
        "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"team": "db"}}}], "ports": [{"protocol": "UDP"}]}],
    },
}


def _paths(obj, prefix=()):
    """Every place in OBJ (mapping keys and list indices), leaves and collections alike."""
    out = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


PATHS = _paths(BASE)

HOSTILE_CHARS = "\n\r\t\x00\x1b\x7f\u2028\u00b2\u0663\u09e9\uff11\u212a\u017f /=:,"
hostile_text = st.one_of(
    st.text(alphabet=st.sampled_from(HOSTILE_CHARS + "ab0-."), max_size=12),
    st.builds(
        lambda base, c, where: base[:where] + c + base[where:],
        st.sampled_from(["shop", "web", "80", "10.0.0.0/8", "TCP", "In", "app", "http"]),
        st.sampled_from(HOSTILE_CHARS),
        st.integers(0, 12),
    ),
)
wrong_values = st.one_of(
    st.integers(-(2**31), 2**31),
    st.integers(min_value=2**63, max_value=2**200),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 3) | st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(0, 3) | st.text(max_size=3), max_size=3),
    st.text(max_size=10),
    hostile_text,
    st.sampled_from([0, 65536, -1, 99999999999999999999, 1.5, "80", "", "Exists", "10.0.0.0/33", "::/129"]),
)


def _mutate(path, value):
    doc = copy.deepcopy(BASE)
    cur = doc
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return doc


def _text(doc, as_json: bool) -> str:
    return json.dumps(doc) if as_json else yaml.safe_dump(doc, allow_unicode=True)


def _timed(fn):
    t = time.monotonic()
    try:
        return fn()
    finally:
        assert time.monotonic() - t < TIME_BOUND, "over the time bound"


def _evaluate(pols):
    """Decide a few flows and build the reverse table: a loaded policy must be usable."""
    ev = NetpolEvaluator(pols, {"shop": {"team": "shop"}})
    web = Pod.of("shop", {"app": "web", "tier": "a"}, ports={"http": ("TCP", 8080)})
    api = Pod.of("shop", {"app": "api"})
    for src, dst in ((api, web), (Ip("10.2.0.1"), web), (web, Ip("10.1.0.1")), (web, api)):
        for proto, port in ((6, 80), (6, 8080), (17, 53), (132, 1)):
            ev.explain(src, dst, proto, port)
    build_table(pols)


@settings(max_examples=LOADER_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(PATHS), wrong_values, st.booleans())
def test_a_wrong_field_is_a_result_or_an_input_error(path, value, as_json):
    text = _text(_mutate(path, value), as_json)

    def run():
        try:
            pols = load_policy_text(text, "p.json" if as_json else "p.yaml")
        except InputError as exc:
            assert exc.message and exc.loc is not None and exc.loc.file.startswith("p.")
            return
        _evaluate(pols)

    _timed(run)


INV = "workloads:\n  web: {namespace: shop, labels: {app: web, tier: a}, ports: {http: 8080}}\n"


@settings(max_examples=CLI_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(PATHS), wrong_values, st.sampled_from(["verify", "explain", "reverse"]))
def test_the_commands_on_a_wrong_field(tmp_path_factory, path, value, command):
    d = tmp_path_factory.mktemp("m")
    (d / "r.fw").write_text("ruleset r\nallow 10.0.0.0/8 -> any tcp/80\n")
    (d / "inv.yaml").write_text(INV)
    (d / "p.yaml").write_text(_text(_mutate(path, value), False))
    args = {
        "verify": ["verify", str(d / "r.fw"), str(d / "p.yaml"), "-i", str(d / "inv.yaml"), "--no-approximations"],
        "explain": ["explain", str(d / "p.yaml"), "-i", str(d / "inv.yaml"), "--flow", "10.0.0.1 -> web tcp/80"],
        "reverse": ["reverse", str(d / "p.yaml"), "-i", str(d / "inv.yaml")],
    }[command]
    res = _timed(lambda: CliRunner().invoke(cli, args))
    _clear(res)


def _clear(res):
    assert res.exit_code in (0, 1, 2), (res.exit_code, res.output, repr(res.exception))
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    if res.exit_code == 2:
        assert "error: " in res.output, res.output


# --- inventories ------------------------------------------------------------------------------

NS = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
QNAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def _inventory(ns, wl, key, value, pname, pval, ns_label):
    return {
        "namespaces": {ns: {"labels": {key: ns_label}}},
        "workloads": {wl: {"namespace": ns, "labels": {key: value}, "addresses": ["10.0.0.1"], "ports": {pname: pval}}},
    }


field_text = st.one_of(hostile_text, st.sampled_from(["shop", "web", "app", "http", "80", "tcp/80"]))


@settings(max_examples=INVENTORY_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(field_text, field_text, field_text, field_text, field_text, field_text | wrong_values, field_text)
def test_hostile_inventory_fields(ns, wl, key, value, pname, pval, ns_label):
    text = yaml.safe_dump(_inventory(ns, wl, key, value, pname, pval, ns_label), allow_unicode=True)

    def run():
        try:
            return parse_inventory(text, "inv.yaml")
        except InputError as exc:
            assert exc.message and exc.loc.file == "inv.yaml"
            return None

    inv = _timed(run)
    if inv is None:
        return
    # what is accepted is what the API server accepts
    for n in inv.namespaces:
        assert len(n) <= 63 and NS.fullmatch(n), n
    for w in inv.workloads.values():
        assert w.name.isprintable()
        for k, v in w.labels.items():
            assert QNAME.fullmatch(k.rpartition("/")[2]) and (v == "" or QNAME.fullmatch(v)), (k, v)
        for n, (proto, num) in w.ports.items():
            assert re.fullmatch(r"[a-z0-9-]{1,15}", n) and proto in ("TCP", "UDP", "SCTP") and 1 <= num <= 65535


@settings(max_examples=CLI_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(field_text, field_text, st.sampled_from(["tcp", "udp", "proto", "icmp", "sctp"]))
def test_explain_with_hostile_flow_fields(tmp_path_factory, label, port, proto):
    d = tmp_path_factory.mktemp("f")
    (d / "r.fw").write_text("ruleset r\nallow 10.0.0.0/8 -> any tcp/80\n")
    (d / "inv.yaml").write_text(INV)
    flow = f"10.0.0.1 -> shop/app={label} {proto}/{port}"
    res = _timed(
        lambda: CliRunner().invoke(cli, ["explain", str(d / "r.fw"), "-i", str(d / "inv.yaml"), "--flow", flow])
    )
    _clear(res)
