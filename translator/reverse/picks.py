"""Which pod classes each rule of a policy picks, for every class at once (reverse --format rules).

`peer_match` is asked once per distinct peer and class (`match.peer_matches`); a rule then picks a class ALL when one of
its peers picks all of it, else SOME when one picks some of it.
"""

from __future__ import annotations

from ..model.inventory import Inventory
from ..model.space import EMPTY, IntervalSet
from .match import ALL, SOME, NormalizedPolicy, PodClass, peer_key, peer_matches


class Picks:
    """Per rule of a policy and direction: {class: ALL or SOME}, and the services that decides."""

    def __init__(self, inv: Inventory, classes: list[PodClass]):
        self.inv, self.classes = inv, classes
        self._peers: dict[str, dict[PodClass, str]] = {}
        self._rules: dict[tuple, list] = {}
        self._svc: dict[tuple, tuple] = {}

    def peer(self, peer: dict, policy_ns: str) -> dict[PodClass, str]:
        """The classes PEER picks some or all of (ipBlocks pick none)."""
        if "ipBlock" in peer:
            return {}
        try:
            key = peer_key(peer, policy_ns)
        except (TypeError, ValueError):
            key = None
        got = self._peers.get(key) if key is not None else None
        if got is None:
            got = peer_matches(peer, policy_ns, self.classes, self.inv)
            if key is not None:
                self._peers[key] = got
        return got

    def of(self, p: NormalizedPolicy, d: str) -> list:
        """Per rule of P in direction D: None (no peers: every endpoint) or {class: ALL or SOME}."""
        key = (id(p), d)
        out = self._rules.get(key)
        if out is None:
            out = self._rules[key] = [self._rule(r.peers, p.namespace) for r in p.rules(d)]
        return out

    def _rule(self, peers, ns: str):
        if peers is None:
            return None
        out: dict = {}
        for peer in peers:
            for k, m in self.peer(peer, ns).items():
                if m == ALL:
                    out[k] = ALL
                elif k not in out:
                    out[k] = SOME
        return out

    def services(self, p: NormalizedPolicy, d: str, svc_of) -> tuple[IntervalSet, dict, set | None]:
        """(services of P's D rules that pick every class, {class: services of the rules picking all of it},
        the classes to decide rule by rule: a peer picks some of them, or a rule with a named port picks
        them; None: all of them).  SVC_OF(rule): the services of a rule without named ports."""
        key = (id(p), d)
        got = self._svc.get(key)
        if got is None:
            got = self._svc[key] = self._services(p, d, svc_of)
        return got

    def _services(self, p: NormalizedPolicy, d: str, svc_of):
        every, hits, slow = EMPTY, {}, set()
        for r, picks in zip(p.rules(d), self.of(p, d)):
            named = any(isinstance(x.port, str) for x in r.ports or ())
            if picks is None:
                if named:
                    return EMPTY, {}, None
                every |= svc_of(r)
                continue
            for k, m in picks.items():
                if m != ALL or named:
                    slow.add(k)
                else:
                    hits.setdefault(k, []).append(r)
        per = {k: IntervalSet(iv for s in [every] + [svc_of(r) for r in rs] for iv in s) for k, rs in hits.items()}
        return every, per, slow
