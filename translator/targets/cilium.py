"""Cilium target (`--target cilium`): the ordered model as CiliumClusterwideNetworkPolicies (cilium.io/v2).

Cilium has no rule order: a flow is allowed in a direction iff some allow rule of the rules selecting
the endpoint matches it and no deny rule does (a deny wins whatever the order), and an endpoint selected
by a rule with rules of a direction is in default deny there.  First match is compiled exactly so:

* each allow as it is (narrowed to what Cilium can say, see below);
* each deny minus the allows before it (a deny must not take away a flow an earlier allow decided):
  deny_k - (allow_1 | ... | allow_j), j < k.  That set is not a product in general; it is split into
  disjoint products, first along the governed pods (the endpointSelector side), then the services,
  then the other end, and products alike in all but one side are merged again.  An earlier allow whose
  overlap with the deny an even earlier deny already holds is not subtracted (those flows are denied
  either way), and an allow that an earlier deny holds entirely is not written;
* the denies after the last allow, down to the ruleset's cleanup deny, are left to Cilium's default deny
  (one rule per direction that selects every governed pod and allows nothing: `fromEndpoints: []`);
  a default allow is an explicit allow-all rule.

Proof sketch: a flow whose first match is allow j is allowed by allow j and met by no written deny (each
written deny k > j has allow j taken out; a deny k < j does not match it).  A flow whose first match is
deny k is met by no allow before k, so the written deny k holds it; if deny k is after the last allow,
no allow matches it and the default deny drops it.

Rendering.  One `specs` item (a Cilium rule: endpointSelector, description naming the source rule ids,
one rule list) per ordered rule and endpointSelector; specs are packed into documents of at most
`CHUNK` bytes, named `<prefix>-ingress[-n]`, `<prefix>-egress[-n]`.  Pods are selected by labels
(`k8s:<key>`) and the namespace label `k8s:io.kubernetes.pod.namespace` (with `Exists` beside `NotIn`,
which would also select the world); CIDR rules never match pods in Cilium, so pods are always selected
by labels and addresses by `fromCIDRSet`/`toCIDRSet` (`except` inside each block) or the `world`
entity when they are every outside address; every endpoint is `fromEntities: [all]`.  Only one L3
member is allowed per rule, so pods and addresses get a rule each.  TCP, UDP and SCTP ports go to
`toPorts` (ranges with `endPort`), ICMP and ICMPv6 types to `icmps`; other protocols can be said only
as "every protocol" (a rule without L4): an allow leaves them out, a deny takes every protocol, both
reported (`inexpressible`).

The `cluster` entity also holds the nodes and unmanaged endpoints, which are not in the model, so it
is never used for "every pod".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from ..compiler.findings import Finding, flow_text
from ..compiler.ipblocks import ip_blocks
from ..errors import InputError
from ..model.inventory import NAME_LABEL
from ..model.resolve import unresolved_items
from ..model.ruleset import proto_label
from ..model.space import FULL_SVC, PROTO_SHIFT, IntervalSet, split_svc, svc_range
from . import CILIUM, RULESET_LABEL
from .ordered import DIRECTIONS, Ordered, ORule

KIND = "CiliumClusterwideNetworkPolicy"
DNS_NAMESPACE, DNS_APP = "kube-system", "kube-dns"
NAMESPACED = "CiliumNetworkPolicy"
NS_KEY = "k8s:io.kubernetes.pod.namespace"
NS_LABELS = "k8s:io.cilium.k8s.namespace.labels."
ALL_PODS = {"matchExpressions": [{"key": NS_KEY, "operator": "Exists"}]}
CHUNK = 200_000  # compact JSON bytes of specs per document (well under etcd's and kubectl's limits)
MAX_ITEMS = 40  # ports of a toPorts entry, fields of an icmps entry (the CRD's maxItems)
PORT_NAMES = {6: "TCP", 17: "UDP", 132: "SCTP"}
ICMP_FAMILY = {1: "IPv4", 58: "IPv6"}
EXPRESSIBLE = IntervalSet(iv for p in (*PORT_NAMES, *ICMP_FAMILY) for iv in svc_range(p, 0, 0xFFFF))
# pod label keys Cilium's default identity label filter leaves out (identity-relevant-labels)
IGNORED_KEYS = re.compile(
    r"io.kubernetes|kubernetes\.io|statefulset\.kubernetes\.io/pod-name|apps\.kubernetes\.io/pod-index"
    r"|batch\.kubernetes\.io/job-completion-index|batch\.kubernetes\.io/controller-uid|beta\.kubernetes\.io"
    r"|k8s\.io|pod-template-generation|pod-template-hash|controller-revision-hash|annotation|controller-uid"
    r"|etcd_node|io\.cilium\.k8s"
)


def kinds(target: str) -> set[tuple[str, str]]:
    return {(CILIUM, KIND)}


def evaluator(docs: list[dict], namespaces: dict, target: str):
    from ..evaluate.cilium import CiliumEvaluator

    return CiliumEvaluator(docs, namespaces)


# --- products -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prod:
    """here x other x services: HERE the governed pod classes (indices), OTHER pods (indices) and nets."""

    here: frozenset
    pods: frozenset
    nets: IntervalSet
    svc: IntervalSet

    def __bool__(self) -> bool:
        return bool(self.here) and (bool(self.pods) or bool(self.nets)) and bool(self.svc)

    def meets(self, o: Prod) -> bool:
        return (
            bool(self.here & o.here)
            and bool(self.svc & o.svc)
            and (bool(self.pods & o.pods) or bool(self.nets & o.nets))
        )

    def within(self, o: Prod) -> bool:
        return self.here <= o.here and self.pods <= o.pods and self.nets.issubset(o.nets) and self.svc.issubset(o.svc)

    def cut(self, o: Prod) -> Prod:
        return Prod(self.here & o.here, self.pods & o.pods, self.nets & o.nets, self.svc & o.svc)


def subtract(p: Prod, others: list[Prod]) -> list[Prod]:
    """P minus the union of OTHERS, as disjoint products (split along here, services, the other end)."""
    pieces = [p]
    for a in others:
        out = []
        for q in pieces:
            if not q.meets(a):
                out.append(q)
                continue
            if q.here - a.here:
                out.append(replace(q, here=q.here - a.here))
            here = q.here & a.here
            if q.svc - a.svc:
                out.append(Prod(here, q.pods, q.nets, q.svc - a.svc))
            rest = Prod(here, q.pods - a.pods, q.nets - a.nets, q.svc & a.svc)
            if rest:
                out.append(rest)
        pieces = [q for q in out if q]
    return merge(pieces)


def merge(pieces: list[Prod]) -> list[Prod]:
    """Products alike in all sides but one joined (the pieces are disjoint, so the union is exact)."""
    changed = True
    while changed and len(pieces) > 1:
        changed = False
        for key, join in (
            (lambda q: (q.pods, q.nets, q.svc), lambda a, b: replace(a, here=a.here | b.here)),
            (lambda q: (q.here, q.pods, q.nets), lambda a, b: replace(a, svc=a.svc | b.svc)),
            (lambda q: (q.here, q.svc), lambda a, b: replace(a, pods=a.pods | b.pods, nets=a.nets | b.nets)),
        ):
            groups: dict = {}
            for q in pieces:
                k = key(q)
                groups[k] = join(groups[k], q) if k in groups else q
            if len(groups) < len(pieces):
                pieces, changed = list(groups.values()), True
    return pieces


# --- building ---------------------------------------------------------------------------------


def build(ordered: Ordered, prefix: str, target: str) -> list[dict]:
    """The documents for ORDERED: one or more CiliumClusterwideNetworkPolicies per governed direction."""
    _check_labels(ordered)
    r = _Renderer(ordered)
    docs = []
    for direction in DIRECTIONS:
        if direction not in ordered.directions or not ordered.subjects:
            continue
        docs += _documents(r.direction(direction), prefix, direction)
    return docs


def _check_labels(ordered: Ordered) -> None:
    for w in sorted(ordered.inventory.workloads.values(), key=lambda w: w.name):
        for k in sorted(w.labels):
            if IGNORED_KEYS.match(k):
                raise InputError(
                    f"workload {w.name}: Cilium leaves the label {k!r} out of pod identities (its default "
                    "identity label filter), so no Cilium policy can select the workload by it; select it by "
                    "another label",
                    w.loc,
                )


def _documents(specs: list[dict], prefix: str, direction: str) -> list[dict]:
    chunks: list[list[dict]] = [[]]
    size = 0
    for s in specs:
        n = len(json.dumps(s, separators=(",", ":")))
        if chunks[-1] and size + n > CHUNK:
            chunks.append([])
            size = 0
        chunks[-1].append(s)
        size += n
    out = []
    for k, chunk in enumerate(chunks):
        name = f"{prefix}-{direction}" if len(chunks) == 1 else f"{prefix}-{direction}-{k + 1}"
        out.append(
            {
                "apiVersion": CILIUM,
                "kind": KIND,
                "metadata": {
                    "name": name,
                    "labels": {"app.kubernetes.io/managed-by": "fw2np", RULESET_LABEL: prefix},
                },
                "specs": chunk,
            }
        )
    return out


def _ids(r: ORule) -> str:
    ids = r.ids
    return ("rule " if len(ids) == 1 else "rules ") + ", ".join(ids)


def describe(r: ORule) -> str:
    if r.kind == "default":
        return f"default {r.action}"
    if r.kind == "family":
        return "no legacy flow: the ends share no address family"
    if r.kind == "decided-at-ingress":
        return "to pods whose ingress this ruleset decides"
    return _ids(r)


class _Renderer:
    def __init__(self, ordered: Ordered):
        self.o = ordered
        uni = ordered.universe
        self.all_pods = frozenset(a.index for a in uni.pod_classes)
        self.by_index = {a.index: a for a in uni.pod_classes}
        # Cilium's CIDR rules never match pods and the legacy addresses are no endpoint: both don't-care
        self.dont_care = uni.dont_care | uni.cluster
        self.external = uni.external
        self._blocks: dict = {}
        self._sels: dict = {}
        self._reported: set = set()

    # sides
    def prod(self, r: ORule, direction: str) -> Prod:
        here, there = ("dst", "src") if direction == "ingress" else ("src", "dst")
        other = getattr(r, there)
        return Prod(
            frozenset(a.index for a in getattr(r, here).pods),
            frozenset(a.index for a in other.pods),
            other.nets & self.external,
            r.services,
        )

    def direction(self, direction: str) -> list[dict]:
        rules = self.o.direction(direction, fqdns=True)
        k = len(rules)
        while k and not rules[k - 1].allow:
            k -= 1
        body, trailing = rules[:k], rules[k:]
        items = [(r, p) for r in body for p in [self.prod(r, direction)] if p or r.fqdns]
        # an allow to DNS names holds addresses unknown here: no deny before it may be folded into it
        last_fqdn = max((i for i, (r, _) in enumerate(items) if r.fqdns), default=-1)
        # the allows as written (narrowed to what Cilium says; none when an earlier deny takes it all), as
        # disjoint pieces, and the denies as the model has them
        written: dict[int, list[Prod]] = {}
        denies: list[tuple[int, Prod]] = []
        for i, (r, p) in enumerate(items):
            if r.fqdns:
                continue
            if not r.allow:
                denies.append((i, p))
                continue
            q = self.narrow(p, r, direction)
            if q and not any(q.within(d) for _, d in denies):
                written[i] = [q]
        out: dict[int, list[dict]] = {}
        folded: list[str] = []  # denies taken out of the later allows instead (Cilium's default deny drops them)
        less: dict[int, list[str]] = {}  # allow index -> the denies taken out of it
        for i, (r, p) in enumerate(items):
            if r.allow:
                continue
            others, used = [], []
            for j, pieces in written.items():
                for a in pieces if j < i else ():
                    if not a.meets(p):
                        continue
                    if any(a.cut(p).within(d) for x, d in denies if x < j):
                        continue  # the model denies all of it before that allow: taking it away changes nothing
                    others.append(a)
                    used.append(items[j][0])
            later = [(a, items[j][0]) for j, pieces in written.items() if j > i for a in pieces if a.svc == FULL_SVC]
            desc = describe(r)
            if used:
                ids = list(dict.fromkeys(x for ar in used for x in (ar.ids or ["the default"])))
                desc += f", less what {'rule' if len(ids) == 1 else 'rules'} {', '.join(ids)} allowed first"
            specs = []
            mark = (len(self.o.findings), set(self._reported))
            for piece in subtract(p, others):
                piece = self.settle(piece, later, list(zip(others, used)), r, direction)
                if piece:
                    specs += self.render(piece, direction, "deny", desc)
            # or no deny at all, and the later allows without what it denies, when that is exact and shorter
            cut = self.cut_later(p, i, written, direction) if i > last_fqdn else None
            if cut is not None and cut[0] < _size(specs):
                del self.o.findings[mark[0] :]  # what writing the deny would have approximated is not written
                self._reported = mark[1]
                for j, pieces in cut[1].items():
                    written[j] = pieces
                    less.setdefault(j, []).extend(r.ids)
                folded += r.ids
                continue
            out[i] = specs
        specs = []
        for i, (r, p) in enumerate(items):
            if r.fqdns:
                specs += self.render_fqdns(r, p)
            if r.allow and i in written:
                desc = describe(r)
                if less.get(i):
                    ids = list(dict.fromkeys(less[i]))
                    desc += f", less what {'rule' if len(ids) == 1 else 'rules'} {', '.join(ids)} denied first"
                for piece in written[i]:
                    specs += self.render(piece, direction, "allow", desc)
            specs += out.get(i, [])
        if last_fqdn >= 0:
            specs += self.dns_visibility([r for r, _ in items if r.fqdns])
        if trailing or folded:
            ids = folded + [i for r in trailing for i in r.ids]
            desc = "default deny" + (f" ({'rule' if len(ids) == 1 else 'rules'} {', '.join(ids)})" if ids else "")
            word = "fromEndpoints" if direction == "ingress" else "toEndpoints"
            for sel in self.selectors(frozenset(a.index for a in self.o.subjects)):
                specs.append({"endpointSelector": sel, "description": desc, direction: [{word: []}]})
        return specs

    def cut_later(self, p: Prod, i: int, written: dict, direction: str):
        """(bytes added, {allow index: its pieces}) when deny P, item I, is taken out of every later allow
        instead of being written; None when a piece left would need a protocol Cilium cannot say alone."""
        changed, added = {}, 0
        for j, pieces in written.items():
            if j <= i or not any(a.meets(p) for a in pieces):
                continue
            new = merge([q for a in pieces for q in subtract(a, [p])])
            if any(q.svc != FULL_SVC and not q.svc.issubset(EXPRESSIBLE) for q in new):
                return None
            added += _size([x for q in new for x in self.render(q, direction, "allow", "")])
            added -= _size([x for q in pieces for x in self.render(q, direction, "allow", "")])
            changed[j] = new
        return added, changed

    # services
    def narrow(self, p: Prod, r: ORule, direction: str) -> Prod:
        """An allow as Cilium can write it: protocols other than TCP, UDP, SCTP, ICMP and ICMPv6 only all
        together (a rule without L4); alone they are left out (reported)."""
        if p.svc == FULL_SVC or p.svc.issubset(EXPRESSIBLE):
            return p
        self.report(r, direction, p, (p.svc - EXPRESSIBLE).first(), p.svc - EXPRESSIBLE, "the allow leaves them out")
        return replace(p, svc=p.svc & EXPRESSIBLE)

    def settle(self, piece: Prod, later: list, earlier: list, r: ORule, direction: str) -> Prod:
        """A piece of a deny as Cilium can write it.  Protocols other than TCP, UDP, SCTP and the ICMPs can
        be denied only with every protocol.  When no later allow of every protocol meets the piece, no
        written allow holds those flows at all (the earlier ones are taken out of the piece, the others
        name ports or types only), so leaving them out is exact; else the piece denies every protocol and
        the flows of the allows it then takes are reported (with those allows: their flows of any service are
        denied there).  LATER and EARLIER: (written allow piece, its rule)."""
        if piece.svc == FULL_SVC or piece.svc.issubset(EXPRESSIBLE):
            return piece
        if not any(a.meets(replace(piece, svc=FULL_SVC)) for a, _ in later):
            return replace(piece, svc=piece.svc & EXPRESSIBLE)
        wide = replace(piece, svc=FULL_SVC)
        hit = [(a.cut(wide), ar) for a, ar in earlier + later if a.meets(wide)]
        ex = next((x for x, _ in hit if x.svc - piece.svc), wide)
        v = (ex.svc - piece.svc).first() if ex.svc - piece.svc else (FULL_SVC - piece.svc).first()
        affected = tuple({id(x): x for x in (ar.rules[0] if ar.rules else None for _, ar in hit)}.values())
        names = [f"rule {x.id}" if x is not None else "the default" for x in affected]
        effect = "the deny takes every protocol there" + (f", flows {' and '.join(names)} allow too" if names else "")
        self.report(r, direction, ex, v, piece.svc - EXPRESSIBLE, effect, affected)
        return replace(piece, svc=FULL_SVC)

    def report(
        self, r: ORule, direction: str, p: Prod, v: int, odd: IntervalSet, effect: str, others: tuple = ()
    ) -> None:
        key = (id(r), direction, tuple(map(id, others)))
        if key in self._reported or not r.rules:
            return
        self._reported.add(key)
        uni = self.o.universe
        here = self.by_index[min(p.here)].point
        other = self.by_index[min(p.pods)].point if p.pods else p.nets.first()
        s, d = (other, here) if direction == "ingress" else (here, other)
        protos = sorted({q for lo, hi in odd for q in range(lo >> PROTO_SHIFT, (hi >> PROTO_SHIFT) + 1)})
        names = ", ".join(proto_label(x) for x in protos[:5]) + (", ..." if len(protos) > 5 else "")
        self.o.findings.append(
            Finding(
                "inexpressible",
                f"Cilium matches TCP, UDP and SCTP ports and ICMP types, or every protocol at once: {names} "
                f"cannot be said alone; {effect} ({direction})",
                r.rules[0],
                flow_text(s, d, v, uni),
                others=tuple(x for x in others if x is not r.rules[0]),
            )
        )

    # rendering
    def selectors(self, pods: frozenset) -> list[dict]:
        got = self._sels.get(pods)
        if got is None:
            if pods == self.all_pods:
                got = [ALL_PODS]
            else:
                classes = tuple(self.by_index[i] for i in sorted(pods))
                got = [cilium_selector(peer) for peer in self.o.peers(classes)]
            self._sels[pods] = got
        return got

    def render(self, p: Prod, direction: str, action: str, desc: str) -> list[dict]:
        key = direction if action == "allow" else direction + "Deny"
        entries = self.entries(p, "from" if direction == "ingress" else "to")
        return [{"endpointSelector": sel, "description": desc, key: entries} for sel in self.selectors(p.here)]

    def render_fqdns(self, r: ORule, p: Prod) -> list[dict]:
        """An egress allow to DNS names: toFQDNs, the addresses Cilium learns from the DNS answers."""
        names = [{"matchPattern" if "*" in n else "matchName": n} for n in r.fqdns]
        svc = p.svc & EXPRESSIBLE if p.svc != FULL_SVC else p.svc
        if svc != p.svc:
            odd = p.svc - EXPRESSIBLE
            pod = self.by_index[min(p.here)]
            protos = sorted({q for lo, hi in odd for q in range(lo >> PROTO_SHIFT, (hi >> PROTO_SHIFT) + 1)})
            self.o.findings.append(
                Finding(
                    "inexpressible",
                    "Cilium matches TCP, UDP and SCTP ports and ICMP types, or every protocol at once: "
                    f"{', '.join(proto_label(x) for x in protos[:5])} cannot be said alone; the allow to "
                    f"{', '.join(r.fqdns)} leaves them out (egress)",
                    r.rules[0],
                    f"{pod} -> {r.fqdns[0]} {proto_label(protos[0])}",
                )
            )
        entries = [{"toFQDNs": names, **b} for b in l4(svc)] if svc else []
        desc = describe(r) + f", to {', '.join(r.fqdns)}"
        self._fqdn_note(r)
        return (
            [{"endpointSelector": sel, "description": desc, "egress": entries} for sel in self.selectors(p.here)]
            if entries
            else []
        )

    def dns_visibility(self, rules: list[ORule]) -> list[dict]:
        """The rule toFQDNs needs, the pods' DNS queries to kube-dns through Cilium's DNS proxy, for the
        protocols (UDP, TCP port 53) the ruleset already allows those pods to kube-dns: it then allows no
        flow the ruleset denies.  Where it allows neither, no rule is written and a note says so."""
        uni = self.o.universe
        ids = list(dict.fromkeys(i for r in rules for i in r.ids))
        which = f"{'rule' if len(ids) == 1 else 'rules'} {', '.join(ids)}"
        if DNS_NAMESPACE in uni.by_ns:
            self.o.findings.append(
                Finding(
                    "note",
                    f"toFQDNs of {which} learns addresses from DNS answers, which needs a rule sending the pods' "
                    f"DNS queries through Cilium's DNS proxy; namespace {DNS_NAMESPACE} is in the inventory, so "
                    "none is written (write it beside these policies): until then those allows match nothing",
                )
            )
            return []
        groups: dict[tuple[str, ...], list[int]] = {}
        for a in sorted({a.index for r in rules for a in r.src.pods}):
            protos = tuple(n for n, proto in (("UDP", 17), ("TCP", 6)) if self._allowed(a, uni.outside, proto, 53))
            groups.setdefault(protos, []).append(a)
        out = []
        for protos, here in groups.items():
            pods = ", ".join(str(self.by_index[i]) for i in here[:3]) + (", ..." if len(here) > 3 else "")
            if not protos:
                self.o.findings.append(
                    Finding(
                        "note",
                        f"toFQDNs of {which} learns addresses from DNS answers, but the ruleset lets {pods} "
                        f"query no DNS server in {DNS_NAMESPACE} (udp/53, tcp/53): no DNS rule is written "
                        "for them, so their toFQDNs allows match nothing",
                    )
                )
                continue
            entry = {
                "toEndpoints": [{"matchLabels": {NS_KEY: DNS_NAMESPACE, "k8s:k8s-app": DNS_APP}}],
                "toPorts": [
                    {
                        "ports": [{"port": "53", "protocol": p} for p in protos],
                        "rules": {"dns": [{"matchPattern": "*"}]},
                    }
                ],
            }
            desc = f"DNS visibility for toFQDNs ({which}): {'/'.join(protos)} 53, which the ruleset allows"
            out += [
                {"endpointSelector": sel, "description": desc, "egress": [entry]}
                for sel in self.selectors(frozenset(here))
            ]
        return out

    def _allowed(self, here: int, there, proto: int, port: int) -> bool:
        """The ruleset's first match for pod class HERE to pod class THERE on PROTO/PORT."""
        v = svc_range(proto, port, port)
        for r in self.o.rules:
            if r.kind == "fqdn":
                continue
            src = {a.index for a in r.src.pods}
            if here in src and there in r.dst.pods and v.issubset(r.services):
                return r.allow
        return False

    def _fqdn_note(self, r: ORule) -> None:
        """The unresolved finding of a name toFQDNs now says, reworded for Cilium."""
        src = r.rules[0]
        for f in self.o.findings:
            if f.kind != "unresolved" or f.rule is not src or "allow matches nothing" not in f.message:
                continue
            u = next(
                (
                    u
                    for u in unresolved_items(self.o.ruleset, src.dst.include)
                    if u.fqdn and f.message.startswith(f"{u.text}:")
                ),
                None,
            )
            if u is not None and u.fqdn in r.fqdns:
                f.message = (
                    f"{u.text}: becomes toFQDNs {u.fqdn!r}: Cilium allows the addresses the name resolves to, "
                    "as the firewall does; a later deny of the ruleset written as a Cilium deny still holds "
                    "those it matches (a Cilium deny wins whatever the order), and verify cannot see them"
                )

    def entries(self, p: Prod, word: str) -> list[dict]:
        world = self.external.issubset(p.nets | self.dont_care)
        if p.pods == self.all_pods and world:
            l3 = [{word + "Entities": ["all"]}]
        else:
            l3 = []
            if p.pods:
                l3.append({word + "Endpoints": self.selectors(p.pods)})
            if p.nets and world:
                l3.append({word + "Entities": ["world"]})
            elif p.nets:
                l3.append({word + "CIDRSet": self.cidrs(p.nets)})
        return [{**a, **b} for a in l3 for b in l4(p.svc)]

    def cidrs(self, nets: IntervalSet) -> list[dict]:
        out = []
        for cidr, exc in ip_blocks(nets, self.dont_care, self._blocks):
            out.append({"cidr": cidr, "except": list(exc)} if exc else {"cidr": cidr})
        return out


