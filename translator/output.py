"""Writing manifests: deterministic YAML or JSON, atomically."""

from __future__ import annotations

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


def to_yaml(docs: list[dict]) -> str:
    """Multi-document YAML (safe dumper; input text can never break it)."""
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=4096, explicit_start=True)


def to_json(docs: list[dict]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, indent=2, ensure_ascii=False) + "\n"


def render(docs: list[dict], fmt: str) -> str:
    return to_json(docs) if fmt == "json" else to_yaml(docs)


def write_atomic(path: str | Path, text: str) -> None:
    """Write TEXT to PATH through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_per_namespace(docs: list[dict], directory: str, fmt: str) -> list[str]:
    """One file per namespace under DIRECTORY; the names written."""
    by_ns: dict[str, list[dict]] = {}
    for d in docs:
        by_ns.setdefault(d["metadata"]["namespace"], []).append(d)
    rendered = {f"{ns}.{'json' if fmt == 'json' else 'yaml'}": render(ds, fmt) for ns, ds in sorted(by_ns.items())}
    for name, text in rendered.items():
        write_atomic(Path(directory) / name, text)
    return sorted(rendered)
