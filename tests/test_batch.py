"""fw2np batch: many inputs, failures listed not fatal, atomic outputs, interrupted runs, reports."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from translator.batch.run import run_batch
from translator.cli.main import cli

from .conftest import ROOT, SAMPLES

INV = SAMPLES / "iptables" / "inventory.yaml"
SHOP = """\
ruleset shop-{n}
default deny
10 allow 10.20.0.0/16 -> 10.10.0.11 tcp/443
20 deny 10.20.99.0/24 -> 10.30.0.0/16 any
30 allow 10.20.0.0/16 -> 10.30.0.0/16 tcp/5432
40 allow 10.10.0.11 -> 10.30.0.0/16 tcp/5432
"""
HOSTILE = "<img src=x onerror=alert(1)>.fw"


def make_inputs(root: Path) -> Path:
    d = root / "in"
    (d / "fw" / "more").mkdir(parents=True)
    (d / "hosts").mkdir()
    (d / "bad").mkdir()
    shutil.copy(SAMPLES / "iptables" / "web01.rules", d / "hosts" / "web01.rules")
    (d / "fw" / "shop.fw").write_text(SHOP.format(n=1))
    (d / "fw" / "more" / "other.fw").write_text(SHOP.format(n=2))
    (d / "fw" / HOSTILE).write_text(SHOP.format(n=3))
    (d / "bad" / "broken.fw").write_text("default deny\n10 allow 10.0.0.0/8 -> any tcp/80 nonsense\n")
    (d / "bad" / "notes.txt").write_text("just some notes, not a firewall\n")
    return d


def host_map(root: Path) -> Path:
    p = root / "hosts.yaml"
    p.write_text('"hosts/*.rules": web\n')
    return p


def batch(*args):
    return CliRunner().invoke(cli, ["batch", *map(str, args)])


def without_timing(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "timing"}


def test_batch_converts_good_files_and_lists_bad_ones(tmp_path):
    d, out = make_inputs(tmp_path), tmp_path / "out"
    res = batch(d, "-o", out, "-i", INV, "--host-map", host_map(tmp_path), "-j", "2")
    assert res.exit_code == 1, res.output
    report = json.loads((out / "report" / "report.json").read_text())
    files = {f["path"]: f for f in report["files"]}
    assert sorted(files) == [
        "bad/broken.fw",
        "bad/notes.txt",
        f"fw/{HOSTILE}",
        "fw/more/other.fw",
        "fw/shop.fw",
        "hosts/web01.rules",
    ]
    assert report["totals"]["files"] == 6 and report["totals"]["converted"] == 4 and report["totals"]["failed"] == 2
    assert files["hosts/web01.rules"]["format"] == "iptables" and files["fw/shop.fw"]["format"] == "rules"
    assert f"{d / 'bad' / 'broken.fw'}:2:" in files["bad/broken.fw"]["error"]
    assert "cannot tell the input format" in files["bad/notes.txt"]["error"]
    shop = files["fw/shop.fw"]["rulesets"][0]
    assert shop["name"] == "shop-1" and shop["rules"] == 4 and shop["outputs"] == ["manifests/fw/shop.fw.yaml"]
    assert {"shadowed", "lint", "approximations", "out_of_scope", "warnings"} <= set(shop)
    assert set(report["timing"]["files"]) == set(files)
    assert all("seconds" not in f for f in report["files"])
    # the manifests are what `convert` writes for the same input
    for rel, extra in (("fw/shop.fw", []), ("hosts/web01.rules", ["--host", "web"])):
        conv = CliRunner().invoke(cli, ["convert", str(d / rel), "-i", str(INV), "-q", *extra])
        assert conv.exit_code == 0
        assert (out / "manifests" / f"{rel}.yaml").read_text() == conv.stdout
    assert not (out / "manifests" / "bad").exists()
    # stderr lists each failure with its error
    assert "failed: " in res.stderr and "notes.txt" in res.stderr


def test_batch_is_deterministic_apart_from_timings(tmp_path):
    d, out = make_inputs(tmp_path), tmp_path / "out"
    batch(d, "-o", out, "-i", INV, "--host-map", host_map(tmp_path), "-j", "2")
    first = json.loads((out / "report" / "report.json").read_text())
    manifests = {p: p.read_bytes() for p in out.rglob("*.yaml")}
    html = (out / "report" / "report.html").read_text()
    batch(d, "-o", out, "-i", INV, "--host-map", host_map(tmp_path), "-j", "1")
    assert without_timing(json.loads((out / "report" / "report.json").read_text())) == without_timing(first)
    assert {p: p.read_bytes() for p in out.rglob("*.yaml")} == manifests
    strip = [line for line in html.splitlines() if "Total" not in line]
    assert [line for line in (out / "report" / "report.html").read_text().splitlines() if "Total" not in line] == strip


def test_file_needing_host_fails_without_host_map(tmp_path):
    d, out = make_inputs(tmp_path), tmp_path / "out"
    batch(d, "-o", out, "-i", INV)
    files = {f["path"]: f for f in json.loads((out / "report" / "report.json").read_text())["files"]}
    assert files["hosts/web01.rules"]["status"] == "failed"
    assert "--host" in files["hosts/web01.rules"]["error"]


def test_bad_host_map_and_inventory_are_usage_errors(tmp_path):
    d, out = make_inputs(tmp_path), tmp_path / "out"
    bad = tmp_path / "hm.yaml"
    bad.write_text('"hosts/*": nosuch\n')
    res = batch(d, "-o", out, "-i", INV, "--host-map", bad)
    assert res.exit_code == 2 and f"{bad}:1:" in res.stderr
    res = batch(d, "-o", out, "-i", tmp_path / "missing.yaml")
    assert res.exit_code == 2


def test_all_good_exit_zero_and_per_namespace_layout(tmp_path):
    d = tmp_path / "in"
    (d / "x").mkdir(parents=True)
    (d / "x" / "a.fw").write_text(SHOP.format(n=1))
    res = batch(d, "-o", tmp_path / "out", "-i", INV, "--layout", "per-namespace")
    assert res.exit_code == 0, res.output
    docs = list(yaml.safe_load_all((tmp_path / "out" / "manifests" / "x" / "a.fw" / "shop.yaml").read_text()))
    assert docs and all(doc["metadata"]["namespace"] == "shop" for doc in docs)


def test_a_file_that_disappears_mid_run_is_listed_as_failed(tmp_path):
    d, out = make_inputs(tmp_path), tmp_path / "out"
    victim = d / "hosts" / "web01.rules"

    def on_done(rec):
        victim.unlink(missing_ok=True)

    report = run_batch(str(d), str(out), str(INV), workers=1, host_map=str(host_map(tmp_path)), on_done=on_done)
    files = {f["path"]: f for f in report["files"]}
    assert files["hosts/web01.rules"]["status"] == "failed"
    assert "cannot read input" in files["hosts/web01.rules"]["error"]
    assert files["fw/shop.fw"]["status"] == "ok"


def test_report_html_escapes_hostile_names(tmp_path):
    d, out = make_inputs(tmp_path), tmp_path / "out"
    (d / "fw" / "x.fw").write_text("default deny\n10 allow 10.0.0.0/8 -> any tcp/80 <script>alert(1)</script>\n")
    batch(d, "-o", out, "-i", INV, "--host-map", host_map(tmp_path))
    html = (out / "report" / "report.html").read_text()
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;.fw" in html and "&lt;script&gt;" in html


def _spawn(d: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "translator.cli", "batch", str(d), "-o", str(out), "-i", str(INV), "-j", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_run_leaves_whole_files_and_a_rerun_finishes(tmp_path, sig):
    d, out = tmp_path / "in", tmp_path / "out"
    d.mkdir()
    rules = SHOP + "".join(f"{50 + k} allow 10.20.{k}.0/24 -> 10.30.0.0/16 tcp/{1000 + k}\n" for k in range(200))
    for k in range(40):
        (d / f"f{k:02}.fw").write_text(rules.format(n=k))
    proc = _spawn(d, out)
    deadline = time.time() + 30
    while time.time() < deadline and len(list((out / "manifests").glob("*.yaml"))) < 3 and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    if sig == signal.SIGKILL:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
    assert proc.returncode == (-9 if sig == signal.SIGKILL else 130)
    assert not (out / "report" / "report.json").exists()
    partial = {p.name: p.read_text() for p in (out / "manifests").glob("*.yaml")}
    assert 3 <= len(partial) < 40
    for text in partial.values():
        assert [doc["kind"] for doc in yaml.safe_load_all(text)]  # whole documents
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rerun = subprocess.run(
        [sys.executable, "-m", "translator.cli", "batch", str(d), "-o", str(out), "-i", str(INV), "-j", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads((out / "report" / "report.json").read_text())["totals"]["converted"] == 40
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    for name, text in partial.items():
        assert (out / "manifests" / name).read_text() == text  # what the interrupted run wrote was already final
    assert len(list((out / "manifests").glob("*.yaml"))) == 40


# ---- issue 16: the progress bar on a terminal, only the summary elsewhere, Ctrl-C within a second


def _many(d: Path, n: int, extra_rules: int = 0) -> Path:
    d.mkdir()
    rules = SHOP + "".join(
        f"{50 + k} allow 10.20.{k}.0/24 -> 10.30.0.0/16 tcp/{1000 + k}\n" for k in range(extra_rules)
    )
    for k in range(n):
        (d / f"f{k:02}.fw").write_text(rules.format(n=k))
    return d


def _on_a_terminal(args: list[str], interrupt_on: bytes | None = None) -> tuple[int, str, float]:
    """Run fw2np ARGS with stderr on a pseudo-terminal (120 columns); (exit code, what the terminal
    showed, seconds from the interrupt to the exit): Ctrl-C is sent once the terminal shows the pattern
    INTERRUPT_ON."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "translator.cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=slave
    )
    os.close(slave)
    shown, sent, t_int = b"", False, 0.0
    while True:
        if interrupt_on is not None and not sent and re.search(interrupt_on, shown):
            proc.send_signal(signal.SIGINT)
            sent, t_int = True, time.monotonic()
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: every writer is gone
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=60)
    os.close(master)
    return code, shown.decode("utf-8", "replace"), (time.monotonic() - t_int if sent else 0.0)