def _size(specs: list[dict]) -> int:
    return sum(len(json.dumps(x, separators=(",", ":"))) for x in specs)


def l4(svc: IntervalSet) -> list[dict]:
    """The L4 members saying SVC: [{}] for every service; toPorts and icmps in rules of their own."""
    if svc == FULL_SVC:
        return [{}]
    parts = split_svc(svc)
    ports = [
        {"port": str(lo), "protocol": PORT_NAMES[proto], **({"endPort": hi} if hi > lo else {})}
        for proto in PORT_NAMES
        for lo, hi in parts.get(proto, ())
    ]
    fields = [
        {"type": t, **({"family": "IPv6"} if proto == 58 else {})}
        for proto in ICMP_FAMILY
        for lo, hi in parts.get(proto, ())
        for t in range(lo, hi + 1)
    ]
    out = []
    if ports:
        out.append({"toPorts": [{"ports": ports[i : i + MAX_ITEMS]} for i in range(0, len(ports), MAX_ITEMS)]})
    if fields:
        out.append({"icmps": [{"fields": fields[i : i + MAX_ITEMS]} for i in range(0, len(fields), MAX_ITEMS)]})
    return out


def cilium_selector(peer: dict) -> dict:
    """A NetworkPolicy-style peer (namespaceSelector on kubernetes.io/metadata.name, podSelector) as one
    Cilium endpoint selector over the pod's identity labels."""
    if not peer:
        return ALL_PODS
    labels: dict[str, str] = {}
    exprs: list[dict] = []
    for part, key_of in (
        (peer.get("namespaceSelector"), lambda k: NS_KEY if k == NAME_LABEL else NS_LABELS + k),
        (peer.get("podSelector"), lambda k: "k8s:" + k),
    ):
        if part is None:
            continue
        for k, v in (part.get("matchLabels") or {}).items():
            labels[key_of(k)] = v
        for e in part.get("matchExpressions") or []:
            exprs.append({**e, "key": key_of(e["key"])})
    if not any(k == NS_KEY for k in labels) and not any(e["key"] == NS_KEY and e["operator"] == "In" for e in exprs):
        exprs.append({"key": NS_KEY, "operator": "Exists"})  # NotIn, or no namespace: pods only, never the world
    sel: dict = {}
    if labels:
        sel["matchLabels"] = dict(sorted(labels.items()))
    if exprs:
        sel["matchExpressions"] = sorted(exprs, key=lambda e: (e["key"], e["operator"]))
    return sel


