"""`fw2np diff`: every differing cell and example flow is one the evaluators decide apart; a ruleset and
its own policies differ only where the policies do not govern."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from translator.cli.main import cli
from translator.compiler.synth import convert
from translator.evaluate import FirewallEvaluator
from translator.evaluate.endpoints import Pod
from translator.frontends import load
from translator.frontends.rules import parse
from translator.model.inventory import load_inventory
from translator.views.diff import Side, diff

ROOT = Path(__file__).resolve().parents[1]
STAGING = ROOT / "samples" / "staging"
NEW = """ruleset staging-shop
default deny
address frontend   10.20.1.0/24
address backend    10.20.2.0/24
address db         10.20.3.10, 10.20.3.11
address admin-net  10.30.0.0/16
10 allow frontend, admin-net -> backend  tcp/80, tcp/8080
20 allow backend -> db tcp/5432
40 allow any -> frontend tcp/80, tcp/443
99 deny any -> any any
"""


def test_two_rulesets_differ_where_the_evaluators_say():
    inv = load_inventory(str(STAGING / "inventory.yaml"))
    [old] = load(str(STAGING / "rules.fw"))
    new = parse(NEW, "new.fw")
    got = diff(inv, Side("old", rs=old), Side("new", rs=new))
    assert got.matrix.cell("admin/admin-tools", "staging/backend") == "+tcp/8080"
    assert got.matrix.cell("admin/admin-tools", "staging/db") == "-tcp/5432"
    assert got.matrix.cell("outside", "staging/frontend") == "+tcp/80,443"  # partners are no longer blocked
    assert got.matrix.cell("staging/db", "staging/frontend") == ""
    a, b = FirewallEvaluator(old, inv, "secure"), FirewallEvaluator(new, inv, "secure")
    pods = {f"{w.namespace}/{w.name}": Pod.of(w.namespace, w.labels) for w in inv.workloads.values()}
    for s, sp in pods.items():
        for d, dp in pods.items():
            for proto, port in [(6, 80), (6, 8080), (6, 5432), (6, 443), (17, 53)]:
                x, y = a.decide(sp, dp, proto, port)[0], b.decide(sp, dp, proto, port)[0]
                cell = got.matrix.cell(s, d)
                if x != y:
                    sign = "+" if y else "-"
                    assert any(w.startswith(sign) and str(port) in w for w in cell.split()), (s, d, port, cell)
    assert all("allows" in e and "denies" in e for e in got.examples) and len(got.examples) == 5


def test_a_ruleset_and_its_policies_differ_only_where_no_policy_governs(tmp_path):
    inv = load_inventory(str(STAGING / "inventory.yaml"))
    [rs] = load(str(STAGING / "rules.fw"))
    pols = convert(rs, inv).policies
    got = diff(inv, Side("rules", rs=rs), Side("policies", policies=pols))
    changed = {k for k, v in got.matrix.cells.items() if v}
    assert changed == {("outside", "(pods elsewhere)")}  # pods outside the inventory's namespaces
    out = tmp_path / "p.yaml"
    runner = CliRunner()
    inv_path = str(STAGING / "inventory.yaml")
    assert (
        runner.invoke(cli, ["convert", str(STAGING / "rules.fw"), "-i", inv_path, "-q", "-o", str(out)]).exit_code == 0
    )
    r = runner.invoke(cli, ["diff", str(out), str(out), "-i", inv_path])
    assert r.exit_code == 0 and "no flow is decided apart" in r.output
    new = tmp_path / "new.fw"
    new.write_text(NEW)
    r = runner.invoke(cli, ["diff", str(STAGING / "rules.fw"), str(new), "-i", inv_path, "--format", "csv"])
    assert r.exit_code == 1 and re.search(r"admin/admin-tools,-,\+tcp/8080,-tcp/5432", r.output), r.output
