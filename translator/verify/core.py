"""Exact equivalence of a ruleset and a set of NetworkPolicies, with counterexamples.

The flow space of docs/semantics.md is infinite in labels and huge in
addresses, so `verify_space.Partition` cuts it into finitely many classes on
which both decisions are constant, and one representative flow per class is
decided by the brute-force evaluators (`translator.evaluate`).  Why the
classes are exact:

* External IPs.  A firewall rule tests an IP only by membership in the Net
  leaves of its address expressions (AnyAddr only by family; unresolved items
  not at all); a policy tests it only by membership in ipBlock cidrs and
  excepts.  Two addresses of one family inside the same set of these leaves
  get the same decision everywhere.  Legacy workload addresses are cut out:
  they are not endpoints.
* Services.  Rules test (protocol, port) by membership in Svc leaves; policies
  by protocol and by port ranges or named ports, and a named port resolves to
  the workload's declared number, which is also a leaf.  TCP, UDP, SCTP, ICMP,
  ICMPv6, every protocol mentioned and one unmentioned protocol are covered;
  unmentioned protocols all behave alike.
* Pods.  The firewall sees only the workload a pod belongs to (a label
  selector); a policy sees the namespace's labels and the pod's labels only
  through label selectors, and the pod's named ports.  Namespace classes are
  the inventory's namespaces (labels known), every outside namespace the
  policies name (their own, or by kubernetes.io/metadata.name), and one
  unnamed outside namespace; their labels range over every key the
  namespaceSelectors test.  Pod labels range, key by key, over each value the
  selectors mention, absence and one unmentioned value (a requirement cannot
  tell unmentioned values apart); assignments satisfying the same selectors
  are merged, so the classes are exactly the distinct selector outcomes.  A
  workload pod declares the workload's named ports; any other pod may declare
  any port name, and since a declared name only adds matches at its own
  number, the two extremes (no names; every name at the flow's port) bound
  every other choice: when both agree with the firewall, all do.
* Cluster CIDRs.  Addresses in the inventory's pod and service CIDRs are not
  external endpoints and are cut out like legacy addresses.  When pod CIDRs
  are declared, the walk is repeated with pods carrying an IP (one per class
  of the pod CIDRs cut by the ipBlock bounds) and ipBlocks matching pod IPs,
  as some CNIs do; the firewall never looks at pod IPs.
* Reach.  Only flows the ruleset's scope governs are compared: leaving a
  protected pod of a governed namespace (egress) or entering one (ingress),
  as `FirewallEvaluator.in_reach` decides; this is constant on pod classes.

The firewall side is the concrete legacy reading (`evaluate/concrete.py`),
not the compiler's: a flow class stands for the legacy flows between the
addresses of its ends (a workload's legacy addresses, else any address a pod
may have), and is allowed when it stands for some and all are allowed.  Pod
classes of one workload (or all pods without a known address) share their
addresses, hence their firewall decisions.

Differences are more-permissive (the policies allow what the ruleset denies)
or less-permissive; a less-permissive one is *reported* when an approximation
the compiler reports (a finding other than a note or out-of-reach) touches
it: the finding's rule (upper sets) holds some address of each end and the
service, or the finding has no rule.

Methods: "index" (the default, `verify_walk.py`) tests each rule and policy
rule once per end class and decides groups of alike pairs at once; "pairs"
runs the address and peer tests once per endpoint pair and shares one sweep
over the services between pairs that pass the same tests
(`verify_pairs.py`); "flows" (`fast=False`) calls the evaluators for every
flow class.  The tests check that all three report the same.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace

from ..compiler.findings import APPROXIMATIONS
from ..evaluate.concrete import LegacyFlows, address_text
from ..evaluate.endpoints import Ip, Pod
from ..evaluate.firewall import FirewallEvaluator
from ..evaluate.netpol import EGRESS, INGRESS, DefaultedPolicy, NetpolEvaluator
from ..model.inventory import NAME_LABEL, Inventory
from ..model.ruleset import PORT_PROTOCOLS, TYPE_PROTOCOLS, Ruleset, proto_label
from .classes import IpClass, PodClass
from .kinds import CATEGORIES, LESS, MORE, REPORTED
from .pairs import FirewallPairs, NetpolPairs
from .partition import Partition
from .walk import Walk

METHODS = ("index", "pairs", "flows")  # the CLI uses "index"; "pairs" and "flows" are test oracles


@dataclass
class Flow:
    """One concrete flow: evaluator endpoints, protocol and port (or ICMP type)."""

    src: Pod | Ip
    dst: Pod | Ip
    proto: int
    port: int

    def service(self) -> str:
        return service_text(self.proto, self.port)


@dataclass
class Difference:
    flow: Flow
    firewall: bool
    policies: bool
    src_class: PodClass | IpClass
    dst_class: PodClass | IpClass
    reported: bool = False

    @property
    def direction(self) -> str:
        return MORE if self.policies else LESS

    @property
    def category(self) -> str:
        return REPORTED if self.reported else self.direction


@dataclass
class Report:
    ruleset: str
    classes: dict
    checked: int = 0
    differences: int = 0
    by_direction: dict = field(default_factory=lambda: {MORE: 0, LESS: 0})
    examples: list[Difference] = field(default_factory=list)
    approximations: int | None = None
    only: str | None = None
    reported: int = 0

    @property
    def equivalent(self) -> bool:
        return self.differences == 0

    @property
    def unreported(self) -> int:
        return self.by_direction[LESS] - self.reported

    @property
    def verdict(self) -> str:
        """ "equivalent", "approximations" (only reported less-permissive differences) or "not-equivalent"."""
        if self.equivalent:
            return "equivalent"
        return "approximations" if self.by_direction[MORE] == 0 and self.unreported == 0 else "not-equivalent"

    def exit_code(self, strict: bool = False) -> int:
        return int(self.verdict != "equivalent" if strict else self.verdict == "not-equivalent")


def service_text(proto: int, port: int) -> str:
    label = proto_label(proto)
    if proto in PORT_PROTOCOLS:
        return f"{label}/{port}"
    if proto in TYPE_PROTOCOLS:
        return f"{label}/{port}"
    return label if "/" in label else f"{label} (proto/{proto})"


class Verifier:
    """Compares the secure firewall reading with the policies over every flow class."""

    def __init__(
        self,
        rs: Ruleset,
        inv: Inventory,
        policies: list[dict],
        fast: bool = True,
        method: str | None = None,
        approximations: list | None = None,
    ):
        """APPROXIMATIONS: the rules (None: no rule) of the compiler's approximation findings."""
        method = method or ("index" if fast else "flows")
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        self.rs, self.inv, self.policies, self.method = rs, inv, policies, method
        self.fast = method != "flows"
        self.part = self.partition(rs, inv, policies)
        self.fw = FirewallEvaluator(rs, inv, "secure")  # the scope, and per-address tests
        self.lf = LegacyFlows(rs, inv)
        self.fw_pairs = FirewallPairs(self.lf)
        self.approx = list({id(r): r for r in approximations or ()}.values())  # Rule is unhashable
        self._touched: dict = {}
        base = {ns: dict(inv.namespaces[ns]) for ns in inv.namespaces}
        for c in self.part.pods:
            if not c.governed and c.world is None:
                base[c.namespace] = {k: v for k, v in c.ns_labels if k != NAME_LABEL}
        self.base_labels = base
        self._np: dict = {}
        self._sweeps: dict = {}
        self._gov: dict = {}
        # ports first, then ICMP, then other protocols: nicer counterexamples
        rank = {p: k for k, p in enumerate(PORT_PROTOCOLS + TYPE_PROTOCOLS)}
        self.services = sorted(self.part.services, key=lambda c: (rank.get(c.proto, 9), c.proto, c.port))

    def partition(self, rs: Ruleset, inv: Inventory, policies: list[dict]) -> Partition:
        return Partition(rs, inv, policies)

    def netpol(self, world, pod_ips: bool = False) -> NetpolEvaluator:
        """The evaluator for one namespace-label assignment (and whether ipBlocks match pod IPs)."""
        key = (world, pod_ips)
        if key not in self._np:
            labels = dict(self.base_labels)
            if world is not None:
                ns, ns_labels = world
                labels[ns] = {k: v for k, v in ns_labels if k != NAME_LABEL}
            np = NetpolEvaluator(self.policies, labels, pod_ips_match_ipblocks=pod_ips)
            self._np[key] = (np, NetpolPairs(np))
        return self._np[key][0]

    @staticmethod
    def endpoint(c, names: tuple = (), port: int = 0):
        if isinstance(c, IpClass):
            return Ip(c.address)
        ports = list(c.ports) + [(n, p, port) for n, p in names]
        return Pod.of(c.namespace, c.label_map, ports=ports, ip=c.ip)

    def named_for(self, proto: int) -> tuple:
        label = {6: "TCP", 17: "UDP", 132: "SCTP"}.get(proto)
        return tuple(sorted((n, label) for n, p in self.part.src.port_names if p == proto)) if label else ()

    def pairs(self, pods: list[PodClass]):
        """(src class, dst class) in reach of the ruleset (its scope), in a stable order.

        test oracle: only methods "pairs" and "flows" walk pairs."""
        ends = pods + self.part.ips
        for s in ends:
            for d in ends:
                if (isinstance(s, PodClass) or isinstance(d, PodClass)) and self.in_reach(s, d):
                    yield s, d

    def in_reach(self, s, d) -> bool:
        # governed: a pod of an inventory namespace that the ruleset's scope covers, per direction
        return (isinstance(s, PodClass) and s.governed and self.governs(s, "egress")) or (
            isinstance(d, PodClass) and d.governed and self.governs(d, "ingress")
        )

    def governs(self, c: PodClass, direction: str) -> bool:
        """Does the ruleset's scope cover pod class C in DIRECTION (remembered)?"""
        key = (c, direction)
        if key not in self._gov:
            self._gov[key] = self.fw.governs(self.endpoint(c), direction)
        return self._gov[key]

    def pod_sets(self):
        """(pod classes, ipBlocks match pod IPs?): without pod IPs; with each pod-IP class if the
        inventory declares pod CIDRs (CNIs that match pod IPs against ipBlocks)."""
        yield self.part.pods, False
        if self.part.pod_ips:
            yield [replace(c, ip=ip) for c in self.part.pods for ip in self.part.pod_ips], True

    def run(self, limit: int = 10, only: str | None = None) -> Report:
        part = self.part
        rep = Report(
            self.rs.name,
            {
                "pods": len(part.pods),
                "ips": len(part.ips),
                "services": len(part.services),
                "pod_ips": len(part.pod_ips),
            },
            only=only,
        )
        if self.method == "index":
            self._walk_index(rep, limit, only)
        else:
            seen = {c: 0 for c in CATEGORIES}
            for pods, pod_ips in self.pod_sets():
                for sc, dc in self.pairs(pods):
                    self._walk_pair(rep, sc, dc, pod_ips, limit, only, seen)
        # the security-relevant direction first, then unreported differences, then the order of the walk
        rep.examples.sort(key=lambda d: (d.direction != MORE, d.reported))
        del rep.examples[limit:]
        return rep

    def _walk_index(self, rep: Report, limit: int, only: str | None) -> None:
        walk = Walk(self)
        for item in walk.run(rep, limit, only):
            sc, dc, svc, names, cat = walk.difference_parts(item)
            flow = Flow(self.endpoint(sc), self.endpoint(dc, names, svc.port), svc.proto, svc.port)
            rep.examples.append(Difference(flow, cat != MORE, cat == MORE, sc, dc, cat == REPORTED))

    def _walk_pair(self, rep: Report, sc, dc, pod_ips: bool, limit: int, only: str | None, seen: dict) -> None:
        """test oracle: one pair's differences into REP (methods "pairs" and "flows")."""
        src = self.endpoint(sc)
        n, diffs = self._outcomes(sc, dc, src, pod_ips)
        rep.checked += n
        for svc, names, fw, pol in diffs:
            dst = self.endpoint(dc, names, svc.port)
            d = Difference(Flow(src, dst, svc.proto, svc.port), fw, pol, sc, dc)
            if only and d.direction != only:
                continue
            d.reported = d.direction == LESS and self.touched(src, dst, svc.proto, svc.port)
            rep.differences += 1
            rep.by_direction[d.direction] += 1
            rep.reported += d.reported
            seen[d.category] += 1
            if seen[d.category] <= limit:
                rep.examples.append(d)

    def touched(self, src, dst, proto: int, port: int) -> bool:
        """Does an approximation the compiler reports touch the flow (its rule's upper sets hold some address
        of each end, a pod end also when they name the cluster's CIDRs, and the service; a finding without a
        rule touches every flow)?"""
        lf, fw = self.lf, self.fw
        key = (lf.identity(src), lf.identity(dst), proto, port)
        if key not in self._touched:
            xs, ys = lf.addresses(src), lf.addresses(dst)
            self._touched[key] = any(
                r is None
                or (
                    fw.svc_has(r.services, proto, port, True)
                    and (any(fw.has(r.src, *x, True) for x in xs) or (isinstance(src, Pod) and fw.names_cluster(r.src)))
                    and (any(fw.has(r.dst, *y, True) for y in ys) or (isinstance(dst, Pod) and fw.names_cluster(r.dst)))
                )
                for r in self.approx
            )
        return self._touched[key]

    def _checks(self, dc):
        """(service class, extra named ports of the destination) for every flow class of a pair."""
        for svc in self.services:
            yield svc, ()
            if isinstance(dc, PodClass) and dc.open_ports:
                named = self.named_for(svc.proto)
                if named:
                    yield svc, named

    def _outcomes(self, sc, dc, src, pod_ips: bool = False) -> tuple[int, list]:
        """How many flow classes the pair has, and the differing ones (svc, names, firewall, policies)."""
        world = _world(sc, dc)
        np = self.netpol(world, pod_ips)
        if not self.fast:
            n, diffs = 0, []
            for svc, names in self._checks(dc):
                dst = self.endpoint(dc, names, svc.port)
                n += 1
                fw = self.lf.allowed(src, dst, svc.proto, svc.port)
                pol = np.allows(src, dst, svc.proto, svc.port)
                if fw != pol:
                    diffs.append((svc, names, fw, pol))
            return n, diffs
        # address and peer tests once per pair; pairs alike in them share the service sweep
        dst0 = self.endpoint(dc)
        cands = self.fw_pairs.candidates(src, dst0)
        npp = self._np[(world, pod_ips)][1]
        eg = npp.rules(src, sc, EGRESS, dst0) if isinstance(src, Pod) else None
        ing = npp.rules(dst0, dc, INGRESS, src) if isinstance(dst0, Pod) else None
        key = (
            cands,
            _sig(eg),
            _sig(ing),
            isinstance(dc, PodClass),
            getattr(dc, "ports", ()),
            getattr(dc, "open_ports", False),
        )
        if key not in self._sweeps:
            n, diffs = 0, []
            for svc, names in self._checks(dc):
                dst = self.endpoint(dc, names, svc.port) if names else dst0
                n += 1
                fw = self.fw_pairs.decide(cands, svc.proto, svc.port)
                pol = npp.allowed(eg, svc.proto, svc.port, dst) and npp.allowed(ing, svc.proto, svc.port, dst)
                if fw != pol:
                    diffs.append((svc, names, fw, pol))
            self._sweeps[key] = (n, diffs)
        return self._sweeps[key]

    def why(self, d: Difference) -> dict:
        """Both decisions for D's flow: the legacy flow and rule behind the firewall's, the policies involved."""
        f = d.flow
        allowed, legacy, rule = self.lf.witness(f.src, f.dst, f.proto, f.port)
        pod_ips = any(getattr(c, "ip", None) for c in (d.src_class, d.dst_class))
        np = self.netpol(_world(d.src_class, d.dst_class), pod_ips).explain(f.src, f.dst, f.proto, f.port)
        if legacy is None:
            by = "the absence of any legacy flow (the ends share no IP family)"
        else:
            by = f"rule {rule.ref}" if rule else f"the default ({self.rs.default})"
        fw = {
            "decision": "allow" if allowed else "deny",
            "rule": rule.id if rule else None,
            "line": rule.loc.line if rule else None,
            "by": by,
            "legacy_flow": None if legacy is None else " -> ".join(map(address_text, legacy)),
        }
        return {"firewall": fw, "policies": np}


