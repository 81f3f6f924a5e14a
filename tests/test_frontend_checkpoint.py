"""The Check Point frontend: the corpus's show-access-rulebase export, sections, inline layers,
groups with exclusion, negated cells, disabled rules, errors at file:line:column, and random
rulebases against a direct evaluator of Check Point's first-match layers."""

from __future__ import annotations

import json
from pathlib import Path

import netaddr
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.errors import InputError
from translator.frontends import checkpoint, detect, load
from translator.model.ruleset import ALLOW, DENY

from .cli_errors import assert_cli_error
from .secure import decide

ROOT = Path(__file__).resolve().parents[1]
CP = (
    ROOT.parent
    / "shared"
    / "corpus"
    / "checkpoint"
    / "lab-validation_checkpoint_basic_fw_policy_show-access-rulebase.json"
)
GENERIC = ROOT.parent / "shared" / "realworld" / "inventories" / "generic.yaml"

ANY = {"uid": "any", "type": "CpmiAnyObject", "name": "Any"}
ACCEPT = {"uid": "acc", "type": "RulebaseAction", "name": "Accept"}
DROP = {"uid": "drop", "type": "RulebaseAction", "name": "Drop"}
LAYER = {"uid": "layer", "type": "RulebaseAction", "name": "Apply Layer"}


def rule(n, src=("any",), dst=("any",), svc=("any",), action="acc", **more):
    return {"type": "access-rule", "rule-number": n, "name": f"r{n}", "source": list(src), "destination": list(dst),
            "service": list(svc), "action": action, "enabled": True, **more}  # fmt: skip


def export(rules, *objects) -> str:
    return json.dumps(
        {"name": "Net", "rulebase": rules, "objects-dictionary": [ANY, ACCEPT, DROP, LAYER, *objects]}, indent=2
    )


def read(text: str):
    [rs] = checkpoint.load(text, "cp.json")
    return rs


def test_corpus_rulebase_every_rule():
    assert detect(CP.read_text(), str(CP)) == "checkpoint"
    [rs] = load(str(CP))
    assert len(rs.rules) - 1 == len(json.loads(CP.read_text())["rulebase"]) == 5
    assert decide(rs, "10.12.11.5", "172.16.0.3", 6, 22) == ALLOW
    assert decide(rs, "10.12.11.5", "172.16.0.3", 1, 8) == DENY  # Deny_ICMP_in_to_out
    assert decide(rs, "8.8.8.8", "10.150.0.15", 6, 443) == ALLOW  # MGMT: any service to the gateway
    assert decide(rs, "10.12.11.5", "172.16.0.4", 6, 22) == DENY  # the cleanup rule
    r = CliRunner().invoke(cli, ["convert", str(CP), "-i", str(GENERIC), "-q"])
    assert r.exit_code == 0, r.output


NET = {"uid": "net", "type": "network", "name": "net", "subnet4": "10.1.0.0", "mask-length4": 16}
BAD = {"uid": "bad", "type": "host", "name": "bad", "ipv4-address": "10.1.6.6"}
RANGE = {
    "uid": "rng",
    "type": "address-range",
    "name": "rng",
    "ipv4-address-first": "10.2.0.1",
    "ipv4-address-last": "10.2.0.9",
}
CLIENTS = {"uid": "cli", "type": "group-with-exclusion", "name": "clients", "include": "grp", "except": "bad"}
GROUP = {"uid": "grp", "type": "group", "name": "grp", "members": ["net", "rng"]}
WEB = {"uid": "web", "type": "service-tcp", "name": "web", "port": "80"}
LOW = {"uid": "low", "type": "service-tcp", "name": "low", "port": "<1024"}
SVCS = {"uid": "svcs", "type": "service-group", "name": "svcs", "members": ["web", "dns"]}
DNS = {"uid": "dns", "type": "service-udp", "name": "dns", "port": "53"}
CDN = {"uid": "cdn", "type": "dns-domain", "name": ".cdn.example"}
NIGHT = {"uid": "night", "type": "time", "name": "night"}


