"""NetworkPolicy synthesis: the exact allowed flow set as allow-only policies."""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from dataclasses import dataclass, field

from ..model.inventory import Inventory
from ..model.names import dns_name
from ..model.resolve import Resolver, unresolved_items
from ..model.ruleset import ALLOW, SCTP, TCP, UDP, Ruleset, proto_label
from ..model.space import EMPTY, FULL_SVC, IntervalSet, split_svc, whole_proto
from . import examples
from .families import Readings
from .findings import Finding, flow_text
from .ipblocks import ip_blocks
from .selectors import complement, ns_selector, union_of
from .sharing import Body, share
from .universe import FAMILIES, PodClass, Universe

MANAGED = {"app.kubernetes.io/managed-by": "fw2np"}
PORT_NAMES = ((TCP, "TCP"), (UDP, "UDP"), (SCTP, "SCTP"))
L4 = whole_proto(TCP) | whole_proto(UDP) | whole_proto(SCTP)
DIRS = (("ingress", "Ingress", "dst", "from"), ("egress", "Egress", "src", "to"))


@dataclass
class Result:
    ruleset: Ruleset
    policies: list[dict]
    findings: list[Finding]
    stats: dict = field(default_factory=dict)


def ports_for(allowed: IntervalSet) -> tuple[list[dict] | None, IntervalSet]:
    """NetworkPolicy ports for ALLOWED (None: every port and protocol) and what they cannot say."""
    if allowed == FULL_SVC:
        return None, EMPTY
    ports = []
    parts = split_svc(allowed)
    for proto, name in PORT_NAMES:
        for lo, hi in parts.get(proto, []):
            if (lo, hi) == (1, 65535):
                ports.append({"protocol": name})
            else:
                p = {"protocol": name, "port": lo}
                if hi > lo:
                    p["endPort"] = hi
                ports.append(p)
    return ports, allowed - L4