def test_batch_shows_a_progress_bar_on_a_terminal(tmp_path):
    d, out = _many(tmp_path / "in", 6), tmp_path / "out"
    code, shown, _ = _on_a_terminal(["batch", str(d), "-o", str(out), "-i", str(INV), "-j", "2"])
    assert code == 0, shown
    assert "converting" in shown and "6/6" in shown and "files" in shown
    assert "f0" in shown  # the file being converted
    assert "fw2np batch: 6/6 files converted" in shown
    code, shown, _ = _on_a_terminal(["batch", str(d), "-o", str(out), "-i", str(INV), "-q"])
    assert code == 0 and shown == ""


def test_batch_prints_only_the_summary_on_a_non_terminal(tmp_path):
    d, out = _many(tmp_path / "in", 4), tmp_path / "out"
    (d / "bad.fw").write_text("10 allow nosuch -> any tcp/80\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-m", "translator.cli", "batch", str(d), "-o", str(out), "-i", str(INV)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert lines[0] == (
        f"fw2np batch: 4/5 files converted, 1 failed, 0 skipped, 4 rulesets, {_policies(out)} policies, "
        f"{_approximations(out)} approximations; manifests in {out / 'manifests'}, "
        f"report in {out / 'report' / 'report.json'}"
    )
    assert lines[1].startswith("  failed: ") and "bad.fw" in lines[1]
    assert "\x1b" not in res.stderr and "converting" not in res.stderr


def _policies(out: Path) -> int:
    return json.loads((out / "report" / "report.json").read_text())["totals"]["policies"]


def _approximations(out: Path) -> int:
    return json.loads((out / "report" / "report.json").read_text())["totals"]["approximations"]


def test_ctrl_c_under_the_progress_bar_stops_within_a_second(tmp_path):
    d, out = _many(tmp_path / "in", 200, extra_rules=200), tmp_path / "out"
    args = ["batch", str(d), "-o", str(out), "-i", str(INV), "-j", "2"]
    code, shown, seconds = _on_a_terminal(args, interrupt_on=rb" (\d\d|[2-9])/200")
    assert code == 130, shown
    assert "interrupted" in shown and "Traceback" not in shown
    assert seconds < 1.0, seconds
    assert not (out / "report" / "report.json").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert 2 <= len(list((out / "manifests").rglob("*.yaml"))) < 200  # stopped mid-run, whole files only


def test_batch_writes_a_kustomization_of_every_manifest(tmp_path):
    d, out = make_inputs(tmp_path), tmp_path / "out"
    batch(d, "-o", out, "-i", INV, "--host-map", host_map(tmp_path), "--layout", "per-namespace")
    report = json.loads((out / "report" / "report.json").read_text())
    outputs = [o for f in report["files"] for r in f.get("rulesets", []) for o in r["outputs"]]
    kust = (out / "manifests" / "Kustomization").read_text()
    assert yaml.safe_load(kust) == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(o.removeprefix("manifests/") for o in outputs),
    }
    on_disk = sorted(p.relative_to(out / "manifests").as_posix() for p in (out / "manifests").rglob("*.yaml"))
    assert on_disk == yaml.safe_load(kust)["resources"]
    assert sorted(p.name for p in out.iterdir()) == ["manifests", "report"]
    batch(d, "-o", out, "-i", INV, "--host-map", host_map(tmp_path), "--layout", "per-namespace", "-j", "1")
    assert (out / "manifests" / "Kustomization").read_text() == kust


