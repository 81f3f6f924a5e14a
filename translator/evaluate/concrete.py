"""The firewall decision of a Kubernetes flow, from the concrete legacy flows it stands for.

A Kubernetes flow (src end, dst end, service) stands for every legacy flow
(x, y, service) with x, y addresses of one family (IPv4 or IPv6):

* an `Ip` end stands for itself (a legacy address or a cluster CIDR address
  is not an external endpoint: ValueError);
* a pod of a workload with legacy addresses stands for each of them;
* any other pod (other and outside pods, workloads with `addresses: []`) for
  each address of A: the pod CIDRs (none declared: all of IPv4 and IPv6)
  minus every workload's legacy addresses and the service CIDRs.

A legacy flow is decided by per-address first match: secure, an allow
matches when x, y and the service are in its lower sets and it has no
condition, a deny when they are in its upper sets; optimistic, allows use
upper sets (conditions ignored) and denies lower sets (a deny with a
condition matches nothing).  The Kubernetes flow is allowed securely iff it
stands for some legacy flow and every one is allowed; optimistically iff some
legacy flow is allowed.  Membership in every address expression depends only
on which Net leaves hold an address, so an end is tried at one address per
such class of its address set.

    lf = LegacyFlows(ruleset, inventory)
    lf.addresses(ep)                          -> [(version, int)], representatives of EP
    lf.decide_address(x, y, proto, port, mode) -> (allowed, rule or None), one legacy flow
    lf.allowed(src, dst, proto, port, mode)   -> bool, the Kubernetes flow in MODE
    lf.decide(src, dst, proto, port)          -> (secure, optimistic)
    lf.witness(src, dst, proto, port)         -> (secure, (x, y) or None, rule or None)
"""

from __future__ import annotations

from bisect import bisect_right

import netaddr

from ..model.inventory import Inventory
from ..model.ruleset import ALLOW, AddrExpr, Net, Rule, Ruleset
from .endpoints import Endpoint, Ip, Pod
from .firewall import OPTIMISTIC, SECURE, FirewallEvaluator, parse_range

END = {4: 1 << 32, 6: 1 << 128}
UNKNOWN = ("unknown",)


def net_leaves(rs: Ruleset) -> list[tuple[int, int, int]]:
    """(version, first, last) of every Net item of the rules and address objects."""
    exprs: list[AddrExpr] = [e for r in rs.rules for e in (r.src, r.dst)] + [d.expr for d in rs.addresses.values()]
    return sorted({(i.version, i.first, i.last) for e in exprs for i in e.include + e.exclude if isinstance(i, Net)})


def _inside(ranges, v: int, x: int) -> bool:
    return any(rv == v and lo <= x <= hi for rv, lo, hi in ranges)


