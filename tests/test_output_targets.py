"""Where -o, -d and batch write: through devices, FIFOs and links; with the umask; '-' and the format by name."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from translator.cli.main import cli
from translator.io.manifests import EMPTY_LIST, KUSTOMIZATION, write_docs, write_per_namespace

from .conftest import SAMPLES

RULES = str(SAMPLES / "staging" / "rules.fw")
INV = str(SAMPLES / "staging" / "inventory.yaml")
POLICIES = str(SAMPLES / "policies" / "three-tier.yaml")


def convert(*args):
    return CliRunner().invoke(cli, ["convert", RULES, "-i", INV, "-q", *map(str, args)])


@pytest.fixture(scope="module")
def expected() -> str:
    res = convert()
    assert res.exit_code == 0, res.output
    return res.stdout


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def null_device(where: Path) -> Path:
    """A character device with /dev/null's numbers, made in a temporary directory (we run as root)."""
    st = os.stat("/dev/null")
    os.mknod(where, stat.S_IFCHR | 0o666, st.st_rdev)
    return where


class FifoReader:
    """A thread that reads everything written to a FIFO."""

    def __init__(self, path: Path):
        os.mkfifo(path)
        self.path, self.data = path, b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as fh:
            self.data = fh.read()

    def text(self) -> str:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        return self.data.decode()


# ---- item 1: write through devices, FIFOs and links; the umask


def test_o_writes_through_a_device_and_keeps_it(tmp_path):
    dev = null_device(tmp_path / "null")
    before = os.stat(dev)
    res = convert("-o", dev)
    assert res.exit_code == 0, res.output
    after = os.stat(dev)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert [p.name for p in tmp_path.iterdir()] == ["null"]  # no temporary file left beside it


def test_o_writes_through_a_fifo(tmp_path, expected):
    reader = FifoReader(tmp_path / "pipe")
    res = convert("-o", reader.path)
    assert res.exit_code == 0, res.output
    assert reader.text() == expected
    assert stat.S_ISFIFO(os.stat(reader.path).st_mode)


def test_o_through_a_symlink_replaces_the_target_not_the_link(tmp_path, expected):
    target, link = tmp_path / "real.yaml", tmp_path / "link.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    link.symlink_to(target.name)
    res = convert("-o", link)
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and os.readlink(link) == "real.yaml"
    assert target.read_text() == expected
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640  # a replaced file keeps its permissions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.yaml", "real.yaml"]


def test_o_through_a_link_to_a_device_and_a_dangling_link(tmp_path, expected):
    dev = null_device(tmp_path / "null")
    (tmp_path / "to-null").symlink_to(dev)
    assert convert("-o", tmp_path / "to-null").exit_code == 0
    assert stat.S_ISCHR(os.stat(dev).st_mode) and (tmp_path / "to-null").is_symlink()
    (tmp_path / "dangling").symlink_to(tmp_path / "made.yaml")
    assert convert("-o", tmp_path / "dangling").exit_code == 0
    assert (tmp_path / "made.yaml").read_text() == expected and (tmp_path / "dangling").is_symlink()


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        assert convert("-o", tmp_path / "one.yaml").exit_code == 0
        assert convert("-d", tmp_path / "dir").exit_code == 0
        res = CliRunner().invoke(cli, ["reverse", POLICIES, "-o", tmp_path / "table.txt"])
        assert res.exit_code == 0, res.output
    finally:
        os.umask(old)
    written = [tmp_path / "one.yaml", tmp_path / "table.txt", *(tmp_path / "dir").iterdir()]
    assert len(written) >= 4
    assert {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in written} == {p.name: mode for p in written}


