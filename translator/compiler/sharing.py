"""Shared policies: rules that several pod classes of one namespace have alike, written once.

NetworkPolicies add up: a pod may do what any policy selecting it allows.  So a
rule that pod classes A and B both have can go into one policy whose podSelector
selects A and B, and the allowed set of every pod stays what it was.  The pod
classes are grouped by the exact set of classes holding a rule; a group gets a
policy of its own when that saves more text than the policy costs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass
class Body:
    """One NetworkPolicy rule of a pod class and the firewall rules it came from."""

    key: Hashable  # equal keys: equal rules (same peers, same ports)
    rule: dict
    contrib: list
    order: tuple = ()  # where the rule goes in a policy (the peers' first address)

    _size: int = field(default=-1, repr=False)

    @property
    def size(self) -> int:
        if self._size < 0:
            self._size = len(json.dumps(self.rule, separators=(",", ":")))
        return self._size


def share(made: list[tuple[object, list[Body]]], cost: Callable[[list], int]) -> list[tuple[list, list[Body]]]:
    """[(pod classes, their rules)] for MADE [(pod class, its rules)]: one entry per pod class
    (its own policy: the rules it shares with no group, maybe none) and one per group of
    several classes whose shared rules save more than COST(classes), the cost of a policy
    selecting them.  Every class ends up with exactly its rules, in its entries together."""
    holders: dict[Hashable, tuple[Body, list]] = {}
    for atom, bodies in made:
        for b in bodies:
            holders.setdefault(b.key, (b, []))[1].append(atom)
    groups: dict[tuple, tuple[list, list[Body]]] = {}
    for body, atoms in holders.values():
        ids = tuple(id(a) for a in atoms)
        groups.setdefault(ids, (atoms, []))[1].append(body)
    own: dict[int, list[Body]] = {id(atom): [] for atom, _ in made}
    shared = []
    for atoms, bodies in groups.values():
        if len(atoms) > 1 and sum(b.size for b in bodies) * (len(atoms) - 1) > cost(atoms):
            shared.append((atoms, _in_order(bodies)))
        else:
            for a in atoms:
                own[id(a)].extend(bodies)
    out = [([atom], _in_order(own[id(atom)])) for atom, _ in made]
    position = {id(atom): k for k, (atom, _) in enumerate(made)}
    shared.sort(key=lambda g: [position[id(a)] for a in g[0]])
    return out + shared


def _in_order(bodies: list[Body]) -> list[Body]:
    return sorted(bodies, key=lambda b: b.order)
