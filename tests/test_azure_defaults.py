"""Azure's default rules: marked as platform defaults, at their real place or none, reported once, never 'shadowed'."""

from __future__ import annotations

import json
from collections import Counter

from click.testing import CliRunner

from translator.cli.main import cli
from translator.frontends import load
from translator.lint.checks import lint
from translator.model.inventory import load_inventory

from .conftest import ROOT, SAMPLES

NSG = SAMPLES / "azure-nsg" / "web-nsg.json"
INV = SAMPLES / "azure-nsg" / "inventory.yaml"
LISTED = ROOT.parent / "shared" / "realworld" / "azure-nsg" / "batfish-VM2-nsg-defaults-only.json"
DEFAULTS = {
    "AllowVnetInBound",
    "AllowAzureLoadBalancerInBound",
    "DenyAllInBound",
    "AllowVnetOutBound",
    "AllowInternetOutBound",
    "DenyAllOutBound",
}


def test_implied_defaults_are_platform_defaults_at_no_line():
    rules = [r for rs in load(str(NSG), "azure-nsg") for r in rs.rules]
    defaults = [r for r in rules if r.platform_default]
    assert {r.id for r in defaults} == DEFAULTS
    assert all(r.loc.file == str(NSG) and r.loc.line == 0 for r in defaults)
    assert all(str(r.loc) == str(NSG) and r.ref == r.id for r in defaults)
    assert all(not r.platform_default and r.loc.line > 1 for r in rules if r.id not in DEFAULTS)


def test_listed_defaults_keep_their_place_in_the_export():
    text = LISTED.read_text().splitlines()
    defaults = [r for rs in load(str(LISTED), "azure-nsg") for r in rs.rules if r.platform_default]
    assert {r.id for r in defaults} == DEFAULTS
    for r in defaults:
        assert r.loc.line > 1 and r.id in "\n".join(text[r.loc.line - 1 : r.loc.line + 2])


def test_convert_reports_each_unresolved_default_once_and_not_at_1_1():
    res = CliRunner().invoke(cli, ["convert", str(NSG), "-i", str(INV), "-o", "/dev/null"])
    assert res.exit_code == 0, res.output
    assert f"{NSG}:1:1" not in res.stderr
    lines = [line.strip() for line in res.stderr.splitlines() if "rule AllowVnet" in line]
    assert len(lines) == 2 and Counter(lines).most_common(1)[0][1] == 1  # inbound and outbound, once each
    assert all("default rules Azure adds to every NSG" in line for line in lines)


def test_lint_never_calls_a_default_rule_shadowed_or_redundant():
    inv = load_inventory(str(INV))
    for rs in load(str(NSG), "azure-nsg", inventory=inv):
        for f in lint(rs, inv):
            if f.kind in ("shadowed", "redundant", "never-matches"):
                assert not f.rule.platform_default, str(f)
    res = CliRunner().invoke(cli, ["lint", str(NSG), "-i", str(INV), "--format", "json"])
    found = [f for rs in json.loads(res.stdout)["rulesets"] for f in rs["findings"]]
    assert not [f for f in found if f.get("rule") in DEFAULTS and f["kind"] in ("shadowed", "redundant")]


def test_a_shadowed_custom_rule_is_still_reported(tmp_path):
    nsg = json.loads(NSG.read_text())
    nsg["properties"]["securityRules"].append(
        {
            "name": "LateHttps",
            "properties": {
                "priority": 4000,
                "direction": "Inbound",
                "access": "Allow",
                "protocol": "Tcp",
                "sourceAddressPrefix": "10.1.0.0/24",
                "sourcePortRange": "*",
                "destinationAddressPrefix": "10.2.0.0/24",
                "destinationPortRange": "443",
            },
        }
    )
    p = tmp_path / "nsg.json"
    p.write_text(json.dumps(nsg, indent=2))
    res = CliRunner().invoke(cli, ["lint", str(p), "-i", str(INV), "--format", "json"])
    kinds = {(f.get("rule"), f["kind"]) for rs in json.loads(res.stdout)["rulesets"] for f in rs["findings"]}
    assert ("LateHttps", "shadowed") in kinds or ("LateHttps", "redundant") in kinds
