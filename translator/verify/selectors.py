"""Label selectors as the verifier reads them, and the label assignments they tell apart."""

from __future__ import annotations

from dataclasses import dataclass

from ..evaluate.netpol import requirement_holds

OPS = ("In", "NotIn", "Exists", "DoesNotExist")


def text_value(v) -> str:
    """A label value as Kubernetes reads it from YAML."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def freeze(x) -> str:
    """A key equal only for equal policy values: repr of the JSON/YAML types tells 1, 1.0, True and
    "1" apart, and int from str mapping keys.  Equal keys may only miss sharing (dict key order)."""
    return repr(x)


# --- label selectors ---------------------------------------------------------


@dataclass(frozen=True)
class Sel:
    """A label selector as requirements (key, op, values)."""

    reqs: tuple[tuple[str, str, frozenset], ...]

    def holds(self, labels: dict[str, str]) -> bool:
        return all(req_holds(op, vals, labels.get(k)) for k, op, vals in self.reqs)

    def keys(self) -> set[str]:
        return {k for k, _, _ in self.reqs}


req_holds = requirement_holds  # operators are checked when the selector is parsed


def label_classes(sels: list[Sel], fixed: dict[str, str] | None = None) -> list[dict[str, str]]:
    """One label set per distinct combination of SELS it satisfies (an exact, pruned product).

    Each key tested takes each mentioned value, absence, or one unmentioned value;
    partial assignments that leave the same selectors alive are merged."""
    fixed = fixed or {}
    sels = list(dict.fromkeys(sels))
    keys = sorted({k for s in sels for k in s.keys()} - set(fixed))
    mentioned: dict[str, set[str]] = {k: set() for k in keys}
    for s in sels:
        for k, _, vals in s.reqs:
            if k in mentioned:
                mentioned[k] |= vals
    start = frozenset(
        i for i, s in enumerate(sels) if all(req_holds(op, vals, fixed.get(k)) for k, op, vals in s.reqs if k in fixed)
    )
    states: dict[frozenset, dict[str, str]] = {start: dict(fixed)}
    for key in keys:
        options = sorted(mentioned[key]) + [None, fresh_value(mentioned[key])]
        reqs = {i: [(op, vals) for k, op, vals in sels[i].reqs if k == key] for i in range(len(sels))}
        new: dict[frozenset, dict[str, str]] = {}
        for alive, labels in states.items():
            for v in options:
                a = frozenset(i for i in alive if all(req_holds(op, vals, v) for op, vals in reqs[i]))
                if a not in new:
                    new[a] = labels if v is None else {**labels, key: v}
        states = new
    return list(states.values())


def fresh_value(taken: set[str], stem: str = "fw2np-other") -> str:
    v, n = stem, 1
    while v in taken:
        n += 1
        v = f"{stem}-{n}"
    return v
