"""Which rules and policy rules can concern each end class, as bitmasks (for `verify_walk.py`).

Every test here is decided by the brute-force evaluators themselves; the
indexes only avoid asking them about (rule, class) couples that cannot match:

* A firewall rule side denotes every pod (the evaluator says so for a probe
  pod of no workload), or the pods of the workloads whose legacy ranges
  overlap the side's address set, confirmed by `side_matches`; an IP class
  by the representative address lying in that set.  The set is computed from
  `FirewallEvaluator.has` at the expression's own boundary points, between
  which membership is constant (the evaluator's own argument).
* A policy peer with a podSelector or namespaceSelector is asked only about
  classes that satisfy one required label (a matchLabels pair or an `In`);
  every candidate is confirmed with `NetpolEvaluator.peer_matches`.  An
  ipBlock matches IP classes by the representative lying in its set (again
  from the evaluator at the block's boundary points) and pods by their IP.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right

import netaddr

from .evaluate.endpoints import Ip, Pod
from .evaluate.netpol import EGRESS, INGRESS
from .verify_space import IpClass, PodClass, fresh_value, text_value

TOP = {4: (1 << 32) - 1, 6: (1 << 128) - 1}
BYTE_BITS = [tuple(k for k in range(8) if x >> k & 1) for x in range(256)]


def bits_of(m: int) -> list[int]:
    """Indices of the set bits of M, ascending."""
    out: list[int] = []
    for i, byte in enumerate(m.to_bytes((m.bit_length() + 7) // 8, "little")):
        if byte:
            base = i * 8
            out += [base + k for k in BYTE_BITS[byte]]
    return out


def mask_of(indices) -> int:
    """The int with bits INDICES set."""
    indices = list(indices)
    if not indices:
        return 0
    ba = bytearray(max(indices) // 8 + 1)
    for g in indices:
        ba[g >> 3] |= 1 << (g & 7)
    return int.from_bytes(ba, "little")


def merge(points: list[int], inside, top: int) -> list[tuple[int, int]]:
    """Maximal intervals [lo, hi] of [0, TOP] where INSIDE(point) holds, membership constant between POINTS."""
    out: list[tuple[int, int]] = []
    pts = sorted({0} | {p for p in points if 0 <= p <= top})
    for k, p in enumerate(pts):
        if inside(p):
            end = pts[k + 1] - 1 if k + 1 < len(pts) else top
            if out and out[-1][1] == p - 1:
                out[-1] = (out[-1][0], end)
            else:
                out.append((p, end))
    return out


def sweep_masks(reps: list[tuple[int, int]], intervals: dict[int, list[tuple[int, int, int]]]) -> list[int]:
    """For each representative (version, x): the bitmask of items whose intervals hold it.

    INTERVALS: version -> [(lo, hi, item)], an item's intervals disjoint."""
    out = [0] * len(reps)
    for version in (4, 6):
        idx = sorted((x, i) for i, (v, x) in enumerate(reps) if v == version)
        if not idx:
            continue
        events = sorted([(lo, k) for lo, hi, k in intervals.get(version, ())]
                        + [(hi + 1, k) for lo, hi, k in intervals.get(version, ())])
        cur, e = 0, 0
        for x, i in idx:
            while e < len(events) and events[e][0] <= x:
                cur ^= 1 << events[e][1]
                e += 1
            out[i] = cur
    return out


def rep_point(c: IpClass) -> tuple[int, int]:
    return c.version, int(netaddr.IPAddress(c.address))


