"""Which ends each policy rule concerns, as bitmasks over end classes (for `verify_walk.py`).

Ends are numbered pods first (0 .. P-1), then IP classes (P .. P+I-1).  Every
test here is decided by the brute-force evaluator itself; the indexes only
avoid asking it about (rule, class) couples that cannot match, and ask once
per distinct selector, peer or port list (the firewall side is
`verify_legacy.py`):

* A policy peer with a podSelector or namespaceSelector is asked only about
  pods that satisfy one required label (a matchLabels pair or an `In`);
  every candidate is confirmed with `NetpolEvaluator.peer_matches`.  An
  ipBlock matches IP classes by the representative lying in its set (again
  from the evaluator at the block's boundary points) and pods by their IP.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import netaddr

from ..evaluate.endpoints import Pod
from ..evaluate.netpol import EGRESS, INGRESS, ip_block_holds, selector_matches
from .classes import IpClass, PodClass
from .selectors import freeze, text_value

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


def low_bits(m: int, n: int) -> list[int]:
    """The N lowest set bits of M, ascending."""
    out: list[int] = []
    while m and len(out) < n:
        b = m & -m
        out.append(b.bit_length() - 1)
        m ^= b
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


class IpLine:
    """IP classes by representative address: the classes inside a set of intervals, as a bitmask."""

    def __init__(self, ips: list[IpClass]):
        self.pos: dict[int, tuple[list[int], list[int]]] = {}
        for v in (4, 6):
            pts = sorted((int(netaddr.IPAddress(c.address)), i) for i, c in enumerate(ips) if c.version == v)
            self.pos[v] = ([x for x, _ in pts], [i for _, i in pts])
        # partition order is address order within each family: index ranges are bit ranges
        self.ordered = all(idx == list(range(idx[0], idx[0] + len(idx))) for _, idx in self.pos.values() if idx)

    def mask(self, ivs: dict[int, list[tuple[int, int]]]) -> int:
        m = 0
        for v, spans in ivs.items():
            xs, idx = self.pos[v]
            for a, b in spans:
                lo, hi = bisect_left(xs, a), bisect_right(xs, b)
                if lo >= hi:
                    continue
                if self.ordered:
                    m |= ((1 << (hi - lo)) - 1) << idx[lo]
                else:
                    m |= mask_of(idx[lo:hi])
        return m


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
    """Policy rules (a global numbering) with the ends their peers match, and the pods each policy selects.

    Selectors and ipBlocks are asked once per distinct peer about the pod classes without IPs and
    the IP classes; `pod_set` maps those answers onto a pod set (pods with IPs, where an ipBlock
    also matches the pods whose IP it holds)."""

    def __init__(self, verifier, pods: list[PodClass], ips: list[IpClass]):
        self.v, self.pods, self.ips = verifier, pods, ips
        self.keys = verifier.part.src
        self.base = base = verifier.netpol(None, False)
        self.line = IpLine(ips)
        self.eps = [verifier.endpoint(c) for c in pods]
        self.nps = [verifier.netpol(c.world, False) for c in pods]
        self.grules: list[tuple[int, str, dict]] = []  # (policy index, direction, rule dict)
        self.first: list[dict[str, int]] = []  # per policy: direction -> its first grule
        for i, p in enumerate(base.policies):
            firsts = {}
            for direction, rules in ((INGRESS, p.ingress), (EGRESS, p.egress)):
                firsts[direction] = len(self.grules)
                self.grules += [(i, direction, r) for r in rules]
            self.first.append(firsts)
        self._selection()
        self._index_pods()
        self.blocks: dict = {}  # ipBlock peers: key -> (peer, policy namespace)
        self.answers = self._peers()  # per grule: None (no peers: everyone) or [per-peer answers]

    def rules_of(self, i: int, direction: str) -> range:
        """The grules of policy I in DIRECTION."""
        p = self.base.policies[i]
        start = self.first[i][direction]
        return range(start, start + len(p.ingress if direction == INGRESS else p.egress))

    def _selection(self) -> None:
        """sel_pods[policy]: pods it selects; sel[pod][direction]: policies of that type selecting it."""
        by_ns: dict[str, list[int]] = {}
        for i, c in enumerate(self.pods):
            by_ns.setdefault(c.namespace, []).append(i)
        memo: dict = {}
        self.sel_pods: list[int] = []
        self.sel: list[dict[str, list[int]]] = [{INGRESS: [], EGRESS: []} for _ in self.pods]
        for k, p in enumerate(self.base.policies):
            key = (p.namespace, self.keys.key(p.pod_selector))
            if key not in memo:
                memo[key] = mask_of(
                    i for i in by_ns.get(p.namespace, ()) if selector_matches(p.pod_selector, self.eps[i].label_map)
                )
            self.sel_pods.append(memo[key])
            for direction in p.types:
                if direction in (INGRESS, EGRESS):
                    for i in bits_of(memo[key]):
                        self.sel[i][direction].append(k)

    def _index_pods(self) -> None:
        self.by_ns, self.by_kv, self.by_ns_kv = {}, {}, {}
        for i, (c, ep, np) in enumerate(zip(self.pods, self.eps, self.nps)):
            self.by_ns.setdefault(c.namespace, []).append(i)
            for kv in ep.labels:
                self.by_kv.setdefault(kv, []).append(i)
            for kv in np.ns_labels(c.namespace).items():
                self.by_ns_kv.setdefault(kv, []).append(i)

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

    def _peers(self) -> list:
        memo: dict = {}
        lists: dict = {}
        pols = self.base.policies
        out: list = []
        for p_idx, direction, r in self.grules:
            peers = r.get("from" if direction == INGRESS else "to")
            if not peers:
                out.append(None)
                continue
            ns = pols[p_idx].namespace
            lkey = (ns, self.keys.key(peers))
            if lkey not in lists:
                answers = []
                for pe in peers:
                    key = self.keys.key(pe) if pe else freeze(pe)
                    # an ipBlock does not depend on the policy's namespace; selectors do
                    key = (None if isinstance(pe, dict) and pe.get("ipBlock") is not None else ns, key)
                    if key not in memo:
                        memo[key] = self._answer(pe or {}, ns)
                    answers.append(memo[key])
                lists[lkey] = list(dict.fromkeys(answers))
            out.append(lists[lkey])
        return out

    def _answer(self, pe: dict, policy_ns: str):
        """One peer: ("pods", mask over pod classes) or ("ips", mask over IP classes, key in self.blocks)."""
        if pe.get("ipBlock") is not None:
            key = self.keys.key(pe)
            self.blocks[key] = (pe, policy_ns)
            return ("ips", self.line.mask(self._ip_intervals(pe, policy_ns)), key)
        tests: dict[int, object] = {}  # one peer test per evaluator (namespace labels)
        out = []
        for i in self._candidates(pe, policy_ns):
            np = self.nps[i]
            test = tests.get(id(np))
            if test is None:
                test = tests[id(np)] = np.peer_test(pe, policy_ns)
            if test(self.eps[i]):
                out.append(i)
        return ("pods", mask_of(out))

    def _ip_intervals(self, pe: dict, policy_ns: str) -> dict[int, list[tuple[int, int]]]:
        block = pe["ipBlock"]
        points: dict[int, list[int]] = {4: [], 6: []}
        if isinstance(block, dict):
            for c in [block.get("cidr")] + list(block.get("except") or []):
                try:
                    net = netaddr.IPNetwork(str(c))
                except (netaddr.AddrFormatError, ValueError, TypeError):
                    continue
                points[net.version] += [int(net.first), int(net.last) + 1]
        # the evaluator's ipBlock test (peer_matches on an Ip), on the integer address
        return {v: merge(points[v], lambda x, v=v: ip_block_holds((v, x), block), TOP[v]) for v in (4, 6)}

    def pod_set(self, pods: list[PodClass], pod_ips: bool) -> PodSet:
        return PodSet(self, pods, pod_ips)


class PodSet:
    """The PeerIndex answers on one pod set: peer_ends per grule, sel and sel_pods per pod of the set."""

    def __init__(self, pix: PeerIndex, pods: list[PodClass], pod_ips: bool):
        from dataclasses import replace

        self.pix, self.pods, self.pod_ips = pix, pods, pod_ips
        self.grules, self.base, self.rules_of = pix.grules, pix.base, pix.rules_of
        self.n_pods = len(pods)
        self.all_ends = (1 << (len(pods) + len(pix.ips))) - 1
        index = {c: b for b, c in enumerate(pix.pods)}
        self.base_of = [index[replace(c, ip=None)] for c in pods]
        self.same = self.base_of == list(range(len(pix.pods)))
        self.spread_to: list[int] = [0] * len(pix.pods)
        for i, b in enumerate(self.base_of):
            self.spread_to[b] |= 1 << i
        self.eps = [pix.v.endpoint(c) for c in pods] if not self.same or pod_ips else pix.eps
        self.sel = [pix.sel[b] for b in self.base_of]
        self.sel_pods = [self.spread(m) for m in pix.sel_pods]
        self.by_ip: dict[str, int] = {}
        if pod_ips:
            for i, c in enumerate(pods):
                if c.ip is not None:
                    self.by_ip[c.ip] = self.by_ip.get(c.ip, 0) | 1 << i
        memo: dict = {}
        self.peer_ends: list[int] = []
        for answers in pix.answers:
            if answers is None:
                self.peer_ends.append(self.all_ends)
                continue
            m = 0
            for a in answers:
                if a not in memo:
                    memo[a] = self._ends(a)
                m |= memo[a]
            self.peer_ends.append(m)

    def spread(self, base_mask: int) -> int:
        """A mask over the base pod classes as a mask over this set's pods."""
        if self.same:
            return base_mask
        m = 0
        for b in bits_of(base_mask):
            m |= self.spread_to[b]
        return m

    def _ends(self, answer) -> int:
        if answer[0] == "pods":
            return self.spread(answer[1])
        _, ip_mask, key = answer
        pe, ns = self.pix.blocks[key]
        m = ip_mask << self.n_pods
        if self.by_ip:
            # pods whose IP the block holds: one evaluator call per distinct pod IP
            test = self.pix.v.netpol(None, True).peer_test(pe, ns)
            for ip, pods in self.by_ip.items():
                if test(Pod.of("-", {}, ip=ip)):
                    m |= pods
        return m
