"""`fw2np diff OLD NEW`: the flows one side allows and the other does not, for change review.  Each side
is a ruleset (its secure reading) or policies (NetworkPolicy or an ordered target); both are decided
over one partition holding what either tests, so every difference is found, flow class by flow class."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..evaluate import FirewallEvaluator
from ..model.inventory import Inventory
from ..model.ruleset import Ruleset
from ..verify.partition import Partition
from ..verify.source import PolicySource
from .matrix import Matrix, endpoint, frame, policy_decider, services_text, skipped


@dataclass
class Side:
    """One side: a ruleset, or policies of a target."""

    name: str
    rs: Ruleset | None = None
    policies: list[dict] = field(default_factory=list)
    target: str = "networkpolicy"


@dataclass
class Diff:
    matrix: Matrix  # cells: "+svc" (NEW only), "-svc" (OLD only)
    examples: list[str]  # one flow a differing cell


def _source(sides: list[Side]) -> PolicySource | None:
    """What the policies of every side test, in one PolicySource (None when no side has policies)."""
    parts = []
    for s in sides:
        if not s.policies:
            continue
        if s.target == "networkpolicy":
            parts.append(PolicySource(s.policies).scan())
        else:
            from ..targets import module

            parts.append(module(s.target).cuts(s.policies, s.target))
    if not parts:
        return None
    out = PolicySource([p for s in sides for p in s.policies])
    for p in parts:
        out.extend(p)
    return out


def diff(inv: Inventory, old: Side, new: Side) -> Diff:
    rulesets = [s.rs for s in (old, new) if s.rs is not None]
    merged = Ruleset("diff", "", rules=[r for rs in rulesets for r in rs.rules])
    for rs in rulesets:
        merged.addresses.update(rs.addresses)
        merged.services.update(rs.services)
    base = inv
    if not rulesets:  # policies select pods by labels: legacy addresses play no part
        base = replace(inv, workloads={k: replace(w, addresses=[]) for k, w in inv.workloads.items()})
    part = Partition(merged if rulesets else Ruleset("none", ""), base, [], _source([old, new]) or PolicySource([]))
    deciders = [_decider(s, inv, part) for s in (old, new)]
    labels, groups, intervals, spare = frame(inv, part, rulesets)
    cells, examples = {}, []
    for sl in labels:
        for dl in labels:
            if skipped(sl, dl):
                continue
            pairs = [(s, d) for s in groups[sl] for d in groups[dl]]
            plus, minus = [], []
            for proto, lo, hi in [*intervals, (spare, 0, 0)]:
                a = [deciders[0](s, d, proto, lo) for s, d in pairs]
                b = [deciders[1](s, d, proto, lo) for s, d in pairs]
                for k, (x, y) in enumerate(zip(a, b)):
                    if x != y and len(examples) < 200 and not any(e.startswith(f"{sl} -> {dl} ") for e in examples):
                        s, d = pairs[k]
                        who = f"{old.name} allows, {new.name} denies" if x else f"{new.name} allows, {old.name} denies"
                        svc = f"proto {proto}" if proto == spare else f"{proto}/{lo}"
                        examples.append(f"{sl} -> {dl} ({endpoint(s)} -> {endpoint(d)}) {svc}: {who}")
                if any(y and not x for x, y in zip(a, b)):
                    plus.append((proto, lo, hi, True))
                if any(x and not y for x, y in zip(a, b)):
                    minus.append((proto, lo, hi, True))
            words = []
            if plus:
                words.append("+" + services_text([p for p in plus if p[0] != spare], None, False).replace(" ", " +"))
            if minus:
                words.append("-" + services_text([m for m in minus if m[0] != spare], None, False).replace(" ", " -"))
            cells[(sl, dl)] = " ".join(w for w in words if w not in ("+", "-")) or (
                "+other protocols" if plus else "-other protocols" if minus else ""
            )
    return Diff(
        Matrix(labels, cells, f"{new.name} against {old.name} (+: {new.name} only, -: {old.name} only)"), examples
    )


def _decider(side: Side, inv: Inventory, part: Partition):
    if side.rs is not None:
        ev = FirewallEvaluator(side.rs, inv, "secure")
        return lambda s, d, proto, port: ev.decide(endpoint(s), endpoint(d), proto, port)[0]
    return policy_decider(side.policies, inv, side.target, part)