# --- reading documents back: cuts and table ----------------------------------------------------

DIRECTION_KEYS = {"ingress": ("ingressDeny", "ingress", "from"), "egress": ("egressDeny", "egress", "to")}
PROTO_NUMBERS = {"TCP": 6, "UDP": 17, "SCTP": 132}
PORTLESS = {"VRRP": 112, "IGMP": 2, "GRE": 47, "IPIP": 4, "IPV6": 41, "ESP": 50, "AH": 51}


def _cilium_docs(docs: list[dict]) -> list[dict]:
    out = []
    for d in docs:
        if not isinstance(d, dict):
            continue
        if str(d.get("kind") or "").endswith("List"):
            out += _cilium_docs(d.get("items") or [])
        elif d.get("apiVersion") == CILIUM and d.get("kind") in (KIND, NAMESPACED):
            out.append(d)
    return out


def _specs(doc: dict) -> list[tuple[str, dict]]:
    spec, specs = doc.get("spec"), doc.get("specs") or []
    return ([("spec", spec)] if isinstance(spec, dict) else []) + [
        (f"specs[{i}]", s) for i, s in enumerate(specs) if isinstance(s, dict)
    ]


def _split_key(key: str) -> tuple[str, str]:
    head, sep, rest = key.partition(":")
    return (head, rest) if sep else ("any", key)