def test_report_says_which_inventory_and_how_the_format_was_found(tmp_path):
    d, out = make_inputs(tmp_path), tmp_path / "out"
    (d / "fw" / "inventory.yaml").write_text(INV.read_text())
    batch(d, "-o", out, "--host-map", host_map(tmp_path), "-i", INV)
    report = json.loads((out / "report" / "report.json").read_text())
    files = {f["path"]: f for f in report["files"]}
    assert report["inventory"] == str(INV)
    assert files["fw/shop.fw"]["inventory"] == str(d / "fw" / "inventory.yaml")
    assert files["hosts/web01.rules"]["inventory"] == str(INV)
    assert files["fw/shop.fw"]["format"] == "rules" and files["fw/shop.fw"]["format_source"] == "detected"
    html = (out / "report" / "report.html").read_text()
    assert "None" not in html and ">?<" not in html
    assert "rules (detected)" in html and "not detected" in html  # notes.txt: no format could be told
    out2 = tmp_path / "out2"
    res = batch(d / "fw", "-o", out2)
    assert res.exit_code == 0, res.output
    report = json.loads((out2 / "report" / "report.json").read_text())
    assert report["inventory"] is None
    html = (out2 / "report" / "report.html").read_text()
    assert "None" not in html and "each file's inventory.yaml" in html
    res = batch(d / "fw", "-o", tmp_path / "out3", "--from", "rules")
    files = json.loads((tmp_path / "out3" / "report" / "report.json").read_text())["files"]
    assert {f["format_source"] for f in files} == {"--from"}
    assert "rules (given by --from)" in (tmp_path / "out3" / "report" / "report.html").read_text()


