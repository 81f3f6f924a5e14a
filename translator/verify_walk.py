"""The indexed walk of `verify` (method "index"): same classes, same verdicts, far fewer tests.

The per-pair walk (`Verifier` method "pairs") tests every rule and every
policy rule for every (source class, destination class) pair.  Here:

* each end class gets bitmasks, computed once (`verify_index.py`): the
  firewall rules whose source / destination denote it, the policy rules that
  apply to it (its selecting policies, per direction; None: not isolated) and
  the policy rules whose peers match it;
* ends with equal bitmasks (and equal reach and named ports) are grouped; a
  group pair's outcome depends only on the ANDed masks, so it is computed
  once per distinct key (first match over the services for the firewall,
  ORed port masks for the policies) and counted for every member pair;
* counterexamples are the first ones in the order of the per-pair walk
  (pod set, source, destination, service), so both methods report the same.

Nothing is skipped: every pair of every group pair in reach is counted.
"""

from __future__ import annotations

import json

from .evaluate.endpoints import Ip, Pod
from .evaluate.netpol import EGRESS, INGRESS
from .verify_index import PeerIndex, RuleIndex, bits_of
from .verify_space import PodClass


class Walk:
    """Counts and first counterexamples of one Verifier, by groups of alike ends."""

    def __init__(self, v):
        self.v = v
        self.fw = v.fw
        self.rules = v.fw_pairs.rules
        self.services = v.services
        self.all_svc = (1 << len(self.services)) - 1
        self.rix = RuleIndex(self.fw, self.rules, v.part.ips)
        self._svc_mask: dict[int, int] = {}
        self._fw: dict[int, int] = {}
        self._slots: dict = {}
        self._ports: dict = {}
        self._out: dict = {}
        self._np_out: dict = {}
        self._canon: dict = {}

    # --- outcomes -------------------------------------------------------------

    def svc_mask(self, k: int) -> int:
        if k not in self._svc_mask:
            _, r, sure = self.rules[k]
            self._svc_mask[k] = sum(1 << j for j, s in enumerate(self.services)
                                    if self.fw.svc_has(r.services, s.proto, s.port, not sure))
        return self._svc_mask[k]

    def fw_allowed(self, cands: int) -> int:
        """Services allowed by the first matching rule among CANDS (else the default)."""
        if cands not in self._fw:
            rest, allowed = self.all_svc, 0
            for k in bits_of(cands):
                hit = self.svc_mask(k) & rest
                if hit:
                    if self.rules[k][2]:
                        allowed |= hit
                    rest &= ~hit
                    if not rest:
                        break
            self._fw[cands] = allowed | (rest if self.fw.default_allow else 0)
        return self._fw[cands]

    def slots(self, profile) -> list:
        """The flow classes of a destination: (service index, extra named ports), in walk order."""
        if profile not in self._slots:
            out = []
            for j, svc in enumerate(self.services):
                out.append((j, ()))
                if profile[0] and profile[2]:
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
                out.append((s, Pod.of("-", {}, ports=list(profile[1]) + [(n, p, s.port) for n, p in names])
                            if profile[0] else Ip("0.0.0.0")))
            self._slots[key] = out
        return self._slots[key]

    def port_mask(self, rule: dict, profile) -> int:
        ports = rule.get("ports")
        if not ports:
            return (1 << len(self.slots(profile))) - 1
        canon = self._canon.get(id(rule))
        if canon is None:
            canon = self._canon[id(rule)] = (json.dumps(ports, sort_keys=True, default=str), rule)
        key = (canon[0], profile)
        if key not in self._ports:
            m = 0
            for k, (s, dst) in enumerate(self._probes(profile)):
                if any(self.np.port_matches(e, s.proto, s.port, dst) for e in ports):
                    m |= 1 << k
            self._ports[key] = m
        return self._ports[key]

    def np_allowed(self, rules: int | None, profile) -> int:
        full = (1 << len(self.slots(profile))) - 1
        if rules is None:
            return full
        key = (rules, profile)
        if key not in self._np_out:
            m = 0
            for g in bits_of(rules):
                m |= self.port_mask(self.pix.grules[g][2], profile)
                if m == full:
                    break
            self._np_out[key] = m
        return self._np_out[key]

    def outcome(self, key) -> tuple[int, int, int]:
        """(flow classes, policies-only slots, firewall-only slots) of one key."""
        if key not in self._out:
            cands, eg, ing, profile = key
            fw = self.fw_allowed(cands)
            slots = self.slots(profile)
            fw_slots = sum(1 << k for k, (j, _) in enumerate(slots) if fw >> j & 1)
            pol = self.np_allowed(eg, profile) & self.np_allowed(ing, profile)
            self._out[key] = (len(slots), pol & ~fw_slots, fw_slots & ~pol)
        return self._out[key]

    # --- the walk ----------------------------------------------------------------

    def run(self, rep, limit: int, only: str | None, more: str, less: str) -> list:
        """Fill REP's counts; the first LIMIT differences per direction as (order, sc, dc, slot, fw, pol)."""
        kept = {more: [], less: []}
        for set_no, (pods, pod_ips) in enumerate(self.v.pod_sets()):
            self._pod_set(rep, set_no, pods, pod_ips, limit, only, more, less, kept)
        return kept[more] + kept[less]

    def _ends(self, pods, pod_ips):
        """Per end: (source signature, destination signature)."""
        v, pix = self.v, self.pix
        out = []
        for i, c in enumerate(pods):
            ep = pix.eps[i]
            gov_eg = c.governed and v._governs(c, "egress")
            gov_in = c.governed and v._governs(c, "ingress")
            sel = pix.sel[i]
            profile = (True, c.ports, c.open_ports)
            out.append(((self.rix.pod_mask("src", ep), gov_eg, sel[EGRESS], pix.pod_peer[i], True),
                        (self.rix.pod_mask("dst", ep), gov_in, sel[INGRESS], pix.pod_peer[i], profile)))
        for i, _ in enumerate(v.part.ips):
            peer = pix.ip_peer[i]
            out.append(((self.rix.side["src"]["ips"][i], False, None, peer, False),
                        (self.rix.side["dst"]["ips"][i], False, None, peer, (False, (), False))))
        return out

    def _pod_set(self, rep, set_no, pods, pod_ips, limit, only, more, less, kept) -> None:
        self.pix = PeerIndex(self.v, pods, pod_ips, self.v.part.ips)
        self._np_out = {}  # policy-rule numbering is per pod set
        self.np = self.pix.base
        ends = pods + self.v.part.ips
        sigs = self._ends(pods, pod_ips)
        sgroups: dict = {}
        dgroups: dict = {}
        for e, (ss, ds) in enumerate(sigs):
            sgroups.setdefault(ss, []).append(e)
            dgroups.setdefault(ds, []).append(e)
        d_pod = [(ds, m) for ds, m in dgroups.items() if ds[4][0]]
        d_all = list(dgroups.items())
        checked = 0
        for ss, sm in sgroups.items():
            s_fw, s_gov, s_sel, s_peer, s_pod = ss
            for ds, dm in (d_all if s_pod else d_pod):
                d_fw, d_gov, d_sel, d_peer, profile = ds
                if not (s_gov or d_gov):
                    continue
                key = (s_fw & d_fw, None if s_sel is None else s_sel & d_peer,
                       None if d_sel is None else d_sel & s_peer, profile)
                n, pol_only, fw_only = self.outcome(key)
                mult = len(sm) * len(dm)
                checked += n * mult
                for direction, m in ((more, pol_only), (less, fw_only)):
                    if not m or (only and direction != only):
                        continue
                    rep.differences += bin(m).count("1") * mult
                    rep.by_direction[direction] += bin(m).count("1") * mult
                    self._examples(kept[direction], limit, (set_no, sm, dm, m), ends, direction == more)
        rep.checked += checked

    def _examples(self, kept: list, limit: int, group, ends, pol_allows: bool) -> None:
        set_no, sm, dm, m = group
        if limit <= 0 or (len(kept) >= limit and (set_no, sm[0], dm[0]) > kept[-1][0][:3]):
            return
        slots = bits_of(m)
        for s in sm[:limit]:
            for d in dm[:limit]:
                for k in slots[:limit]:
                    kept.append(((set_no, s, d, k), ends[s], ends[d], k, not pol_allows, pol_allows))
        kept.sort(key=lambda x: x[0])
        del kept[limit:]

    def difference_parts(self, item):
        """(source class, destination class, service, named ports, firewall, policies) of a kept item."""
        (_, _, _, k), sc, dc, _, fw, pol = item
        profile = (True, dc.ports, dc.open_ports) if isinstance(dc, PodClass) else (False, (), False)
        j, names = self.slots(profile)[k]
        return sc, dc, self.services[j], names, fw, pol