def _reqs(sel: dict | None) -> list[tuple[str, str, str, frozenset]]:
    """(source, key, op, values) of a Cilium selector."""
    from ..verify.selectors import text_value

    sel = sel or {}
    out = []
    for k, v in (sel.get("matchLabels") or {}).items():
        out.append((*_split_key(str(k)), "In", frozenset([text_value(v)])))
    for e in sel.get("matchExpressions") or []:
        if isinstance(e, dict) and "key" in e:
            vals = frozenset(text_value(x) for x in e.get("values") or [])
            out.append((*_split_key(str(e["key"])), str(e.get("operator")), vals))
    return out


def cuts(docs: list[dict], target: str):
    """What the documents test: their selectors (pod labels, namespaces), CIDRs, ports and ICMP types."""
    from ..verify.selectors import OPS, Sel
    from ..verify.source import PolicySource

    src = PolicySource(policies=[])

    def sel_of(reqs) -> Sel:
        return Sel(tuple(sorted(reqs, key=lambda r: (r[0], r[1], sorted(r[2])))))

    def selector(obj, ns: str | None, subject: bool) -> None:
        ns_reqs, pod_reqs = [], []
        for source, key, op, vals in _reqs(obj):
            if op not in OPS or source not in ("k8s", "any"):
                continue  # reserved, cidr, ... labels: no pod has them
            if key == NS_KEY.split(":", 1)[1]:
                ns_reqs.append((NAME_LABEL, op, vals))
            elif key.startswith(NS_LABELS.split(":", 1)[1]):
                if ns is None:
                    ns_reqs.append((key[len(NS_LABELS.split(":", 1)[1]) :], op, vals))
            else:
                pod_reqs.append((key, op, vals))
        pod = sel_of(pod_reqs)
        if ns is not None and subject:
            src.targets.append((ns, pod))
        elif ns is not None and not any(k == NAME_LABEL for k, _, _ in ns_reqs):
            src.peers.append((ns, None, pod))
        else:
            src.peers.append((ns or "", sel_of(ns_reqs), pod))

    def cidr(text) -> None:
        import netaddr

        try:
            net = netaddr.IPNetwork(str(text))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            raise InputError(f"{text!r} is not a valid CIDR") from None
        src.blocks.append((net.version, int(net.first), int(net.last)))

    for doc in _cilium_docs(docs):
        ns = (doc.get("metadata") or {}).get("namespace") or "default" if doc.get("kind") == NAMESPACED else None
        if ns is not None:
            src.ns_of.append(ns)
        for _, spec in _specs(doc):
            if spec.get("endpointSelector") is not None:
                selector(spec["endpointSelector"], ns, True)
            for key in ("ingress", "ingressDeny", "egress", "egressDeny"):
                word = "from" if key.startswith("ingress") else "to"
                for e in spec.get(key) or []:
                    if not isinstance(e, dict):
                        continue
                    for s in e.get(word + "Endpoints") or []:
                        selector(s, ns, False)
                    for c in e.get(word + "CIDR") or []:
                        cidr(c)
                    for b in e.get(word + "CIDRSet") or []:
                        if isinstance(b, dict) and "cidr" in b:
                            for c in [b["cidr"], *(b.get("except") or [])]:
                                cidr(c)
                    for tp in e.get("toPorts") or []:
                        for p in (tp or {}).get("ports") or []:
                            _port_cut(src, p or {})
                    for ic in e.get("icmps") or []:
                        for f in (ic or {}).get("fields") or []:
                            _icmp_cut(src, f or {})
    return src


