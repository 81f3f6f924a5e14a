"""Issue 22, hostile input and faults: odd file types, malformed bounds, signals, the time limit
after the output is written, planted links in batch output trees; and a CLI fuzzer over them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from translator.cli.main import cli

from .conftest import ROOT, SAMPLES

STAGING = SAMPLES / "staging"
INV = str(STAGING / "inventory.yaml")  # for inputs refused before the inventory matters
RULES = "default deny\n10 allow 10.1.0.0/16 -> 10.0.0.5 tcp/80\n"
INVENTORY = "workloads:\n  web: {namespace: ns, labels: {app: web}, addresses: [10.0.0.0/24]}\n"


@pytest.fixture
def inv(tmp_path) -> str:
    p = tmp_path / "inv.yaml"
    p.write_text(INVENTORY)
    return str(p)


def fw2np(args, env_extra=None, timeout=120, stdin=None):
    """A real `python -m translator.cli` process (signals, devices and FIFOs behave as for a user)."""
    env = {**os.environ, **(env_extra or {})}
    env.pop("FW2NP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "translator.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
    )


def clear_error(code: int, stderr: str) -> None:
    assert code == 2, stderr
    assert "error" in stderr and "Traceback" not in stderr, stderr


# ---- item 1: the input size bound holds whatever the file type; bounds are ASCII numbers


def test_dev_zero_stops_at_the_input_bound():
    p = fw2np(["convert", "/dev/zero", "-i", INV], {"FW2NP_MAX_INPUT_BYTES": "1000"}, timeout=60)
    clear_error(p.returncode, p.stderr)
    assert "/dev/zero: error: input is larger than 1000 bytes (bound FW2NP_MAX_INPUT_BYTES)" in p.stderr


def test_stdin_pipe_stops_at_the_input_bound():
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('#' * 4096 + '\\n')"],
        stdout=subprocess.PIPE,
    )
    try:
        p = fw2np(["convert", "/dev/stdin", "-i", INV], {"FW2NP_MAX_INPUT_BYTES": "5000"}, stdin=proc.stdout)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    clear_error(p.returncode, p.stderr)
    assert "larger than 5000 bytes (bound FW2NP_MAX_INPUT_BYTES)" in p.stderr


def _feed_fifo(path: Path, data: bytes) -> threading.Thread:
    def writer():
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except (BrokenPipeError, OSError):
            pass  # the reader stopped at the bound

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    return t


def test_fifo_within_and_over_the_bound(tmp_path, inv):
    fifo = tmp_path / "rules.fw"
    os.mkfifo(fifo)
    t = _feed_fifo(fifo, RULES.encode())
    ok = CliRunner().invoke(cli, ["convert", str(fifo), "-i", inv, "-q"])
    t.join(timeout=60)
    assert ok.exit_code == 0, ok.output
    assert "kind: NetworkPolicy" in ok.stdout
    t = _feed_fifo(fifo, RULES.encode() * 100)
    big = CliRunner().invoke(cli, ["convert", str(fifo), "-i", inv, "-q"], env={"FW2NP_MAX_INPUT_BYTES": "100"})
    t.join(timeout=60)
    assert big.exit_code == 2 and "larger than 100 bytes (bound FW2NP_MAX_INPUT_BYTES)" in big.stderr


def test_regular_file_exactly_at_the_bound_is_read(tmp_path, inv):
    f = tmp_path / "r.fw"
    f.write_text(RULES + "# " + "x" * 200 + "\n")  # larger than the inventory, which the bound also covers
    n = str(f.stat().st_size)
    assert (
        CliRunner().invoke(cli, ["convert", str(f), "-i", inv, "-q"], env={"FW2NP_MAX_INPUT_BYTES": n}).exit_code == 0
    )
    over = CliRunner().invoke(cli, ["convert", str(f), "-i", inv, "-q"], env={"FW2NP_MAX_INPUT_BYTES": str(int(n) - 1)})
    assert over.exit_code == 2 and "bound FW2NP_MAX_INPUT_BYTES" in over.stderr


@pytest.mark.parametrize("value", ["²", "١٠", "1e3", "-5", "12abc", "𝟗", "9" * 40])
@pytest.mark.parametrize("var", ["FW2NP_TIME_LIMIT", "FW2NP_MAX_INPUT_BYTES", "FW2NP_MAX_DEPTH", "FW2NP_MAX_LINES"])
def test_malformed_bound_is_a_clear_error(tmp_path, inv, var, value):
    f = tmp_path / "r.fw"
    f.write_text(RULES)
    res = CliRunner().invoke(cli, ["convert", str(f), "-i", inv, "-q"], env={var: value})
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert f"error: environment variable {var}=" in res.stderr and "not a whole number" in res.stderr


def test_bound_with_blanks_and_empty_bound():
    from translator.limits import bound

    os.environ["FW2NP_TEST_BOUND"] = " 42\n"
    try:
        assert bound("TEST_BOUND", 7) == 42
        os.environ["FW2NP_TEST_BOUND"] = ""
        assert bound("TEST_BOUND", 7) == 7
    finally:
        del os.environ["FW2NP_TEST_BOUND"]


# ---- item 2: batch workers end with their parent; SIGTERM is handled as Ctrl-C

SHOP = """\
ruleset shop-{n}
default deny
10 allow 10.20.0.0/16 -> 10.10.0.11 tcp/443
20 deny 10.20.99.0/24 -> 10.30.0.0/16 any
30 allow 10.20.0.0/16 -> 10.30.0.0/16 tcp/5432
"""
BATCH_INV = SAMPLES / "iptables" / "inventory.yaml"


def _alive(pid: int) -> bool:
    """PID exists and is not a zombie (an orphan's zombie may wait for a reaper that never comes)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _poll(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def _slow_batch(tmp_path: Path, files: int = 60) -> tuple[subprocess.Popen, Path, list[int]]:
    """A `batch -j 2` process busy converting; (process, output dir, worker pids)."""
    d, out = tmp_path / "in", tmp_path / "out"
    d.mkdir()
    rules = SHOP + "".join(f"{50 + k} allow 10.20.{k}.0/24 -> 10.30.0.0/16 tcp/{1000 + k}\n" for k in range(200))
    for k in range(files):
        (d / f"f{k:02}.fw").write_text(rules.format(n=k))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FW2NP_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "translator.cli", "batch", str(d), "-o", str(out), "-i", str(BATCH_INV), "-j", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert _poll(lambda: len(list((out / "manifests").glob("*.yaml"))) >= 2 or proc.poll() is not None, 120)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    workers: set[int] = set()

    def two_workers() -> bool:
        workers.update(_children(proc.pid))
        return len(workers) >= 2

    assert _poll(two_workers, 60)
    return proc, out, sorted(workers)


def _end_session(proc: subprocess.Popen, workers) -> None:
    """Kill whatever is left of PROC's session (it was started in a new one), so no test waits on a pipe."""
    import signal

    for w in workers:
        if _alive(w):
            os.kill(w, signal.SIGKILL)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        pass


def test_workers_exit_when_the_batch_is_killed(tmp_path):
    import signal

    proc, out, workers = _slow_batch(tmp_path)
    try:
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, as an OOM killer would
        proc.wait(timeout=60)
        assert _poll(lambda: not any(_alive(w) for w in workers), 60), [w for w in workers if _alive(w)]
    finally:
        _end_session(proc, workers)


def test_sigterm_to_batch_is_handled_as_ctrl_c(tmp_path):
    import json
    import signal

    proc, out, workers = _slow_batch(tmp_path)
    try:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)  # every writer of the pipe gone: the workers too
        assert proc.returncode == 143, stderr
        assert "terminated" in stderr and "Traceback" not in stderr
        assert _poll(lambda: not any(_alive(w) for w in workers), 60)
        assert not (out / "report" / "report.json").exists()
        assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
        partial = list((out / "manifests").glob("*.yaml"))
        assert 2 <= len(partial) < 60
    finally:
        _end_session(proc, workers)
    rerun = fw2np(["batch", tmp_path / "in", "-o", out, "-i", BATCH_INV, "-j", "2"], timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads((out / "report" / "report.json").read_text())["totals"]["converted"] == 60


def test_sigterm_to_lint_stops_its_workers_without_a_traceback(tmp_path):
    """lint shares several rulesets out over forked workers, which inherited the CLI's SIGTERM handler: a
    SIGTERM (or the pool's terminate at the end of a run) raised Terminated in each, a worker's traceback on
    stderr. Now: exit 143, 'terminated', no traceback, the workers gone."""
    import signal

    acls = "".join(
        f"ip access-list extended A{a}\n"
        + "".join(f" permit tcp 10.{a}.{k // 250}.{k % 250} 0.0.0.0 host 192.168.{k % 200}.{k // 200} eq {1000 + k}\n"
                  for k in range(2000))
        for a in range(2)
    )  # fmt: skip
    f = tmp_path / "two.ios"
    f.write_text(acls)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FW2NP_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "translator.cli", "lint", str(f), "--no-progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    workers: set[int] = set()

    def two_workers() -> bool:
        workers.update(_children(proc.pid))
        return len(workers) >= 2 or proc.poll() is not None

    try:
        assert _poll(two_workers, 60) and proc.poll() is None, "lint ended before it could be interrupted"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 143 and "terminated" in stderr, stderr[-2000:]
        assert "Traceback" not in stderr, stderr[-2000:]
        assert _poll(lambda: not any(_alive(w) for w in workers), 30)
    finally:
        _end_session(proc, workers)


# ---- item 3: FW2NP_TIME_LIMIT reached in the summary's lint, after the output is written


def test_time_limit_in_the_summary_lint_keeps_the_output_and_says_so(tmp_path, inv, monkeypatch):
    import translator.cli.summary as summary

    def slow_lint(result, inventory):
        time.sleep(300)  # the alarm (FW2NP_TIME_LIMIT) ends it

    monkeypatch.setattr(summary, "lint_extras", slow_lint)
    f, out = tmp_path / "r.fw", tmp_path / "out.yaml"
    f.write_text(RULES)
    t0 = time.monotonic()
    res = CliRunner().invoke(cli, ["convert", str(f), "-i", inv, "-o", str(out)], env={"FW2NP_TIME_LIMIT": "5"})
    assert time.monotonic() - t0 < 120
    assert res.exit_code == 0, res.output
    assert "lint in the summary stopped at the time limit (5 s, bound FW2NP_TIME_LIMIT)" in res.stderr
    assert "the output is complete" in res.stderr and " 1 rule read, " in res.stderr.splitlines()[-1]
    quiet = CliRunner().invoke(cli, ["convert", str(f), "-i", inv, "-q"])
    assert out.read_text() == quiet.stdout and "kind: NetworkPolicy" in quiet.stdout


def test_time_limit_before_the_output_is_written_writes_nothing(tmp_path, inv, monkeypatch):
    import translator.compiler.synth as synth

    def slow_compile(*_a, **_k):
        time.sleep(300)

    monkeypatch.setattr(synth, "convert", slow_compile)
    f, out = tmp_path / "r.fw", tmp_path / "out.yaml"
    f.write_text(RULES)
    res = CliRunner().invoke(cli, ["convert", str(f), "-i", inv, "-o", str(out)], env={"FW2NP_TIME_LIMIT": "2"})
    assert res.exit_code == 2 and "error: stopped after 2 s (bound FW2NP_TIME_LIMIT)" in res.stderr
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))