class RuleIndex:
    """Firewall rules (positions in FirewallPairs.rules) whose source / destination denote each class."""

    def __init__(self, fw, rules: list, ips: list[IpClass]):
        self.fw, self.rules = fw, rules
        ns = fresh_value(set(fw.inv.namespaces), "fw2np-probe")
        self.probe = Pod.of(ns, {})
        self.legacy = {4: [], 6: []}
        for name, ranges in fw.legacy.items():
            for v, lo, hi in ranges:
                self.legacy[v].append((lo, hi, name))
        for v in self.legacy:
            self.legacy[v].sort()
        self.span = {v: max((hi - lo for lo, hi, _ in r), default=0) for v, r in self.legacy.items()}
        reps = [rep_point(c) for c in ips]
        self.side: dict[str, dict] = {}
        for which in ("src", "dst"):
            self.side[which] = self._index(which, reps)

    def intervals(self, expr, upper: bool) -> dict[int, list[tuple[int, int]]]:
        fw = self.fw
        return {v: merge(list(fw.boundaries(expr, v)), lambda p, v=v: fw.has(expr, v, p, upper), TOP[v])
                for v in (4, 6)}

    def _overlapping(self, ivs) -> set[str]:
        names: set[str] = set()
        for v, spans in ivs.items():
            leg = self.legacy[v]
            if not leg:
                continue
            los = [lo for lo, _, _ in leg]
            for a, b in spans:
                for lo, hi, name in leg[bisect_left(los, a - self.span[v]):bisect_right(los, b)]:
                    if hi >= a:
                        names.add(name)
        return names

    def _index(self, which: str, reps) -> dict:
        everyone: list[int] = []
        by_wl: dict[str, list[int]] = {}
        ip_iv: dict[int, list] = {4: [], 6: []}
        for k, (_, r, sure) in enumerate(self.rules):
            expr = getattr(r, which)
            ivs = self.intervals(expr, not sure)
            for v, spans in ivs.items():
                ip_iv[v] += [(lo, hi, k) for lo, hi in spans]
            if self.fw.side_matches(expr, self.probe, not sure, sure):
                everyone.append(k)
            else:
                for name in self._overlapping(ivs):
                    by_wl.setdefault(name, []).append(k)
        return {"all": mask_of(everyone), "cands": by_wl, "ips": sweep_masks(reps, ip_iv), "wl": {}}

    def pod_mask(self, which: str, ep: Pod) -> int:
        """Rules whose WHICH side denotes pod EP (its workload decides)."""
        side = self.side[which]
        w = self.fw.workload_of(ep)
        if w is None:
            return side["all"]
        if w.name not in side["wl"]:
            ks = [k for k in side["cands"].get(w.name, ())
                  if self.fw.side_matches(getattr(self.rules[k][1], which), ep, not self.rules[k][2],
                                          self.rules[k][2])]
            side["wl"][w.name] = side["all"] | mask_of(ks)
        return side["wl"][w.name]


def _required(sel) -> tuple[str, frozenset] | None:
    """One (key, allowed values) the selector requires, if any."""
    if not isinstance(sel, dict):
        return None
    for k, v in (sel.get("matchLabels") or {}).items():
        return str(k), frozenset([text_value(v)])
    for e in sel.get("matchExpressions") or []:
        if isinstance(e, dict) and e.get("operator") == "In":
            return str(e.get("key")), frozenset(text_value(x) for x in e.get("values") or [])
    return None