def _port_cut(src, p: dict) -> None:
    name = str(p.get("protocol") or "ANY").upper()
    if name in PORTLESS:
        src.protos.add(PORTLESS[name])
        return
    protos = [PROTO_NUMBERS[name]] if name in PROTO_NUMBERS else list(PROTO_NUMBERS.values())
    src.protos |= set(protos)
    raw = p.get("port")
    text = "" if raw is None else str(raw)
    if text in ("", "0"):
        return
    if not (text.isascii() and text.isdigit()):
        src.port_names |= {(text, proto) for proto in protos}
        return
    lo = int(text)
    end = p.get("endPort")
    hi = end if isinstance(end, int) and not isinstance(end, bool) and end > lo else lo
    src.ports += [(proto, max(1, lo), min(65535, hi)) for proto in protos]


def _icmp_cut(src, f: dict) -> None:
    from ..evaluate.cilium import ICMP4, ICMP6

    proto, names = (58, ICMP6) if f.get("family") == "IPv6" else (1, ICMP4)
    t = f.get("type")
    t = names.get(t, t) if isinstance(t, str) and not t.isdigit() else t
    try:
        t = int(t)
    except (TypeError, ValueError):
        return
    src.protos.add(proto)
    src.ports.append((proto, t, t))


# the table


def table(docs: list[dict], inventory, target: str):
    """The documents as a first-match table: per target and direction, its deny rows first (a deny wins
    whatever the order), then its allow rows, then the default.  With an inventory the targets are its
    pod classes (the rules of every spec that selects the class: their union is what Cilium enforces);
    without, each distinct endpointSelector."""
    from ..reverse.table import FirewallTable

    names = _class_names(inventory)
    specs, policies = [], []
    for doc in _cilium_docs(docs):
        meta = doc.get("metadata") or {}
        ns = meta.get("namespace") or "default" if doc.get("kind") == NAMESPACED else None
        name = str(meta.get("name") or "")
        policies.append(_Policy(ns or "", name, dict(meta.get("annotations") or {})))
        for where, spec in _specs(doc):
            if spec.get("endpointSelector") is not None:
                specs.append((f"{ns + '/' if ns else ''}{name} {where}", ns, spec))
    groups: dict[str, list] = {}
    notes = [
        "Cilium rules have no order: a deny wins over every allow, so each target lists its deny rows first; "
        "then the first matching row wins, as in a firewall."
    ]
    if inventory is None:
        for ref, ns, spec in specs:
            target_text = _target_text(spec["endpointSelector"], ns, names)
            groups.setdefault(target_text, []).append((ref, ns, spec))
        notes.append("Pods selected by several targets get the union of their rows (a deny of either wins).")
    else:
        idle = []
        for label, pod in _classes(inventory):
            picked = [
                (ref, ns, spec) for ref, ns, spec in specs if _selects(spec["endpointSelector"], ns, pod, inventory)
            ]
            if picked:
                groups[label] = picked
            else:
                idle.append(label)
        if idle:
            notes.append(
                "Not selected by any rule, so everything is allowed to and from them: " + "; ".join(idle) + "."
            )
        notes.append(
            "Other pods of a namespace are shown by a pod without workload labels; a rule whose selector picks "
            "only some of them applies to those only."
        )
    notes.append("Pods selected by no rule are not in default deny: everything is allowed to and from them.")
    rows: list = []
    for target_text, picked in groups.items():
        rows += _rows(target_text, picked, names)
    return FirewallTable(rows, notes, policies)


