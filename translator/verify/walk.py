"""The indexed walk of `verify` (method "index"): same classes, same verdicts, far fewer tests.

The per-pair walk (`Verifier` method "pairs") tests every rule and every
policy rule for every (source class, destination class) pair.  Here ends are
bits of Python ints (`verify_index.py`: pods first, then IP classes) and one
end is fixed at a time, the pod one, deciding all partners at once:

* a pod source against every destination, and a pod destination against
  every IP source (IP to IP is out of reach);
* firewall: per address of the fixed pod, first match over the partners'
  addresses (`verify_legacy.py`), ANDed over the legacy flows of each pair;
* policies: per destination slot (service, extra named ports), the partners
  that the egress rules of the source's policies and the ingress rules of the
  destination's policies allow (a port mask per rule, ORed peer masks);
* results are cached per what they depend on (the fixed pod's address
  identity and reach for the firewall, its selecting policies for its own side);
* less-permissive partners that an approximation the compiler reports touches
  are counted apart (`Touches`).

Counterexamples are the first ones in the order of the per-pair walk (pod
set, source, destination, slot), so both methods report the same.  Nothing
is skipped: every pair in reach is counted.
"""

from __future__ import annotations

from typing import NamedTuple

from ..evaluate.endpoints import Ip, Pod
from ..evaluate.netpol import EGRESS, INGRESS
from .classes import PodClass
from .index import PeerIndex, bits_of, low_bits
from .kinds import CATEGORIES, LESS, MORE, REPORTED
from .legacy import AddressIndex, LegacyRows, Touches


class Profile(NamedTuple):
    """What port matching sees of a destination: a pod?, its named ports, may it declare any name?"""

    pod: bool
    ports: tuple
    open_ports: bool


IP_PROFILE = Profile(False, (), False)


