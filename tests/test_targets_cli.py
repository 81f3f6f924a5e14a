"""`convert --target`, and verify, explain and reverse on each ordered target's documents, end to end."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from translator.cli.main import cli
from translator.cli.reverse import TARGET_TITLES
from translator.targets import KINDS, module

from .conftest import SAMPLES

ORDERED = ("calico", "cnp", "anp", "cilium")
NETPOL = ("networking.k8s.io/v1", "NetworkPolicy")
SAMPLE_SETS = ["staging", "deny-before-allow", "default-allow", "ipv6"]


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def sample(name: str) -> list[str]:
    d = SAMPLES / name
    rules = next(p for p in sorted(d.iterdir()) if p.suffix == ".fw")
    return [str(rules), "-i", str(d / "inventory.yaml")]


def convert(tmp_path, name: str, target: str) -> tuple[str, list[dict]]:
    out = tmp_path / f"{name}-{target}.yaml"
    res = run(["convert", *sample(name), "--target", target, "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return str(out), [d for d in yaml.safe_load_all(out.read_text()) if d]


@pytest.mark.parametrize("target", ORDERED)
def test_convert_writes_only_the_targets_kinds_deterministically(tmp_path, target):
    path, docs = convert(tmp_path, "staging", target)
    allowed = KINDS[target] | ({NETPOL} if target in ("cnp", "anp") else set())
    assert docs and {(d["apiVersion"], d["kind"]) for d in docs} <= allowed
    again = run(["convert", *sample("staging"), "--target", target, "-q"])
    assert again.stdout == open(path).read()
    for d in docs:
        labels = d["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "fw2np" and labels["fw2np.io/ruleset"] == "staging-shop"


@pytest.mark.parametrize("target", ORDERED)
def test_the_modules_kinds_are_the_registrys(target):
    assert set(module(target).kinds(target)) <= KINDS[target]


@pytest.mark.parametrize("name", SAMPLE_SETS)
@pytest.mark.parametrize("target", ORDERED)
def test_verify_proves_each_sample_conversion(tmp_path, target, name):
    path, _ = convert(tmp_path, name, target)
    d = SAMPLES / name
    rules = next(p for p in sorted(d.iterdir()) if p.suffix == ".fw")
    res = run(["verify", str(rules), path, "-i", str(d / "inventory.yaml"), "--format", "json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["verdict"] in ("equivalent", "approximations"), rep["verdict"]


ALLOW_WORD = {"calico": "Allow", "cnp": "Accept", "anp": "Allow"}


def denies_made_allows(docs: list[dict], target: str) -> list[dict]:
    """DOCS with every deny rule turned into an allow (Cilium: deny lists merged into the allow lists, and
    CIDR excepts dropped, which is how an earlier deny may be carried)."""
    out = json.loads(json.dumps(docs))
    for d in out:
        for spec in [d.get("spec") or {}] + list(d.get("specs") or []):
            if target == "cilium":
                for key in ("ingress", "egress"):
                    spec[key] = (spec.get(key) or []) + spec.pop(f"{key}Deny", [])
                    if not spec[key]:
                        del spec[key]
                    for rule in spec.get(key) or []:
                        for cidrs in (rule.get("fromCIDRSet") or []) + (rule.get("toCIDRSet") or []):
                            cidrs.pop("except", None)
                continue
            for key in ("ingress", "egress"):
                for rule in spec.get(key) or []:
                    if rule.get("action") == "Deny":
                        rule["action"] = ALLOW_WORD[target]
    return out


@pytest.mark.parametrize("target", ORDERED)
def test_verify_catches_a_changed_rule(tmp_path, target):
    """Denies turned into allows in the documents are a more-permissive difference."""
    _, docs = convert(tmp_path, "staging", target)
    swapped = denies_made_allows(docs, target)
    assert swapped != docs, "the staging conversion has a deny rule"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump_all(swapped))
    res = run(["verify", *sample("staging")[:1], str(bad), "-i", sample("staging")[2], "--format", "json"])
    assert res.exit_code == 1, res.output
    assert json.loads(res.stdout)["verdict"] == "not-equivalent"


FLOWS = [
    ("203.0.113.5 -> staging/app=frontend tcp/80", "deny"),  # rule 30: partners are blocked
    ("203.0.113.200 -> staging/app=frontend tcp/443", "allow"),  # rule 40
    ("staging/app=frontend -> staging/app=backend tcp/80", "allow"),  # rule 10
    ("staging/app=frontend -> staging/app=db tcp/5432", "deny"),  # cleanup
    ("staging/app=backend -> 198.51.100.7 tcp/8050", "allow"),  # rule 50
]


@pytest.mark.parametrize("target", ORDERED)
def test_explain_decides_as_the_firewall(tmp_path, target):
    path, _ = convert(tmp_path, "staging", target)
    inv = sample("staging")[2]
    for flow, want in FLOWS:
        fw = run(["explain", sample("staging")[0], "-i", inv, "--flow", flow, "--format", "json"])
        assert fw.exit_code == 0 and json.loads(fw.stdout)["decision"] == want, (flow, fw.output)
        res = run(["explain", path, "-i", inv, "--flow", flow, "--format", "json"])
        assert res.exit_code == 0, res.output
        doc = json.loads(res.stdout)
        assert doc["target"] == target and doc["decision"] == want, (flow, doc)


@pytest.mark.parametrize("target", ORDERED)
def test_reverse_renders_the_documents_as_a_table(tmp_path, target):
    path, _ = convert(tmp_path, "staging", target)
    for fmt in ("table", "markdown", "csv", "html"):
        res = run(["reverse", path, "-i", sample("staging")[2], "--format", fmt])
        assert res.exit_code == 0, res.output
        assert "rule 40" in res.stdout or "rules: 40" in res.stdout or "40" in res.stdout  # source rule ids
        if fmt != "csv":
            assert f"{TARGET_TITLES[target]} as firewall rules" in res.stdout
    res = run(["reverse", path, "--format", "rules", "-i", sample("staging")[2]])
    assert res.exit_code == 2 and "NetworkPolicies only" in res.output


@pytest.mark.parametrize("target", ORDERED)
def test_per_namespace_files_hold_every_document(tmp_path, target):
    _, docs = convert(tmp_path, "staging", target)
    out = tmp_path / "dir"
    res = run(["convert", *sample("staging"), "--target", target, "-d", str(out), "-q"])
    assert res.exit_code == 0, res.output
    written = [d for f in sorted(out.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
    assert sorted(map(json.dumps, written)) == sorted(map(json.dumps, docs))
    if any("namespace" not in d["metadata"] for d in docs):
        assert (out / "_cluster.yaml").exists()


def test_documents_of_two_targets_are_refused(tmp_path):
    a, _ = convert(tmp_path, "staging", "calico")
    b, _ = convert(tmp_path, "staging", "cilium")
    both = tmp_path / "both.yaml"
    both.write_text(open(a).read() + "\n---\n" + open(b).read())
    res = run(["verify", sample("staging")[0], str(both), "-i", sample("staging")[2]])
    assert res.exit_code == 2 and "several targets" in res.output
