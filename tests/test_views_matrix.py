"""The workload matrix: every cell between two workloads says a service is allowed iff the evaluator
allows a flow of that service between them (ruleset, NetworkPolicies, an ordered target); the
terminal and CSV forms; the commands."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings

from translator.cli.main import cli
from translator.compiler.synth import convert
from translator.evaluate import FirewallEvaluator, NetpolEvaluator
from translator.evaluate.endpoints import Pod
from translator.frontends import load
from translator.model.inventory import load_inventory
from translator.targets import convert as convert_for
from translator.targets import module
from translator.views.matrix import build, to_csv, to_table

from .strategies import load as load_scenario
from .strategies import scenarios

ROOT = Path(__file__).resolve().parents[1]
STAGING = ROOT / "samples" / "staging"
SERVICES = [(6, 22), (6, 80), (6, 443), (6, 5432), (6, 8050), (17, 53), (1, 8), (58, 128), (47, 0)]
NAMES = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmpv6": 58}


def allowed(cell: str, proto: int, port: int) -> bool:
    """Whether CELL's text (no `~` between two workloads) holds the service."""
    if cell == "all":
        return True
    words = cell.split()
    for k, word in enumerate(words):
        if word == "other":  # "other protocols [but proto/47,proto/50]"
            but = words[k + 3].split(",") if k + 3 < len(words) and words[k + 2] == "but" else []
            if proto not in NAMES.values() and f"proto/{proto}" not in but:
                return True
            continue
        if k >= 2 and words[k - 1] == "but":
            continue
        name, _, ranges = word.partition("/")
        if name == "proto":
            if int(ranges) == proto:
                return True
            continue
        if NAMES.get(name) != proto:
            continue
        if not ranges:
            return True
        for r in ranges.split(","):
            lo, _, hi = r.partition("-")
            if int(lo) <= port <= int(hi or lo):
                return True
    return False


def _check(m, inv, decide):
    pods = {f"{w.namespace}/{w.name}": Pod.of(w.namespace, w.labels) for w in inv.workloads.values()}
    checked = 0
    for s, sp in pods.items():
        for d, dp in pods.items():
            cell = m.cell(s, d)
            assert "~" not in cell, (s, d, cell)
            for proto, port in SERVICES:
                assert allowed(cell, proto, port) == decide(sp, dp, proto, port), (s, d, proto, port, cell)
                checked += 1
    return checked


def test_staging_matrix_of_the_ruleset_and_of_its_policies():
    inv = load_inventory(str(STAGING / "inventory.yaml"))
    [rs] = load(str(STAGING / "rules.fw"))
    fw = FirewallEvaluator(rs, inv, "secure")
    m = build(inv, rs=rs)
    assert _check(m, inv, lambda s, d, p, q: fw.decide(s, d, p, q)[0]) > 100
    assert m.cell("staging/frontend", "staging/backend") == "tcp/80"
    assert m.cell("staging/backend", "outside") == "~tcp/8000-8100"  # to 198.51.100.0/24 only
    pols = convert(rs, inv).policies
    labels = {ns: dict(inv.namespaces[ns]) for ns in inv.namespaces}
    np = NetpolEvaluator(pols, labels)
    mp = build(inv, policies=pols)
    _check(mp, inv, np.allows)
    calico = convert_for(rs, inv, "calico").policies
    ev = module("calico").evaluator(calico, labels, "calico")
    _check(build(inv, policies=calico, target="calico"), inv, ev.allows)
    csv_text = to_csv(m)
    assert csv_text.splitlines()[0].startswith("from \\ to,") and "staging/frontend" in csv_text
    table = to_table(m, 100)
    assert all(len(line) <= 100 for line in table.splitlines()) and "…" in table


@settings(max_examples=30, deadline=None)
@given(scenarios())
def test_random_rulesets_matrix_cells_are_the_evaluators(scenario):
    rs, inv = load_scenario(scenario)
    fw = FirewallEvaluator(rs, inv, "secure")
    _check(build(inv, rs=rs), inv, lambda s, d, p, q: fw.decide(s, d, p, q)[0])


def test_commands(tmp_path):
    inv = str(STAGING / "inventory.yaml")
    r = CliRunner().invoke(cli, ["matrix", str(STAGING / "rules.fw"), "-i", inv, "--format", "csv"])
    assert r.exit_code == 0 and r.output.splitlines()[0].startswith("from \\ to,"), r.output
    out = tmp_path / "p.yaml"
    assert (
        CliRunner().invoke(cli, ["convert", str(STAGING / "rules.fw"), "-i", inv, "-q", "-o", str(out)]).exit_code == 0
    )
    r = CliRunner().invoke(cli, ["matrix", str(out), "-i", inv, "--format", "csv"])
    assert r.exit_code == 0 and "staging/frontend" in r.output
    r2 = CliRunner().invoke(cli, ["reverse", str(out), "-i", inv, "--format", "matrix-csv"])
    assert r2.exit_code == 0 and r2.output == r.output
    r = CliRunner().invoke(cli, ["reverse", str(out), "--format", "matrix"])
    assert r.exit_code == 2 and "needs --inventory" in r.output


def test_dot_graph_has_an_edge_for_each_allowing_cell():
    import re
    import shutil

    from translator.views.matrix import to_dot

    inv = load_inventory(str(STAGING / "inventory.yaml"))
    [rs] = load(str(STAGING / "rules.fw"))
    m = build(inv, rs=rs)
    dot = to_dot(m)
    edges = {(a, b): lab for a, b, lab in re.findall(r'^  "([^"]+)" -> "([^"]+)" \[label="([^"]*)"', dot, re.M)}
    want = {(s, d): m.cell(s, d) for s in m.labels for d in m.labels if m.cell(s, d) not in ("", "-")}
    assert edges == want and "subgraph cluster_" in dot and 'label="namespace staging"' in dot
    r = CliRunner().invoke(
        cli, ["matrix", str(STAGING / "rules.fw"), "-i", str(STAGING / "inventory.yaml"), "--format", "svg"]
    )
    if shutil.which("dot"):
        assert r.exit_code == 0 and "<svg" in r.output
    else:
        assert r.exit_code == 2 and "needs Graphviz" in r.output