def test_bad_input_leaves_the_output_untouched(tmp_path):
    out = tmp_path / "out.yaml"
    out.write_text("precious\n")
    bad = tmp_path / "bad.fw"
    bad.write_text("10 allow nosuch -> any tcp/80\n")
    res = CliRunner().invoke(cli, ["convert", str(bad), "-i", INV, "-o", str(out)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert out.read_text() == "precious\n" and sorted(p.name for p in tmp_path.iterdir()) == ["bad.fw", "out.yaml"]


def test_o_under_a_regular_file_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x\n")
    res = convert("-o", tmp_path / "file" / "out.yaml")
    assert res.exit_code == 2 and "Not a directory" in res.stderr and "Traceback" not in res.output


def test_batch_writes_through_a_device_and_a_fifo_in_its_tree(tmp_path, umask022):
    d = tmp_path / "in"
    d.mkdir()
    for name in ("a.fw", "b.fw", "c.fw"):
        (d / name).write_text(Path(RULES).read_text())
    (d / "inventory.yaml").write_text(Path(INV).read_text())
    out = tmp_path / "out"
    (out / "manifests").mkdir(parents=True)
    dev = null_device(out / "manifests" / "a.fw.yaml")
    reader = FifoReader(out / "manifests" / "b.fw.yaml")
    res = CliRunner().invoke(cli, ["batch", str(d), "-o", str(out), "-j", "1"])
    assert res.exit_code == 0, res.output
    assert stat.S_ISCHR(os.stat(dev).st_mode) and stat.S_ISFIFO(os.stat(reader.path).st_mode)
    written = (out / "manifests" / "c.fw.yaml").read_text()
    assert reader.text() == written and "kind: NetworkPolicy" in written
    for p in [out / "manifests" / "c.fw.yaml", out / "manifests" / KUSTOMIZATION, *(out / "report").iterdir()]:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o644, p


# ---- item 2: '-o -' is stdout; the format follows the file name unless --format says otherwise


def test_dash_is_stdout(expected, tmp_path):
    res = convert("-o", "-")
    assert res.exit_code == 0 and res.stdout == expected
    res = CliRunner().invoke(cli, ["reverse", POLICIES, "-o", "-"])
    assert res.exit_code == 0 and "ACTION" in res.stdout
    assert res.stdout == CliRunner().invoke(cli, ["reverse", POLICIES]).stdout
    assert not Path("-").exists()


@pytest.mark.parametrize(
    "name, args, fmt",
    [
        ("out.json", [], "json"),
        ("out.JSON", [], "json"),
        ("out.yaml", [], "yaml"),
        ("out.yml", [], "yaml"),
        ("out.txt", [], "yaml"),
        ("out.json", ["--format", "yaml"], "yaml"),
        ("out.yaml", ["--format", "json"], "json"),
    ],
)
def test_the_format_follows_the_file_name(tmp_path, name, args, fmt):
    res = convert("-o", tmp_path / name, *args)
    assert res.exit_code == 0, res.output
    text = (tmp_path / name).read_text()
    if fmt == "json":
        assert json.loads(text)["kind"] == "List"
    else:
        assert text.startswith("---\n") and list(yaml.safe_load_all(text))[0]["kind"] == "NetworkPolicy"


def test_dir_takes_format_and_defaults_to_yaml(tmp_path):
    assert convert("-d", tmp_path / "y").exit_code == 0
    assert convert("-d", tmp_path / "j", "--format", "json").exit_code == 0
    assert {p.suffix for p in (tmp_path / "y").iterdir()} == {".yaml", ""}
    assert {p.suffix for p in (tmp_path / "j").iterdir()} == {".json", ""}


@pytest.mark.parametrize("cmd", ["convert", "reverse"])
@pytest.mark.parametrize("name", ["json", "yaml", "yml"])
def test_o_with_a_format_name_is_refused_with_a_hint(tmp_path, monkeypatch, cmd, name):
    monkeypatch.chdir(tmp_path)
    args = [RULES, "-i", INV] if cmd == "convert" else [POLICIES]
    res = CliRunner().invoke(cli, [cmd, *args, "-o", name])
    assert res.exit_code == 2 and "Traceback" not in res.output
    fmt = "yaml" if name == "yml" else name
    assert f"'{name}' names a file; for {fmt} on stdout use --format {fmt}" in res.stderr
    assert f"write ./{name} for a file of that name" in res.stderr
    assert not list(tmp_path.iterdir())
    if cmd == "convert":
        res = CliRunner().invoke(cli, [cmd, *args, "-q", "-o", f"./{name}"])
        assert res.exit_code == 0 and (tmp_path / name).read_text().startswith("---\n")


def test_reverse_format_names_are_refused_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["reverse", POLICIES, "-o", "markdown"])
    assert res.exit_code == 2 and "use --format markdown" in res.stderr and not list(tmp_path.iterdir())


# ---- item 4: never an empty manifest


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_no_documents_is_an_empty_list_not_an_empty_file(tmp_path, fmt):
    write_docs(tmp_path / f"out.{fmt}", [], fmt)
    text = (tmp_path / f"out.{fmt}").read_text()
    assert (json.loads(text) if fmt == "json" else yaml.safe_load(text)) == EMPTY_LIST
    assert EMPTY_LIST == {"apiVersion": "v1", "kind": "List", "items": []}
    names = write_per_namespace([], str(tmp_path / "d"), fmt)
    assert names == [f"no-policies.{fmt}"]
    doc = (tmp_path / "d" / names[0]).read_text()
    assert (json.loads(doc) if fmt == "json" else yaml.safe_load(doc)) == EMPTY_LIST
    kust = yaml.safe_load((tmp_path / "d" / KUSTOMIZATION).read_text())
    assert kust["resources"] == names


# ---- item 6: -d writes a Kustomization listing what it wrote


def test_dir_writes_a_kustomization_that_kubectl_apply_f_skips(tmp_path):
    res = convert("-d", tmp_path / "d")
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in (tmp_path / "d").iterdir())
    manifests = [f for f in files if f != KUSTOMIZATION]
    assert KUSTOMIZATION in files and manifests and all(f.endswith(".yaml") for f in manifests)
    text = (tmp_path / "d" / KUSTOMIZATION).read_text()
    assert yaml.safe_load(text) == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": manifests,
    }
    # kubectl -f DIR reads only .json, .yaml and .yml files: the extensionless name keeps it out
    assert os.path.splitext(KUSTOMIZATION)[1] == ""
    assert convert("-d", tmp_path / "d").exit_code == 0
    assert (tmp_path / "d" / KUSTOMIZATION).read_text() == text  # deterministic


