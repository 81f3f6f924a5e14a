"""Decisions per endpoint pair, from the brute-force evaluators' own pieces, cached.

`FirewallEvaluator.decide` and `NetpolEvaluator.allows` re-test every rule's
addresses for every flow; here the address and peer tests are done once per
endpoint pair (their outcome does not depend on the service) and only the
service tests run per flow.  `Verifier(fast=False)` uses the evaluators
directly; the tests check that both agree.
"""

from __future__ import annotations

from .evaluate.endpoints import Pod
from .evaluate.firewall import FirewallEvaluator
from .evaluate.netpol import INGRESS, NetpolEvaluator
from .model import ALLOW


class FirewallPairs:
    """The secure reading: allows match surely (lower, inside), denies possibly (upper, meets)."""

    def __init__(self, fw: FirewallEvaluator):
        self.fw = fw
        # an allow with a condition NetworkPolicy cannot check never matches
        self.rules = [(i, r, r.action == ALLOW) for i, r in enumerate(fw.rs.rules)
                      if not (r.conditions and r.action == ALLOW)]
        self._side: dict = {}
        self._svc: dict = {}

    def _matches(self, i, rule, sure, which, cls, ep) -> bool:
        key = (i, which, cls)
        if key not in self._side:
            self._side[key] = self.fw.side_matches(getattr(rule, which), ep, not sure, sure)
        return self._side[key]

    def candidates(self, sc, src, dc, dst) -> list:
        """Rules whose source and destination match the pair, in order."""
        return [(i, r, sure) for i, r, sure in self.rules
                if self._matches(i, r, sure, "src", sc, src) and self._matches(i, r, sure, "dst", dc, dst)]

    def decide(self, cands: list, proto: int, port: int) -> tuple[bool, object]:
        for i, r, sure in cands:
            key = (i, proto, port)
            if key not in self._svc:
                self._svc[key] = self.fw.svc_has(r.services, proto, port, not sure)
            if self._svc[key]:
                return sure, r
        return self.fw.default_allow, None


class NetpolPairs:
    """One end's policies: None when no policy of that type selects the pod, else its matching rules' ports."""

    def __init__(self, np: NetpolEvaluator):
        self.np = np
        self._sel: dict = {}

    def rules(self, pod: Pod, cls, direction: str, other) -> list | None:
        key = (cls, direction)
        if key not in self._sel:
            self._sel[key] = self.np.selecting(pod, direction)
        pols = self._sel[key]
        if not pols:
            return None
        peer_key = "from" if direction == INGRESS else "to"
        out = []
        for p in pols:
            for r in p.ingress if direction == INGRESS else p.egress:
                peers = r.get(peer_key)
                if peers and not any(self.np.peer_matches(pe, p.namespace, other) for pe in peers):
                    continue
                out.append(r.get("ports") or None)
        return out

    def allowed(self, rules: list | None, proto: int, port: int, dst) -> bool:
        if rules is None:
            return True
        return any(ports is None or any(self.np.port_matches(e, proto, port, dst) for e in ports) for ports in rules)