# ---- item 4: batch never writes through a link in its output tree; reports apart from manifests


def _batch_in(tmp_path: Path, name: str = "a.fw") -> Path:
    d = tmp_path / "in"
    d.mkdir(exist_ok=True)
    (d / name).write_text(SHOP.format(n=1))
    return d


@pytest.mark.parametrize("layout", ["per-input", "per-namespace"])
def test_batch_refuses_a_directory_link_in_the_output_tree(tmp_path, layout):
    d = _batch_in(tmp_path)
    (d / "sub").mkdir()
    (d / "sub" / "b.fw").write_text(SHOP.format(n=2))
    outside, out = tmp_path / "outside", tmp_path / "out"
    outside.mkdir()
    (out / "manifests").mkdir(parents=True)
    (outside / "b.fw.yaml").write_text("precious\n")
    (outside / "b.fw").mkdir()
    (outside / "b.fw" / "shop.yaml").write_text("precious\n")
    (out / "manifests" / "sub").symlink_to(outside, target_is_directory=True)
    res = CliRunner().invoke(cli, ["batch", str(d), "-o", str(out), "-i", str(BATCH_INV), "--layout", layout])
    assert res.exit_code == 1, res.output
    assert (
        f"{out / 'manifests' / 'sub'}: error: a symbolic link in the output directory: refusing to write through it"
        in res.stderr
    )
    assert (outside / "b.fw.yaml").read_text() == "precious\n"
    assert (outside / "b.fw" / "shop.yaml").read_text() == "precious\n"
    assert sorted(p.name for p in outside.rglob("*")) == ["b.fw", "b.fw.yaml", "shop.yaml"]
    assert list((out / "manifests").glob("a.fw*"))  # the other file is converted


