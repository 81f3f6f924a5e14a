"""NetworkPolicies as a ruleset in the fw2np language (fw2np reverse --format rules).

The language addresses pods only through legacy addresses: a workload with
legacy addresses is one node; every other pod (other pods of a namespace,
pods of outside namespaces, workloads without addresses) has an unknown
address (docs/semantics.md), so they form one lump, written `any`.  For each ordered pair of nodes the allowed
services are egress(src) AND ingress(dst); over the lump the minimum is taken
(the secure side) and every flow this denies but the policies allow is
reported as an approximation.  The rules, first match wins:

1. workload -> workload: allows by service, then one deny per source;
2. per workload: its external destinations that differ from its lump rule,
   then `S -> any`; the same for external sources and the lump towards it;
3. the lump: external sources, external destinations, then `any -> any`.

Address pieces never hold every address the lump may have (that would denote
it): such a region is split in two rules.  A deny of an address piece meets
the lump when it may have that address (no pod CIDRs): it is denied too, and
reported; so are the flows of a family a node or the lump has no address of.
"""

from __future__ import annotations

import netaddr

from ..compiler.ipblocks import ip_blocks
from ..compiler.universe import parse_legacy
from ..frontends import load as load_rules
from ..model.inventory import Inventory
from ..model.resolve import Resolver
from ..model.ruleset import AddrExpr, Ref, port_domain, proto_label
from ..model.space import (
    ALL_IP,
    ALL_V4,
    ALL_V6,
    EMPTY,
    FULL_SVC,
    V6_BASE,
    IntervalSet,
    ip_range,
    split_svc,
    svc_range,
    whole_proto,
)
from .match import ALL, PROTOS, SOME, NormalizedPolicy, PodClass, normalize, peer_match, pod_classes, selects
from .picks import Picks
from .render import Names, comment_text, net_text
from .table import peer_text, selector_text


def svc_words(s: IntervalSet) -> str:
    """Ruleset-language services for service set S ('any' for every service)."""
    if s == FULL_SVC:
        return "any"
    out = []
    for proto, ranges in sorted(split_svc(s).items()):
        dom = port_domain(proto)
        name = proto_label(proto) if proto in (1, 6, 17, 58, 132) else f"proto/{proto}"
        if not name.startswith("proto/") and ranges == [dom]:
            out.append(f"{name}/any")
        elif name.startswith("proto/"):
            out.append(name)
        else:
            out += [f"{name}/{lo}" if lo == hi else f"{name}/{lo}-{hi}" for lo, hi in ranges]
    return ", ".join(out)


def example_svc(s: IntervalSet) -> str:
    """One service of S, preferring TCP, UDP and SCTP ports, as text."""
    for proto in (6, 17, 132):
        part = s & whole_proto(proto)
        if part:
            return f"{proto_label(proto)}/{part.first() & 0xFFFF}"
    proto, ranges = sorted(split_svc(s).items())[0]
    return svc_words(svc_range(proto, ranges[0][0], ranges[0][0]))


def _texts_cidr(s: IntervalSet) -> list[str]:
    """S as CIDRs (and hosts)."""
    out = []
    for fam, base, version in ((ALL_V4, 0, 4), (ALL_V6, V6_BASE, 6)):
        for lo, hi in s & fam:
            for c in netaddr.iprange_to_cidrs(
                netaddr.IPAddress(lo - base, version), netaddr.IPAddress(hi - base, version)
            ):
                out.append(str(c.ip) if c.size == 1 else str(c))
    return out


def _ip_set(cidr: str) -> IntervalSet:
    n = netaddr.IPNetwork(str(cidr))
    return ip_range(int(n.first), int(n.last), n.version)


def _texts(s: IntervalSet) -> list[str]:
    """Address texts for the addresses of S (one per interval, IPv4 first)."""
    out = [net_text(lo, hi, 4) for lo, hi in s & ALL_V4]
    return out + [net_text(lo - V6_BASE, hi - V6_BASE, 6) for lo, hi in s & ALL_V6]


