"""explain: one flow's decision and trace, for a ruleset or for policy manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from translator.cli.main import cli
from translator.errors import InputError
from translator.evaluate.endpoints import Ip
from translator.model.inventory import parse_inventory
from translator.verify.explain import parse_flow

ROOT = Path(__file__).resolve().parents[1]
V = ROOT / "samples" / "verify"
S = ROOT / "samples" / "staging"
INV = parse_inventory((V / "inventory.yaml").read_text(), "inventory.yaml")


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_parse_flow_forms():
    src, dst, proto, port = parse_flow("10.1.0.5 -> shop/app=backend,tier=x tcp/8080", INV)
    assert src == Ip("10.1.0.5") and (proto, port) == (6, 8080)
    assert dst.namespace == "shop" and dst.label_map == {"app": "backend", "tier": "x"}
    src, dst, proto, port = parse_flow("db->2001:db8::1 icmpv6/128", INV)
    assert src.label_map == {"app": "db"} and src.port_number("pg", "TCP") == 5432
    assert dst == Ip("2001:db8::1") and (proto, port) == (58, 128)
    assert parse_flow("other/ -> frontend proto/47", INV)[2:] == (47, 0)
    assert parse_flow("1.2.3.4 -> frontend icmp/echo-request", INV)[2:] == (1, 8)
    # a shop pod whose labels fall into workload db declares db's named ports
    assert parse_flow("1.2.3.4 -> shop/app=db udp/53", INV)[1].port_number("pg", "TCP") == 5432


@pytest.mark.parametrize(
    "flow,what",
    [
        ("10.1.0.5 shop/app=api tcp/8080", "cannot split"),
        ("10.1.0.5 -> nosuch tcp/8080", "'nosuch' is neither"),
        ("10.1.0.5 -> shop/app tcp/8080", "needs key=value"),
        ("10.1.0.5 -> Bad_NS/app=x tcp/8080", "not a namespace name"),
        ("10.1.0.5 -> frontend tcp/0", "port 1-65535"),
        ("10.1.0.5 -> frontend tcp", "port 1-65535"),
        ("10.1.0.5 -> frontend icmp/300", "ICMP type"),
        ("10.1.0.5 -> frontend xyz/1", "unknown protocol"),
        ("10.1.0.5 -> frontend gre/5", "has no ports"),
    ],
)
def test_bad_flows(flow, what):
    with pytest.raises(InputError) as exc:
        parse_flow(flow, INV)
    assert what in exc.value.message and "SRC -> DST SERVICE" in exc.value.message


def test_ruleset_trace_names_matching_rule():
    r = run("explain", str(S / "rules.fw"), "-i", str(S / "inventory.yaml"), "--flow", "203.0.113.5 -> frontend tcp/80")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert any(ln.strip().startswith("rule 30 (line 15) deny: MATCH") for ln in lines)
    assert "rule 10 (line 13) allow: no match" in r.output and "rule 40" not in r.output
    assert lines[-1] == "decision: deny by rule 30 (line 15)"
    assert "destination is workload frontend (legacy addresses: frontend)" in r.output
    # outside the partners' /25 the browse rule matches
    r = run(
        "explain",
        str(S / "rules.fw"),
        "-i",
        str(S / "inventory.yaml"),
        "--flow",
        "203.0.113.200 -> staging/app=frontend tcp/443",
    )
    assert "rule 30 (line 15) deny: no match: source does not match" in r.output
    assert r.output.splitlines()[-1] == "decision: allow by rule 40 (line 16)"


def test_ruleset_default_and_reach():
    r = run("explain", str(V / "three-tier.fw"), "-i", str(V / "inventory.yaml"), "--flow", "8.8.8.8 -> 9.9.9.9 udp/53")
    assert "decision: deny by the default (deny): no rule matched" in r.output
    assert "rule 10 (line 7) allow: no match: destination does not match; service does not match" in r.output
    assert "cannot govern this flow" in r.output


def test_ruleset_json():
    r = run(
        "explain",
        str(V / "three-tier.fw"),
        "-i",
        str(V / "inventory.yaml"),
        "--flow",
        "frontend -> backend tcp/8080",
        "--format",
        "json",
    )
    doc = json.loads(r.output)
    assert doc["decision"] == "allow" and doc["by"] == {"rule": "20", "line": 8}
    assert [s["matched"] for s in doc["trace"]] == [False, True]


def test_policies_explain():
    r = run(
        "explain", str(V / "three-tier.yaml"), "-i", str(V / "inventory.yaml"), "--flow", "frontend -> backend tcp/8080"
    )
    assert r.exit_code == 0, r.output
    assert "egress of pod shop/{app=frontend}: allowed" in r.output and "shop/frontend egress rule 0" in r.output
    assert "ingress of pod shop/{app=backend}: allowed" in r.output and "shop/backend ingress rule 0" in r.output
    assert r.output.splitlines()[-1] == "decision: allow"
    r = run(
        "explain",
        str(V / "three-tier.yaml"),
        "-i",
        str(V / "inventory.yaml"),
        "--flow",
        "backend -> frontend tcp/8443",
        "--format",
        "json",
    )
    doc = json.loads(r.output)
    assert doc["decision"] == "deny" and doc["egress"]["allowed"] is False
    assert "shop/lockdown" in doc["egress"]["policies"]


def test_policies_named_port_and_no_inventory():
    r = run("explain", str(V / "three-tier.yaml"), "-i", str(V / "inventory.yaml"), "--flow", "backend -> db tcp/5432")
    assert "shop/db ingress rule 0" in r.output and r.output.splitlines()[-1] == "decision: allow"
    # without an inventory a pod given as namespace/labels declares no named port
    r = run("explain", str(V / "three-tier.yaml"), "--flow", "shop/app=backend -> shop/app=db tcp/5432")
    assert r.exit_code == 0 and r.output.splitlines()[-1] == "decision: deny"


def test_cli_errors(tmp_path):
    r = run("explain", str(V / "three-tier.fw"), "-i", str(V / "inventory.yaml"), "--flow", "frontend -> backend")
    assert r.exit_code == 2 and "expected 'SRC -> DST SERVICE'" in r.output
    r = run("explain", str(V / "three-tier.fw"), "--flow", "frontend -> backend tcp/1")
    assert r.exit_code == 2 and "--inventory" in r.output
    r = run("explain", str(V / "three-tier.fw"), "-i", str(V / "inventory.yaml"), "--flow", "10.0.1.9 -> backend tcp/1")
    assert r.exit_code == 2 and "legacy address of workload frontend" in r.output
    bad = tmp_path / "bad.fw"
    bad.write_text("allow any -> any\n")
    r = run("explain", str(bad), "-i", str(V / "inventory.yaml"), "--flow", "frontend -> backend tcp/1")
    assert r.exit_code == 2 and f"{bad}:1:17: error:" in r.output and "Traceback" not in r.output


# --- issue 22: numbers in ASCII digits only, names and labels as the API server takes them ----------


@pytest.mark.parametrize(
    "flow, what",
    [
        ("10.1.0.5 -> shop/app=backend tcp/²", "must be ASCII"),  # '²'.isdigit() holds, int('²') raises
        ("10.1.0.5 -> shop/app=backend udp/٥٣", "must be ASCII"),
        ("10.1.0.5 -> shop/app=backend proto/¹⁷", "must be ASCII"),
        ("10.1.0.5 -> shop/app=backend icmp/³", "must be ASCII"),
        ("10.1.0.5 -> shop/app=backend \u212a/1", "must be ASCII"),  # the Kelvin sign lowercases to 'k'
        ("10.1.0.5 -> shop/app=backend tcp/" + "9" * 5000, "needs a port 1-65535"),
        ("10.1.0.5 -> shop/app=backend proto/" + "9" * 30, "bad protocol"),
        ("10.1.0.5 -> shop/app=back\x1bend tcp/80", "label value"),
        ("10.1.0.5 -> sh\u00f6p/app=backend tcp/80", "not a namespace name"),
    ],
)
def test_hostile_flows_are_input_errors(flow, what):
    with pytest.raises(InputError) as exc:
        parse_flow(flow, INV)
    assert what in exc.value.message, exc.value.message


def test_superscript_port_through_the_cli():
    res = run("explain", str(V / "three-tier.fw"), "-i", str(V / "inventory.yaml"), "--flow", "10.1.0.5 -> db tcp/²")
    assert res.exit_code == 2 and "error: bad flow" in res.output and "Traceback" not in res.output, res.output