def test_batch_does_not_write_through_a_file_link(tmp_path):
    d = _batch_in(tmp_path)
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    (out / "manifests").mkdir(parents=True)
    victim.write_text("precious\n")
    (out / "manifests" / "a.fw.yaml").symlink_to(victim)
    res = CliRunner().invoke(cli, ["batch", str(d), "-o", str(out), "-i", str(BATCH_INV)])
    assert res.exit_code == 1 and "a symbolic link in the output directory" in res.stderr
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("planted", ["report", "manifests"])
def test_batch_refuses_a_link_for_its_report_or_manifest_directory(tmp_path, planted):
    d = _batch_in(tmp_path)
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    for name in ("report.json", "report.html", "Kustomization"):
        (outside / name).write_text("precious\n")
    (out / planted).symlink_to(outside, target_is_directory=True)
    res = CliRunner().invoke(cli, ["batch", str(d), "-o", str(out), "-i", str(BATCH_INV)])
    assert res.exit_code in (1, 2) and "a symbolic link in the output directory" in res.stderr
    assert all((outside / n).read_text() == "precious\n" for n in ("report.json", "report.html", "Kustomization"))


@pytest.mark.parametrize("name", ["report.json", "report.html", "Kustomization", "kustomization"])
@pytest.mark.parametrize("layout", ["per-input", "per-namespace"])
def test_input_named_like_the_report_does_not_collide(tmp_path, name, layout):
    import json

    d = _batch_in(tmp_path, name)
    (d / "report").mkdir()  # a folder named like the report's
    (d / "report" / "x.fw").write_text(SHOP.format(n=2))
    out = tmp_path / "out"
    for _ in range(2):  # and a rerun
        res = CliRunner().invoke(cli, ["batch", str(d), "-o", str(out), "-i", str(BATCH_INV), "--layout", layout])
        assert res.exit_code == 0, res.output
        report = json.loads((out / "report" / "report.json").read_text())
        assert report["totals"]["converted"] == 2
        outputs = sorted(o for f in report["files"] for r in f["rulesets"] for o in r["outputs"])
        assert all((out / o).is_file() and o.startswith("manifests/") for o in outputs)
        assert (out / "report" / "report.html").is_file()
        assert sorted(p.name for p in (out / "report").iterdir()) == ["report.html", "report.json"]
    first = sorted(o.split("/")[1] for o in outputs)
    assert not {"Kustomization", "kustomization.yaml", "kustomization.yml"} & set(first)  # kustomize's own
    escaped = (name, layout) in (("Kustomization", "per-namespace"), ("kustomization", "per-input"))
    mine = f"_{name}" if escaped else name
    if layout == "per-namespace":
        assert outputs == sorted([f"manifests/{mine}/shop.yaml", "manifests/report/x.fw/shop.yaml"])
    else:
        assert outputs == sorted([f"manifests/{mine}.yaml", "manifests/report/x.fw.yaml"])
    assert (out / "manifests" / "Kustomization").is_file()