def _world(sc, dc):
    return sc.world if isinstance(sc, PodClass) and sc.world else getattr(dc, "world", None)


def _sig(rules: list | None):
    return None if rules is None else tuple(None if p is None else id(p) for p in rules)


def direction_part(policies: list[dict], directions) -> list[dict]:
    """The parts of POLICIES that restrict DIRECTIONS ('ingress', 'egress'), for verifying a ruleset that
    governs only those: isolation is per direction, so a policy's ingress part acts alone and so does
    its egress part, and a flow the policies allow is one both parts allow."""
    keep = {d.capitalize() for d in directions}
    out = []
    for p in policies:
        types = DefaultedPolicy.of(p).types
        if set(types) <= keep:
            out.append(p)
        elif keep & set(types):
            spec = {k: v for k, v in p.get("spec", {}).items() if k not in ("ingress", "egress", "policyTypes")}
            for t in types:
                if t in keep and p["spec"].get(t.lower()) is not None:
                    spec[t.lower()] = p["spec"][t.lower()]
            spec["policyTypes"] = [t for t in types if t in keep]
            out.append({**p, "spec": spec})
    return out


def verify(
    rs: Ruleset,
    inv: Inventory,
    policies: list[dict],
    limit: int = 10,
    only: str | None = None,
    approximations: bool = True,
    fast: bool = True,
    method: str | None = None,
    progress=None,
) -> tuple[Report, Verifier]:
    """Decide equivalence.  APPROXIMATIONS: compile RS to count the compiler's approximations and tell the
    less-permissive differences they touch (reported) from the rest; without, every one is unreported.

    METHOD: "index" (default), "pairs" or "flows" (the same as fast=False); see the module docstring.
    PROGRESS: the CLI's hook (`phase(name)`), told the compiler's phases, then classes and walk."""
    found = None
    if approximations:
        from ..compiler.synth import convert

        found = [f for f in convert(rs, inv, progress=progress).findings if f.kind in APPROXIMATIONS]
    return run_verifier(lambda rules: Verifier(rs, inv, policies, fast, method, rules), found, limit, only, progress)


def run_verifier(make, found: list | None, limit: int, only: str | None, progress=None) -> tuple[Report, Verifier]:
    """MAKE(the rules of the approximation findings FOUND) a verifier and run it, the cycle collector paused."""
    phase = progress.phase if progress else lambda name: None
    paused = gc.isenabled()
    gc.disable()  # the walk builds millions of small objects the cycle collector would rescan
    try:
        phase("classes")
        v = make([r for f in found or () for r in f.rules])
        phase("walk")
        rep = v.run(limit, only)
    finally:
        if paused:
            gc.enable()
    rep.approximations = None if found is None else len(found)
    return rep, v
