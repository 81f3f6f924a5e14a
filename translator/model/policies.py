"""Load NetworkPolicy manifests: multi-document YAML, JSON, a `List`, or a directory."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError, Loc, line_of
from ..io.text import read_text
from ..io.yamlio import load_all, loc_of
from .names import is_dns_label, is_dns_subdomain

SUFFIXES = (".yaml", ".yml", ".json")


def load_policies(path: str) -> list[dict]:
    """Every NetworkPolicy in PATH (a file or a directory of manifests), in a stable order."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES)
        if not files:
            raise InputError("no .yaml, .yml or .json manifests in this directory", Loc(path))
        return [pol for f in files for pol in load_policy_text(read_text(str(f)), str(f))]
    return load_policy_text(read_text(path), path)


def load_policy_text(text: str, path: str) -> list[dict]:
    """NetworkPolicies in TEXT; other kinds are skipped, malformed policies rejected."""
    docs = _documents(text, path)
    out: list[dict] = []
    for doc in docs:
        _collect(doc, path, text, out)
    return out


def _documents(text: str, path: str) -> list:
    if path.endswith(".json") or text.lstrip().startswith(("{", "[")):
        from ..io.jsonsrc import parse_json

        data = parse_json(text, path)  # keeps locations; bounded nesting
        return data if isinstance(data, list) else [data]
    return [d for d in load_all(text, path) if d is not None]


def _fail(text: str, path: str, msg: str, obj, key=None) -> InputError:
    loc = loc_of(obj, key) or Loc(path)
    return InputError(msg, loc, line_of(text, loc.line) if loc.line else None)


def _collect(doc, path: str, text: str, out: list) -> None:
    if not isinstance(doc, dict):
        raise _fail(text, path, "expected a Kubernetes object (a mapping)", doc)
    kind = doc.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise _fail(text, path, "kind must be a string", doc, "kind")
    if kind == "List" or (kind or "").endswith("List"):
        items = doc.get("items") or []
        if not isinstance(items, list):
            raise _fail(text, path, "a List needs an items list", doc, "items")
        for item in items:
            _collect(item, path, text, out)
        return
    if kind != "NetworkPolicy":
        return
    api = doc.get("apiVersion")
    if api != "networking.k8s.io/v1":
        raise _fail(text, path, f"unsupported apiVersion {api!r} (expected networking.k8s.io/v1)", doc, "apiVersion")
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not is_dns_subdomain(meta["name"]):
        raise _fail(text, path, "a NetworkPolicy needs metadata.name (a DNS-1123 subdomain)", doc, "metadata")
    ns = meta.get("namespace", "default")
    if not isinstance(ns, str) or not is_dns_label(ns):
        raise _fail(text, path, f"metadata.namespace {ns!r} is not a valid namespace name", meta, "namespace")
    spec = doc.get("spec") or {}
    if not isinstance(spec, dict):
        raise _fail(text, path, "spec must be a mapping", doc, "spec")
    _check_spec(spec, text, path)
    out.append(doc)


def _check_spec(spec: dict, text: str, path: str) -> None:
    for key in ("ingress", "egress"):
        rules = spec.get(key)
        if rules is None:
            continue
        if not isinstance(rules, list):
            raise _fail(text, path, f"spec.{key} must be a list", spec, key)
        peer_key = "from" if key == "ingress" else "to"
        for rule in rules:
            if rule is None:
                continue
            if not isinstance(rule, dict):
                raise _fail(text, path, f"each {key} rule must be a mapping", rules)
            for peer in rule.get(peer_key) or []:
                if not isinstance(peer, dict) or not peer:
                    raise _fail(
                        text,
                        path,
                        f"each {peer_key} peer must set podSelector, namespaceSelector or ipBlock",
                        rule,
                        peer_key,
                    )
                if "ipBlock" in peer and len(peer) > 1:
                    raise _fail(text, path, "an ipBlock peer cannot also carry selectors", peer, "ipBlock")
            for port in rule.get("ports") or []:
                if not isinstance(port, dict):
                    raise _fail(text, path, "each port must be a mapping", rule, "ports")
                proto = port.get("protocol", "TCP")
                if proto not in ("TCP", "UDP", "SCTP"):
                    raise _fail(text, path, f"protocol {proto!r} must be TCP, UDP or SCTP", port, "protocol")
                if "endPort" in port and not isinstance(port.get("port"), int):
                    raise _fail(text, path, "endPort needs a numeric port", port, "endPort")
    types = spec.get("policyTypes")
    if types is not None and (not isinstance(types, list) or any(t not in ("Ingress", "Egress") for t in types)):
        raise _fail(text, path, "policyTypes must list Ingress and/or Egress", spec, "policyTypes")
