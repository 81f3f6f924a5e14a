"""Writing manifests: deterministic YAML or JSON, and the Kustomization that lists them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import yaml

from .target import write_to


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """The safe dumper (LibYAML's when present); shared objects are written out, never as aliases."""

    def ignore_aliases(self, data) -> bool:
        return True


def _str(dumper, data: str):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _scalar(x) -> bool:
    return not isinstance(x, (dict, list)) and not (isinstance(x, str) and "\n" in x)


FLOW_MAP_KEYS, FLOW_MAP_CHARS = 3, 60  # a mapping of scalars this small goes on one line


def _list(dumper, data: list):
    """A list of scalars on one line ([TCP, UDP]); others one item a line."""
    flow = bool(data) and all(_scalar(x) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _dict(dumper, data: dict):
    """A small mapping of scalars on one line ({protocol: TCP, port: 80}); others one key a line."""
    flow = (
        0 < len(data) <= FLOW_MAP_KEYS
        and all(_scalar(v) for v in data.values())
        and sum(len(str(k)) + len(str(v)) for k, v in data.items()) <= FLOW_MAP_CHARS
    )
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)
_Dumper.add_representer(dict, _dict)


EMPTY_LIST = {"apiVersion": "v1", "kind": "List", "items": []}
KUSTOMIZATION = "Kustomization"  # kustomize's extensionless name: `kubectl apply -f DIR` skips it


def emit(docs: list[dict], fmt: str, fh) -> None:
    """Write DOCS to the text stream FH as multi-document YAML or a JSON List, piece by piece
    (no whole rendering in memory; safe dumper, so input text can never break it).  No documents
    is an empty List, never an empty file."""
    if fmt == "json":
        json.dump({**EMPTY_LIST, "items": docs}, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    else:
        yaml.dump_all(
            docs or [EMPTY_LIST],
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
    """Write TEXT (or what WRITE(fh) writes) to the output PATH: '-' is stdout, a device or FIFO
    is written through, a link is followed, a regular file is replaced atomically (io.target)."""
    write_to(path, write or (lambda fh: fh.write(text)))


def write_docs(path: str | Path, docs: list[dict], fmt: str) -> None:
    """DOCS written to PATH (atomically) as YAML or JSON."""
    write_atomic(path, write=lambda fh: emit(docs, fmt, fh))


def kustomization(resources: list[str]) -> str:
    """A kustomize Kustomization listing RESOURCES (sorted: deterministic)."""
    doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": sorted(resources)}
    # block style (one resource a line): GitOps diffs show each file added or removed
    text = yaml.dump(doc, Dumper=yaml.SafeDumper, sort_keys=False, width=4096, default_flow_style=False)
    return "# written by fw2np: kubectl apply -k DIR\n" + text


NO_POLICIES = "no-policies"
CLUSTER_SCOPED = "_cluster"  # the file of cluster-scoped documents: no namespace name holds '_'


def write_per_namespace(docs: list[dict], directory: str, fmt: str) -> list[str]:
    """One file per namespace under DIRECTORY (no policy at all: one empty List), and a
    Kustomization listing them; the manifest names written."""
    by_ns: dict[str, list[dict]] = {}
    for d in docs:
        by_ns.setdefault(d["metadata"].get("namespace") or CLUSTER_SCOPED, []).append(d)
    ext = "json" if fmt == "json" else "yaml"
    names = []
    for ns, ds in sorted(by_ns.items()) or [(NO_POLICIES, [])]:
        names.append(f"{ns}.{ext}")
        write_docs(Path(directory) / names[-1], ds, fmt)
    write_atomic(Path(directory) / KUSTOMIZATION, kustomization(names))
    return names
