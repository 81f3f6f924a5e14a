"""The FortiGate frontend: the real 280 KB configuration (only what the policies need is parsed),
objects and policies, errors at file:line:column, and random policy lists against a direct
evaluator of FortiOS's first-match policy list."""

from __future__ import annotations

import re
import time
from pathlib import Path

import netaddr
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.errors import InputError
from translator.frontends import detect, fortigate, load
from translator.model.inventory import parse_inventory
from translator.model.ruleset import ALLOW, DENY

from .cli_errors import assert_cli_error
from .secure import decide

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "realworld"
FGT = REAL / "fortigate" / "labval-fortios-fw-policy.conf"
GENERIC = REAL / "inventories" / "generic.yaml"


def read(text: str, inventory=None):
    [rs] = fortigate.load(text, "fgt.conf", inventory=inventory)
    return rs


def block(name: str, *entries: tuple[str, list[str]]) -> str:
    out = f"config {name}\n"
    for ename, sets in entries:
        out += f'    edit "{ename}"\n' + "".join(f"        set {s}\n" for s in sets) + "    next\n"
    return out + "end\n"


def test_real_configuration_every_policy_fast():
    text = FGT.read_text()
    assert detect(text, str(FGT)) == "fortigate"
    t0 = time.perf_counter()
    [rs] = load(str(FGT))
    assert time.perf_counter() - t0 < 5  # a loose bound; bench/ times it properly
    section = text.split("\nconfig firewall policy\n", 1)[1].split("\nend\n", 1)[0]
    policies = len(re.findall(r"^    edit ", section, re.M))
    assert len(rs.rules) - 1 == policies == 3 and rs.rules[-1].id == "implicit-deny"
    by = {r.id: r for r in rs.rules}
    assert by["2"].action == DENY  # no `set action`: FortiOS's default is deny
    assert decide(rs, "10.0.0.1", "10.0.0.2", 6, 22) == ALLOW and decide(rs, "10.0.0.1", "10.0.0.2", 1, 8) == ALLOW
    assert decide(rs, "192.168.123.1", "192.168.123.6", 6, 9100) == DENY  # srcintf/dstintf: conditions
    inv = parse_inventory(
        "workloads:\n"
        "  a: {namespace: n, labels: {app: a}, addresses: [192.168.123.1/32], zone: inside}\n"
        "  b: {namespace: n, labels: {app: b}, addresses: [192.168.123.6/32], zone: outside}\n",
        "inv.yaml",
    )
    [mapped] = load(str(FGT), inventory=inv)
    assert decide(mapped, "192.168.123.1", "192.168.123.6", 6, 9100) == ALLOW
    assert decide(mapped, "192.168.123.1", "192.168.123.6", 17, 9200) == ALLOW
    r = CliRunner().invoke(cli, ["convert", str(FGT), "-i", str(GENERIC), "-q"])
    assert r.exit_code == 0, r.output


def test_objects_negation_disabled_schedules_and_predefined_services():
    text = (
        block(
            "firewall address",
            ("web", ["subnet 10.1.1.0 255.255.255.0"]),
            ("range", ["type iprange", "start-ip 10.2.0.1", "end-ip 10.2.0.9"]),
            ("cdn", ["type fqdn", 'fqdn "*.cdn.example"']),
            ("bad-host", ["subnet 10.1.1.66/32"]),
        )
        + block(
            "firewall addrgrp", ("clients", ['member "web" "range"', "exclude enable", 'exclude-member "bad-host"'])
        )
        + block("firewall service custom", ("alt-web", ["tcp-portrange 8080-8090 8443:1024-65535"]))
        + block("firewall service group", ("webs", ['member "HTTPS" "alt-web"']))
        + block(
            "firewall policy",
            ("10", ['srcaddr "clients"', 'dstaddr "all"', "action accept", 'service "webs"', 'schedule "always"']),
            ("11", ['srcaddr "all"', 'dstaddr "web"', "action deny", 'service "HTTPS"', "service-negate enable"]),
            ("12", ['srcaddr "all"', 'dstaddr "web"', "action accept", 'service "ALL"', "dstaddr-negate enable"]),
            ("13", ['srcaddr "all"', 'dstaddr "all"', "action accept", 'service "SSH"', "status disable"]),
            ("14", ['srcaddr "all"', 'dstaddr "all"', "action accept", 'service "DNS"', 'schedule "office-hours"']),
            ("15", ['srcaddr "cdn"', 'dstaddr "all"', "action accept", 'service "HTTP"']),
        )
    )
    rs = read(text)
    assert [r.id for r in rs.rules] == ["10", "11", "12", "14", "15", "implicit-deny"]
    assert [s.id for s in rs.skipped] == ["13"]
    assert decide(rs, "10.1.1.5", "8.8.8.8", 6, 443) == ALLOW and decide(rs, "10.2.0.5", "8.8.8.8", 6, 8085) == ALLOW
    assert decide(rs, "10.1.1.66", "8.8.8.8", 6, 443) == ALLOW  # excluded from clients; 12: not to web
    assert decide(rs, "10.1.1.66", "10.1.1.5", 6, 443) == DENY
    assert decide(rs, "8.8.8.8", "10.1.1.5", 6, 22) == DENY  # 11: anything but HTTPS to web is denied
    assert decide(rs, "8.8.8.8", "10.1.1.5", 6, 443) == DENY  # 12: dstaddr-negate: not to web
    assert decide(rs, "8.8.8.8", "9.9.9.9", 17, 53) == ALLOW  # 12 allows everything not to web
    assert [c.reason for c in rs.rules[0].conditions] == ["source port"]  # 8443:1024-65535
    by = {r.id: r for r in rs.rules}
    assert [c.reason for c in by["14"].conditions] == ["time schedule"]
    assert any(getattr(x, "fqdn", "") == "*.cdn.example" for x in by["15"].src.include)


