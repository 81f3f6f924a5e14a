"""The firewall side of the indexed verify walk, from concrete legacy flows (`evaluate/concrete.py`).

A pod end stands for the representative addresses of its identity
(`LegacyFlows.addresses_of`: a workload's legacy addresses, or A for a pod
without a known address), an IP class for its representative.  The walk
fixes one end and decides every partner at once, per service, as bitmasks:

* per representative x of the fixed end, the rules whose side holds x, in
  order, each taking from the undecided partners those its other side holds
  (first match);
* the r-th representative of a partner workload is in layer r (one
  first-match run per layer, over end bits); the representatives of A are
  columns above the end bits, one bit each, decided in layer 0's run;
* a partner is allowed when it shares a family with the fixed end and no
  legacy flow (x, y) of one family is denied; the runs stop once every
  partner is denied for every service.

Rule sets come from `FirewallEvaluator.has` at the expressions' boundary
points, between which membership is constant.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from ..evaluate.concrete import UNKNOWN, LegacyFlows
from .index import TOP, IpLine, merge

ALL = None  # a hit list holding every representative


class AddressIndex:
    """Per rule side, the pod representatives and IP classes its set holds (independent of pod sets)."""

    def __init__(self, lf: LegacyFlows, rules: list, ips):
        self.fw = lf.fw
        self.line, self.n_ips = IpLine(ips), len(ips)
        self.ip_fam = {v: self.line.mask({v: [(0, TOP[v])]}) for v in (4, 6)}
        self.idents = [("workload", n) for n in sorted(lf.legacy) if lf.legacy[n]] + [UNKNOWN]
        self.reps = [lf.addresses_of(a) for a in self.idents]
        self.flat = [
            (a, r, x) for a, xs in enumerate(self.reps) for r, x in enumerate(xs)
        ]  # (identity, layer, address)
        self.first = [0]
        for xs in self.reps:
            self.first.append(self.first[-1] + len(xs))
        self.pos = {}
        for v in (4, 6):
            pts = sorted((x[1], h) for h, (_, _, x) in enumerate(self.flat) if x[0] == v)
            self.pos[v] = ([p for p, _ in pts], [h for _, h in pts])
        self._memo: dict = {}
        self.hits = {
            which: [self.holds(getattr(r, which), not sure) for _, r, sure in rules] for which in ("src", "dst")
        }
        # per representative: the rules whose side holds it, in order
        self.order = {which: self._orders(self.hits[which]) for which in ("src", "dst")}

    def holds(self, expr, upper: bool) -> tuple:
        """(representatives in EXPR's lower or upper set: sorted flat indices or ALL, IP class mask)."""
        key = (expr, upper)
        if key not in self._memo:
            ivs = {
                v: merge(list(self.fw.boundaries(expr, v)), lambda p, v=v: self.fw.has(expr, v, p, upper), TOP[v])
                for v in (4, 6)
            }
            hits: list[int] = []
            for v, spans in ivs.items():
                xs, idx = self.pos[v]
                for a, b in spans:
                    hits += idx[bisect_left(xs, a) : bisect_right(xs, b)]
            self._memo[key] = (ALL if len(hits) == len(self.flat) else sorted(hits), self.line.mask(ivs))
        return self._memo[key]

    def _orders(self, hits: list) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.flat]
        for k, (h, _) in enumerate(hits):
            for i in range(len(self.flat)) if h is ALL else h:
                out[i].append(k)
        return out

    def family(self, h: int) -> int:
        return self.flat[h][2][0]


