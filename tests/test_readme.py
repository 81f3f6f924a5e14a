"""The README's shown outputs are what fw2np prints today.

A block after `<!-- fw2np-output: CMD && CMD ... -->` is the exact stdout of the last command
(its stderr with a trailing `(stderr)`); after `<!-- fw2np-excerpt: CMD -->` its lines appear in
order and contiguously in the output, runs of spaces compared as one (column widths vary).
The commands run in a temporary directory that holds a link to samples/.
"""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner

from translator.cli.main import cli

from .conftest import ROOT, SAMPLES

README = ROOT / "README.md"
MARKER = re.compile(r"<!-- fw2np-(output|excerpt): (.+?) -->\n```\n(.*?)```\n", re.S)


def shown() -> list[tuple[str, str, str]]:
    return MARKER.findall(README.read_text())


def run(commands: str, tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "samples").symlink_to(SAMPLES, target_is_directory=True)
    err = commands.endswith("(stderr)")
    out = ""
    for cmd in commands.removesuffix("(stderr)").split(" && "):
        argv = shlex.split(cmd)
        assert argv[0] == "fw2np", cmd
        res = CliRunner().invoke(cli, argv[1:])
        assert res.exit_code in (0, 1), (cmd, res.output)
        out = res.stderr if err else res.stdout
    return out


def squeeze(lines: list[str]) -> list[str]:
    return [" ".join(line.split()) for line in lines]


def test_the_readme_shows_outputs():
    kinds = [(kind, cmd.split()[1]) for kind, cmd, _ in shown()]
    assert ("output", "convert") in kinds and ("output", "verify") in kinds and ("output", "batch") in kinds


@pytest.mark.parametrize("kind, commands, block", shown(), ids=[c[:60] for _, c, _ in shown()])
def test_a_shown_output_is_current(kind, commands, block, tmp_path, monkeypatch):
    out = run(commands, tmp_path, monkeypatch)
    if kind == "output":
        assert block == out, f"README.md is stale for `{commands}`; it prints:\n{out}"
        return
    want, got = squeeze(block.splitlines()), squeeze(out.splitlines())
    starts = [i for i in range(len(got)) if got[i : i + len(want)] == want]
    assert starts, f"README.md's excerpt of `{commands}` is stale; it prints:\n{out}"