class Synth:
    def __init__(self, rs: Ruleset, inv: Inventory):
        self.rs, self.inv = rs, inv
        self.resolver = Resolver(rs)
        self.universe = Universe(inv, rs, self.resolver)
        self.default_allow = rs.default == ALLOW
        self.readings = Readings(rs, self.universe, self.resolver, self.default_allow)
        self.classes = self.readings.classes
        self.l4 = 0
        for p, _ in PORT_NAMES:
            self.l4 |= self.classes.masks[whole_proto(p)]
        self.findings: list[Finding] = []
        self._dropped: dict = {}
        self._blocks: dict = {}
        self._pod_peers: dict = {}
        self._peers: dict = {}
        self._ns_peers: dict = {}
        self._differences: dict = {}
        self._splits: dict = {}
        self._cidr_shared: dict = {}
        self._protos: dict = {}
        self._ports: dict = {}
        self._position = {id(r): k for k, r in enumerate(rs.rules)}
        self.prefix = dns_name(rs.name or "fw2np", 40)
        self.progress = _SILENT  # the CLI's progress hook (convert's `progress`)
        self.ingress_isolated = EMPTY  # set by build: the pods its ingress policies isolate
        self._isolated_rule: dict = {}  # namespace -> the one egress rule that allows those pods

    # --- peers -------------------------------------------------------------

    def pod_peers(self, atoms: list[PodClass], home: str) -> list[dict]:
        chosen = {a.index for a in atoms}
        if len(chosen) == len(self.universe.pod_classes):
            return [{"namespaceSelector": {}}]
        inside: dict[str, list[int]] = {}
        for a in atoms:
            if a.namespace is not None:
                inside.setdefault(a.namespace, []).append(a.index)
        full = [ns for ns, group in self.universe.by_ns.items() if len(inside.get(ns, ())) == len(group)]
        peers = []
        if self.universe.outside.index in chosen:
            rest = [ns for ns in self.universe.by_ns if ns not in full]
            peers.append({"namespaceSelector": ns_selector(rest, negate=True)})
        else:
            if home in full:
                peers.append({"podSelector": {}})
            others = [ns for ns in full if ns != home]
            if others:
                peers.append({"namespaceSelector": ns_selector(others)})
        for ns in self.universe.by_ns:
            if ns in inside and ns not in full:
                peers += self.ns_peers(ns, tuple(sorted(inside[ns])), ns == home)
        return peers

    def ns_peers(self, ns: str, inside: tuple[int, ...], home: bool) -> list[dict]:
        """Peers for the pod classes INSIDE (indices) of namespace NS, seen from NS itself if HOME."""
        key = (ns, inside, home)
        if key not in self._ns_peers:
            group = self.universe.by_ns[ns]
            chosen = set(inside)
            if any(group[i - group[0].index].kind == "others" for i in inside):
                sels = complement([a.workload.labels for a in group if a.kind == "workload" and a.index not in chosen])
            else:
                sels = union_of([group[i - group[0].index].workload.labels for i in inside])
            self._ns_peers[key] = [
                {"podSelector": sel} if home else {"namespaceSelector": ns_selector([ns]), "podSelector": sel}
                for sel in sels
            ]
        return self._ns_peers[key]

    def peers(self, region: IntervalSet, home: str) -> list[dict] | None:
        """Peers for the endpoints in REGION (None: every endpoint)."""
        key = (region, home)
        if key not in self._peers:
            self._peers[key] = self._make_peers(region, home)
        found = self._peers[key]
        return None if found is None else list(found)  # shared peer dicts: never mutated

    def _make_peers(self, region: IntervalSet, home: str) -> list[dict] | None:
        if self.universe.endpoints.issubset(region):
            return None
        pods = region & self.universe.pods
        key = (pods, home)
        if key not in self._pod_peers:
            atoms = [self.universe.pod_class_at(lo + k) for lo, hi in pods for k in range(hi - lo + 1)]
            self._pod_peers[key] = self.pod_peers(atoms, home) if atoms else []
        out = list(self._pod_peers[key])  # shared peer dicts: never mutated, dumped without aliases
        ext = region & self.universe.external
        if ext not in self._blocks:
            self._blocks[ext] = ip_blocks(ext, self.universe.dont_care, self._cidr_shared)
        for cidr, exc in self._blocks[ext]:
            block = {"cidr": cidr}
            if exc:
                block["except"] = list(exc)
            out.append({"ipBlock": block})
        return out

    # --- policies ----------------------------------------------------------

    def rules_for(self, atom: PodClass, fixed: str, key: str) -> tuple[list[Body], bool, list]:
        """The NetworkPolicy rules of ATOM in one direction; restricted?; contributing rules."""
        self.progress.advance()
        groups, diffs, splits = self.readings.sweep(fixed, atom, ~self.l4)
        self._keep_differences((fixed, atom.point), diffs)
        self.keep_splits(atom, fixed, splits)
        full = self.classes.full
        if len(groups) == 1 and groups[0].allowed == full and self.universe.endpoints.issubset(groups[0].ends):
            return [Body("all", {}, groups[0].rules)], False, groups[0].rules
        out, contrib = [], []
        relaxed = self.ingress_isolated if fixed == "src" else EMPTY
        if relaxed:  # pod-to-pod flows to these pods are decided by their ingress (see docs/semantics.md)
            rule = self._isolated_rule.setdefault(atom.namespace, {key: self.peers(relaxed, atom.namespace)})
            out.append(Body("isolated", rule, [], relaxed.iv))
        for region, bits, cs, flagged in sorted(groups, key=lambda g: g.ends.iv):
            region = (region & self.universe.endpoints) - relaxed
            if not region:
                continue
            if bits not in self._ports:  # what ports cannot say: the services outside TCP, UDP, SCTP
                ports = None if bits == full else ports_for(self.classes.set(bits & self.l4))[0]
                self._ports[bits] = ports, 0 if ports is None else bits & ~self.l4
            ports, dropped = self._ports[bits]
            if dropped:
                self.report_dropped(atom, fixed, region, dropped, flagged)
            if ports == []:
                continue
            rule: dict = {}
            peers = self.peers(region, atom.namespace)
            if peers is not None:
                rule[key] = peers
            if ports is not None:
                rule["ports"] = ports
            out.append(Body((region, bits & self.l4 if ports is not None else full), rule, cs, region.iv))
            contrib += cs
        return out, True, contrib

    def report_dropped(self, atom: PodClass, fixed: str, region: IntervalSet, mask: int, cs) -> None:
        """Remember services (MASK) left denied because NetworkPolicy cannot say them."""
        dropped = self.classes.set(mask)
        if mask not in self._protos:
            self._protos[mask] = tuple(sorted({p for lo, hi in dropped for p in range(lo >> 16, (hi >> 16) + 1)}))
        key = (tuple(c.rule.id if c else "default" for c in cs), self._protos[mask])
        if key in self._dropped:
            self._dropped[key][1].add(str(atom))
            return
        icmp = dropped & (whole_proto(1) | whole_proto(58))
        v = examples.service(icmp or dropped)
        other = examples.address(region)
        s, d = (atom.point, other) if fixed == "src" else (other, atom.point)
        rules = list({id(c.rule) if c else None: c.rule if c else None for c in cs}.values())  # None: default
        self._dropped[key] = (rules, {str(atom)}, flow_text(s, d, v, self.universe))

    def dropped_findings(self) -> None:
        for (ids, protos), (rules, atoms, example) in sorted(self._dropped.items(), key=lambda kv: kv[0]):
            rule = next((r for r in rules if r is not None), None)
            names = ", ".join(proto_label(p) for p in protos[:4]) + (" ..." if len(protos) > 4 else "")
            self.findings.append(
                Finding(
                    "inexpressible",
                    f"{names} allowed by {', '.join(ids)} cannot be said with ports in NetworkPolicy; "
                    f"left denied for {len(atoms)} pod class(es)",
                    rule,
                    example,
                    others=tuple(r for r in rules if r is not rule),
                )
            )

    def policy(self, ns: str, name: str, selector: dict, direction: str, rules: list, contrib, shared=None) -> dict:
        order = sorted(set(contrib), key=lambda c: self._position[id(c.rule)] if c else len(self._position))
        ids = [c.rule.ref if c else "default allow" for c in order]
        if any(r is self._isolated_rule.get(ns) for r in rules):
            ids.append(ISOLATED_NOTE)
        meta = {
            "name": name,
            "namespace": ns,
            "labels": self.labels(),
            "annotations": {
                "fw2np.io/ruleset": _bounded(self.rs.name),
                "fw2np.io/rules": _bounded_list(ids or [f"default {self.rs.default}"]),
            },
        }
        if shared:
            meta["annotations"]["fw2np.io/shared-by"] = _bounded_list([str(a) for a in shared])
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta,
            "spec": {"podSelector": selector, "policyTypes": [direction.capitalize()], direction: rules},
        }

    def governed_classes(self) -> set[int]:
        """Pod classes the ruleset protects (all governed ones unless it names a host)."""
        if self.rs.protects is None:
            return {a.index for a in self.universe.pod_classes if a.governed}
        # secure side: a class that may be the protected host is governed
        region, _ = self.universe.denote(self.resolver.address(self.rs.protects).upper, full=False)
        out = {a.index for a in self.universe.pod_classes if a.governed and a.point in region}
        unknown = [a for a in self.universe.pod_classes if a.index in out and not a.legacy]
        if unknown:
            self.findings.append(
                Finding(
                    "note",
                    f"the protected host's addresses may be those of pods without legacy addresses: the "
                    f"ruleset governs {_names(unknown)} too (name the host's workload in the inventory)",
                )
            )
        return out

    def build(self) -> list[dict]:
        per_ns: dict[str, list[dict]] = {}
        governed = self.governed_classes()
        made = {
            (ns, d[0]): self.direction_rules(group, governed, *d)
            for ns, group in self.universe.by_ns.items()
            for d in DIRS[:1]
        }
        self.ingress_isolated = self._isolated(made, governed)
        for ns, group in self.universe.by_ns.items():
            made.update({(ns, d[0]): self.direction_rules(group, governed, *d) for d in DIRS[1:]})
        for ns, group in self.universe.by_ns.items():
            whole = all(a.index in governed for a in group)
            isolated, pols = [], []
            for direction, ptype, _, _ in DIRS:
                found = made[(ns, direction)]
                if found is None:
                    continue
                if whole:
                    isolated.append(ptype)
                pols += self.shared_policies(ns, group, whole, direction, found)
            if isolated:
                cleanup = self.metadata_only(ns, f"{self.prefix}-default-deny", "default deny (cleanup)")
                cleanup["spec"] = {"podSelector": {}, "policyTypes": isolated}
                pols.insert(0, cleanup)
            per_ns[ns] = _unique_names(pols)
        if not any(per_ns.values()):
            per_ns = self.allow_all(governed)
        return [p for ns in sorted(per_ns) for p in per_ns[ns]]

    def metadata_only(self, ns: str, name: str, rules: str) -> dict:
        """A policy of namespace NS with its metadata only (the caller adds the spec)."""
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": self.labels(),
                "annotations": {"fw2np.io/ruleset": _bounded(self.rs.name), "fw2np.io/rules": rules},
            },
        }

    def labels(self) -> dict:
        """Every policy's labels: fw2np manages it, and which ruleset it came from (the policy name prefix)."""
        return {**MANAGED, "fw2np.io/ruleset": self.prefix}

    def allow_all(self, governed: set[int]) -> dict[str, list[dict]]:
        """A ruleset that restricts nothing here, said with an allow-all policy per governed namespace
        and direction (an empty manifest is not applicable, and says nothing to a reader)."""
        per_ns: dict[str, list[dict]] = {}
        dirs = [(d, key) for d, _, _, key in DIRS if d in self.rs.directions]
        for ns, group in self.universe.by_ns.items():
            members = [a for a in group if a.index in governed]
            if not members or not dirs:
                continue
            sels = [{}] if len(members) == len(group) else self.pod_selectors(group, members)
            pols = []
            for k, sel in enumerate(sels):
                suffix = f"-{k + 1}" if len(sels) > 1 else ""
                pol = self.metadata_only(
                    ns, f"{self.prefix}-allow-all{suffix}", "allow all (the ruleset allows every flow here)"
                )
                pol["spec"] = {"podSelector": sel, "policyTypes": [d.capitalize() for d, _ in dirs]}
                pol["spec"].update({d: [{}] for d, _ in dirs})
                pols.append(pol)
            per_ns[ns] = pols
        if per_ns:
            self.findings.append(
                Finding(
                    "note",
                    f"the ruleset allows every flow of the pods it governs: written as explicit allow-all "
                    f"policies in {', '.join(sorted(per_ns))}",
                )
            )
        return per_ns

    def direction_rules(self, group: list[PodClass], governed: set[int], direction, ptype, fixed, key):
        """[(pod class, its rules, contributing rules)] of one namespace in one direction, or None when
        no governed class there is restricted (no policy needed)."""
        members = [a for a in group if a.index in governed]
        if direction not in self.rs.directions or not members:
            return None
        made = [(atom, *self.rules_for(atom, fixed, key)) for atom in members]
        if not any(restricted for _, _, restricted, _ in made):
            return None
        return [(atom, rules, contrib) for atom, rules, _, contrib in made]

    def _isolated(self, made: dict, governed: set[int]) -> IntervalSet:
        """The points of the pod classes the ingress policies restrict (isolate), exactly."""
        points = []
        for (ns, _), found in made.items():
            if found is None:
                continue
            whole = all(a.index in governed for a in self.universe.by_ns[ns])
            for atom, bodies, _ in found:
                if whole or not _allows_all(bodies):
                    points.append((atom.point, atom.point))
            if whole:
                points += [(a.point, a.point) for a in self.universe.by_ns[ns]]
        return IntervalSet(points)

    def shared_policies(self, ns: str, group: list[PodClass], whole: bool, direction: str, made: list) -> list[dict]:
        """The policies of one namespace and direction from each pod class's rules: a policy per
        pod class, and one per group of classes that share rules (see sharing.py)."""
        kept = []
        for atom, bodies, _ in made:
            # a whole namespace is isolated by its cleanup policy; else each class by its own policy
            if (whole and not bodies) or (not whole and _allows_all(bodies)):
                continue
            kept.append((atom, bodies))
        with_rules = {id(a) for a, bodies in kept if bodies}
        pols = []
        for atoms, bodies in share(kept, lambda atoms: self._policy_cost(group, atoms)):
            if not bodies and (whole or id(atoms[0]) in with_rules):
                continue  # every rule of the class is in shared policies, which isolate it too
            rules = [b.rule for b in bodies]
            contrib = [c for b in bodies for c in b.contrib]
            sels = self.pod_selectors(group, atoms)
            for k, sel in enumerate(sels):
                suffix = f"-{k + 1}" if len(sels) > 1 else ""
                name = f"{self._policy_name(atoms, direction)}{suffix}"
                pols.append(self.policy(ns, name, sel, direction, rules, contrib, atoms if len(atoms) > 1 else None))
        return pols

    def pod_selectors(self, group: list[PodClass], atoms: list[PodClass]) -> list[dict]:
        """podSelectors whose union is exactly the pods of ATOMS (pod classes of one namespace)."""
        workloads = [a.workload.labels for a in atoms if a.kind == "workload"]
        out = union_of(workloads) if len(atoms) > 1 else []
        if len(atoms) == 1 and workloads:
            out = [{"matchLabels": dict(sorted(workloads[0].items()))}]
        if any(a.kind != "workload" for a in atoms):
            out += complement([a.workload.labels for a in group if a.kind == "workload"])
        return out

    def _policy_name(self, atoms: list[PodClass], direction: str) -> str:
        if len(atoms) > 1:
            digest = hashlib.sha256("\n".join(str(a) for a in atoms).encode()).hexdigest()[:8]
            return dns_name(f"{self.prefix}-{direction}-shared-{len(atoms)}-{digest}", 253)
        if atoms[0].kind == "workload":
            return dns_name(f"{self.prefix}-{atoms[0].workload.name}-{direction}", 253)
        return f"{self.prefix}-other-pods-{direction}"

    def _policy_cost(self, group: list[PodClass], atoms: list[PodClass]) -> int:
        """About the characters a policy of its own for ATOMS costs: metadata and selectors."""
        sels = self.pod_selectors(group, atoms)
        return len(sels) * (POLICY_OVERHEAD + len(json.dumps(sels)))

    # --- findings ----------------------------------------------------------

    def approximations(self) -> None:
        for k, r in enumerate(self.rs.rules):
            worlds = self.readings.rules(k)
            allow = r.action == ALLOW
            example = _Lazy(lambda k=k: self.changed_flow(k))
            # allows lose partly covered pod classes (secure side); denies take them in
            partial: dict[str, dict[int, PodClass]] = {}
            for _, sec, opt in worlds:
                for side, atoms in (sec.partial if allow else opt.partial).items():
                    for a in atoms:
                        partial.setdefault(side, {})[a.index] = a
            what = "does not apply to" if allow else "applies to all of"
            for side in sorted(partial):
                atoms = [partial[side][i] for i in sorted(partial[side])]
                unknown = [a for a in atoms if a.kind != "cluster" and not a.legacy]
                for a in atoms:
                    if a.kind != "cluster" and not a.legacy:
                        continue
                    # "the addresses of workload ns/w ... it"; "the cluster's service IPs (serviceCIDRs) ... them"
                    whose, it = ("the addresses of workload ", "it") if a.kind == "workload" else ("", "them")
                    # an example with the pod class itself at that end, when one changes
                    ex = (self.changed_flow(k, side, a.point) if a.index >= 0 else None) or example.get()
                    self.findings.append(
                        Finding(
                            "partial-cover",
                            f"the {side} covers only part of {whose}{a}; the {r.action} {what} {it}",
                            r,
                            ex,
                        )
                    )
                # pods without legacy addresses: reported where the cover changes a decision
                ex = next(filter(None, (self.changed_flow(k, side, a.point) for a in unknown)), None)
                if ex:
                    where = "an address of the pod CIDRs" if self.inv.pod_cidrs else "any IPv4 or IPv6 address"
                    self.findings.append(
                        Finding(
                            "partial-cover",
                            f"the {side} holds only some of the addresses a pod without legacy addresses may have "
                            f"({where}); the {r.action} {what} {_names(unknown)}",
                            r,
                            ex,
                        )
                    )
            if not allow:
                self.cluster_deny(k, r)
            if allow:
                for side, expr in (("src", r.src), ("dst", r.dst)):
                    lower = self.resolver.address(expr).lower
                    if self.inv.pod_cidrs and any(
                        self.universe.unknown & whole
                        and (self.universe.unknown & whole).issubset(lower)
                        and not whole.issubset(lower)
                        for whole in FAMILIES.values()
                    ):
                        self.findings.append(
                            Finding(
                                "note",
                                f"the {side} holds the whole pod CIDR: it stands for the pods without legacy "
                                "addresses; workloads are matched by their legacy addresses",
                                r,
                            )
                        )
            unresolved = unresolved_items(
                self.rs, r.src.include + r.src.exclude + r.dst.include + r.dst.exclude + tuple(r.services)
            )
            for u in dict.fromkeys(unresolved):  # once each: a tag in both src and dst is one finding
                effect = "matches nothing there" if allow else "matches everything there"
                self.findings.append(
                    Finding("unresolved", f"{u.text}: {u.reason}; the {r.action} {effect}", r, example.get())
                )
            for c in r.conditions:
                effect = "the allow is dropped" if allow else "the deny applies without it"
                self.findings.append(
                    Finding("condition", f"cannot enforce {c.text} ({c.reason}); {effect}", r, example.get())
                )

    def keep_splits(self, atom: PodClass, fixed: str, splits: list) -> None:
        """Remember pod pairs whose shared families decide apart (left denied), by the rule that allowed."""
        for sp in splits:
            key = self._position[id(sp.rule.rule)] if sp.rule else len(self._position)
            s, d = (atom.point, sp.point) if fixed == "src" else (sp.point, atom.point)
            got = self._splits.setdefault(key, [sp.rule.rule if sp.rule else None, set(), None])
            got[1].add((s, d))
            if got[2] is None:
                got[2] = flow_text(s, d, examples.service(self.classes.set(sp.mask)), self.universe)

    def split_findings(self) -> None:
        for key in sorted(self._splits):
            rule, pairs, example = self._splits[key]
            by = f"rule {rule.ref}" if rule else f"the default ({self.rs.default})"
            self.findings.append(
                Finding(
                    "family-split",
                    f"{by} allows some pod-to-pod flows over one address family but not over the other; a "
                    f"NetworkPolicy pod peer cannot tell families apart, so they are left denied for "
                    f"{len(pairs)} pod pair(s)",
                    rule,
                    example,
                )
            )

    def family_note(self) -> None:
        """Say which workloads have one address family only: their flows of the other family are denied."""
        uni = self.universe
        single = {f: [a for a in uni.pod_classes if a.legacy and uni.families(a) == (f,)] for f in FAMILIES}
        for f, atoms in single.items():
            other = 6 if f == 4 else 4
            if atoms and self.universe.family_endpoints[other]:
                self.findings.append(
                    Finding(
                        "note",
                        f"{_names(atoms)} {'has' if len(atoms) == 1 else 'have'} IPv{f} legacy addresses only: "
                        f"their IPv{other} flows are denied (the legacy network had none)",
                    )
                )

    def cluster_deny(self, k: int, r) -> None:
        """A deny naming the cluster's CIDRs is taken to hit every pod (a pod may hold those addresses):
        a workload pod whose legacy addresses it does not name is denied on the secure side."""
        u = self.universe
        for side, expr in (("src", r.src), ("dst", r.dst)):
            upper = self.resolver.address(expr).upper
            if not upper & u.cluster:
                continue
            spared = [a for a in u.pod_classes if a.kind == "workload" and a.legacy and not a.legacy & upper]
            if spared:
                ex = next(filter(None, (self.changed_flow(k, side, a.point) for a in spared)), None)
                self.findings.append(
                    Finding(
                        "partial-cover",
                        f"the {side} names the cluster's pod or service CIDRs, which any pod may hold as its "
                        f"address: the deny is taken to apply to every pod, {_names(spared)} too (their legacy "
                        "addresses are outside it)",
                        r,
                        ex,
                    )
                )

    def changed_flow(self, position: int, side: str | None = None, point: int | None = None) -> str | None:
        """A flow inside the optimistic match of the rule at POSITION where the secure and
        optimistic decisions differ.

        SIDE and POINT pin one end (a partly covered pod class); else a few governed
        pods at either end of the rule are tried."""
        worlds = self.readings.rules(position)
        if side is None:
            pins = []
            for end in ("src", "dst"):
                ends = IntervalSet(iv for _, _, opt in worlds for iv in getattr(opt, end).iv) & self.universe.governed
                pins += [(end, p) for p in _points(ends, PINS)]
        else:
            pins = [(side, point)]
        classes, mine = self.classes, self.readings.worlds[4][0]._pair[3][position]
        for end, p in pins:
            other = "dst" if end == "src" else "src"
            key = (end, p)
            if key not in self._differences:  # build keeps those of the pod classes it swept
                atom = self.universe.pod_class_at(p)
                self._keep_differences(key, self.readings.sweep(end, atom, regions=False).differences)
            los, found = self._differences[key]
            for f, _, opt in worlds:
                for a, b in (getattr(opt, other) & self.universe.family_endpoints[f]).iv:
                    for lo, hi, svc in found[max(0, bisect_right(los, a) - 1) : bisect_right(los, b)]:
                        if hi >= a and svc & mine:
                            here = examples.address(IntervalSet([(max(lo, a), min(hi, b))]))
                            s, d = (p, here) if end == "src" else (here, p)
                            return flow_text(s, d, examples.service(classes.set(svc & mine) & opt.svc), self.universe)
        return None

    def _keep_differences(self, key: tuple[str, int], found: list) -> None:
        """Remember where the two readings decide apart for KEY (end, pod point), with its starts."""
        self._differences[key] = ([lo for lo, _, _ in found], found)

    def reach(self) -> int:
        """Report rules with no governed pod at either end; count rules partly out of reach."""
        partly = 0
        uni = self.universe
        for k, r in enumerate(self.rs.rules):
            worlds = self.readings.rules(k)
            src = IntervalSet(iv for f, c, _ in worlds for iv in (c.src & uni.family_endpoints[f]).iv)
            dst = IntervalSet(iv for f, c, _ in worlds for iv in (c.dst & uni.family_endpoints[f]).iv)
            svc = worlds[0][1].svc
            src_out, dst_out = src - uni.governed, dst - uni.governed
            if not (src and dst and svc) or not (src_out and dst_out):
                continue
            partly += 1
            if not (src & uni.governed) and not (dst & uni.governed):
                self.findings.append(
                    Finding(
                        "out-of-reach",
                        "no pod of the inventory's namespaces at either end: NetworkPolicy cannot enforce this rule",
                        r,
                        flow_text(examples.address(src_out), examples.address(dst_out), examples.service(svc), uni),
                    )
                )
        return partly