class LegacyRows:
    """The first-match rows of one pod set: per fixed end and service, the partners allowed.

    Partner bits are stacked: layer 0 is the ends (pods, then IP classes), then A's columns; layer r > 0
    is the pods again, for the r-th address of their workload."""

    def __init__(
        self,
        ax: AddressIndex,
        pod_idents: list[int],
        n_ips: int,
        n_svc: int,
        svc: list[int],
        svc_bits,
        allow,
        default_allow: bool,
    ):
        """SVC, SVC_BITS, ALLOW: per rule, its services (mask and bits) and whether it allows."""
        self.ax, self.n_svc = ax, n_svc
        self.svc, self.svc_bits, self.allow, self.default_allow = svc, svc_bits, allow, default_allow
        self.n_pods = n_pods = len(pod_idents)
        self.pods = (1 << n_pods) - 1
        self.ends = (1 << (n_pods + n_ips)) - 1
        self.ip_ends = self.ends ^ self.pods
        self.pods_of = [0] * len(ax.idents)
        for i, a in enumerate(pod_idents):
            self.pods_of[a] |= 1 << i
        self.unknown = self.pods_of[-1]
        u_first = ax.first[-2]  # A's representatives come last
        self.u_shift = n_pods + n_ips - u_first
        n_cols = len(ax.flat) - u_first if self.unknown else 0
        self.cols = ((1 << n_cols) - 1) << (n_pods + n_ips)
        depth = max([len(xs) for a, xs in enumerate(ax.reps[:-1]) if self.pods_of[a]] + [1])
        self.off = [0] + [n_pods + n_ips + n_cols + (r - 1) * n_pods for r in range(1, depth)]
        self.fam = {v: ax.ip_fam[v] << n_pods for v in (4, 6)}  # the ends with an address of family v
        self.start = dict(self.fam)  # the same, as stacked partner bits
        self.bit = [0] * len(ax.flat)  # per representative: its partner bits
        for h, (a, r, x) in enumerate(ax.flat):
            if self.pods_of[a]:
                self.bit[h] = 1 << (h + self.u_shift) if h >= u_first else self.pods_of[a] << self.off[r]
                self.fam[x[0]] |= self.pods_of[a]
                self.start[x[0]] |= self.bit[h]
        self.masks = self._masks(ax.hits["dst"])
        self.ip_src = [ip << n_pods for _, ip in ax.hits["src"]]
        self._memo: dict = {}

    def _masks(self, hits: list) -> list[int]:
        """Per rule: the partner bits whose address the side holds."""
        bit, n_pods = self.bit, self.n_pods
        full = (self.start[4] | self.start[6]) & ~self.ip_ends
        out = []
        for h, ip in hits:
            m = ip << n_pods
            if h is ALL:
                m |= full
            else:
                for i in h:
                    m |= bit[i]
            out.append(m)
        return out

    def _stacked(self, ends: int) -> int:
        """END bits as partner bits of every layer."""
        m = ends | (self.cols if ends & self.unknown else 0)
        for off in self.off[1:]:
            m |= (ends & self.pods) << off
        return m

    def _fold(self, m: int) -> int:
        """Partner bits as end bits: an end is in when one of its addresses is."""
        out = (m & self.ends) | (self.unknown if m & self.cols else 0)
        for off in self.off[1:]:
            out |= (m >> off) & self.pods
        return out

    def ends_of(self, hit) -> int:
        """The ends whose addresses meet a `holds` answer (pods by identity, IP classes)."""
        h, ip = hit
        m = ip << self.n_pods
        for a in range(len(self.ax.idents)) if h is ALL else {self.ax.flat[i][0] for i in h}:
            m |= self.pods_of[a]
        return m

    def _run(self, order, masks, undecided: list[int]) -> list[int]:
        """First match over ORDER: per service, the partners of UNDECIDED an allow takes (the default the rest)."""
        svc, svc_bits, allow = self.svc, self.svc_bits, self.allow
        allowed = [0] * len(undecided)
        live = sum(1 << j for j, u in enumerate(undecided) if u)
        for k in order:
            if not svc[k] & live:
                continue
            ends = masks[k]
            if not ends:
                continue
            for j in svc_bits[k]:
                u = undecided[j]
                hit = u & ends
                if hit:
                    if allow[k]:
                        allowed[j] |= hit
                    u ^= hit
                    undecided[j] = u
                    if not u:
                        live ^= 1 << j
            if not live:
                break
        if self.default_allow:
            allowed = [a | u for a, u in zip(allowed, undecided)]
        return allowed

    def source(self, a: int, within: int) -> list[int]:
        """Per service: the partners (in WITHIN) every legacy flow to from identity A's addresses is allowed."""
        key = ("src", a, within)
        if key in self._memo:
            return self._memo[key]
        ax = self.ax
        reps = range(ax.first[a], ax.first[a + 1])
        potential = 0
        for h in reps:
            potential |= self.fam[ax.family(h)]
        potential &= within
        reach = self._stacked(within)
        denied = [0] * self.n_svc  # partner bits of a denied legacy flow
        for h in reps:
            start = self.start[ax.family(h)] & reach
            if not start:
                continue
            und = [start & ~d for d in denied]
            ok = self._run(ax.order["src"][h], self.masks, list(und))
            denied = [d | (u & ~o) for d, u, o in zip(denied, und, ok)]
            if all(self._fold(d) & potential == potential for d in denied):
                break
        out = self._memo[key] = [potential & ~self._fold(d) for d in denied]
        return out

    def destination(self, b: int) -> list[int]:
        """Per service: the IP sources every legacy flow from which to identity B's addresses is allowed."""
        key = ("dst", b)
        if key in self._memo:
            return self._memo[key]
        ax = self.ax
        reps = range(ax.first[b], ax.first[b + 1])
        potential = 0
        for h in reps:
            potential |= self.fam[ax.family(h)] & self.ip_ends
        denied = [0] * self.n_svc
        for h in reps:
            start = self.fam[ax.family(h)] & self.ip_ends
            und = [start & ~d for d in denied]
            ok = self._run(ax.order["dst"][h], self.ip_src, list(und))
            denied = [d | (u & ~o) for d, u, o in zip(denied, und, ok)]
            if all(d == potential for d in denied):
                break
        out = self._memo[key] = [potential & ~d for d in denied]
        return out