@pytest.mark.parametrize(
    "text, where, msg",
    [
        (
            block("firewall policy", ("1", ['srcaddr "nope"', 'dstaddr "all"', 'service "ALL"'])),
            (3, 21),
            "address 'nope' is not defined",
        ),
        (
            block("firewall policy", ("1", ['srcaddr "all"', 'dstaddr "all"', 'service "nope"'])),
            (5, 21),
            "service 'nope' is not defined",
        ),
        (block("firewall address", ("x", ["subnet 10.0.0.300 255.0.0.0"])), (3, 13), "is not an address and mask"),
        ("config firewall policy\n    edit 1\n        set action accept\n", (3, 26), "unexpected end of input"),
    ],
)
def test_errors_point_at_the_spot(tmp_path, text, where, msg):
    if "firewall address" in text:
        text += block("firewall policy", ("1", ['srcaddr "x"', 'dstaddr "all"', 'service "ALL"']))
    with pytest.raises(InputError) as e:
        read(text)
    assert (e.value.loc.line, e.value.loc.column) == where, e.value.message
    assert msg in e.value.message
    assert_cli_error(tmp_path / "bad.conf", text, "fortigate")


NETS = {"A": "10.0.0.0/8", "B": "10.1.0.0/16", "C": "192.168.0.0/16"}
SOURCES = ["10.1.2.3", "10.9.9.9", "192.168.1.1", "8.8.8.8"]
_pol = st.tuples(
    st.sampled_from(["all", "A", "B", "C"]),
    st.booleans(),
    st.sampled_from(["ALL", "SSH", "HTTP"]),
    st.booleans(),
    st.sampled_from(["accept", "deny", None]),
    st.booleans(),
)
PORTS = {"SSH": 22, "HTTP": 80}


def _forti(pols, src, port) -> str:
    for addr, neg, svc, sneg, action, disabled in pols:
        if disabled:
            continue
        inside = addr == "all" or netaddr.IPAddress(src) in netaddr.IPNetwork(NETS[addr])
        if inside == neg:
            continue
        hit = svc == "ALL" or PORTS[svc] == port
        if hit == sneg:
            continue
        return action or "deny"
    return "deny"


@settings(max_examples=60, deadline=None)
@given(st.lists(_pol, min_size=1, max_size=6))
def test_random_policies_match_fortios(pols):
    entries = []
    for k, (addr, neg, svc, sneg, action, disabled) in enumerate(pols):
        sets = [f'srcaddr "{addr}"', 'dstaddr "all"', f'service "{svc}"']
        sets += ["srcaddr-negate enable"] if neg else []
        sets += ["service-negate enable"] if sneg else []
        sets += [f"action {action}"] if action else []
        sets += ["status disable"] if disabled else []
        entries.append((str(100 - k), sets))  # ids out of order: the list's order decides
    text = block("firewall address", *[(n, [f"subnet {c}"]) for n, c in NETS.items()]) + block(
        "firewall policy", *entries
    )
    rs = read(text)
    for src in SOURCES:
        for port in (22, 80, 443):
            want = ALLOW if _forti(pols, src, port) == "accept" else DENY
            assert decide(rs, src, "1.1.1.1", 6, port) == want, (src, port, text)
