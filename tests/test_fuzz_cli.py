"""Fuzzing the CLI: hostile files give exit 0, 1 or 2 with a message, never a traceback or a hang."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from translator.cli.main import cli

from .conftest import ROOT, SAMPLES
from .test_fuzz import mutated, seed_text

STAGING = SAMPLES / "staging"


def run(args, env=None):
    res = CliRunner().invoke(cli, args, env=env)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception  # an exception escaped the command group
    assert res.exit_code in (0, 1, 2), (res.exit_code, res.output)
    assert "Traceback" not in res.output
    if res.exit_code == 2:
        assert "error" in res.stderr, res.stderr
    return res


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated(seed_text("staging/rules.fw")), mutated((STAGING / "inventory.yaml").read_text()))
def test_convert_mutated_ruleset_and_inventory(tmp_path_factory, rules, inv):
    d = tmp_path_factory.mktemp("cli")
    (d / "rules.fw").write_text(rules, encoding="utf-8")
    (d / "inv.yaml").write_text(inv, encoding="utf-8")
    res = run(["convert", str(d / "rules.fw"), "-i", str(d / "inv.yaml"), "-q"])
    if res.exit_code == 0:
        assert res.stdout.startswith("---") or res.stdout == ""


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["convert", "verify", "reverse", "explain"]), st.binary(max_size=300))
def test_every_command_with_random_bytes(tmp_path_factory, command, data):
    d = tmp_path_factory.mktemp("bytes")
    f = d / "input.yaml"
    f.write_bytes(data)
    inv = str(STAGING / "inventory.yaml")
    args = {
        "convert": ["convert", str(f), "-i", inv],
        "verify": ["verify", str(STAGING / "rules.fw"), str(f), "-i", inv],
        "reverse": ["reverse", str(f)],
        "explain": ["explain", str(f), "-i", inv, "--flow", "10.1.0.5 -> 10.20.1.1 tcp/80"],
    }[command]
    run(args)


def test_internal_errors_are_one_line_without_debug(monkeypatch):
    import translator.compiler.synth as synth

    def boom(*_a, **_k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(synth, "convert", boom)
    res = run(["convert", str(STAGING / "rules.fw"), "-i", str(STAGING / "inventory.yaml")])
    assert res.exit_code == 2
    assert "internal error: ZeroDivisionError: simulated bug" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = CliRunner().invoke(
        cli, ["convert", str(STAGING / "rules.fw"), "-i", str(STAGING / "inventory.yaml")], env={"FW2NP_DEBUG": "1"}
    )
    assert isinstance(res.exception, ZeroDivisionError)


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = run(
        [
            "convert",
            str(STAGING / "rules.fw"),
            "-i",
            str(STAGING / "inventory.yaml"),
            "-q",
            "-o",
            str(blocker / "out.yaml"),
        ]
    )
    assert res.exit_code == 2 and res.stderr.startswith("error: ")


def _subprocess(args, env_extra=None, timeout=60):
    env = {**os.environ, **(env_extra or {})}
    env.pop("FW2NP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "translator.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


@pytest.mark.parametrize(
    "content,words",
    [
        ("[" * 200000 + "]" * 200000, "nesting deeper"),
        (
            "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                for p, c in zip("abcdefgh", "bcdefghi")
            ),
            "aliases are expanded",
        ),
        ("\xff\xfe garbage", "not UTF-8"),
    ],
)
def test_real_process_pathological_inventory(tmp_path, content, words):
    inv = tmp_path / "inv.yaml"
    inv.write_bytes(content.encode("latin-1") if content.startswith("\xff") else content.encode())
    p = _subprocess(["convert", str(STAGING / "rules.fw"), "-i", str(inv)])
    assert p.returncode == 2, p.stderr
    assert words in p.stderr and "Traceback" not in p.stderr


def test_real_process_many_deny_rules_hits_a_bound(tmp_path):
    rules = ["default deny"] + [f"{i} deny 192.0.{i // 256 % 256}.{i % 256} -> any tcp/{i}" for i in range(1, 30001)]
    rules.append("99999 allow any -> any any")
    (tmp_path / "many.fw").write_text("\n".join(rules) + "\n")
    (tmp_path / "inv.yaml").write_text(
        "workloads:\n  web: {namespace: ns, labels: {app: web}, addresses: [10.0.0.0/24]}\n"
    )
    p = _subprocess(
        ["convert", str(tmp_path / "many.fw"), "-i", str(tmp_path / "inv.yaml")], {"FW2NP_TIME_LIMIT": "5"}, timeout=90
    )
    assert p.returncode == 2, p.stderr[-500:]
    assert "bound FW2NP_" in p.stderr and "Traceback" not in p.stderr
    assert p.stdout == ""
