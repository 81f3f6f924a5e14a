"""The convert command: output, determinism, errors (exit 2, no traceback, nothing written)."""

import json
import re
import shlex

import yaml
from click.testing import CliRunner

from translator import __version__
from translator.cli.main import cli
from translator.compiler.synth import convert
from translator.errors import Loc
from translator.io.manifests import render
from translator.model.inventory import parse_inventory
from translator.model.names import is_dns_subdomain
from translator.model.ruleset import AddrExpr, AnyAddr, Net, Rule, Ruleset, Svc

from .conftest import ROOT, SAMPLES

STAGING = [str(SAMPLES / "staging" / "rules.fw"), "--inventory", str(SAMPLES / "staging" / "inventory.yaml")]


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_convert_prints_policies_and_a_summary():
    res = run(["convert", *STAGING])
    assert res.exit_code == 0
    docs = list(yaml.safe_load_all(res.stdout))
    assert docs and all(d["kind"] == "NetworkPolicy" for d in docs)
    assert {d["metadata"]["namespace"] for d in docs} == {"staging", "admin"}
    assert "6 rules read" in res.stderr and "policies written" in res.stderr


def test_output_is_deterministic_and_json_matches_yaml(tmp_path):
    a, b = run(["convert", *STAGING, "-q"]), run(["convert", *STAGING, "-q"])
    assert a.stdout == b.stdout
    js = run(["convert", *STAGING, "-q", "--format", "json"])
    assert json.loads(js.stdout)["items"] == list(yaml.safe_load_all(a.stdout))


def test_one_file_per_namespace(tmp_path):
    res = run(["convert", *STAGING, "-q", "-d", str(tmp_path / "out")])
    assert res.exit_code == 0
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["Kustomization", "admin.yaml", "staging.yaml"]
    docs = list(yaml.safe_load_all((tmp_path / "out" / "admin.yaml").read_text()))
    assert {d["metadata"]["namespace"] for d in docs} == {"admin"}


def test_bad_rules_exit_2_with_location_and_write_nothing(tmp_path):
    bad = tmp_path / "bad.fw"
    bad.write_text("address a 10.0.0.1\n10 allow a -> b tcp/80\n")
    out = tmp_path / "out.yaml"
    res = run(["convert", str(bad), "--inventory", str(SAMPLES / "staging" / "inventory.yaml"), "-o", str(out)])
    assert res.exit_code == 2
    assert f"{bad}:2:15: error: undefined address 'b'" in res.stderr
    assert "Traceback" not in res.stderr and not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_bad_inventory_and_missing_file(tmp_path):
    inv = tmp_path / "inv.yaml"
    inv.write_text("workloads:\n  w: {namespace: x, labels: {app: w}, addresses: [nosuchobject]}\n")
    res = run(["convert", STAGING[0], "--inventory", str(inv)])
    assert res.exit_code == 2 and "nosuchobject" in res.stderr and "Traceback" not in res.stderr
    res = run(["convert", str(tmp_path / "missing.fw"), "--inventory", str(inv)])
    assert res.exit_code == 2 and "cannot read input" in res.stderr


def test_usage_errors_exit_2():
    assert run(["convert", *STAGING, "-o", "x", "-d", "y"]).exit_code == 2
    assert run(["convert", STAGING[0]]).exit_code == 2
    assert run(["convert", *STAGING, "--from", "nonsense"]).exit_code == 2


def test_version_and_help():
    assert __version__ in run(["--version"]).stdout
    assert "convert" in run(["--help"]).stdout


def test_hostile_names_cannot_break_the_yaml():
    evil = 'x": y\n- z: {a}\n--- !!python/object:os.system\n«ünï»'
    rs = Ruleset(name=evil, source="evil.fw")
    rs.rules.append(
        Rule(
            id=evil,
            action="allow",
            src=AddrExpr((AnyAddr(),)),
            dst=AddrExpr((Net(0x0A000001, 0x0A000001, 4, "10.0.0.1"),)),
            services=(Svc(6, 443, 443, "tcp/443"),),
            loc=Loc("evil.fw", 1, 1),
            comment=evil,
        )
    )
    inv = parse_inventory(
        "workloads:\n  'web: {x}\\n--- evil':\n    namespace: ns\n    labels: {app: web}\n    addresses: [10.0.0.1]\n",
        "inv.yaml",
    )
    result = convert(rs, inv)
    text = render(result.policies, "yaml")
    assert list(yaml.safe_load_all(text)) == result.policies
    for p in result.policies:
        assert is_dns_subdomain(p["metadata"]["name"]), p["metadata"]["name"]
    assert any(evil in p["metadata"]["annotations"]["fw2np.io/rules"] for p in result.policies)


def test_every_command_the_readme_shows_runs(tmp_path):
    """Each `fw2np convert|verify|reverse|explain ...` line in the README runs, and each sample it names exists."""
    readme = (ROOT / "README.md").read_text()
    for path in set(re.findall(r"samples/[\w./-]+\.\w+", readme)):
        assert (ROOT / path).is_file(), path
    commands = [
        ln.split("fw2np ", 1)[1]
        for ln in readme.splitlines()
        if re.match(r"^\s*(\$ )?(.*&& )?fw2np (convert|verify|reverse|explain) .*samples/", ln)
        and not ln.startswith("<!--")  # a shown output's command: tests/test_readme.py runs those
    ]
    assert commands
    import os

    here = os.getcwd()
    (tmp_path / "samples").symlink_to(ROOT / "samples")  # outputs land in tmp_path, never in the checkout
    os.chdir(tmp_path)
    try:
        for cmd in commands:
            args = shlex.split(cmd.split(" > ")[0].split(" | ")[0], comments=True)
            res = CliRunner().invoke(cli, args)
            assert res.exit_code in (0, 1), f"fw2np {cmd}\n{res.output}"
    finally:
        os.chdir(here)


def test_annotations_stay_small_whatever_the_input():
    rs = Ruleset(name="r" * 100_000, source="big.fw")
    for k in range(3000):
        rs.rules.append(
            Rule(
                id=f"rule-{k}-" + "x" * 50,
                action="allow",
                src=AddrExpr((AnyAddr(),)),
                dst=AddrExpr((Net(0x0A000001, 0x0A000001, 4, "10.0.0.1"),)),
                services=(Svc(6, 1000 + k, 1000 + k, "tcp"),),
                loc=Loc("big.fw", k + 1, 1),
            )
        )
    inv = parse_inventory("workloads:\n  web: {namespace: ns, labels: {app: web}, addresses: [10.0.0.1]}\n", "i.yaml")
    for p in convert(rs, inv).policies:
        notes = p["metadata"]["annotations"]
        assert sum(len(k) + len(v) for k, v in notes.items()) < 8192
        if "rule-0-" in notes["fw2np.io/rules"]:
            assert notes["fw2np.io/rules"].endswith("more")
