"""Partition of the flow space into classes on which both decisions are constant.

Used by `verify/core.py`; see its docstring for why the partition is exact.  This
module shares no set algebra with the compiler: it walks the ruleset model
and the policy dicts itself.
"""

from __future__ import annotations

from ..evaluate.firewall import parse_range
from ..model.inventory import NAME_LABEL, Inventory, Workload
from ..model.ruleset import PORT_PROTOCOLS, TYPE_PROTOCOLS, Ruleset, port_domain
from .addresses import Legacy, RangeSet, elementary_intervals, in_ranges, ip_classes, rule_leaves
from .classes import IpClass, PodClass, SvcClass
from .selectors import Sel, fresh_value, label_classes
from .source import PROTO_BY_NAME, PolicySource


class Partition:
    """Endpoint and service classes for one ruleset, inventory and policy set."""

    def __init__(self, rs: Ruleset, inv: Inventory, policies: list[dict], source: PolicySource | None = None):
        """SOURCE: what the policies test, when they are not NetworkPolicies (an ordered target's `cuts`)."""
        self.rs, self.inv = rs, inv
        self.src = source if source is not None else PolicySource(policies).scan()
        self.nets, self.svcs = rule_leaves(rs)
        self.legacy = Legacy(rs, inv)
        self.pod_ranges = [r for r in map(parse_range, inv.pod_cidrs) if r]
        self.cluster = self.pod_ranges + [r for r in map(parse_range, inv.service_cidrs) if r]
        self.ips = self._ip_classes()
        self.pod_ips = self._pod_ip_classes() if self.pod_ranges else []
        self.services = self._svc_classes()
        self.pods = self._pod_classes()

    # IPs: elementary intervals, merged by which leaves hold them
    def _ip_classes(self) -> list[IpClass]:
        """External addresses: not legacy workload addresses, not in the cluster's pod or service CIDRs."""
        leaves = [(n.version, n.first, n.last) for n in self.nets] + self.src.blocks
        skip = self.legacy.boundaries() + self.cluster

        cluster = RangeSet(self.cluster)

        def external(version, a):
            return (version, a) not in self.legacy and (version, a) not in cluster

        return ip_classes(leaves, skip, external)

    def _pod_ip_classes(self) -> list[str]:
        """Pod IPs, for CNIs that match pod IPs against ipBlocks: classes inside the pod CIDRs."""
        return [
            c.address
            for c in ip_classes(
                self.src.blocks, self.pod_ranges, lambda version, a: in_ranges(self.pod_ranges, version, a)
            )
        ]

    # services: elementary port intervals per protocol, merged by which leaves hold them
    def _svc_classes(self) -> list[SvcClass]:
        leaves: list[tuple[int, int, int]] = [(s.proto, s.lo, s.hi) for s in self.svcs if s.proto is not None]
        leaves += self.src.ports
        for w in self.inv.workloads.values():
            for proto, num in w.ports.values():
                leaves.append((PROTO_BY_NAME[proto], num, num))
        leaves = list(dict.fromkeys(leaves))
        protos = set(PORT_PROTOCOLS) | set(TYPE_PROTOCOLS) | {p for p, _, _ in leaves} | self.src.protos
        spare = next((p for p in range(256) if p not in protos), None)
        if spare is not None:
            protos.add(spare)
        out: list[SvcClass] = []
        for proto in sorted(protos):
            dlo, dhi = port_domain(proto)
            mine = [(i, lo, hi) for i, (p, lo, hi) in enumerate(leaves) if p == proto]
            cuts = {dlo, dhi + 1} | {x for _, lo, hi in mine for x in (lo, hi + 1) if dlo <= x <= dhi}
            seen: dict[int, list] = {}
            for a, _b, sig in elementary_intervals(sorted(cuts), mine):
                if sig in seen:
                    seen[sig][1] += 1
                else:
                    seen[sig] = [a, 1]
            out += [SvcClass(proto, a, n) for a, n in seen.values()]
        return out

    # pods: namespace classes x pod label classes
    def _pod_classes(self) -> list[PodClass]:
        inv = self.inv
        out: list[PodClass] = []
        for ns in sorted(inv.namespaces):
            out += self._pods_in(ns, inv.namespace_labels(ns), True, None)
        ns_sels = self.src.ns_selectors()
        named = sorted(self.src.ns_names() - set(inv.namespaces))
        taken = set(inv.namespaces) | set(named)
        stem = fresh_value(taken, "fw2np-outside")
        for name in named + [None]:
            for k, labels in enumerate(label_classes(ns_sels, {NAME_LABEL: name or stem})):
                if name is None:
                    ns = fresh_value(taken, f"{stem}-{k + 1}")
                    taken.add(ns)
                    labels = {**labels, NAME_LABEL: ns}
                    world = None
                else:
                    ns = name
                    world = (ns, tuple(sorted(labels.items())))
                out += self._pods_in(ns, labels, False, world)
        return out

    def _pods_in(self, ns: str, ns_labels: dict[str, str], governed: bool, world) -> list[PodClass]:
        sels = [s for pns, s in self.src.targets if pns == ns]
        for pns, ns_sel, pod_sel in self.src.distinct_peers():
            if pod_sel is None:
                continue
            if (ns_sel is None and pns == ns) or (ns_sel is not None and ns_sel.holds(ns_labels)):
                sels.append(pod_sel)
        workloads: list[Workload] = self.inv.workloads_in(ns) if governed else []
        sels += [Sel(tuple((k, "In", frozenset([v])) for k, v in sorted(w.labels.items()))) for w in workloads]
        out = []
        for labels in label_classes(sels):
            w = next((w for w in workloads if all(labels.get(k) == v for k, v in w.labels.items())), None)
            ports = tuple(sorted((n, p, v) for n, (p, v) in w.ports.items())) if w else ()
            out.append(
                PodClass(
                    ns,
                    tuple(sorted(ns_labels.items())),
                    tuple(sorted(labels.items())),
                    governed,
                    w.name if w else None,
                    ports,
                    world,
                    open_ports=w is None and bool(self.src.port_names),
                )
            )
        return out