def _classes(inventory):
    from ..evaluate.endpoints import Pod

    for ns in sorted(inventory.namespaces):
        for w in sorted(inventory.workloads_in(ns), key=lambda w: w.name):
            yield f"{ns}/{w.name}", Pod.of(ns, dict(w.labels))
        yield f"other pods of namespace {ns}", Pod.of(ns, {})
    yield "pods of namespaces outside the inventory", Pod.of("fw2np-outside", {})


def _selects(sel: dict, ns: str | None, pod, inventory) -> bool:
    from ..evaluate.cilium import CiliumEvaluator, parse_selector

    if ns is not None and pod.namespace != ns:
        return False
    try:
        labels = CiliumEvaluator([], dict(inventory.namespaces)).identity(pod)
        return parse_selector(sel, "endpointSelector").matches(labels)
    except ValueError:
        return False


def _rows(target_text: str, picked: list, names: dict) -> list:
    from ..reverse.table import Row

    rows = []
    for direction, (deny_key, allow_key, word) in DIRECTION_KEYS.items():
        denies, allows, isolated, refs = [], [], False, []
        for ref, ns, spec in picked:
            dd = (spec.get("enableDefaultDeny") or {}).get(direction)
            has = bool(spec.get(allow_key) or spec.get(deny_key))
            if has or dd:
                refs.append(ref)
            isolated = isolated or dd is True or (dd is None and has)
            desc = spec.get("description") or ""
            label = ref + (f" ({desc})" if desc else "")
            for action, key, sink in (("deny", deny_key, denies), ("allow", allow_key, allows)):
                for i, e in enumerate(spec.get(key) or []):
                    peer = _peer_text(e or {}, word, ns, names)
                    if peer is None:
                        continue  # selects nothing
                    src, dst = (peer, target_text) if direction == "ingress" else (target_text, peer)
                    sink.append(Row(target_text, direction, action, src, dst, _l4_text(e or {}), f"{label} {key}[{i}]"))
        rows += denies + allows
        anyone = ("any", target_text) if direction == "ingress" else (target_text, "any")
        if isolated:
            why = f"default deny (selected by {', '.join(refs)})"
            rows.append(Row(target_text, direction, "deny", *anyone, "any service", why))
        else:
            why = f"(not in default deny for {direction})"
            rows.append(Row(target_text, direction, "allow", *anyone, "any service", why))
    return rows