def test_exclude_skips_files_by_relative_path_glob(tmp_path):
    d, out = make_inputs(tmp_path), tmp_path / "out"
    res = batch(d, "-o", out, "-i", INV, "--exclude", "*.txt", "--exclude", "fw/more/*", "--exclude", "bad/*")
    assert res.exit_code == 1, res.output  # hosts/web01.rules still needs --host
    paths = {f["path"] for f in json.loads((out / "report" / "report.json").read_text())["files"]}
    assert paths == {f"fw/{HOSTILE}", "fw/shop.fw", "hosts/web01.rules"}


def test_the_report_lists_each_approximation_once(tmp_path):
    d, out = make_inputs(tmp_path), tmp_path / "out"
    batch(d, "-o", out, "-i", INV, "--host-map", host_map(tmp_path))
    report = json.loads((out / "report" / "report.json").read_text())
    rss = [r for f in report["files"] for r in f.get("rulesets", [])]
    assert sum(len(r["approximations"]) for r in rss) > 0
    assert not [x for r in rss for x in r["lint"] if x["kind"] == "approximation"]
    from html import escape

    html = (out / "report" / "report.html").read_text()
    messages = [a["message"] for r in rss for a in r["approximations"]]
    for m in set(messages):
        assert html.count(escape(m)) == messages.count(m), m
