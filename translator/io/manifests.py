"""Writing manifests: deterministic YAML or JSON, atomically."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import yaml


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """The safe dumper (LibYAML's when present); shared objects are written out, never as aliases."""

    def ignore_aliases(self, data) -> bool:
        return True


def _str(dumper, data: str):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def emit(docs: list[dict], fmt: str, fh) -> None:
    """Write DOCS to the text stream FH as multi-document YAML or a JSON List, piece by piece
    (no whole rendering in memory; safe dumper, so input text can never break it)."""
    if fmt == "json":
        json.dump({"apiVersion": "v1", "kind": "List", "items": docs}, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    else:
        yaml.dump_all(
            docs,
            fh,
            Dumper=_Dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=4096,
            explicit_start=True,
        )


def render(docs: list[dict], fmt: str) -> str:
    """DOCS as one string, exactly as `emit` writes them."""
    out = io.StringIO()
    emit(docs, fmt, out)
    return out.getvalue()


def write_atomic(path: str | Path, text: str | None = None, write=None) -> None:
    """Write TEXT (or what WRITE(fh) writes) to PATH through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            if write is None:
                fh.write(text)
            else:
                write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_docs(path: str | Path, docs: list[dict], fmt: str) -> None:
    """DOCS written to PATH (atomically) as YAML or JSON."""
    write_atomic(path, write=lambda fh: emit(docs, fmt, fh))


def write_per_namespace(docs: list[dict], directory: str, fmt: str) -> list[str]:
    """One file per namespace under DIRECTORY; the names written."""
    by_ns: dict[str, list[dict]] = {}
    for d in docs:
        by_ns.setdefault(d["metadata"]["namespace"], []).append(d)
    names = []
    for ns, ds in sorted(by_ns.items()):
        names.append(f"{ns}.{'json' if fmt == 'json' else 'yaml'}")
        write_docs(Path(directory) / names[-1], ds, fmt)
    return names
