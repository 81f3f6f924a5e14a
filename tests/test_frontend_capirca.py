"""The capirca/aerleon frontend: the corpus's sample policies (terms counted from the files), every
keyword read, aerleon's k8s refusals named, errors at file:line:column, and random policies against a
direct first-match evaluator of the terms."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import netaddr
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.errors import InputError
from translator.frontends import capirca, detect, load
from translator.frontends.capirca.convert import rulesets
from translator.frontends.capirca.definitions import read_definitions
from translator.frontends.capirca.policy import read_policy
from translator.frontends.capirca.yamlform import read_yaml_policy
from translator.model.ruleset import ALLOW, DENY

from .secure import decide

ROOT = Path(__file__).resolve().parents[1]
CAPIRCA = ROOT.parent / "shared" / "corpus" / "capirca"
POLICIES = sorted((CAPIRCA / "policies" / "pol").glob("*.pol"))
GENERIC = ROOT.parent / "shared" / "realworld" / "inventories" / "generic.yaml"

NETWORK = """\
INTERNAL = 10.0.0.0/8   # nested below
           LAB
LAB = 192.168.0.0/16
WEB = 10.1.1.0/24
      2001:db8:1::/48
BAD_HOSTS = 10.1.1.66/32
"""
SERVICES = """\
SSH = 22/tcp
WEB = 80/tcp 443/tcp
DNS = 53/tcp 53/udp
HIGH = 1024-65535/tcp
"""


def policy(tmp_path: Path, text: str, name="p.pol") -> Path:
    (tmp_path / "def").mkdir(exist_ok=True)
    (tmp_path / "def" / "NETWORK.net").write_text(NETWORK)
    (tmp_path / "def" / "SERVICES.svc").write_text(SERVICES)
    (tmp_path / "pol").mkdir(exist_ok=True)
    p = tmp_path / "pol" / name
    p.write_text(text)
    return p


# --- the corpus ----------------------------------------------------------------------------------


def _terms(path: Path) -> int:
    """Terms of a policy, its includes too, counted from the text."""
    text = path.read_text()
    n = len(re.findall(r"^\s*term\s+\S+\s*\{", text, re.M))
    for inc in re.findall(r"^#include\s+'([^']+)'", text, re.M):
        n += _terms(CAPIRCA / "policies" / inc)
    return n


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_corpus_policies_read_every_term(path):
    assert detect(path.read_text(), str(path)) == "capirca"
    rss = load(str(path))
    assert sum(len(rs.rules) + len(rs.skipped) for rs in rss) == _terms(path)
    r = CliRunner().invoke(cli, ["convert", str(path), "-i", str(GENERIC), "-q", "--ruleset", rss[0].name])
    assert r.exit_code == 0, r.output


def test_multitarget_with_its_include_decides_as_the_terms_say():
    inbound, outbound = load(str(CAPIRCA / "policies" / "pol" / "sample_multitarget.pol"))
    assert inbound.name == "edge-inbound" and outbound.name == "edge-outbound"
    assert [r.id for r in inbound.rules][:3] == ["deny-from-bogons", "deny-from-reserved", "deny-to-rfc1918"]
    assert decide(inbound, "8.8.8.8", "200.1.1.4", 6, 25) == ALLOW  # permit-mail-services
    assert decide(inbound, "10.1.1.1", "200.1.1.4", 6, 25) == DENY  # deny-from-reserved (RFC1918) first
    assert decide(inbound, "8.8.8.8", "200.1.1.1", 6, 22) == DENY  # the implicit deny
    assert (
        decide(outbound, "200.1.1.4", "10.0.0.1", 6, 80) == DENY
        and decide(outbound, "200.1.1.4", "8.8.8.8", 6, 80) == ALLOW
    )
    assert {s.id for s in inbound.skipped} == {"permit-tcp-established"}


def test_k8s_policy_directions_and_aerleon_refusals():
    ingress, egress = load(str(CAPIRCA / "policies" / "pol" / "sample_k8s.pol"))
    assert ingress.directions == ("ingress",) and egress.directions == ("egress",)
    assert not [w for w in ingress.warnings + egress.warnings if "aerleon" in str(w)]  # written for aerleon
    [rs] = load(str(CAPIRCA / "policies" / "pol" / "sample_packetfilter.pol"))
    refused = [str(w) for w in rs.warnings if "aerleon's k8s generator would refuse" in str(w)]
    assert refused and all("fw2np translates it exactly" in w for w in refused)


# --- constructs ----------------------------------------------------------------------------------


def test_names_excludes_protocols_ports_icmp_and_families(tmp_path):
    p = policy(
        tmp_path,
        "header {\n  target:: juniper edge mixed\n}\n"
        "term no-bad {\n  source-address:: INTERNAL\n  source-exclude:: WEB\n  destination-address:: WEB\n"
        "  destination-exclude:: BAD_HOSTS\n  protocol:: tcp udp\n  destination-port:: WEB DNS\n  action:: accept\n}\n"
        "term ping {\n  protocol:: icmp\n  icmp-type:: echo-request\n  action:: accept\n}\n"
        "term six {\n  destination-address:: WEB\n  protocol:: tcp\n  destination-port:: SSH\n  action:: accept\n}\n",
    )
    [rs] = load(str(p))
    assert decide(rs, "10.2.0.1", "10.1.1.5", 6, 443) == ALLOW
    assert decide(rs, "10.2.0.1", "10.1.1.5", 17, 53) == ALLOW and decide(rs, "10.2.0.1", "10.1.1.5", 17, 443) == DENY
    assert decide(rs, "10.1.1.9", "10.1.1.5", 6, 80) == DENY  # source-exclude
    assert decide(rs, "10.2.0.1", "10.1.1.66", 6, 80) == DENY  # destination-exclude
    assert decide(rs, "192.168.3.3", "10.1.1.5", 6, 80) == ALLOW  # nested LAB
    assert decide(rs, "8.8.8.8", "1.1.1.1", 1, 8) == ALLOW and decide(rs, "8.8.8.8", "1.1.1.1", 1, 0) == DENY
    assert decide(rs, "2001:db8:9::1", "2001:db8:1::5", 6, 22) == ALLOW  # mixed: IPv6 too
    p6 = policy(
        tmp_path, "header {\n  target:: juniper v6only inet6\n}\n" + p.read_text().split("}\n", 1)[1], "six.pol"
    )
    [rs6] = load(str(p6))
    assert {s.id for s in rs6.skipped} == {"no-bad"}  # IPv4 addresses only: no term in an inet6 filter
    assert decide(rs6, "2001:db8:9::1", "2001:db8:1::5", 6, 22) == ALLOW


def test_options_expiration_next_verbatim_conditions_and_k8s(tmp_path):
    past = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
    future = (datetime.date.today() + datetime.timedelta(days=300)).isoformat()
    p = policy(
        tmp_path,
        'header {\n  comment:: "k8s ingress"\n  target:: k8s\n}\n'
        "term est {\n  source-address:: INTERNAL\n  protocol:: tcp\n  option:: tcp-established\n  action:: accept\n}\n"
        f"term old {{\n  source-address:: LAB\n  expiration:: {past}\n  action:: accept\n}}\n"
        f'term new {{\n  comment:: "lab web"\n  source-address:: LAB\n  expiration:: {future}\n  protocol:: tcp\n'
        "  destination-port:: WEB\n  action:: accept\n}\n"
        "term chain {\n  action:: next\n}\n"
        'term raw {\n  verbatim:: juniper "term x { then accept; }"\n  action:: accept\n}\n'
        "term sport {\n  source-address:: INTERNAL\n  protocol:: tcp\n  source-port:: HIGH\n  action:: accept\n}\n"
        "term block-bad {\n  source-address:: BAD_HOSTS\n  action:: deny\n}\n"
        "term web {\n  source-address:: INTERNAL\n  protocol:: tcp\n  destination-port:: WEB\n  action:: accept\n}\n"
        "term default-deny {\n  action:: deny\n}\n",
    )
    [rs] = load(str(p))
    assert rs.directions == ("ingress",)
    skipped = {s.id: s.reason for s in rs.skipped}
    assert set(skipped) == {"est", "old", "chain", "raw"}
    assert f"expired on {past}" in skipped["old"]
    assert decide(rs, "192.168.1.1", "10.9.9.9", 6, 443) == ALLOW and rs.rules[0].comment == "lab web"
    assert decide(rs, "10.1.1.66", "10.9.9.9", 6, 80) == DENY  # the deny aerleon refuses, kept in order
    assert decide(rs, "10.1.1.67", "10.9.9.9", 6, 80) == ALLOW
    by = {r.id: r for r in rs.rules}
    assert [c.reason for c in by["sport"].conditions] == ["source port"]
    refused = {w.rule: str(w) for w in rs.warnings if "aerleon" in str(w)}
    assert set(refused) == {"sport", "block-bad"} and "an explicit deny" in refused["block-bad"]
    r = CliRunner().invoke(cli, ["convert", str(p), "-i", str(GENERIC), "--definitions", str(tmp_path / "def"), "-q"])
    assert r.exit_code == 0, r.output


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, where, msg",
    [
        ("term a {\n  source-address:: NOPE\n  action:: accept\n}\n", (5, 20), "network 'NOPE' is not defined"),
        ("term a {\n  protocol:: tcp\n  destination-port:: NOPE\n  action:: accept\n}\n", (6, 22), "service 'NOPE'"),
        ("term a {\n  protocol:: foo\n  action:: accept\n}\n", (5, 14), "unknown protocol 'foo'"),
        ("term a {\n  action:: maybe\n}\n", (5, 3), "action maybe"),
        ("term a {\n  destination-port:: SSH\n  action:: accept\n}\n", (5, 3), "destination-port needs a protocol"),
        ("term a {\n  expiration:: soon\n  action:: accept\n}\n", (5, 3), "expiration 'soon': YYYY-MM-DD"),
        ("term a {\n  action:: accept\n", (5, 12), "unexpected end of input"),
        ("#include 'nope.inc'\n", (4, 1), "#include 'nope.inc': not found"),
    ],
)
def test_errors_point_at_the_spot(tmp_path, body, where, msg):
    p = policy(tmp_path, "header {\n  target:: juniper f\n}\n" + body)
    with pytest.raises(InputError) as e:
        load(str(p))
    assert (e.value.loc.line, e.value.loc.column) == where, e.value.message
    assert msg in e.value.message
    r = CliRunner().invoke(cli, ["convert", str(p), "-i", str(GENERIC)])
    assert r.exit_code == 2 and r.output.startswith(f"{p}:") and "Traceback" not in r.output


def test_a_bad_definition_points_into_its_file(tmp_path):
    p = policy(
        tmp_path,
        "header {\n  target:: juniper f\n}\n"
        "term a {\n  protocol:: tcp\n  destination-port:: BAD\n  action:: accept\n}\n",
    )
    (tmp_path / "def" / "SERVICES.svc").write_text(SERVICES + "BAD = 99999/tcp\n")
    with pytest.raises(InputError) as e:
        load(str(p))
    assert e.value.loc.file.endswith("SERVICES.svc") and e.value.loc.line == 5 and "ports 0-65535" in e.value.message


# --- random policies against the terms' own first-match semantics ---------------------------------------

NETS = {"A": "10.0.0.0/8", "B": "10.1.0.0/16", "C": "10.1.2.0/24", "D": "192.168.0.0/16"}
SOURCES = ["10.1.2.3", "10.1.9.9", "10.9.9.9", "192.168.1.1", "8.8.8.8"]
_term = st.tuples(
    st.sampled_from([None, *NETS]),
    st.sampled_from([None, *NETS]),
    st.sampled_from([None, 22, 80]),
    st.sampled_from(["accept", "deny", "reject", "next"]),
)


def _inside(src: str, name) -> bool:
    return name is not None and netaddr.IPAddress(src) in netaddr.IPNetwork(NETS[name])


def _direct(terms, src, port) -> str:
    for net, exclude, p, action in terms:
        if action == "next":
            continue
        if net and not _inside(src, net):
            continue
        if exclude and _inside(src, exclude):
            continue
        if p and p != port:
            continue
        return action
    return "deny"


@settings(max_examples=60, deadline=None)
@given(st.lists(_term, min_size=1, max_size=7))
def test_random_policies_match_first_match_terms(terms):
    text = "header {\n  target:: juniper f inet\n}\n"
    for k, (net, exclude, port, action) in enumerate(terms):
        text += f"term t{k} {{\n"
        text += f"  source-address:: {net}\n" if net else ""
        text += f"  source-exclude:: {exclude}\n" if exclude else ""
        text += f"  protocol:: tcp\n  destination-port:: P{port}\n" if port else ""
        text += f"  action:: {action}\n}}\n"
    defs = "".join(f"{k} = {v}\n" for k, v in NETS.items())
    pol = read_policy(text, "random.pol")
    from translator.errors import Loc
    from translator.frontends.capirca.definitions import Definitions
    from translator.frontends.capirca.policy import Value

    d = Definitions(
        networks={k: [Value(v, Loc("NETWORK.net", 1, 1))] for k, v in NETS.items()},
        services={f"P{p}": [Value(f"{p}/tcp", Loc("SERVICES.svc", 1, 1))] for p in (22, 80)},
        folder="def",
    )
    assert defs  # the same names as a NETWORK.net would give
    [rs] = rulesets(pol, d)
    [rs_yaml] = rulesets(read_yaml_policy(_yaml(terms), "random.yaml"), d)
    for src in SOURCES:
        for port in (22, 80, 443):
            want = ALLOW if _direct(terms, src, port) == "accept" else DENY
            assert decide(rs, src, "1.1.1.1", 6, port) == want, (src, port, text)
            assert decide(rs_yaml, src, "1.1.1.1", 6, port) == want, (src, port, "yaml")


def _yaml(terms) -> str:
    """The same terms as an aerleon YAML policy."""
    out = "filters:\n  - header:\n      targets:\n        juniper: f inet\n    terms:\n"
    for k, (net, exclude, port, action) in enumerate(terms):
        out += f"      - name: t{k}\n"
        out += f"        source-address: {net}\n" if net else ""
        out += f"        source-exclude: {exclude}\n" if exclude else ""
        out += f"        protocol: tcp\n        destination-port: P{port}\n" if port else ""
        out += f"        action: {action}\n"
    return out


def test_read_definitions_of_the_corpus():
    d = read_definitions(str(CAPIRCA / "def"))
    assert "RFC1918" in d.networks and [v.text for v in d.services["DNS"]] == ["53/tcp", "53/udp"]
    assert capirca.detect((CAPIRCA / "def" / "NETWORK.net").read_text(), "NETWORK.net") == 0


def test_batch_skips_definitions_and_include_files(tmp_path):
    import json
    import shutil

    shutil.copytree(CAPIRCA, tmp_path / "in")
    r = CliRunner().invoke(cli, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-i", str(GENERIC)])
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "out" / "report" / "report.json").read_text())
    status = {f["path"]: (f["status"], f.get("reason", "")) for f in report["files"]}
    assert status["def/NETWORK.net"] == ("skipped", "capirca definitions, read with the policies that use them")
    assert status["policies/includes/untrusted-networks-blocking.inc"][0] == "skipped"
    assert sum(s == "ok" for s, _ in status.values()) == len(POLICIES)


def test_aerleon_yaml_policy_with_include_and_yaml_definitions(tmp_path):
    (tmp_path / "def").mkdir()
    (tmp_path / "def" / "naming.yaml").write_text(
        "networks:\n  RFC1918:\n    values:\n      - ip: 10.0.0.0/8\n        comment: non-public\n"
        "  INSIDE:\n    values:\n      - name: RFC1918\n  BAD:\n    values:\n      - ip: 10.6.6.6/32\n"
        "services:\n  SSH:\n    - port: 22\n      protocol: tcp\n  HIGH:\n    - port: 1024-65535\n      protocol: tcp\n"
    )
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "extra.yaml").write_text(
        "terms:\n  - name: high\n    source-address: INSIDE\n    protocol: tcp\n    destination-port: HIGH\n"
        "    action: accept\n"
    )
    p = tmp_path / "pol" / "k8s.yaml"
    p.write_text(
        "filters:\n  - header:\n      targets:\n        k8s:\n    terms:\n"
        "      - name: block-bad\n        source-address: BAD\n        action: deny\n"
        '      - name: ssh\n        comment: "Allow SSH\n          from inside"\n        source-address: INSIDE\n'
        "        protocol: tcp\n        destination-port: SSH\n        action: accept\n"
        "      - include: extra.yaml\n"
        "      - name: default-deny\n        action: deny\n"
    )
    assert detect(p.read_text(), str(p)) == "capirca"
    [rs] = load(str(p))
    assert [r.id for r in rs.rules] == ["block-bad", "ssh", "high", "default-deny"]
    assert rs.rules[1].comment == "Allow SSH from inside" and rs.rules[2].loc.file.endswith("extra.yaml")
    assert decide(rs, "10.6.6.6", "10.9.9.9", 6, 22) == DENY and decide(rs, "10.6.6.7", "10.9.9.9", 6, 22) == ALLOW
    assert decide(rs, "10.6.6.7", "10.9.9.9", 6, 8080) == ALLOW and decide(rs, "8.8.8.8", "10.9.9.9", 6, 22) == DENY
    assert any("refuses an explicit deny" in str(w) for w in rs.warnings)
    (tmp_path / "def" / "naming.yaml").write_text("networks:\n  BAD:\n    values:\n      - cidr: 10.6.6.6/32\n")
    with pytest.raises(InputError) as e:
        load(str(p))
    assert e.value.loc.file.endswith("naming.yaml") and e.value.loc.line == 4 and "{ip: ...}" in e.value.message