# ---- item 3: a closed stdout ends quietly, exit 141


BIG_INV = """\
namespaces:
  shop: {labels: {env: shop}}
workloads:
  web: {namespace: shop, labels: {app: web}, addresses: [10.20.1.0/24]}
"""


def _big_ruleset(tmp_path: Path) -> tuple[Path, Path]:
    """A ruleset whose manifests are far over a pipe's buffer (64 KiB; about 150 KB), and its inventory."""
    lines = [f"{10 + k} allow 203.0.{k // 250}.{k % 250}/32 -> 10.20.1.0/24 tcp/{1000 + k}" for k in range(1500)]
    (tmp_path / "big.fw").write_text("\n".join(lines) + "\n")
    (tmp_path / "inv.yaml").write_text(BIG_INV)
    return tmp_path / "big.fw", tmp_path / "inv.yaml"


def _fw2np(*args) -> list[str]:
    import sys

    return [sys.executable, "-m", "translator.cli", *map(str, args)]


@pytest.mark.parametrize("quiet", [["-q"], []])
def test_head_on_a_real_pipe_ends_quietly_with_141(tmp_path, quiet):
    import subprocess

    big, inv = _big_ruleset(tmp_path)
    cmd = " ".join(f"'{a}'" for a in _fw2np("convert", big, "-i", inv, *quiet))
    res = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{cmd} 2>{tmp_path / 'err'} | head -1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parent.parent,
    )
    err = (tmp_path / "err").read_text()
    assert res.stdout == "---\n"
    assert res.returncode == 141, err
    assert "Broken pipe" not in err and "Exception ignored" not in err and "Traceback" not in err


@pytest.mark.parametrize("cmd", ["convert", "reverse"])
def test_stdout_closed_before_any_write(tmp_path, cmd):
    import subprocess

    args = ["convert", RULES, "-i", INV, "-q"] if cmd == "convert" else ["reverse", POLICIES]
    proc = subprocess.Popen(
        _fw2np(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parent.parent
    )
    proc.stdout.close()  # the reader is gone before fw2np writes a byte
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert err == ""


@pytest.mark.parametrize("to_file", [False, True])
def test_o_dev_stdout_writes_to_the_open_stdout(tmp_path, expected, to_file):
    import subprocess

    args = _fw2np("convert", RULES, "-i", INV, "-q", "-o", "/dev/stdout")
    root = Path(__file__).parent.parent
    if to_file:
        with open(tmp_path / "out.txt", "w") as fh:
            res = subprocess.run(args, stdout=fh, stderr=subprocess.PIPE, text=True, timeout=120, cwd=root)
        out = (tmp_path / "out.txt").read_text()
    else:
        res = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=root)
        out = res.stdout
    assert res.returncode == 0 and res.stderr == ""
    assert out == expected
    assert [p.name for p in tmp_path.iterdir()] == (["out.txt"] if to_file else [])


def test_a_real_write_error_is_still_an_error(tmp_path):
    import subprocess

    res = subprocess.run(
        _fw2np("convert", RULES, "-i", INV, "-q", "-o", "/dev/full"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )
    assert res.returncode == 2 and "No space left on device" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("name", "starts"),
    [("t.csv", "target,direction,action"), ("t.md", "# NetworkPolicies as firewall rules"), ("t.html", "<")],
)
def test_reverse_takes_its_format_from_the_output_name(tmp_path, name, starts):
    res = CliRunner().invoke(cli, ["reverse", POLICIES, "-o", str(tmp_path / name)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / name).read_text().lstrip().startswith(starts)
    given = CliRunner().invoke(cli, ["reverse", POLICIES, "--format", "table", "-o", str(tmp_path / name)])
    assert given.exit_code == 0 and (tmp_path / name).read_text().startswith("NetworkPolicies as firewall rules")
