"""Label selectors for sets of pod classes (the pods side of a peer)."""

from __future__ import annotations

from collections import Counter

from ..model.inventory import NAME_LABEL


def _selector(labels: dict[str, str], exprs: list[dict]) -> dict:
    sel: dict = {}
    if labels:
        sel["matchLabels"] = dict(sorted(labels.items()))
    if exprs:
        sel["matchExpressions"] = sorted(exprs, key=lambda e: (e["key"], e["operator"]))
    return sel


def complement(workloads: list[dict[str, str]]) -> list[dict]:
    """Selectors whose union is every pod that matches none of WORKLOADS (label dicts)."""
    return [_selector(lab, ex) for lab, ex in _complement(workloads)]


def _complement(workloads):
    if not workloads:
        return [({}, [])]
    if any(not w for w in workloads):
        return []
    counts = Counter(k for w in workloads for k in w)
    top = max(counts.values())
    key = min(k for k, n in counts.items() if n == top)
    values = sorted({w[key] for w in workloads if key in w})
    out = []
    for lab, ex in _complement([w for w in workloads if key not in w]):
        out.append((lab, ex + [{"key": key, "operator": "NotIn", "values": values}]))
    for v in values:
        sub = [{k: x for k, x in w.items() if k != key} for w in workloads if w.get(key, v) == v]
        for lab, ex in _complement(sub):
            out.append(({**lab, key: v}, ex))
    return out


def union_of(workloads: list[dict[str, str]]) -> list[dict]:
    """Selectors whose union is the pods of WORKLOADS; one-key workloads merge into In."""
    by_key: dict[str, list[str]] = {}
    rest = []
    for w in workloads:
        if len(w) == 1:
            ((k, v),) = w.items()
            by_key.setdefault(k, []).append(v)
        else:
            rest.append(w)
    out = []
    for k in sorted(by_key):
        vals = sorted(set(by_key[k]))
        if len(vals) == 1:
            out.append(_selector({k: vals[0]}, []))
        else:
            out.append(_selector({}, [{"key": k, "operator": "In", "values": vals}]))
    out += [_selector(w, []) for w in sorted(rest, key=lambda d: sorted(d.items()))]
    return out


def ns_selector(names: list[str], negate: bool = False) -> dict:
    """A namespaceSelector for namespaces NAMES (or all but them)."""
    names = sorted(names)
    if not negate and len(names) == 1:
        return {"matchLabels": {NAME_LABEL: names[0]}}
    op = "NotIn" if negate else "In"
    return {"matchExpressions": [{"key": NAME_LABEL, "operator": op, "values": names}]}