def _touch(ax: AddressIndex, expr) -> tuple:
    """The ends an approximation's rule side touches: those its upper set holds, and every pod when it names
    the cluster's CIDRs (the compiler reads such a deny as hitting any pod)."""
    hit = ax.holds(expr, True)
    return (ALL, hit[1]) if ax.fw.names_cluster(expr) else hit


class Touches:
    """Which partners the compiler's approximations touch: a finding's rule whose upper sets hold some address
    of each end and the service (a finding without a rule touches everything)."""

    def __init__(self, ax: AddressIndex, rows: LegacyRows, rules: list, svc_mask, n_svc: int):
        self.n_svc = n_svc
        everything = (ALL, (1 << ax.n_ips) - 1)
        # per side: identity -> [(the other side's ends, services)]; ALL: findings touching every identity
        self.by = {"src": {}, "dst": {}}
        for rule in rules:
            src, dst = (everything, everything) if rule is None else (_touch(ax, rule.src), _touch(ax, rule.dst))
            svc = svc_mask(rule)
            if not svc:
                continue
            for which, mine, other in (("src", src, rows.ends_of(dst)), ("dst", dst, rows.ends_of(src))):
                ids = [ALL] if mine[0] is ALL else {ax.flat[i][0] for i in mine[0]}
                for a in ids:
                    self.by[which].setdefault(a, []).append((other, svc))
        self._memo: dict = {}

    def partners(self, which: str, a: int, bits) -> list[int]:
        """Per service: the partners touched alongside a fixed WHICH ("src" or "dst") end of identity A."""
        key = (which, a)
        if key not in self._memo:
            acc = [0] * self.n_svc
            for ends, svc in self.by[which].get(a, []) + self.by[which].get(ALL, []):
                for j in bits(svc):
                    acc[j] |= ends
            self._memo[key] = acc
        return self._memo[key]
