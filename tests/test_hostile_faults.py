"""Issue 22, hostile input and faults: odd file types, malformed bounds, signals, the time limit
after the output is written, planted links in batch output trees; and a CLI fuzzer over them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
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
