"""Decisions per endpoint pair, from the brute-force evaluators' own pieces, cached.

`LegacyFlows.allowed` and `NetpolEvaluator.allows` re-test every rule's
addresses for every flow; here the address and peer tests are done once per
endpoint pair (their outcome does not depend on the service: for the
firewall, once per legacy flow of the two ends' address identities) and only
the service tests run per flow.  `Verifier(fast=False)` uses the evaluators
directly; the tests check that both agree.

test oracle: `NetpolPairs` and `FirewallPairs.candidates`/`decide` serve method
"pairs" only; the indexed walk reads `FirewallPairs.rules`.
"""

from __future__ import annotations

from ..evaluate.concrete import LegacyFlows
from ..evaluate.endpoints import Pod
from ..evaluate.netpol import INGRESS, NetpolEvaluator
from ..model.ruleset import ALLOW


class FirewallPairs:
    """The secure reading, legacy flow by legacy flow: allows match in lower sets, denies in upper sets."""

    def __init__(self, lf: LegacyFlows):
        self.lf, self.fw = lf, lf.fw
        # an allow with a condition NetworkPolicy cannot check never matches
        self.rules = [
            (i, r, r.action == ALLOW) for i, r in enumerate(lf.rs.rules) if not (r.conditions and r.action == ALLOW)
        ]
        self.rules_by = {x[0]: x for x in self.rules}
        self._side: dict = {}
        self._pairs: dict = {}
        self._svc: dict = {}

    def _holds(self, i, rule, sure, which, x) -> bool:
        key = (i, which, x)
        if key not in self._side:
            self._side[key] = self.fw.has(getattr(rule, which), x[0], x[1], not sure)
        return self._side[key]

    def candidates(self, src, dst) -> tuple:
        """Per legacy flow (x, y) of the two ends: the rules whose source holds x and destination y, in order."""
        key = (self.lf.identity(src), self.lf.identity(dst))
        if key not in self._pairs:
            self._pairs[key] = tuple(
                tuple(
                    i
                    for i, r, sure in self.rules
                    if self._holds(i, r, sure, "src", x) and self._holds(i, r, sure, "dst", y)
                )
                for x, y in self.lf.pairs(src, dst)
            )
        return self._pairs[key]

    def decide(self, cands: tuple, proto: int, port: int) -> bool:
        """Some legacy flow, and every one allowed."""
        return bool(cands) and all(self._first(c, proto, port) for c in cands)

    def _first(self, cand: tuple, proto: int, port: int) -> bool:
        for i in cand:
            key = (i, proto, port)
            if key not in self._svc:
                _, r, sure = self.rules_by[i]
                self._svc[key] = (self.fw.svc_has(r.services, proto, port, not sure), sure)
            hit, sure = self._svc[key]
            if hit:
                return sure
        return self.lf.default_allow


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