def test_manifest_rel_is_injective_and_avoids_kustomize_names():
    from translator.batch.outtree import manifest_rel

    names = ["Kustomization", "_Kustomization", "__Kustomization", "kustomization.yaml", "_x", "a/Kustomization"]
    mapped = [manifest_rel(n) for n in names]
    assert len(set(mapped)) == len(names)
    assert not {"manifests/Kustomization", "manifests/kustomization.yaml"} & set(mapped)
    assert manifest_rel("_x") == "manifests/_x" and manifest_rel("a/Kustomization") == "manifests/a/Kustomization"


# ---- item 5: CLI fuzzing over odd file types and malformed bounds

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ_EXAMPLES = 60
# each example must end (a result or a clear error) within this (FW2NP_TIME_LIMIT, plus slack for a
# loaded machine)
FUZZ_SECONDS = 10
KINDS = ["regular", "fifo", "dev-zero", "directory", "symlink", "dangling-symlink", "symlink-loop", "mode-000", "eio"]
BOUND_VALUES = ["", "4096", " 64 ", "²", "³", "١٠", "०", "𝟗", "1e3", "-1", "0x10", "9" * 30, "\u00a0"]


def _make_input(d: Path, kind: str, content: bytes):
    """The path of an input of KIND, and a function to call afterwards (unblock a FIFO writer)."""
    f = d / "input"
    done = lambda: None  # noqa: E731
    if kind == "regular":
        f.write_bytes(content)
    elif kind == "fifo":
        os.mkfifo(f)
        t = _feed_fifo(f, content)

        def done():
            try:  # a reader that never came: let the writer's open return, its write then fails
                os.close(os.open(f, os.O_RDONLY | os.O_NONBLOCK))
            except OSError:
                pass
            t.join(timeout=30)

    elif kind == "dev-zero":
        return "/dev/zero", done
    elif kind == "directory":
        f.mkdir()
        (f / "x.fw").write_bytes(content)
    elif kind == "symlink":
        (d / "target").write_bytes(content)
        f.symlink_to(d / "target")
    elif kind == "dangling-symlink":
        f.symlink_to(d / "nowhere")
    elif kind == "symlink-loop":
        f.symlink_to(d / "input")
    elif kind == "mode-000":
        f.write_bytes(content)
        f.chmod(0)  # unreadable, except to root
    elif kind == "eio":
        return "/proc/self/mem", done  # opens, and reading offset 0 fails with EIO
    return str(f), done


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    command=st.sampled_from(["convert", "verify", "reverse", "explain"]),
    kind=st.sampled_from(KINDS),
    content=st.sampled_from([RULES.encode(), b"", b"\xff\xfe\x00junk", RULES.encode() * 200]),
    bound_var=st.sampled_from(["FW2NP_MAX_INPUT_BYTES", "FW2NP_TIME_LIMIT", "FW2NP_MAX_DEPTH", "FW2NP_MAX_LINES"]),
    bound_value=st.sampled_from(BOUND_VALUES),
)
def test_fuzz_odd_inputs_and_bounds(tmp_path_factory, command, kind, content, bound_var, bound_value):
    d = tmp_path_factory.mktemp("odd")
    (d / "inv.yaml").write_text(INVENTORY)
    inv = str(d / "inv.yaml")
    path, done = _make_input(d, kind, content)
    rules = d / "rules.fw"
    rules.write_text(RULES)
    args = {
        "convert": ["convert", path, "-i", inv, "-q"],
        "verify": ["verify", str(rules), path, "-i", inv],
        "reverse": ["reverse", path],
        "explain": ["explain", path, "-i", inv, "--flow", "10.1.0.5 -> 10.0.0.5 tcp/80"],
    }[command]
    env = {bound_var: bound_value}
    if kind == "dev-zero" and bound_var != "FW2NP_MAX_INPUT_BYTES":
        env["FW2NP_MAX_INPUT_BYTES"] = "4096"
    if bound_var != "FW2NP_TIME_LIMIT":
        env["FW2NP_TIME_LIMIT"] = str(FUZZ_SECONDS)
    t0 = time.monotonic()
    try:
        res = CliRunner().invoke(cli, args, env=env)
    finally:
        done()
    assert time.monotonic() - t0 < FUZZ_SECONDS + 30
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    assert res.exit_code in (0, 1, 2), (res.exit_code, res.output)
    assert "Traceback" not in res.output and "internal error" not in res.output, res.output
    if res.exit_code == 2:
        assert "error" in res.stderr.lower(), res.stderr
    if bound_value.strip(" \t\r\n") and not bound_value.strip(" \t\r\n").isascii():
        assert res.exit_code == 2 and f"environment variable {bound_var}=" in res.stderr
    if kind == "dev-zero" and res.exit_code != 2:
        pytest.fail(f"/dev/zero was accepted: {res.output}")


@pytest.mark.parametrize("which", ["policies", "rules"])
def test_explain_reads_a_fifo_once(tmp_path, which):
    """explain looks at its SOURCE to tell policies from a ruleset: on a FIFO that read is the only one."""
    import threading

    from click.testing import CliRunner

    from translator.cli.main import cli

    samples = Path(__file__).resolve().parents[1] / "samples" / "verify"
    src = (samples / ("three-tier.yaml" if which == "policies" else "three-tier.fw")).read_text()
    fifo = tmp_path / "src"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(src), daemon=True)
    writer.start()
    args = ["explain", str(fifo), "-i", str(samples / "inventory.yaml"), "--flow", "frontend -> backend tcp/8080"]
    r = CliRunner().invoke(cli, args, env={"FW2NP_TIME_LIMIT": "60"})
    writer.join(5)
    assert r.exit_code == 0, r.output
    assert r.output.rstrip().splitlines()[-1].startswith("decision: allow")
