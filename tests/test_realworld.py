"""The second collection of real exports (../shared/realworld): detection, the cloud formats' rule counts,
files that are not rulesets, and hand-decided flows checked with explain against the converted policies.

The Cisco, iptables and Azure files have test files of their own (test_realworld_cisco.py, ...)."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from translator.cli.main import cli
from translator.compiler.synth import convert
from translator.errors import InputError
from translator.frontends import detect, load
from translator.io.text import read_text
from translator.model.inventory import load_inventory
from translator.verify.core import verify

from .conftest import ROOT

REAL = ROOT.parent / "shared" / "realworld"
GENERIC = REAL / "inventories" / "generic.yaml"
CLAIMED = {
    "aws-nacl": "aws-nacl",
    "azure-nsg": "azure-nsg",
    "cisco-asa": "cisco-asa",
    "cisco-ios": "cisco-ios",
    "csv": "csv",
    "gcp": "gcp",
    "iptables": "iptables",
    "nftables": "nftables",
    "pf": "pf",
    "junos": "junos",
    "fortigate": "fortigate",
    "panos": "panos",
}
UNREAD = {
    "terraform": "Terraform",
}


def files(folder: str) -> list[str]:
    return sorted(p.name for p in (REAL / folder).iterdir() if p.is_file())


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_the_collection_is_here():
    assert REAL.is_dir(), "../shared/realworld is missing"
    assert set(CLAIMED) | set(UNREAD) | {"inventories"} == {p.name for p in REAL.iterdir() if p.is_dir()}


@pytest.mark.parametrize("folder,name", [(d, f) for d in CLAIMED for f in files(d)])
def test_detected_as_its_format(folder, name):
    path = str(REAL / folder / name)
    assert detect(read_text(path), path) == CLAIMED[folder]


@pytest.mark.parametrize("folder,name", [(d, f) for d in UNREAD for f in files(d)])
def test_unread_formats_are_named_not_guessed(folder, name):
    with pytest.raises(InputError) as err:
        load(str(REAL / folder / name))
    assert f"looks like a {UNREAD[folder]} configuration" in err.value.message


def test_an_error_after_a_weak_detection_names_the_format_it_assumed(tmp_path):
    """Weak signs (a ruleset-language look, no .fw): the error says which format it speaks of; a sure one
    (an iptables-save file with *filter and COMMIT) does not need to."""
    weak = tmp_path / "r.txt"
    weak.write_text("allow any -> any tcp/80\nallow any -> 10.0.0.1 tcp/99999\n")
    r = run("convert", weak, "-i", GENERIC)
    assert r.exit_code == 2 and "(read as --from rules, detected from the content)" in r.output
    sure = tmp_path / "f.rules"
    sure.write_text("*filter\n:INPUT DROP [0:0]\n-A INPUT -s 300.1.1.1 -j ACCEPT\nCOMMIT\n")
    r = run("convert", sure, "-i", GENERIC, "--host", "host")
    assert r.exit_code == 2 and "read as --from" not in r.output and "f.rules:3:" in r.output


# --- AWS network ACLs ------------------------------------------------------------------------------------


def nacl_counts(path) -> dict[str, int]:
    """Entries per ACL and direction, but the default (32767) entry: counted from the JSON itself."""
    out = {}
    for acl in json.loads(path.read_text())["NetworkAcls"]:
        for egress in (False, True):
            name = f"{acl['NetworkAclId']}-{'egress' if egress else 'ingress'}"
            out[name] = sum(e["Egress"] == egress and e["RuleNumber"] != 32767 for e in acl["Entries"])
    return out


@pytest.mark.parametrize("name", files("aws-nacl"))
def test_nacl_rule_counts_and_equivalence(name):
    path = REAL / "aws-nacl" / name
    inv = load_inventory(str(GENERIC))
    rulesets = load(str(path), inventory=inv)
    assert {rs.name: rs.lines_seen for rs in rulesets} == nacl_counts(path)
    for rs in rulesets:  # an allow some of whose replies the other direction drops is split in two
        assert len({r.id.removesuffix("/replies-dropped") for r in rs.rules}) == rs.lines_seen
    for rs in rulesets:
        result = convert(rs, inv)
        rep, _ = verify(rs, inv, result.policies)
        assert rep.exit_code() == 0 and rep.by_direction["more-permissive"] == 0, rs.name


# --- GCP --------------------------------------------------------------------------------------------------


def gcp_entries(path) -> dict[str, list[tuple[str, str]]]:
    """(id, action) of every rule entry per network and direction, VPC rules and policy rules, from the JSON."""
    data = json.loads(path.read_text())
    vpc = data.get("firewalls", [])

    def net_of(r):
        return r.get("network", "").rstrip("/").rsplit("/", 1)[-1] or "gcp"

    out = {}
    for net in {net_of(r) for r in vpc} or {"gcp"}:
        for direction in ("INGRESS", "EGRESS"):
            mine = [
                (r["name"], "allow" if "allowed" in r else "deny")
                for r in vpc
                if r.get("direction", "INGRESS") == direction and net_of(r) == net
            ]
            for p in data.get("firewallPolicys", []):
                pname = p.get("shortName") or p.get("displayName") or p.get("name")
                mine += [
                    (f"{pname}/{r['priority']}", r["action"]) for r in p["rules"] if r.get("direction") == direction
                ]
            out[f"{net}-{direction.lower()}"] = mine
    return out


@pytest.mark.parametrize("name", files("gcp"))
def test_gcp_rule_lines_and_equivalence(name):
    path = REAL / "gcp" / name
    inv = load_inventory(str(GENERIC))
    rulesets = load(str(path))
    entries = gcp_entries(path)
    assert {rs.name: rs.lines_seen for rs in rulesets} == {k: len(v) for k, v in entries.items()}
    for rs in rulesets:
        # every entry is a rule (goto_next flattening writes 'id@goto' and merges 'a+b'), a skipped entry,
        # or a goto_next (which is structure: it sends flows on to the next level)
        read = {part for r in rs.rules for piece in r.id.split("@") for part in piece.split("+")}
        lost = [e for e, action in entries[rs.name] if action != "goto_next" and e not in read]
        assert sorted(lost) == sorted(s.id for s in rs.skipped), rs.name
        assert rs.folded == sum(action == "goto_next" for _, action in entries[rs.name])
        rep, _ = verify(rs, inv, convert(rs, inv).policies)
        assert rep.exit_code() == 0 and rep.by_direction["more-permissive"] == 0, rs.name


# --- CSV --------------------------------------------------------------------------------------------------


def test_panorama_rule_csv_converts():
    path = REAL / "csv" / "panco-panorama-security-rules.csv"
    rows = [ln for ln in path.read_text().splitlines()[1:] if ln.strip()]
    (rs,) = load(str(path))
    assert rs.lines_seen == len(rows) and [r.id for r in rs.rules] == ["internal_outbound"]


def test_traffic_log_is_not_a_ruleset():
    path = REAL / "csv" / "panco-traffic-log-not-rules.csv"
    r = run("convert", path, "-i", GENERIC)
    assert r.exit_code == 2 and "this is a traffic log, not a rule export" in r.output
    assert r.output.startswith(f"{path}:1:1: error:") and "Traceback" not in r.output


def test_error_messages_name_csv_as_the_readme_does():
    r = run("convert", REAL / "terraform" / "gcpdiag-fw-policy-firewall.tf", "-i", GENERIC)
    assert (
        r.exit_code == 2
        and "csv, capirca, junos, fortigate, panos, checkpoint)" in r.output
        and "csv-rules" not in r.output
    )
    assert (
        run(
            "convert", REAL / "csv" / "panco-panorama-security-rules.csv", "-i", GENERIC, "--from", "csv-rules"
        ).exit_code
        == 0
    )


# --- hand-decided flows, with explain over the converted policies -----------------------------------------

TGW = REAL / "aws-nacl" / "labval-tgw-nacl-test-NetworkAcls.json"
TGW_INV = REAL / "inventories" / "labval-tgw-nacl.yaml"


def decide(policies, inv, flow) -> str:
    r = run("explain", policies, "-i", inv, "--flow", flow, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["decision"]


@pytest.mark.parametrize(
    "flow,want",
    [
        # acl-054279d3d0ed03dd5 ingress: 1 deny 10.1.101.14, 10 allow tcp/22 from 10.1.100.100,
        # 20 deny tcp/22 from anywhere, 1000 allow all
        ("bad -> sub tcp/443", "deny"),
        ("jump -> sub tcp/22", "allow"),
        ("203.0.113.5 -> sub tcp/22", "deny"),
        ("203.0.113.5 -> sub tcp/443", "allow"),
        ("203.0.113.5 -> sub udp/53", "allow"),
    ],
)
def test_nacl_flows_decided_by_hand(tmp_path, flow, want):
    out = tmp_path / "nacl.yaml"
    args = ("-i", TGW_INV, "--host", "sub", "--ruleset", "acl-054279d3d0ed03dd5-ingress")
    assert run("convert", TGW, *args, "-o", out, "-q").exit_code == 0
    assert decide(out, TGW_INV, flow) == want


def test_nacl_ruleset_side_agrees_by_hand():
    args = ("-i", TGW_INV, "--host", "sub", "--ruleset", "acl-054279d3d0ed03dd5-ingress", "--format", "json")
    for flow, want in (
        ("bad -> sub tcp/443", "deny"),
        ("jump -> sub tcp/22", "allow"),
        ("1.2.3.4 -> sub tcp/22", "deny"),
    ):
        r = run("explain", TGW, *args, "--flow", flow)
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["decision"] == want, flow


# --- verify takes every --ruleset convert takes ---------------------------------------------------------

EXAMPLE = REAL / "aws-nacl" / "awscli-example-describe-network-acls.json"
BOTH = ("--ruleset", "acl-6da75208-ingress", "--ruleset", "acl-6da75208-egress")


def test_verify_takes_repeated_rulesets(tmp_path):
    out = tmp_path / "p.yaml"
    assert run("convert", EXAMPLE, "-i", GENERIC, *BOTH, "-o", out, "-q").exit_code == 0
    r = run("verify", EXAMPLE, out, "-i", GENERIC, *BOTH)
    assert r.exit_code == 0, r.output
    assert "ruleset acl-6da75208-ingress (ingress):" in r.output and "ruleset acl-6da75208-egress (egress):" in r.output
    assert r.output.count(": equivalent:") == 2
    doc = json.loads(run("verify", EXAMPLE, out, "-i", GENERIC, *BOTH, "--format", "json").output)
    assert [d["ruleset"] for d in doc["rulesets"]] == ["acl-6da75208-ingress", "acl-6da75208-egress"]


def test_verify_of_repeated_rulesets_catches_a_wrong_egress(tmp_path):
    """acl-6da75208 denies all egress: a policy that opens egress must fail the egress ruleset."""
    out = tmp_path / "p.yaml"
    assert run("convert", EXAMPLE, "-i", GENERIC, *BOTH, "-o", out, "-q").exit_code == 0
    docs = list(yaml.safe_load_all(out.read_text()))
    docs.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "open", "namespace": "prod"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]},
        }
    )
    out.write_text(yaml.safe_dump_all(docs))
    r = run("verify", EXAMPLE, out, "-i", GENERIC, *BOTH)
    assert r.exit_code == 1
    head_in, head_out = r.output.index("acl-6da75208-ingress (ingress):"), r.output.index("acl-6da75208-egress")
    assert "NOT equivalent" in r.output[head_out:] and "NOT equivalent" not in r.output[:head_out]
    assert head_in < head_out