class Reverser:
    def __init__(self, objs: list[dict], inv: Inventory, objects_path: str | None = None):
        self.inv = inv
        self.pols: list[NormalizedPolicy] = [normalize(o) for o in objs]
        self.classes = pod_classes(inv)
        self.notes: dict[str, None] = {}
        self.defs: list[str] = []
        self.names = Names(("any", "any4", "any6", "except"))
        self.legacy: dict[str, IntervalSet] = {}
        self.addr_of: dict[str, str] = {}
        self._cache: dict = {}
        self.picks = Picks(inv, self.classes)
        self._objects(objects_path)
        self.nodes = [k for k in self.classes if k.kind == "workload" and self.legacy.get(k.workload.name)]
        self.lump = [k for k in self.classes if k not in self.nodes]
        self.workload_ips = IntervalSet(iv for s in self.legacy.values() for iv in s)
        # the cluster's pod and service CIDRs are no external endpoints, and an address meeting them
        # would denote pods: keep them out of every address piece
        cluster = IntervalSet(iv for c in inv.pod_cidrs + inv.service_cidrs for iv in _ip_set(c))
        self.external = ALL_IP - self.workload_ips - cluster
        pods = IntervalSet(iv for c in inv.pod_cidrs for iv in _ip_set(c)) if inv.pod_cidrs else ALL_IP
        services = IntervalSet(iv for c in inv.service_cidrs for iv in _ip_set(c))
        self.unknown = pods - self.workload_ips - services  # the addresses the lump may have

    def note(self, text: str) -> None:
        self.notes.setdefault(text, None)

    # --- legacy addresses ---------------------------------------------------------

    def _objects(self, objects_path: str | None) -> None:
        known: dict[str, IntervalSet | None] = {}
        rs = load_rules(objects_path)[0] if objects_path else None
        res = Resolver(rs) if rs else None
        for w in sorted(self.inv.workloads.values(), key=lambda w: w.name):
            for text in w.addresses:
                if parse_legacy(text) is not None or text in known:
                    continue
                if rs and text in rs.addresses:
                    b = res.address(AddrExpr((Ref(text),)))
                    known[text] = b.lower if b.exact else None
                else:
                    known[text] = None
        for text, s in known.items():
            name = self.names.get(text)
            if name != text:
                self.note(
                    f"inventory object '{text}' is not a valid name in the ruleset language; the inventory "
                    f"will not find it"
                )
            if s is None:
                self.defs.append(
                    f"address {name} any except any  # fw2np: approximation: addresses of {comment_text(text)} "
                    f"unknown (use --objects); its workloads count as workloads without addresses"
                )
                self.note(
                    f"the addresses of inventory object '{text}' are unknown (give --objects RULES): its "
                    f"workloads are treated like pods without legacy addresses"
                )
            else:
                self.defs.append(f"address {name} {', '.join(_texts(s))}")
            known[text] = s or EMPTY
        for w in sorted(self.inv.workloads.values(), key=lambda w: w.name):
            parts = [parse_legacy(t) if parse_legacy(t) is not None else known[t] for t in w.addresses]
            self.legacy[w.name] = IntervalSet(iv for s in parts for iv in s)
            if not self.legacy[w.name]:
                continue
            if len(w.addresses) == 1 and parse_legacy(w.addresses[0]) is None:
                self.addr_of[w.name] = self.names.get(w.addresses[0])
            else:
                name = self.names.fresh(w.name)
                texts = [net_text_of(t) if parse_legacy(t) is not None else self.names.get(t) for t in w.addresses]
                self.defs.append(
                    f"address {name} {', '.join(texts)}  # workload {comment_text(f'{w.name} ({w.namespace})')}"
                )
                self.addr_of[w.name] = name

    # --- what the policies allow ----------------------------------------------------

    def port_svc(self, ports, dest: PodClass | None, pol: NormalizedPolicy) -> IntervalSet:
        if ports is None:
            return FULL_SVC
        s = EMPTY
        for p in ports:
            proto = PROTOS.get(p.proto)
            if proto is None:
                continue
            lo, hi = port_domain(proto)
            if p.port is None:
                s |= whole_proto(proto)
            elif isinstance(p.port, int):
                a, b = max(lo, p.port), min(hi, p.end or p.port)
                if a <= b:
                    s |= svc_range(proto, a, b)
            elif dest is not None and dest.kind == "workload":
                got = dest.workload.ports.get(p.port)
                if got and got[0] == p.proto:
                    s |= svc_range(proto, got[1], got[1])
            elif dest is not None:
                self.note(
                    f"policy {pol.namespace}/{pol.name}: named port {p.port} cannot be resolved for "
                    f"{dest}; treated as matching none of them"
                )
        return s

    def _typed(self, c: PodClass, d: str) -> tuple[list[NormalizedPolicy], list[NormalizedPolicy]]:
        key = ("typed", c, d)
        if key not in self._cache:
            full, part = [], []
            for p in self.pols:
                if d not in p.types:
                    continue
                m = selects(p, c, self.inv)
                if m == ALL:
                    full.append(p)
                elif m == SOME:
                    part.append(p)
            self._cache[key] = full, part
        return self._cache[key]

    def _rule_svc(self, p: NormalizedPolicy, d: str, other: PodClass, c: PodClass) -> IntervalSet:
        every, per, slow = self.picks.services(p, d, lambda r: self._port_svc(r, None, p))
        if slow is not None and other not in slow:
            return per.get(other, every)  # no note to make: what the loop below finds
        s = EMPTY
        dest = c if d == "ingress" else other
        for r in p.rules(d):
            if r.peers is None:
                hit = True
            else:
                got = [peer_match(peer, p.namespace, other, self.inv) for peer in r.peers]
                hit = ALL in got
                if not hit and SOME in got:
                    peer = r.peers[got.index(SOME)]
                    self.note(
                        f"policy {p.namespace}/{p.name}: peer '{peer_text(peer, p.namespace)}' picks only "
                        f"part of the {other}; the rules treat it as picking none of them"
                    )
            if hit:
                s |= self._port_svc(r, dest, p)
        return s

    def _port_svc(self, r, dest: PodClass | None, pol: NormalizedPolicy) -> IntervalSet:
        """port_svc of rule R's ports, once per (rule, destination): its notes are the same every time."""
        key = ("ports", id(r), dest)
        if key not in self._cache:
            self._cache[key] = self.port_svc(r.ports, dest, pol)
        return self._cache[key]

    def pod_allowed(self, c: PodClass, d: str, other: PodClass) -> IntervalSet:
        """Services pod class C allows in direction D with pod class OTHER (secure for partial matches)."""
        key = ("pod", c, d, other)
        if key not in self._cache:
            full, part = self._typed(c, d)
            if part:
                self.note(
                    f"{c}: {', '.join(p.name for p in part)} select(s) only part of these pods "
                    f"({'; '.join(selector_text(p.selector) for p in part)}); the rules apply the "
                    f"strictest reading to all of them"
                )
            if full:
                s = EMPTY
                for p in full:
                    s |= self._rule_svc(p, d, other, c)
            elif part:
                s = FULL_SVC
                for p in part:
                    s &= self._rule_svc(p, d, other, c)
            else:
                s = FULL_SVC
            self._cache[key] = s
        return self._cache[key]

    def ip_allowed(self, c: PodClass, d: str) -> list[tuple[IntervalSet, IntervalSet]]:
        """[(external region, services)] class C allows in direction D with IP endpoints."""
        key = ("ip", c, d)
        if key not in self._cache:
            full, part = self._typed(c, d)
            if full or not part:
                parts = [(self.external, EMPTY if full else FULL_SVC)]
                for p in full:
                    parts = self._refine_policy(parts, p, d, union=True)
            else:
                parts = [(self.external, FULL_SVC)]
                for p in part:
                    parts = meet(parts, self._refine_policy([(self.external, EMPTY)], p, d, union=True))
            self._cache[key] = parts
        return self._cache[key]

    def _refine_policy(self, parts, p: NormalizedPolicy, d: str, union: bool):
        for r in p.rules(d):
            svc = self.port_svc(r.ports, None, p)
            if not svc:
                continue
            if r.peers is None:
                block = ALL_IP
            else:
                block = EMPTY
                for peer in r.peers:
                    if "ipBlock" in peer:
                        b = peer["ipBlock"] or {}
                        s = _ip_set(b.get("cidr"))
                        for e in b.get("except") or []:
                            s = s - _ip_set(e)
                        block |= s
            if block:
                parts = add(parts, block, svc)
        return parts

    # --- pairs ------------------------------------------------------------------------

    def pair(self, s: PodClass, d: PodClass) -> IntervalSet:
        return self.pod_allowed(s, "egress", d) & self.pod_allowed(d, "ingress", s)

    def lumped(self, pairs, what: str) -> IntervalSet:
        """The services allowed for every pair in PAIRS; report the pairs that lose some."""
        vals = [(a, b, self.pair(a, b)) for a, b in pairs]
        low = FULL_SVC
        for _, _, v in vals:
            low &= v
        for a, b, v in vals:
            if v - low:
                self.note(f"{a} -> {b} {example_svc(v - low)}: allowed by the policies, denied by the rules ({what})")
        return low

    def lump_ip(self, d: str) -> list[tuple[IntervalSet, IntervalSet]]:
        governed = [c for c in self.lump if c.kind != "outside"]
        parts = [(self.external, FULL_SVC)]
        for c in governed:
            parts = meet(parts, self.ip_allowed(c, d))
        for c in governed:
            for region, svc in self.ip_allowed(c, d):
                for r2, low in parts:
                    extra = svc - low
                    if extra and region & r2:
                        ip = _texts(region & r2)[0].split("-")[0].split("/")[0]
                        flow = f"{c} -> {ip}" if d == "egress" else f"{ip} -> {c}"
                        self.note(
                            f"{flow} {example_svc(extra)}: allowed by the policies, "
                            "denied by the rules (pods without legacy addresses are only 'any')"
                        )
                        break
        return parts

    # --- output -----------------------------------------------------------------------

    def pieces(self, region: IntervalSet) -> list[str]:
        """Address texts, one per rule, whose union is REGION (give or take workload addresses);
        none holds every address of a family the lump may have."""
        out = []
        for fam in (ALL_V4, ALL_V6):
            part = region & fam
            if not part:
                continue
            lump = self.unknown & fam
            if lump and lump.issubset(part) and lump.size() > 1:  # would denote the lump: split it
                cut = lump.first()
                halves = [part & IntervalSet([(0, cut)]), part - IntervalSet([(0, cut)])]
            else:
                halves = [part]
            out += [self.region_text(h) for h in halves if h]
        return out

    def region_text(self, s: IntervalSet) -> str:
        """S as 'cidr, ... except cidr, ...' when that reads the same, else as ranges."""
        blocks = ip_blocks(s, self.workload_ips)
        inc = IntervalSet(iv for c, _ in blocks for iv in _ip_set(c))
        exc = IntervalSet(iv for _, es in blocks for e in es for iv in _ip_set(e))
        value = inc - exc
        if not s.issubset(value) or not (value - s).issubset(self.workload_ips):
            return ", ".join(_texts(s))
        text = ", ".join(_texts_cidr(inc))
        return text + (f" except {', '.join(_texts_cidr(exc))}" if exc else "")

    def families(self, k: PodClass | None) -> set[int]:
        """The families node K (None: the lump) has addresses of."""
        key = ("families", k)
        if key not in self._cache:
            have = self.unknown if k is None else self.legacy[k.workload.name]
            self._cache[key] = {v for v, fam in ((4, ALL_V4), (6, ALL_V6)) if have & fam}
        return self._cache[key]

    def family_notes(self) -> None:
        """Report what the policies allow in a family a node or the lump has no address of."""
        ends = [(k, str(k)) for k in self.nodes] + [(None, "pods without legacy addresses")]
        for k, name in ends:
            mine = self.families(k)
            for d in ("egress", "ingress"):
                for c in [k] if k else [c for c in self.lump if c.kind != "outside"]:
                    for region, svc in self.ip_allowed(c, d):
                        lost = [v for v, fam in ((4, ALL_V4), (6, ALL_V6)) if v not in mine and svc and region & fam]
                        if lost:
                            self.note(
                                f"{name} {'have' if k is None else 'has'} no IPv{lost[0]} address: the "
                                f"{d} the policies allow over IPv{lost[0]} is denied by the rules"
                            )
                            break
            for other, oname in ends:
                if not mine & self.families(other) and (k or other):
                    pairs = (
                        [(k, other)]
                        if k and other
                        else ([(k, c) for c in self.lump] if k else [(c, other) for c in self.lump])
                    )
                    if any(self.pair(a, b) for a, b in pairs):
                        self.note(
                            f"{name} -> {oname}: no shared address family, so the rules deny what the policies allow"
                        )

    def node_name(self, k: PodClass) -> str:
        return self.addr_of[k.workload.name]

    def build(self) -> str:
        lines = ["ruleset reversed", "default deny", ""]
        lines += self.defs
        body: list[str] = []

        def rule(action, src, dst, svc, comment=""):
            if isinstance(svc, IntervalSet):
                if not svc:
                    return
                svc = svc_words(svc)
            body.append(f"{action} {src} -> {dst} {svc}" + (f"  # {comment_text(comment)}" if comment else ""))

        # 1. workload -> workload
        for s in self.nodes:
            groups: dict[IntervalSet, list[str]] = {}
            for d in self.nodes:
                groups.setdefault(self.pair(s, d), []).append(self.node_name(d))
            body.append(f"# {comment_text(s)}: to workloads with legacy addresses")
            for svc, ds in groups.items():
                rule("allow", self.node_name(s), ", ".join(ds), svc)
            rest = [n for svc, ds in groups.items() if svc != FULL_SVC for n in ds]
            if rest:
                rule("deny", self.node_name(s), ", ".join(rest), "any")
        # 2. workload -> rest, rest -> workload
        lump_words = "pods without legacy addresses are only 'any'"
        for s in self.nodes:
            body.append(f"# {comment_text(s)}: egress to addresses and to other pods")
            low = self.lumped([(s, c) for c in self.lump], lump_words)
            self.ip_rules(rule, self.ip_allowed(s, "egress"), low, lambda x: (self.node_name(s), x))
            rule("allow", self.node_name(s), "any", low)
            if low != FULL_SVC:
                rule("deny", self.node_name(s), "any", "any")
        for d in self.nodes:
            body.append(f"# {comment_text(d)}: ingress from addresses and from other pods")
            low = self.lumped([(c, d) for c in self.lump], lump_words)
            self.ip_rules(rule, self.ip_allowed(d, "ingress"), low, lambda x: (x, self.node_name(d)))
            rule("allow", "any", self.node_name(d), low)
            if low != FULL_SVC:
                rule("deny", "any", self.node_name(d), "any")
        # 3. the lump
        body.append("# pods without legacy addresses (other pods, pods of other namespaces)")
        low = self.lumped(
            [(a, b) for a in self.lump for b in self.lump if a.kind != "outside" or b.kind != "outside"], lump_words
        )
        self.ip_rules(rule, self.lump_ip("ingress"), low, lambda x: (x, "any"))
        self.ip_rules(rule, self.lump_ip("egress"), low, lambda x: ("any", x))
        rule("allow", "any", "any", low)
        self.family_notes()
        head = [f"# fw2np: approximation: {comment_text(n)}" for n in self.notes]
        return (
            "\n".join(
                ["# fw2np reverse: NetworkPolicies as an ordered ruleset (first match wins)"]
                + head
                + lines
                + [""]
                + body
            )
            + "\n"
        )

    def ip_rules(self, rule, parts, low: IntervalSet, ends) -> None:
        """Rules for the external regions whose services differ from LOW (what the lump gets)."""
        by_svc: dict[IntervalSet, IntervalSet] = {}
        for region, svc in parts:
            if svc != low:
                by_svc[svc] = by_svc.get(svc, EMPTY) | region
        if not by_svc:
            return
        for svc, region in by_svc.items():
            for piece in self.pieces(region):
                rule("allow", *ends(piece), svc)
        every = IntervalSet(iv for svc, r in by_svc.items() if svc != FULL_SVC for iv in r)
        if every:
            # the deny also takes pods without legacy addresses at that end (they may have the address),
            # and so their flows at the other end ('any' holds every endpoint), whatever LOW is
            if every & self.unknown:
                self.note(
                    f"{_texts(every & self.unknown)[0]}: pods without legacy addresses may have this "
                    f"address (the inventory names no pod CIDR), so the rule denying it denies them too"
                )
            for piece in self.pieces(every):
                rule("deny", *ends(piece), "any")


