"""convert's summary (findings by kind, last, one count, --findings FILE) and its progress on a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys

from click.testing import CliRunner

from translator.cli.main import cli
from translator.cli.summary import EXAMPLES, plural

from .conftest import SAMPLES

STAGING = [str(SAMPLES / "staging" / "rules.fw"), "-i", str(SAMPLES / "staging" / "inventory.yaml")]
ASA = [str(SAMPLES / "cisco-asa" / "dmz-asa.cfg"), "-i", str(SAMPLES / "cisco-asa" / "inventory.yaml")]
PHASES = ("fw2np: parse:", "fw2np: compile:", "fw2np: synthesise:", "fw2np: findings:", "fw2np: write:")


def run(args, env=None):
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def many_findings(tmp_path):
    """A ruleset with 5 partial-cover findings (each rule covers half of a workload's addresses)."""
    rules = tmp_path / "many.fw"
    rules.write_text("".join(f"{k}0 allow 10.0.{k}.0/25 -> any tcp/80\n" for k in range(1, 6)))
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "cluster: {podCIDRs: [10.244.0.0/16]}\nworkloads:\n"
        + "".join(
            f"  w{k}: {{namespace: ns, labels: {{app: w{k}}}, addresses: [10.0.{k}.0/24]}}\n" for k in range(1, 6)
        )
    )
    return [str(rules), "-i", str(inv)]


def test_plural():
    assert [plural(1, "policy"), plural(2, "policy"), plural(0, "finding"), plural(1, "rule")] == [
        "1 policy",
        "2 policies",
        "0 findings",
        "1 rule",
    ]
    assert plural(3, "pod class") == "3 pod classes" and plural(2, "is") == "2 are"


def test_summary_is_last_with_one_count_of_every_finding(tmp_path):
    res = run(["convert", *STAGING, "-o", str(tmp_path / "out.yaml")])
    lines = res.stderr.splitlines()
    assert res.exit_code == 0
    last = lines[-1]
    assert last.startswith("fw2np: staging-shop: 6 rule lines seen, 6 rules read, 0 skipped, 11 policies written")
    assert "7 findings (1 note, 1 conflict, 4 dns-egress, 1 redundant)" in last
    assert not any("finding(s)" in ln or "0 findings" in ln for ln in lines)  # one count, one place
    assert "named " not in last  # the ruleset's name is its policies' prefix


def test_findings_grouped_by_kind_with_a_few_examples(tmp_path):
    res = run(["convert", *many_findings(tmp_path), "-q", "--no-progress"])
    assert res.stderr == ""
    res = run(["convert", *many_findings(tmp_path), "-o", str(tmp_path / "o.yaml")])
    lines = res.stderr.splitlines()
    head = lines.index("  partial-cover (denies more than the ruleset): 5")
    shown = lines[head + 1 : head + 1 + EXAMPLES]
    assert [ln.split(": rule ")[1].split(":")[0] for ln in shown] == ["10", "20", "30"]
    assert lines[head + 1 + EXAMPLES] == "    ... and 2 more"
    assert "5 partial-cover" in lines[-1] and lines[-1].endswith("; all of them: --findings FILE")


def test_findings_file_json_and_text_hold_every_finding(tmp_path):
    args = many_findings(tmp_path)
    js, txt = tmp_path / "f.json", tmp_path / "f.txt"
    res = run(["convert", *args, "-o", str(tmp_path / "o.yaml"), "--findings", str(js)])
    doc = json.loads(js.read_text())
    (rs,) = doc["rulesets"]
    covers = [f for f in rs["findings"] if f["kind"] == "partial-cover"]
    assert [f["rule"] for f in covers] == ["10", "20", "30", "40", "50"]
    assert all(f["source"] == "compiler" and f["example"] for f in covers)
    assert f"{len(rs['findings'])} findings" in res.stderr.splitlines()[-1]
    assert res.stderr.splitlines()[-1].endswith(f"all of them in {js}")
    quiet = run(["convert", *args, "-q", "--findings", str(txt)])
    assert quiet.stderr == ""
    text = txt.read_text().splitlines()
    assert text[0] == f"ruleset many: {len(rs['findings'])} findings"
    assert sum(": partial-cover: " in ln for ln in text) == 5


def test_summary_names_the_policy_prefix_when_it_differs_from_the_ruleset(tmp_path):
    res = run(["convert", *ASA, "-o", str(tmp_path / "o.yaml")])
    assert res.exit_code == 0
    last = res.stderr.splitlines()[-1]
    assert last.startswith("fw2np: DMZ_in: ") and ", named dmz-in-3fe233-*;" in last
    names = {d.split("name: ")[1] for d in (tmp_path / "o.yaml").read_text().splitlines() if "  name: " in d}
    assert names and all(n.startswith("dmz-in-3fe233-") for n in names)


def test_no_progress_on_a_non_terminal_stderr(tmp_path):
    res = run(["convert", *STAGING, "-o", str(tmp_path / "o.yaml")])
    assert not any(p in res.stderr for p in PHASES) and "\x1b" not in res.stderr


def test_forced_progress_shows_the_phases_and_q_silences_it(tmp_path):
    out = str(tmp_path / "o.yaml")
    for args, env in (([], {"FW2NP_PROGRESS": "1"}), (["--progress"], None)):
        res = run(["convert", *STAGING, "-o", out, *args], env)
        assert res.exit_code == 0
        for p in PHASES:
            assert p in res.stderr, p
        assert "fw2np: synthesise: 12/12 pod classes x directions" in res.stderr
        assert "fw2np: write: 11 policies" in res.stderr
        assert res.stderr.splitlines()[-1].startswith("fw2np: staging-shop: 6 rule lines seen")
    quiet = run(["convert", *STAGING, "-o", out, "-q", "--progress"])
    assert quiet.stderr == ""
    off = run(["convert", *STAGING, "-o", out, "--no-progress"], {"FW2NP_PROGRESS": "1"})
    assert not any(p in off.stderr for p in PHASES)