def _allows_all(bodies: list[Body]) -> bool:
    """Is this a pod class's one rule that allows everything (rules_for's "all")?"""
    return len(bodies) == 1 and bodies[0].key == "all"


def _names(atoms: list[PodClass]) -> str:
    """Pod classes named in a sentence (at most 4, then a count)."""
    names = [str(a) for a in atoms]
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


PINS = 4  # governed pods tried at each end when looking for an example flow of a rule


def _points(s: IntervalSet, limit: int) -> list[int]:
    """The first LIMIT points of S."""
    out: list[int] = []
    for lo, hi in s:
        out += range(lo, min(hi, lo + limit - len(out) - 1) + 1)
        if len(out) >= limit:
            break
    return out


class _Lazy:
    """An example flow computed when first asked for (most rules need none)."""

    def __init__(self, make):
        self.make, self.done, self.value = make, False, None

    def get(self):
        if not self.done:
            self.value, self.done = self.make(), True
        return self.value


ISOLATED_NOTE = "to pods whose ingress this ruleset isolates (their ingress decides)"
POLICY_OVERHEAD = 400  # characters of a policy's metadata, about
ANNOTATION_MAX = 4096  # characters of one annotation value (the API allows 256 KiB for all of them)


def _bounded(text: str, limit: int = 253) -> str:
    """TEXT cut to LIMIT characters, saying so."""
    return text if len(text) <= limit else text[: limit - 13] + " (truncated)"