class LegacyFlows:
    """Brute-force secure and optimistic decisions of Kubernetes flows (see the module docstring)."""

    def __init__(self, rs: Ruleset, inv: Inventory):
        self.rs, self.inv = rs, inv
        self.fw = FirewallEvaluator(rs, inv)  # only its per-address tests and legacy ranges
        self.default_allow = rs.default == ALLOW
        self.legacy = self.fw.legacy
        self.pod_ranges = [r for r in map(parse_range, inv.pod_cidrs) if r]
        self.svc_ranges = [r for r in map(parse_range, inv.service_cidrs) if r]
        leaves = net_leaves(rs)
        cuts = leaves + [r for rs_ in self.legacy.values() for r in rs_] + self.pod_ranges + self.svc_ranges
        self.line = {
            v: self._line(v, [lf for lf in leaves if lf[0] == v], [c for c in cuts if c[0] == v]) for v in (4, 6)
        }
        self._reps: dict = {}
        self._memo: dict = {}

    @staticmethod
    def _line(v: int, leaves, cuts) -> tuple[list[int], list[int]]:
        """Elementary intervals of family V: their starts, and per interval its class (which LEAVES hold it)."""
        starts = sorted({0} | {p for _, lo, hi in cuts for p in (lo, hi + 1) if p < END[v]})
        events = sorted(
            [(lo, k) for k, (_, lo, _) in enumerate(leaves)] + [(hi + 1, k) for k, (_, _, hi) in enumerate(leaves)]
        )
        held, e, classes, out = 0, 0, {}, []
        for a in starts:
            while e < len(events) and events[e][0] <= a:
                held ^= 1 << events[e][1]  # a leaf opens, then closes
                e += 1
            out.append(classes.setdefault(held, len(classes)))
        return starts, out

    def _representatives(self, ranges) -> list[tuple[int, int]]:
        """One address per class of the union of RANGES (intervals of one class are alike)."""
        out: dict[tuple[int, int], tuple[int, int]] = {}
        for v, lo, hi in sorted(ranges):
            starts, cls = self.line[v]
            k = bisect_right(starts, lo) - 1
            while k < len(starts) and starts[k] <= hi:
                a = max(starts[k], lo)
                b = min(starts[k + 1] - 1 if k + 1 < len(starts) else END[v] - 1, hi)
                # a host address rather than a network's first one, when there is room
                out.setdefault((v, cls[k]), (v, a + 1 if b - a > 1 else a))
                k += 1
        return list(out.values())

    def unknown_ranges(self) -> list[tuple[int, int, int]]:
        """A: where a pod without a known address may be (pod CIDRs, else everything), as ranges."""
        base = self.pod_ranges or [(4, 0, END[4] - 1), (6, 0, END[6] - 1)]
        taken = [r for rs_ in self.legacy.values() for r in rs_] + self.svc_ranges
        out = []
        for v in (4, 6):
            pts = sorted({p for rv, lo, hi in base + taken if rv == v for p in (lo, hi + 1)})
            for a, b in zip(pts, pts[1:]):
                if _inside(base, v, a) and not _inside(taken, v, a):
                    if out and out[-1][0] == v and out[-1][2] == a - 1:
                        out[-1] = (v, out[-1][1], b - 1)
                    else:
                        out.append((v, a, b - 1))
        return out

    # --- endpoints -------------------------------------------------------------------

    def identity(self, ep: Endpoint):
        """What EP's addresses depend on: ("workload", name), UNKNOWN, or ("ip", version, int)."""
        if isinstance(ep, Ip):
            ip = netaddr.IPAddress(ep.address)
            v, x = ip.version, int(ip)
            for name, ranges in self.legacy.items():
                if _inside(ranges, v, x):
                    raise ValueError(f"{ep.address} is a legacy address of workload {name}, not an external endpoint")
            if _inside(self.pod_ranges + self.svc_ranges, v, x):
                raise ValueError(f"{ep.address} is in the cluster's pod or service CIDRs, not an external endpoint")
            return ("ip", v, x)
        if not isinstance(ep, Pod):
            raise TypeError(f"not an endpoint: {ep!r}")
        if ep.namespace in self.inv.namespaces:
            labels = ep.label_map
            for w in self.inv.workloads_in(ep.namespace):
                if all(labels.get(k) == val for k, val in w.labels.items()):
                    return ("workload", w.name) if self.legacy[w.name] else UNKNOWN
        return UNKNOWN

    def addresses_of(self, ident) -> list[tuple[int, int]]:
        """The representative addresses of an identity (see `identity`)."""
        if ident[0] == "ip":
            return [ident[1:]]
        if ident not in self._reps:
            ranges = self.legacy[ident[1]] if ident[0] == "workload" else self.unknown_ranges()
            self._reps[ident] = self._representatives(ranges)
        return self._reps[ident]

    def addresses(self, ep: Endpoint) -> list[tuple[int, int]]:
        """Representatives of the addresses EP stands for, one per class: [(version, int)]."""
        return self.addresses_of(self.identity(ep))

    # --- decisions ---------------------------------------------------------------------

    def matches(
        self, rule: Rule, x: tuple[int, int], y: tuple[int, int], proto: int, port: int, mode: str = SECURE
    ) -> bool:
        """Does RULE match the legacy flow X -> Y (same family) in MODE?"""
        sure = (rule.action == ALLOW) == (mode == SECURE)
        if rule.conditions and sure:
            return False
        upper = not sure
        return (
            self.fw.svc_has(rule.services, proto, port, upper)
            and self.fw.has(rule.src, x[0], x[1], upper)
            and self.fw.has(rule.dst, y[0], y[1], upper)
        )

    def decide_address(
        self, x: tuple[int, int], y: tuple[int, int], proto: int, port: int, mode: str = SECURE
    ) -> tuple[bool, Rule | None]:
        """(allowed, first matching rule or None for the default) of the legacy flow X -> Y."""
        if mode not in (SECURE, OPTIMISTIC):
            raise ValueError(f"mode must be {SECURE!r} or {OPTIMISTIC!r}, not {mode!r}")
        if x[0] != y[0]:
            raise ValueError("a legacy flow joins two addresses of one family")
        for rule in self.rs.rules:
            if self.matches(rule, x, y, proto, port, mode):
                return rule.action == ALLOW, rule
        return self.default_allow, None

    def pairs(self, src: Endpoint, dst: Endpoint) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        """The representative legacy flows (x, y) of the two ends (same family)."""
        ys = self.addresses(dst)
        return [(x, y) for x in self.addresses(src) for y in ys if x[0] == y[0]]

    def allowed(self, src: Endpoint, dst: Endpoint, proto: int, port: int, mode: str = SECURE) -> bool:
        """Secure: some legacy flow and all allowed; optimistic: some legacy flow allowed."""
        key = (self.identity(src), self.identity(dst), proto, port, mode)
        if key not in self._memo:
            test = all if mode == SECURE else any
            flows = self.pairs(src, dst)
            self._memo[key] = bool(flows) and test(self.decide_address(x, y, proto, port, mode)[0] for x, y in flows)
        return self._memo[key]

    def decide(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> tuple[bool, bool]:
        """(secure, optimistic) decisions of the Kubernetes flow."""
        return self.allowed(src, dst, proto, port, SECURE), self.allowed(src, dst, proto, port, OPTIMISTIC)

    def witness(self, src: Endpoint, dst: Endpoint, proto: int, port: int):
        """(secure decision, a legacy flow behind it, its first matching rule): a denied flow when some is
        denied, else the first one; (False, None, None) when the ends share no family."""
        flows = self.pairs(src, dst)
        for x, y in flows:
            ok, rule = self.decide_address(x, y, proto, port)
            if not ok:
                return False, (x, y), rule
        if not flows:
            return False, None, None
        return True, flows[0], self.decide_address(*flows[0], proto, port)[1]


def address_text(a: tuple[int, int]) -> str:
    return str(netaddr.IPAddress(a[1], a[0]))