def on_pty(args, stdout_too=False) -> tuple[int, str]:
    """Run fw2np with stderr (and stdout, if STDOUT_TOO) on a pseudo-terminal; its exit code and what the
    terminal received."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "FW2NP_PROGRESS"}
    out = follower if stdout_too else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "translator.cli", *args], stdin=subprocess.DEVNULL, stdout=out, stderr=follower, env=env
    )
    os.close(follower)
    seen = b""
    while select.select([leader], [], [], 60)[0]:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed (Linux: EIO)
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return proc.wait(60), seen.decode(errors="replace")


def test_progress_on_a_pseudo_terminal(tmp_path):
    """A real terminal on stderr (a pty), nothing forced: the phases show, then the summary."""
    code, text = on_pty(["convert", *STAGING, "-o", str(tmp_path / "o.yaml")])
    assert code == 0
    for p in PHASES:
        assert p in text, p
    assert text.index("fw2np: write:") < text.index("fw2np: staging-shop: 6 rule lines seen")
    assert on_pty(["convert", *STAGING, "-q", "-o", str(tmp_path / "o.yaml")]) == (0, "")


def test_progress_never_takes_or_cuts_the_output(tmp_path):
    quiet = run(["convert", *STAGING, "-q"]).stdout
    assert run(["convert", *STAGING, "--progress"]).stdout == quiet  # stdout is not redirected into the console
    code, text = on_pty(["convert", *STAGING], stdout_too=True)  # YAML and progress on one terminal
    assert code == 0 and "fw2np: write: 11 policies" in text
    assert text.replace("\r\n", "\n").count("\nkind: NetworkPolicy\n") == 11
    assert quiet.replace("\n", "\r\n") in text  # the YAML whole, not cut by the live line


def test_lint_writes_every_finding_to_a_file_and_counts_with_plurals(tmp_path):
    js = tmp_path / "lint.json"
    res = run(["lint", *STAGING, "--findings", str(js)])
    assert res.exit_code == 1 and res.stdout.startswith("ruleset staging-shop: 6 rules, 7 findings\n")
    kinds = [f["kind"] for f in json.loads(js.read_text())["rulesets"][0]["findings"]]
    assert sorted(kinds) == ["conflict", "dns-egress", "dns-egress", "dns-egress", "dns-egress", "note", "redundant"]
    one = tmp_path / "one.fw"
    one.write_text("default deny\n10 deny any -> any any\n")
    res = run(["lint", str(one)])
    assert res.stdout.splitlines()[0] == "ruleset one: 1 rule, 1 finding"


def test_verify_and_reverse_show_their_phases_when_forced(tmp_path):
    out = tmp_path / "o.yaml"
    assert run(["convert", *STAGING, "-q", "-o", str(out)]).exit_code == 0
    res = run(["verify", STAGING[0], str(out), "-i", STAGING[2], "--progress"])
    assert res.exit_code == 0 and "equivalent" in res.stdout
    at = [res.stderr.index(p) for p in ("fw2np: parse: 6 rules, 11 policies", "fw2np: classes:", "fw2np: walk:")]
    assert at == sorted(at)
    assert "fw2np:" not in run(["verify", STAGING[0], str(out), "-i", STAGING[2]]).stderr
    res = run(["reverse", str(out), "--progress"])
    assert "fw2np: parse: 11 policies" in res.stderr and "fw2np: render:" in res.stderr
    assert run(["reverse", str(out)]).stderr == ""


def test_lint_skipped_inside_convert_is_said_on_the_summary_line(tmp_path, monkeypatch):
    from translator.lint import checks

    monkeypatch.setattr(checks, "CONVERT_LINT_MAX_RULES", 5)
    res = run(["convert", *STAGING, "-o", str(tmp_path / "o.yaml"), "--progress"])
    last = res.stderr.splitlines()[-1]
    assert last.endswith("; lint skipped (6 rules > 5; run `fw2np lint` for it)")
    assert "1 finding (1 note)" in last and "dns-egress" not in res.stderr
    assert "fw2np: lint staging-shop: lint skipped (6 rules > 5;" in res.stderr


def test_ctrl_c_under_the_progress_line_ends_at_once(tmp_path):
    """SIGINT while the live line runs: exit 130 within a second, 'interrupted', no traceback, no output."""
    import signal
    import time

    import bench.generate as g

    g.write(g.generate(1000), str(tmp_path))
    out = tmp_path / "o.yaml"
    leader, follower = pty.openpty()
    cmd = [sys.executable, "-m", "translator.cli", "convert", str(tmp_path / "rules.fw")]
    cmd += ["-i", str(tmp_path / "inventory.yaml"), "-o", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "FW2NP_PROGRESS"}
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    seen, sent = b"", None
    while select.select([leader], [], [], 60)[0]:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if sent is None and b"synthesise" in seen:
            proc.send_signal(signal.SIGINT)
            sent = time.monotonic()
    os.close(leader)
    assert sent is not None and proc.wait(10) == 130
    assert time.monotonic() - sent < 1.5
    text = seen.decode(errors="replace")
    assert "interrupted" in text and "Traceback" not in text and not out.exists()
