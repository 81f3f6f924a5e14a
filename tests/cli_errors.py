"""What every frontend's error tests check through the command line: exit 2, file:line:column first,
no traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from translator.cli.main import cli

GENERIC = Path(__file__).resolve().parents[2] / "shared" / "realworld" / "inventories" / "generic.yaml"


def assert_cli_error(path: Path, text: str, fmt: str | None = None) -> None:
    """TEXT written to PATH and converted (as FMT): a clear error, exit 2."""
    path.write_text(text)
    args = ["convert", str(path), "-i", str(GENERIC)] + (["--from", fmt] if fmt else [])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and r.output.startswith(f"{path}:") and "Traceback" not in r.output, r.output