def _bounded_list(ids: list[str]) -> str:
    """IDS joined with ', ', at most ANNOTATION_MAX characters, then '... and N more'."""
    out, size = [], 0
    for k, i in enumerate(ids):
        i = _bounded(i, 200)
        if size + len(i) + 2 > ANNOTATION_MAX - 40:
            return ", ".join(out) + f" ... and {len(ids) - k} more"
        out.append(i)
        size += len(i) + 2
    return ", ".join(out)


def _unique_names(pols: list[dict]) -> list[dict]:
    seen: dict[str, int] = {}
    for p in pols:
        name = p["metadata"]["name"]
        if name in seen:
            seen[name] += 1
            p["metadata"]["name"] = dns_name(f"{name}-{seen[name]}", 253)
        else:
            seen[name] = 1
    return pols


class _Silent:
    """No progress: what convert's PROGRESS hook does (`phase(name, total, unit)`, `advance()`)."""

    def phase(self, name, total=None, unit=""):
        pass

    def advance(self, n=1):
        pass


_SILENT = _Silent()


def convert(rs: Ruleset, inv: Inventory, progress=None) -> Result:
    """Compile RS over inventory INV into NetworkPolicies (exact but for the findings).
    PROGRESS: told the phases (compile, synthesise with a step per pod class and direction, findings)."""
    progress = progress or _SILENT
    progress.phase("compile")
    s = Synth(rs, inv)
    s.progress = progress
    steps = sum(a.governed for g in s.universe.by_ns.values() for a in g) * len(rs.directions)
    progress.phase("synthesise", None if rs.protects is not None else steps, "pod classes x directions")
    s.findings.extend(Finding.skipped(k) for k in rs.skipped)
    policies = s.build()
    progress.phase("findings")
    s.approximations()
    s.split_findings()
    s.dropped_findings()
    s.family_note()
    partly = s.reach()
    if not inv.pod_cidrs:
        s.findings.append(
            Finding(
                "note",
                "the inventory names no pod CIDR (cluster.podCIDRs): pods without "
                "legacy addresses are taken to have any IPv4 or IPv6 address, and the "
                "output is exact only on CNIs whose ipBlocks do not match pod IPs",
            )
        )
    peers = sum(
        len(r.get("from", r.get("to", [])))
        for p in policies
        for r in p["spec"].get("ingress", []) + p["spec"].get("egress", [])
    )
    stats = {
        "rules": len(rs.rules),
        "lines": rs.lines_seen,
        "skipped": len(rs.skipped),
        "folded": rs.folded,
        "policies": len(policies),
        "prefix": s.prefix,
        "peers": peers,
        "rules_partly_out_of_reach": partly,
        "workloads": len(inv.workloads),
        "namespaces": len(inv.namespaces),
    }
    return Result(rs, policies, s.findings, stats)