@dataclass
class _Policy:
    namespace: str
    name: str
    annotations: dict


def _class_names(inventory) -> dict[str, str]:
    """Canonical selector text -> inventory name, for selectors that pick one workload or namespace."""
    out: dict[str, str] = {}
    if inventory is None:
        return out
    for ns in sorted(inventory.namespaces):
        out[_canon({"matchLabels": {NS_KEY: ns}})] = f"all pods of namespace {ns}"
        for w in inventory.workloads_in(ns):
            labels = {NS_KEY: ns, **{"k8s:" + k: v for k, v in w.labels.items()}}
            out[_canon({"matchLabels": labels})] = f"{ns}/{w.name}"
    return out


def _canon(sel: dict | None) -> str:
    return json.dumps(sorted((s, k, op, sorted(v)) for s, k, op, v in _reqs(sel)))


def _selector_text(sel: dict | None) -> str:
    parts = []
    for source, key, op, vals in _reqs(sel):
        k = key if source in ("k8s", "any") else f"{source}:{key}"
        if key == NS_KEY.split(":", 1)[1]:
            k = "namespace"
        v = sorted(vals)
        if op == "In" and len(v) == 1:
            parts.append(f"{k}={v[0]}")
        elif op in ("In", "NotIn"):
            parts.append(f"{k} {'in' if op == 'In' else 'not in'} ({', '.join(v)})")
        elif op == "Exists":
            parts.append(f"with {k}" if k != "namespace" else "any namespace")
        else:
            parts.append(f"without {k}")
    return ", ".join(parts)


