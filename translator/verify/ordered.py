"""Verify a ruleset against an ordered target's documents (Calico, ClusterNetworkPolicy, Cilium).

The same flow classes and firewall side as for NetworkPolicy (core.py): the partition is cut by what
the target's documents test (`targets.<module>.cuts`: their selectors, CIDRs, ports and ICMP types)
instead of NetworkPolicy fields, and every flow class is decided by the target's own brute-force
evaluator (`evaluate/<module>.py`) beside the concrete legacy reading (method "flows").  Pods carry an
IP from each class of the pod CIDRs when the inventory declares them (these APIs match CIDRs against
pod IPs).  Less-permissive differences are reported when an approximation the ordered compiler
reports touches them, as in core.py.
"""

from __future__ import annotations

from ..compiler.findings import APPROXIMATIONS
from ..model.inventory import Inventory
from ..model.ruleset import Ruleset
from .core import Report, Verifier, run_verifier
from .partition import Partition


class OrderedVerifier(Verifier):
    """Verifier over a target's documents and evaluator."""

    def __init__(self, rs: Ruleset, inv: Inventory, docs: list[dict], target: str, approximations=None):
        from ..targets import module

        self.target, self.module = target, module(target)
        self._source = self.module.cuts(docs, target)
        super().__init__(rs, inv, docs, fast=False, method="flows", approximations=approximations)

    def partition(self, rs: Ruleset, inv: Inventory, policies: list[dict]) -> Partition:
        return Partition(rs, inv, policies, source=self._source)

    def netpol(self, world, pod_ips: bool = False):
        """The target's evaluator for one namespace-label assignment."""
        key = (world, True)
        if key not in self._np:
            labels = dict(self.base_labels)
            if world is not None:
                ns, ns_labels = world
                labels[ns] = {k: v for k, v in ns_labels if k != "kubernetes.io/metadata.name"}
            self._np[key] = (self.module.evaluator(self.policies, labels, self.target), None)
        return self._np[key][0]


def verify_target(
    rs: Ruleset,
    inv: Inventory,
    docs: list[dict],
    target: str,
    limit: int = 10,
    only: str | None = None,
    approximations: bool = True,
    progress=None,
) -> tuple[Report, OrderedVerifier]:
    """Decide equivalence of RS and TARGET's DOCS (see verify.core.verify)."""
    found = None
    if approximations:
        from ..targets import convert

        found = [f for f in convert(rs, inv, target, progress=progress).findings if f.kind in APPROXIMATIONS]
    return run_verifier(lambda rules: OrderedVerifier(rs, inv, docs, target, rules), found, limit, only, progress)