class PeerIndex:
    """Policy rules (a global numbering) selecting each pod class, and those whose peers match each end."""

    def __init__(self, verifier, pods: list[PodClass], pod_ips: bool, ips: list[IpClass]):
        self.v, self.pods, self.pod_ips = verifier, pods, pod_ips
        base = verifier.netpol(None, pod_ips)
        self.base = base
        self.grules: list[tuple] = []      # (policy, direction, rule dict)
        self.pol_bits: list[dict] = []      # per policy: direction -> mask
        for p in base.policies:
            masks = {}
            for direction, rules in ((INGRESS, p.ingress), (EGRESS, p.egress)):
                start = len(self.grules)
                self.grules += [(p, direction, r) for r in rules]
                masks[direction] = mask_of(range(start, len(self.grules)))
            self.pol_bits.append(masks)
        self.eps = [verifier.endpoint(c) for c in pods]
        self.nps = [verifier.netpol(c.world, pod_ips) for c in pods]
        self._selection()
        self._peers(ips)

    def _selection(self) -> None:
        from .evaluate.netpol import selector_matches

        by_ns: dict[str, list[int]] = {}
        for i, p in enumerate(self.base.policies):
            by_ns.setdefault(p.namespace, []).append(i)
        self.sel = []   # per pod class: {direction: mask or None (not isolated)}
        for ep in self.eps:
            labels = ep.label_map
            out = {INGRESS: None, EGRESS: None}
            for i in by_ns.get(ep.namespace, ()):
                p = self.base.policies[i]
                if not selector_matches(p.pod_selector, labels):
                    continue
                for direction in (INGRESS, EGRESS):
                    if direction in p.types:
                        out[direction] = (out[direction] or 0) | self.pol_bits[i][direction]
            self.sel.append(out)

    def _candidates(self, peer: dict, policy_ns: str) -> list[int]:
        ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
        lists = []
        if ns_sel is None:
            lists.append(self.by_ns.get(policy_ns, []))
        else:
            req = _required(ns_sel)
            if req:
                lists.append(sorted({i for v in req[1] for i in self.by_ns_kv.get((req[0], v), ())}))
        req = _required(pod_sel)
        if req:
            lists.append(sorted({i for v in req[1] for i in self.by_kv.get((req[0], v), ())}))
        return min(lists, key=len) if lists else list(range(len(self.pods)))

    def _peers(self, ips: list[IpClass]) -> None:
        self.by_ns, self.by_kv, self.by_ns_kv = {}, {}, {}
        for i, (c, ep, np) in enumerate(zip(self.pods, self.eps, self.nps)):
            self.by_ns.setdefault(c.namespace, []).append(i)
            for kv in ep.labels:
                self.by_kv.setdefault(kv, []).append(i)
            for kv in np.ns_labels(c.namespace).items():
                self.by_ns_kv.setdefault(kv, []).append(i)
        pod_hits: list[list[int]] = [[] for _ in self.pods]
        ip_iv: dict[int, list] = {4: [], 6: []}
        memo: dict = {}
        for g, (p, direction, r) in enumerate(self.grules):
            peers = r.get("from" if direction == INGRESS else "to")
            if not peers:
                for hits in pod_hits:
                    hits.append(g)
                for v in (4, 6):
                    ip_iv[v].append((0, TOP[v], g))
                continue
            key = (p.namespace, json.dumps(peers, sort_keys=True, default=str))
            if key not in memo:
                memo[key] = (self._pods_matching(peers, p.namespace), self._ip_intervals(peers, p.namespace))
            pods, ivs = memo[key]
            for i in pods:
                pod_hits[i].append(g)
            for v, spans in ivs.items():
                ip_iv[v] += [(lo, hi, g) for lo, hi in spans]
        self.pod_peer = [mask_of(h) for h in pod_hits]
        self.ip_peer = sweep_masks([rep_point(c) for c in ips], ip_iv)

    def _pods_matching(self, peers: list, policy_ns: str) -> set[int]:
        out: set[int] = set()
        for pe in peers:
            pe = pe or {}
            if pe.get("ipBlock") is not None:
                if self.pod_ips:
                    out |= self._by_pod_ip(pe, policy_ns)
                continue
            else:
                cands = self._candidates(pe, policy_ns)
            out |= {i for i in cands if i not in out and self.nps[i].peer_matches(pe, policy_ns, self.eps[i])}
        return out

    def _by_pod_ip(self, pe: dict, policy_ns: str) -> set[int]:
        """Pods an ipBlock matches through their IP: one evaluator call per distinct pod IP."""
        first: dict = {}
        for i, c in enumerate(self.pods):
            first.setdefault(c.ip, i)
        ok = {ip for ip, i in first.items() if self.nps[i].peer_matches(pe, policy_ns, self.eps[i])}
        return {i for i, c in enumerate(self.pods) if c.ip in ok}

    def _ip_intervals(self, peers: list, policy_ns: str) -> dict[int, list[tuple[int, int]]]:
        blocks = [pe["ipBlock"] for pe in peers if isinstance(pe, dict) and pe.get("ipBlock") is not None]
        if not blocks:
            return {}
        points: dict[int, list[int]] = {4: [], 6: []}
        for b in blocks:
            for c in [b.get("cidr")] + list(b.get("except") or []):
                try:
                    net = netaddr.IPNetwork(str(c))
                except (netaddr.AddrFormatError, ValueError, TypeError):
                    continue
                points[net.version] += [int(net.first), int(net.last) + 1]
        np = self.base

        def inside(v, x):
            ep = Ip(str(netaddr.IPAddress(x, v)))
            return any(np.peer_matches(pe, policy_ns, ep) for pe in peers)
        return {v: merge(points[v], lambda x, v=v: inside(v, x), TOP[v]) for v in (4, 6)}
