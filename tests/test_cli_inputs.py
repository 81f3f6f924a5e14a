"""--from lists its choices (any case, aliases too); a ruleset passed as the inventory is named as one."""

from __future__ import annotations

from click.testing import CliRunner

from translator.cli.main import cli

from .conftest import SAMPLES

STAGING = [str(SAMPLES / "staging" / "rules.fw"), "-i", str(SAMPLES / "staging" / "inventory.yaml")]


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_from_lists_its_choices_and_takes_any_case():
    helptext = run(["convert", "--help"]).stdout
    formats = "rules|iptables|nftables|pf|cisco-asa|cisco-ios|azure-nsg|gcp|aws-nacl|csv|capirca"
    formats += "|junos|fortigate|panos|checkpoint"
    assert f"[{formats}|csv-rules" in helptext
    csv = [str(SAMPLES / "csv" / "rules.csv"), "-i", str(SAMPLES / "csv" / "inventory.yaml"), "-q"]
    for name in ("csv", "csv-rules", "CSV-Rules"):
        assert run(["convert", *csv, "--from", name]).exit_code == 0, name
    bad = run(["convert", *csv, "--from", "nonsense"])
    assert bad.exit_code == 2 and "'nonsense' is not one of 'rules', 'iptables'" in bad.stderr
    assert run(["lint", csv[0], "--from", "nonsense"]).exit_code == 2


def test_a_ruleset_given_as_the_inventory_is_named_as_one(tmp_path):
    cases = {
        SAMPLES / "staging" / "rules.fw": "an fw2np ruleset",
        SAMPLES / "iptables" / "web01.rules": "an iptables ruleset",
        SAMPLES / "cisco-asa" / "dmz-asa.cfg": "a Cisco ASA ruleset",
        SAMPLES / "aws-nacl" / "network-acls.json": "an AWS network ACL ruleset",
    }
    for path, looks in cases.items():
        for cmd in (["convert", STAGING[0]], ["lint", STAGING[0]], ["verify", STAGING[0], STAGING[0]]):
            res = run([*cmd, "-i", str(path)])
            assert res.exit_code == 2, (cmd, res.stderr)
            assert res.stderr == f"error: {path} is not an inventory (it looks like {looks}; pass it as RULES)\n"
    broken = tmp_path / "inv.yaml"
    broken.write_text("workloads:\n  w: [unclosed\n")
    res = run(["convert", STAGING[0], "-i", str(broken)])
    assert res.exit_code == 2 and "invalid YAML" in res.stderr and "not an inventory" not in res.stderr


def test_batch_names_a_ruleset_given_as_the_inventory(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "rules.fw").write_text((SAMPLES / "staging" / "rules.fw").read_text())
    res = run(["batch", str(d), "-o", str(tmp_path / "out"), "-i", str(SAMPLES / "staging" / "rules.fw")])
    assert res.exit_code == 2
    assert "rules.fw is not an inventory (it looks like an fw2np ruleset; pass it as RULES)" in res.stderr
    assert "Traceback" not in res.output
    assert not (tmp_path / "out" / "manifests").exists()