def _target_text(sel: dict, ns: str | None, names: dict) -> str:
    if ns is None and _canon(sel) == _canon(ALL_PODS):
        return "all pods"
    got = names.get(_canon(sel))
    if got:
        return got
    text = _selector_text(sel) or "every endpoint"
    return f"pods {text}" + (f" in namespace {ns}" if ns else "")


def _peer_text(e: dict, word: str, ns: str | None, names: dict) -> str | None:
    if word + "Endpoints" in e:
        sels = e[word + "Endpoints"] or []
        if not sels:
            return None
        return " or ".join(_target_text(s or {}, ns, names) for s in sels)
    if word + "Entities" in e:
        ents = e[word + "Entities"] or []
        return None if not ents else "entities " + ", ".join(map(str, ents))
    if word == "to" and "toFQDNs" in e:
        got = [str(x.get("matchName") or x.get("matchPattern")) for x in e["toFQDNs"] or [] if isinstance(x, dict)]
        return None if not got else "DNS names " + ", ".join(got)
    blocks = [{"cidr": c} for c in e.get(word + "CIDR") or []] + list(e.get(word + "CIDRSet") or [])
    if word + "CIDR" in e or word + "CIDRSet" in e:
        if not blocks:
            return None
        return ", ".join(
            str(b.get("cidr")) + (f" except {', '.join(map(str, b['except']))}" if b.get("except") else "")
            for b in blocks
        )
    return "any"


def _l4_text(e: dict) -> str:
    parts = []
    for tp in e.get("toPorts") or []:
        for p in (tp or {}).get("ports") or [{}]:
            proto = str(p.get("protocol") or "any").lower()
            port, end = p.get("port"), p.get("endPort")
            if port in (None, "", "0", 0):
                parts.append(f"{proto}/any")
            else:
                parts.append(f"{proto}/{port}-{end}" if end and str(end) != str(port) else f"{proto}/{port}")
    for ic in e.get("icmps") or []:
        for f in (ic or {}).get("fields") or []:
            fam = "icmpv6" if f.get("family") == "IPv6" else "icmp"
            parts.append(f"{fam} type {f.get('type')}")
    return ", ".join(parts) if parts else "any service"