def test_sections_inline_layers_exclusions_negations_and_disabled():
    rules = [
        {"type": "access-section", "name": "first", "rulebase": [
            rule(1, src=["cli"], svc=["svcs"]),
            rule(2, src=["bad"], action="drop"),
        ]},
        rule(3, dst=["net"], action="layer", **{"inline-layer": "L", "rulebase": [
            rule(1, svc=["web"]),
        ]}),
        rule(4, src=["net"], svc=["low"], **{"service-negate": True}),
        rule(5, src=["net"], **{"source-negate": True, "destination-negate": True, "destination": ["net"]}),
        rule(6, svc=["web"], enabled=False),
        rule(7, src=["cdn"]),
        rule(8, time=["night"]),
    ]  # fmt: skip
    rs = read(export(rules, NET, BAD, RANGE, CLIENTS, GROUP, WEB, LOW, SVCS, DNS, CDN, NIGHT))
    assert [s.id for s in rs.skipped] == ["6"]
    assert decide(rs, "10.1.2.3", "9.9.9.9", 6, 80) == ALLOW and decide(rs, "10.2.0.5", "9.9.9.9", 17, 53) == ALLOW
    assert decide(rs, "10.1.6.6", "9.9.9.9", 6, 80) == DENY  # excluded from clients, then rule 2
    assert decide(rs, "8.8.8.8", "10.1.2.3", 6, 80) == ALLOW  # the inline layer's rule 3.1
    assert decide(rs, "8.8.8.8", "10.1.2.3", 6, 22) == DENY  # the inline layer's cleanup
    assert decide(rs, "10.1.2.3", "9.9.9.9", 6, 2000) == ALLOW  # 4: all but the low ports
    assert decide(rs, "10.1.2.3", "9.9.9.9", 6, 22) == DENY  # ... and 8's time is a condition: the cleanup
    assert decide(rs, "8.8.8.8", "9.9.9.9", 6, 22) == ALLOW  # 5: neither side in net
    by = {r.id: r for r in rs.rules}
    assert any(getattr(x, "fqdn", "") == "*.cdn.example" for x in by["7"].src.include)
    assert [c.reason for c in by["8"].conditions] == ["time"]
    assert [r.id for r in rs.rules][2:4] == ["3.1", "3.cleanup"]


def test_errors_point_at_the_spot(tmp_path):
    text = export([rule(1, src=["missing"])])
    with pytest.raises(InputError) as e:
        read(text)
    assert "object 'missing' is not in the objects-dictionary" in e.value.message and e.value.loc.line == 4
    bad = export([rule(1, svc=["p"])], {"uid": "p", "type": "service-tcp", "name": "p", "port": "x1"})
    with pytest.raises(InputError) as e:
        read(bad)
    assert "port 'x1'" in e.value.message and e.value.loc.line > 1
    assert_cli_error(tmp_path / "bad.json", text, "checkpoint")


NETS = {"a": "10.0.0.0/8", "b": "10.1.0.0/16", "c": "192.168.0.0/16"}
OBJS = [{"uid": k, "type": "network", "name": k, "subnet4": v.split("/")[0], "mask-length4": int(v.split("/")[1])}
        for k, v in NETS.items()] + [{"uid": "ssh", "type": "service-tcp", "name": "ssh", "port": "22"}]  # fmt: skip
_r = st.tuples(st.sampled_from(["any", "a", "b", "c"]), st.booleans(), st.sampled_from(["any", "ssh"]), st.booleans(),
               st.sampled_from(["acc", "drop"]), st.booleans())  # fmt: skip


def _cp(rules, src, port) -> str:
    for addr, neg, svc, sneg, action, enabled in rules:
        if not enabled:
            continue
        inside = addr == "any" or netaddr.IPAddress(src) in netaddr.IPNetwork(NETS[addr])
        if inside == neg:
            continue
        if (svc == "any" or port == 22) == sneg:
            continue
        return action
    return "drop"


@settings(max_examples=50, deadline=None)
@given(st.lists(_r, min_size=1, max_size=6))
def test_random_rulebases_match_check_point(rules):
    body = [rule(k + 1, src=[a], svc=[s], action=act, enabled=en, **{"source-negate": n, "service-negate": sn})
            for k, (a, n, s, sn, act, en) in enumerate(rules)]  # fmt: skip
    rs = read(export(body, *OBJS))
    for src in ["10.1.2.3", "10.9.9.9", "192.168.1.1", "8.8.8.8"]:
        for port in (22, 80):
            want = ALLOW if _cp(rules, src, port) == "acc" else DENY
            assert decide(rs, src, "1.1.1.1", 6, port) == want, (src, port, rules)