def net_text_of(text: str) -> str:
    """An inventory address (CIDR, host, 'a - b') in the language's spelling."""
    if "-" in text and not text.startswith("-"):
        a, b = (netaddr.IPAddress(x.strip()) for x in text.split("-", 1))
        return net_text(int(a), int(b), a.version)
    n = netaddr.IPNetwork(text)
    return net_text(int(n.first), int(n.last), n.version)


def add(parts, block: IntervalSet, svc: IntervalSet):
    """Refine the partition PARTS: addresses in BLOCK gain SVC."""
    out = []
    for region, s in parts:
        inside, outside = region & block, region - block
        if inside:
            out.append((inside, s | svc))
        if outside:
            out.append((outside, s))
    return merge(out)


def meet(a, b):
    """The partition whose services are the intersection of A's and B's."""
    out = []
    for ra, sa in a:
        for rb, sb in b:
            r = ra & rb
            if r:
                out.append((r, sa & sb))
    return merge(out)


def merge(parts):
    by: dict[IntervalSet, IntervalSet] = {}
    for region, s in parts:
        by[s] = by.get(s, EMPTY) | region
    return [(r, s) for s, r in by.items()]


def reverse_rules(objs: list[dict], inv: Inventory, objects_path: str | None = None) -> tuple[str, list[str]]:
    """Ruleset-language text for policy manifests OBJS over INV, and the approximations made."""
    r = Reverser(objs, inv, objects_path)
    text = r.build()
    return text, list(r.notes)