class Walk:
    """Counts and first counterexamples of one Verifier, a fixed pod end at a time."""

    def __init__(self, v):
        self.v = v
        self.fw = v.fw
        self.rules = v.fw_pairs.rules
        self.services = v.services
        self.all_svc = (1 << len(self.services)) - 1
        self.ax = AddressIndex(v.lf, self.rules, v.part.ips)
        self.ident_no = {a: i for i, a in enumerate(self.ax.idents)}
        self.svc = [self._svc_mask(r, sure) for _, r, sure in self.rules]
        self.svc_bits = [bits_of(m) for m in self.svc]
        self.allow = [sure for _, _, sure in self.rules]
        self._slots: dict = {}
        self._ports: dict = {}  # port masks per (port list or entry, profile), for every pod set
        self._bits: dict = {}
        self.peers: PeerIndex | None = None

    # --- services and ports -------------------------------------------------------

    def _svc_mask(self, r, sure: bool) -> int:
        return sum(
            1 << j for j, s in enumerate(self.services) if self.fw.svc_has(r.services, s.proto, s.port, not sure)
        )

    def slots(self, profile) -> list:
        """The flow classes of a destination: (service index, extra named ports), in walk order."""
        if profile not in self._slots:
            out = []
            for j, svc in enumerate(self.services):
                out.append((j, ()))
                if profile.pod and profile.open_ports:
                    named = self.v.named_for(svc.proto)
                    if named:
                        out.append((j, named))
            self._slots[profile] = out
        return self._slots[profile]

    def _probes(self, profile) -> list:
        """A destination endpoint per slot: only its declared named ports matter to port matching."""
        key = ("probes", profile)
        if key not in self._slots:
            out = []
            for j, names in self.slots(profile):
                s = self.services[j]
                out.append(
                    (
                        s,
                        Pod.of("-", {}, ports=list(profile.ports) + [(n, p, s.port) for n, p in names])
                        if profile.pod
                        else Ip("0.0.0.0"),
                    )
                )
            self._slots[key] = out
        return self._slots[key]

    def port_masks(self, profile) -> list[int]:
        """Per grule: the slots of PROFILE its ports allow (any of its port entries)."""
        if profile not in self._gpm:
            full = (1 << len(self.slots(profile))) - 1
            out = []
            for g, (_, _, r) in enumerate(self.pix.grules):
                pkey = self.pkeys[g]
                if pkey is None:
                    out.append(full)
                    continue
                key = (pkey, profile)
                if key not in self._ports:
                    m = 0
                    for e in r["ports"]:
                        m |= self._entry_mask(e, profile)
                    self._ports[key] = m
                out.append(self._ports[key])
            self._gpm[profile] = out
        return self._gpm[profile]

    def _entry_mask(self, entry, profile) -> int:
        """The slots of PROFILE that one port entry matches (the evaluator's port_matches on a probe)."""
        key = ("entry", self.v.part.src.key(entry), profile)
        if key not in self._ports:
            match = self.pix.base.port_matches
            self._ports[key] = sum(
                1 << k for k, (s, dst) in enumerate(self._probes(profile)) if match(entry, s.proto, s.port, dst)
            )
        return self._ports[key]

    def bits(self, m: int) -> list[int]:
        """bits_of(M), remembered (port and service masks repeat)."""
        out = self._bits.get(m)
        if out is None:
            out = self._bits[m] = bits_of(m)
        return out

    def _svc_of(self, rule) -> int:
        """The services in RULE's upper set, as a mask."""
        if rule is None:
            return self.all_svc
        return sum(1 << j for j, s in enumerate(self.services) if self.fw.svc_has(rule.services, s.proto, s.port, True))

    # --- the policies ----------------------------------------------------------------

    def _rules_allow(self, pols: tuple, direction: str, profile) -> list[int] | None:
        """Per slot: the partners that DIRECTION rules of policies POLS allow (None: not isolated).

        Partners: every end for egress, IP classes for ingress (pod sources are `_ingress_of_source`'s)."""
        if not pols:
            return None
        within = self.all_ends if direction == EGRESS else self.ip_ends
        key = (pols, direction, profile)
        if key not in self._side_memo:
            pix = self.pix
            gpm = self.port_masks(profile)
            n = len(self.slots(profile))
            full = (1 << n) - 1
            every, per = 0, [0] * n
            for p in pols:
                for g in pix.rules_of(p, direction):
                    ends = pix.peer_ends[g] & within
                    if not ends:
                        continue
                    pm = gpm[g]
                    if pm == full:
                        every |= ends
                    else:
                        for t in self.bits(pm):
                            per[t] |= ends
            self._side_memo[key] = [every | x for x in per]
        return self._side_memo[key]

    def _ingress_of_source(self, s: int, profile, open_in: int) -> list[int]:
        """Per slot: the destinations whose ingress allows pod source S (OPEN_IN: not ingress-isolated)."""
        gpm, gpol = self.port_masks(profile), self.gpol
        n = len(self.slots(profile))
        full = (1 << n) - 1
        by_pol: dict[int, int] = {}
        for g in self.inc[s]:
            p = gpol[g]
            by_pol[p] = by_pol.get(p, 0) | gpm[g]
        key = ("all", profile)
        if key not in self._side_memo:
            acc: dict[int, int] = {}
            for g in self.inc_all:
                p = gpol[g]
                acc[p] = acc.get(p, 0) | gpm[g]
            self._side_memo[key] = acc
        for p, pm in self._side_memo[key].items():
            by_pol[p] = by_pol.get(p, 0) | pm
        every, per = open_in, [0] * n
        for p, pm in by_pol.items():
            pods = self.sel_in[p]
            if not pods or not pm:
                continue
            if pm == full:
                every |= pods
            else:
                for t in self.bits(pm):
                    per[t] |= pods
        return [every | x for x in per]

    # --- the walk ----------------------------------------------------------------

    def run(self, rep, limit: int, only: str | None) -> list:
        """Fill REP's counts; the first LIMIT differences per category as (order, sc, dc, slot, category)."""
        kept: dict = {c: [] for c in CATEGORIES}
        last = None
        for set_no, (pods, pod_ips) in enumerate(self.v.pod_sets()):
            self._setup(pods, pod_ips)
            sig = self._signature()
            # a pod set whose every input equals the previous one's decides every pair alike
            res = last[1] if last and last[0] == sig else self._pod_set(limit, only)
            last = (sig, res)
            checked, counts, first = res
            rep.checked += checked
            rep.differences += counts[MORE] + counts[LESS]
            rep.by_direction[MORE] += counts[MORE]
            rep.by_direction[LESS] += counts[LESS]
            rep.reported += counts[REPORTED]
            ends = pods + self.v.part.ips
            for cat, box in kept.items():
                box += [((set_no, s, d, t), ends[s], ends[d], t, cat) for s, d, t in first[cat]]
                box.sort(key=lambda x: x[0])
                del box[limit:]
        return [x for box in kept.values() for x in box]

    def _signature(self) -> tuple:
        """Everything `_pod_set` reads (port masks depend on profiles only)."""
        pix = self.pix
        return (
            tuple(self.idents),
            tuple(self.gov_eg),
            tuple(self.gov_in),
            tuple(self.pod_profile),
            tuple(pix.peer_ends),
            tuple(self.sel_in),
            tuple((tuple(x[INGRESS]), tuple(x[EGRESS])) for x in pix.sel),
        )

    def _setup(self, pods, pod_ips) -> None:
        v = self.v
        ips = v.part.ips
        if self.peers is None:
            self.peers = PeerIndex(v, v.part.pods, ips)
        self.pix = pix = self.peers.pod_set(pods, pod_ips)
        keys = v.part.src
        self.pkeys = [None if not r.get("ports") else keys.key(r["ports"]) for _, _, r in pix.grules]
        self.gpol = [p for p, _, _ in pix.grules]
        self._gpm, self._side_memo = {}, {}
        n_pods = len(pods)
        self.all_pods = (1 << n_pods) - 1
        self.all_ends = (1 << (n_pods + len(ips))) - 1
        self.ip_ends = self.all_ends ^ self.all_pods
        self.idents = [self.ident_no[v.lf.identity(ep)] for ep in pix.eps]
        self.rows = LegacyRows(
            self.ax,
            self.idents,
            len(ips),
            len(self.services),
            self.svc,
            self.svc_bits,
            self.allow,
            self.fw.default_allow,
        )
        self.touches = Touches(self.ax, self.rows, v.approx, self._svc_of, len(self.services)) if v.approx else None
        self.gov_eg = [c.governed and v.governs(c, "egress") for c in pods]
        self.gov_in = [c.governed and v.governs(c, "ingress") for c in pods]
        self.profiles: dict = {IP_PROFILE: self.ip_ends} if ips else {}
        self.pod_profile = []
        for i, c in enumerate(pods):
            prof = Profile(True, c.ports, c.open_ports)
            self.pod_profile.append(prof)
            self.profiles[prof] = self.profiles.get(prof, 0) | 1 << i
        pols = pix.base.policies
        self.sel_in = [pix.sel_pods[k] if INGRESS in p.types else 0 for k, p in enumerate(pols)]
        # ingress rules whose peers match each pod (rules without peers match everyone)
        self.inc: list[list[int]] = [[] for _ in pods]
        self.inc_all: list[int] = []
        for g, (p, direction, r) in enumerate(pix.grules):
            if direction != INGRESS or not self.sel_in[p]:
                continue
            if not r.get("from"):
                self.inc_all.append(g)
                continue
            for i in bits_of(pix.peer_ends[g] & self.all_pods):
                self.inc[i].append(g)

    def _pod_set(self, limit, only) -> tuple:
        """(flow classes, differences per category, first LIMIT (source, destination, slot) per category)."""
        self._counts = counts = {c: 0 for c in CATEGORIES}
        self._first = first = {c: [] for c in CATEGORIES}
        self._limit, self._only = limit, only
        n_pods = len(self.pix.pods)
        gov_in_mask = sum(1 << i for i, g in enumerate(self.gov_in) if g)
        open_in = self.all_ends ^ sum(1 << i for i in range(n_pods) if self.pix.sel[i][INGRESS])
        checked = 0
        for s in range(n_pods):
            within = self.all_ends if self.gov_eg[s] else gov_in_mask
            if not within:
                continue
            fw = self.rows.source(self.idents[s], within)
            eg_pols = tuple(self.pix.sel[s][EGRESS])
            for profile, members in self.profiles.items():
                reach = within & members
                if not reach:
                    continue
                slots = self.slots(profile)
                checked += reach.bit_count() * len(slots)
                eg = self._rules_allow(eg_pols, EGRESS, profile)
                ing = self._ingress_of_source(s, profile, open_in)
                for t, (j, _) in enumerate(slots):
                    pol = ing[t] if eg is None else eg[t] & ing[t]
                    self._compare(s, None, t, j, pol & reach, fw[j] & reach)
        ip_ends = self.ip_ends
        for d in range(n_pods):
            if not self.gov_in[d] or not ip_ends:
                continue
            profile = self.pod_profile[d]
            slots = self.slots(profile)
            checked += ip_ends.bit_count() * len(slots)
            fw = self.rows.destination(self.idents[d])
            ing = self._rules_allow(tuple(self.pix.sel[d][INGRESS]), INGRESS, profile)
            for t, (j, _) in enumerate(slots):
                pol = ip_ends if ing is None else ing[t]
                self._compare(None, d, t, j, pol, fw[j])
        return checked, counts, first

    def _compare(self, s, d, t: int, j: int, pol: int, fw: int) -> None:
        """Count the partners where POL and FW differ, by category; keep the first ones (S or D is the fixed pod)."""
        if pol == fw:
            return
        less = fw & ~pol
        reported = 0
        if less and self.touches:
            fixed = ("src", self.idents[s]) if d is None else ("dst", self.idents[d])
            reported = less & self.touches.partners(*fixed, self.bits)[j]
        limit, only = self._limit, self._only
        if not (only and only != LESS):
            self._counts[LESS] += less.bit_count()
        for cat, m in ((MORE, pol & ~fw), (LESS, less ^ reported), (REPORTED, reported)):
            if not m or (only and only != (MORE if cat == MORE else LESS)):
                continue
            if cat != LESS:
                self._counts[cat] += m.bit_count()
            if limit <= 0:
                continue
            box = self._first[cat]
            items = [((s, x, t) if d is None else (x, d, t)) for x in low_bits(m, limit)]
            if len(box) >= limit and items[0] > box[-1]:
                continue
            box += items
            box.sort()
            del box[limit:]

    def difference_parts(self, item):
        """(source class, destination class, service, named ports, category) of a kept item."""
        (_, _, _, k), sc, dc, _, cat = item
        profile = Profile(True, dc.ports, dc.open_ports) if isinstance(dc, PodClass) else IP_PROFILE
        j, names = self.slots(profile)[k]
        return sc, dc, self.services[j], names, cat
