"""Aerleon's YAML policies (`filters: [{header: {targets: {...}}, terms: [...]}]`, terms may be
`include:`d) and YAML definitions (`networks:`, `services:`), as the same blocks and values as the
.pol form."""

from __future__ import annotations

import os

from ...errors import InputError, Loc, line_of
from ...io.text import read_text
from ...io.yamlio import load_all, loc_of
from .policy import MAX_INCLUDE_DEPTH, Block, Filter, Policy, Value

WHOLE = {"comment", "owner", "verbatim"}


def _fail(texts: dict, msg: str, loc: Loc) -> InputError:
    return InputError(msg, loc, line_of(texts.get(loc.file, ""), loc.line))


def _doc(text: str, path: str):
    docs = [d for d in load_all(text, path) if d is not None]
    return docs[0] if docs else {}


def read_yaml_policy(text: str, path: str) -> Policy:
    pol = Policy(path)
    pol.texts[path] = text
    doc = _doc(text, path)
    filters = doc.get("filters") if isinstance(doc, dict) else None
    if not isinstance(filters, list):
        raise _fail(pol.texts, "expected `filters:` (a list of header and terms)", loc_of(doc) or Loc(path, 1, 1))
    for f in filters:
        if not isinstance(f, dict) or not isinstance(f.get("header"), dict):
            raise _fail(pol.texts, "a filter is {header: ..., terms: [...]}", loc_of(f) or Loc(path, 1, 1))
        h = f["header"]
        header = Block("header", "header", loc_of(h) or Loc(path))
        for key, val in h.items():
            at = loc_of(h, key) or header.loc
            header.field_locs[key] = at
            if key == "targets" and isinstance(val, dict):
                vals = header.fields.setdefault("target", [])
                for platform, opts in val.items():
                    vals.append(Value("|", loc_of(val, platform) or at))
                    vals += [Value(w, loc_of(val, platform) or at) for w in [str(platform), *str(opts or "").split()]]
            else:
                header.fields[key] = _values(val, at, key)
        out = Filter(header)
        _terms(pol, f.get("terms") or [], path, out, 0)
        pol.filters.append(out)
    return pol


def _terms(pol: Policy, terms, path: str, into: Filter, depth: int) -> None:
    for t in terms:
        if not isinstance(t, dict):
            raise _fail(pol.texts, "a term is a mapping with `name:`", loc_of(terms) or Loc(path))
        if "include" in t:
            at = loc_of(t, "include") or Loc(path)
            if depth >= MAX_INCLUDE_DEPTH:
                raise _fail(pol.texts, f"includes nest deeper than {MAX_INCLUDE_DEPTH} files", at)
            inc = _find(str(t["include"]), path)
            if inc is None:
                raise _fail(pol.texts, f"include {t['include']!r}: not found beside {path} or above", at)
            text = read_text(inc)
            pol.texts[inc] = text
            doc = _doc(text, inc)
            _terms(pol, (doc.get("terms") if isinstance(doc, dict) else None) or [], inc, into, depth + 1)
            continue
        if "name" not in t:
            raise _fail(pol.texts, "a term needs `name:`", loc_of(t) or Loc(path))
        b = Block("term", str(t["name"]), loc_of(t, "name") or Loc(path))
        for key, val in t.items():
            if key == "name":
                continue
            at = loc_of(t, key) or b.loc
            b.field_locs[key] = at
            b.fields[key] = _values(val, at, key)
        into.terms.append(b)


def _values(val, at: Loc, key: str = "") -> list[Value]:
    """A field's values: a comment is one text; other fields are words (a string of them, or a list)."""
    if isinstance(val, list):
        return [v for x in val for v in _values(x, at, key)]
    if val is None:
        return []
    text = " ".join(str(val).split())
    if key in WHOLE:
        return [Value(text, at, True)]
    return [Value(w, at) for w in text.split()]


def _find(target: str, path: str) -> str | None:
    base = os.path.dirname(os.path.abspath(path))
    for _ in range(4):
        cand = os.path.join(base, target)
        if os.path.isfile(cand):
            return cand
        base = os.path.dirname(base)
    return None


def read_yaml_definitions(text: str, path: str, texts: dict) -> tuple[dict, dict]:
    """`networks: {NAME: {values: [{ip|address: X} | {name: Y}]}}`, `services: {NAME: [{port, protocol} |
    {name}]}`: (networks, services), NAME -> values."""
    doc = _doc(text, path)
    networks: dict[str, list[Value]] = {}
    services: dict[str, list[Value]] = {}
    if not isinstance(doc, dict):
        return networks, services
    for name, spec in (doc.get("networks") or {}).items():
        vals = spec.get("values") if isinstance(spec, dict) else spec
        out = []
        for v in vals or []:
            at = loc_of(v) or Loc(path)
            if isinstance(v, dict) and ("ip" in v or "address" in v):
                out.append(Value(str(v.get("ip", v.get("address"))), at))
            elif isinstance(v, dict) and "name" in v:
                out.append(Value(str(v["name"]), at))
            else:
                raise _fail(texts, f"network {name}: a value is {{ip: ...}} or {{name: ...}}", at)
        networks[str(name)] = out
    for name, vals in (doc.get("services") or {}).items():
        out = []
        for v in vals or []:
            at = loc_of(v) or Loc(path)
            if isinstance(v, dict) and "port" in v and "protocol" in v:
                out.append(Value(f"{v['port']}/{v['protocol']}", at))
            elif isinstance(v, dict) and "name" in v:
                out.append(Value(str(v["name"]), at))
            else:
                raise _fail(texts, f"service {name}: a value is {{port: ..., protocol: ...}} or {{name: ...}}", at)
        services[str(name)] = out
    return networks, services
