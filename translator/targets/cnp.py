"""ClusterNetworkPolicy (`--target cnp`, policy.networking.k8s.io/v1alpha2) and AdminNetworkPolicy with
BaselineAdminNetworkPolicy (`--target anp`, v1alpha1): the ordered model (ordered.py) in the SIG Network
policy API's Admin and Baseline tiers.

Per direction the ordered rules become one rendered rule each (more only where a limit of the API needs
it), in order, in policies whose subject is the pod classes the rules are for:

* rules for the same pod classes share a policy (at most 25 rules for CNP, 100 for ANP): a rule joins
  the latest policy for its classes when it commutes (same action, or no flow in common) with every rule
  it then overtakes (`_Build.place`); each policy has the priority after the last earlier one that
  selects some of its pods in that direction, so every pod meets its rules in an order that decides
  every flow as the ruleset's does, and no two policies of one priority select one pod in one direction
  (ties are the API's one undefined case); more than 0-1000 priorities is an error;
* peers: pod classes as `namespaces` / `pods` peers (ordered.peers), external addresses as egress
  `networks` (CIDRs, no excepts).  Egress rules to pods come first and end with a Pass of every pod
  (to the next tiers): `networks` match pod IPs too, so no networks rule may see a pod;
* an except inside a CIDR is said by a rule for the except before the rule, with the action of the
  rule that decides those addresses next (Pass when that is the default), or else the CIDR is split
  into the CIDRs outside the except;
* services as `protocols` (`ports`): TCP, UDP, SCTP numbers and ranges; a rule for every service has
  none.  Nothing else can be said: an allow keeps its TCP/UDP/SCTP part (the rest falls through to the
  next rules, reported `inexpressible`); a deny keeps its part, and the flows of other protocols it
  denies stay denied because later rules that allow every service between the same ends are cut to
  TCP/UDP/SCTP there (reported when that denies more) and, when the end would allow, a deny of every
  service between those ends follows them;
* the cleanup (the default, or a last rule that decides every flow as the default does) goes to the
  Baseline tier (CNP `tier: Baseline`; the BaselineAdminNetworkPolicy `default`, which has one subject);
* ingress from addresses outside the cluster: these APIs' ingress peers are pods only, so those flows
  fall through to the NetworkPolicy tier, where the NetworkPolicy compiler's policies (compiler.synth)
  decide them, cut to their ipBlock peers; the Admin tier then decides every flow from a pod itself
  (its ingress ends with the cleanup for every pod), so NetworkPolicy sees only IP sources.  A note
  names every rule that falls back so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import netaddr

from ..compiler import examples
from ..compiler.findings import Finding, flow_text
from ..compiler.ipblocks import ip_blocks
from ..compiler.synth import L4
from ..errors import InputError
from ..model.names import dns_name
from ..model.ruleset import ALLOW, DENY
from ..model.space import EMPTY, FULL_SVC, POD_BASE, IntervalSet, ip_range, split_svc
from ..reverse.table import FirewallTable, Row, namespaces_text, selector_text
from ..verify.source import PolicySource, parse_selector
from . import KINDS, NPAPI_V1, NPAPI_V2, RULESET_LABEL

MANAGED = {"app.kubernetes.io/managed-by": "fw2np"}
PASS = "pass"
NAME_MAX = 100  # characters of a rule name (both CRDs)
NETWORKS_MAX = 25  # CIDRs of one networks peer (both CRDs)
PRIORITY_MAX = 1000
BASELINE_PRIORITY = 1000  # the cleanup: the last of the Baseline tier
PROTO_KEYS = {6: "tcp", 17: "udp", 132: "sctp"}
PROTO_NAMES = {6: "TCP", 17: "UDP", 132: "SCTP"}
FALLBACK = "fw2np.io/fallback"


@dataclass(frozen=True)
class Flavour:
    target: str
    api: str
    kind: str
    baseline_kind: str
    actions: dict  # allow | deny | pass -> the word
    max_rules: int
    max_peers: int
    max_ports: int


FLAVOURS = {
    "cnp": Flavour(
        "cnp",
        NPAPI_V2,
        "ClusterNetworkPolicy",
        "ClusterNetworkPolicy",
        {ALLOW: "Accept", DENY: "Deny", PASS: "Pass"},
        25,
        25,
        25,
    ),
    "anp": Flavour(
        "anp",
        NPAPI_V1,
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
        {ALLOW: "Allow", DENY: "Deny", PASS: "Pass"},
        100,
        100,
        100,
    ),
}


def kinds(target: str) -> set[tuple[str, str]]:
    return KINDS[target]


def evaluator(docs: list[dict], namespaces: dict, target: str):
    from ..evaluate.cnp import ClusterPolicyEvaluator

    return ClusterPolicyEvaluator(docs, namespaces)


# --- the rules a direction renders ----------------------------------------------------------


@dataclass
class Item:
    """One rule to render: ACTION of the flows between the subject classes MINE and the other end
    (pod classes PODS, external addresses NETS) over services SVC (FULL_SVC or TCP/UDP/SCTP only)."""

    action: str  # allow | deny | pass
    mine: frozenset
    pods: frozenset
    nets: IntervalSet
    svc: IntervalSet
    rules: tuple = ()  # the firewall rules behind it
    kind: str = "rule"  # rule | default | family | decided-at-ingress | cleanup | narrowed | other-protocols
    #                     | except | pass-pods
    via: str = ""  # except: what decides the excepted addresses
    networks: tuple = ()  # rendered CIDRs (net items)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rules]


@dataclass
class _Region:
    """Flows a deny of other protocols (X) keeps denied: later allows of every service are cut here."""

    mine: frozenset
    pods: frozenset
    nets: IntervalSet
    other: IntervalSet  # the services it denies outside TCP/UDP/SCTP
    rule: object


class _Build:
    def __init__(self, ordered, prefix: str, target: str):
        self.o, self.prefix, self.f = ordered, prefix, FLAVOURS[target]
        self.uni = ordered.universe
        self.rs = ordered.ruleset
        self.subjects = frozenset(a.index for a in ordered.subjects)
        self.default_allow = self.rs.default == ALLOW
        # networks rules never see a pod (pods are passed before them): addresses of the cluster and
        # legacy workload addresses are no external endpoint, so CIDRs may cover them or not
        self.dont_care = self.uni.workload_ips | self.uni.cluster
        self.findings = ordered.findings
        self._blocks: dict = {}
        self._peers: dict = {}
        self.external_ingress: list = []  # ORules with sources outside the cluster, in ingress
        self.fallback_ingress = False
        self.baseline: dict[str, list[Item]] = {}

    # --- items -----------------------------------------------------------------------------

    def items(self, direction: str) -> list[Item]:
        """The rules of DIRECTION as items, services cut to what the API can say (see the module doc)."""
        here, there = ("dst", "src") if direction == "ingress" else ("src", "dst")
        orules = self.o.direction(direction)
        out: list[Item] = []
        regions: list[_Region] = []
        for k, r in enumerate(orules):
            mine = frozenset(a.index for a in getattr(r, here).pods)
            other = getattr(r, there)
            pods, nets = frozenset(a.index for a in other.pods), other.nets
            if direction == "ingress" and nets:
                self.external_ingress.append(r)
                nets = EMPTY
            if not mine or not (pods or nets):
                continue
            kind = r.kind
            if k == len(orules) - 1 and r.services == FULL_SVC and r.action == self.rs.default:
                if kind == "default" or self._whole(direction, mine, other):
                    kind = "cleanup"
            item = Item(r.action, mine, pods, nets, r.services, tuple(r.rules), kind)
            if r.services != FULL_SVC:
                rest = r.services - L4
                item.svc = r.services & L4
                if rest and r.allow:
                    self._inexpressible_allow(item, rest, direction)
                if rest and not r.allow:
                    regions.append(_Region(mine, pods, nets, rest, r.rules[0] if r.rules else None))
                if not item.svc:
                    continue
            for piece in self._narrow(item, regions, direction):
                out.append(piece)
                if piece.action == DENY and piece.svc == FULL_SVC:
                    regions = [g for g in regions if not self._covers(piece, g)]
        for g in regions:  # still open: the end would allow their other protocols
            out.append(Item(DENY, g.mine, g.pods, g.nets, FULL_SVC, (g.rule,) if g.rule else (), "other-protocols"))
        return out

    def _whole(self, direction: str, mine: frozenset, other) -> bool:
        """Does a rule for subjects MINE with this other end decide every flow the subjects meet?"""
        if mine != self.subjects:
            return False
        skip = self.subjects if direction == "egress" and "ingress" in self.o.directions else frozenset()
        pods = {a.index for a in other.pods}
        every = {a.index for a in self.uni.pod_classes} - skip
        return pods >= every and self.uni.external.issubset(other.nets | self.uni.dont_care)

    @staticmethod
    def _covers(item: Item, g: _Region) -> bool:
        return item.mine >= g.mine and item.pods >= g.pods and g.nets.issubset(item.nets)

    def _narrow(self, item: Item, regions: list[_Region], direction: str) -> list[Item]:
        """ITEM, an allow of every service, cut to TCP/UDP/SCTP where an earlier deny of other protocols
        holds (those flows must stay denied, and no rule can name them apart from other protocols)."""
        pieces = [item]
        if item.action != ALLOW or item.svc != FULL_SVC:
            return pieces
        for g in regions:
            new = []
            for p in pieces:
                mine, pods, nets = p.mine & g.mine, p.pods & g.pods, p.nets & g.nets
                if p.svc != FULL_SVC or not mine or not (pods or nets):
                    new.append(p)
                    continue
                lost = FULL_SVC - L4 - g.other
                if lost:
                    self._narrowed(p, g, mine, pods, nets, lost, direction)
                new.append(replace(p, mine=mine, pods=pods, nets=nets, svc=L4, kind="narrowed"))
                if (p.pods - pods) or (p.nets - nets):
                    new.append(replace(p, mine=mine, pods=p.pods - pods, nets=p.nets - nets))
                if p.mine - mine:
                    new.append(replace(p, mine=p.mine - mine))
            pieces = new
        return pieces

    # --- findings ---------------------------------------------------------------------------

    def _flow(self, direction: str, mine: frozenset, pods: frozenset, nets: IntervalSet, svc: IntervalSet) -> str:
        me = POD_BASE + min(mine)
        other = POD_BASE + min(pods) if pods else examples.address(nets)
        s, d = (other, me) if direction == "ingress" else (me, other)
        return flow_text(s, d, examples.service(svc), self.uni)

    def _inexpressible_allow(self, item: Item, rest: IntervalSet, direction: str) -> None:
        names = _proto_names(rest)
        rule = item.rules[0] if item.rules else None
        self.findings.append(
            Finding(
                "inexpressible",
                f"{names} allowed by {_by(item)} cannot be said in {self.f.kind} protocols (TCP, UDP and SCTP "
                "only); those flows are decided by the later rules (the secure side)",
                rule,
                self._flow(direction, item.mine, item.pods, item.nets, rest),
            )
        )

    def _narrowed(self, p: Item, g: _Region, mine, pods, nets, lost: IntervalSet, direction: str) -> None:
        rule = p.rules[0] if p.rules else None
        self.findings.append(
            Finding(
                "inexpressible",
                f"{_by(p)} allows every service, but an earlier deny of {_proto_names(g.other)} "
                f"({_by_rule(g.rule)}) between some of the same ends cannot be said apart from other protocols: "
                f"there the allow keeps TCP, UDP and SCTP only ({_proto_names(lost)} left denied)",
                rule,
                self._flow(direction, mine, pods, nets, lost),
                others=(g.rule,) if g.rule is not None and g.rule is not rule else (),
            )
        )

    # --- net items: excepts --------------------------------------------------------------------

    def net_items(self, items: list[Item]) -> list[Item]:
        """Net ITEMS with rendered CIDRs: an except inside a CIDR by a rule before it (see the module doc)."""
        out: list[Item] = []
        for k, it in enumerate(items):
            blocks = ip_blocks(it.nets, self.dont_care, self._blocks)
            plain = [c for c, ex in blocks if not ex]
            excepted = [(c, ex) for c, ex in blocks if ex]
            if not excepted:
                out.append(replace(it, networks=tuple(plain)))
                continue
            held = IntervalSet(iv for _, ex in excepted for e in ex for iv in _cidr_set(e)) - self.dont_care
            via = self._continuation(it, held, items[k + 1 :])
            if via is None:
                split = [
                    str(c) for cidr, ex in excepted for c in (netaddr.IPSet([cidr]) - netaddr.IPSet(ex)).iter_cidrs()
                ]
                out.append(replace(it, networks=tuple(plain + split)))
                continue
            action, what = via
            nets = tuple(e for _, ex in excepted for e in ex)
            out.append(replace(it, action=action, nets=held, networks=nets, kind="except", via=what))
            out.append(replace(it, networks=tuple(plain + [c for c, _ in excepted])))
        return out

    def _continuation(self, it: Item, held: IntervalSet, later: list[Item]) -> tuple[str, str] | None:
        """(action, what decides) for the flows of IT's subjects to HELD over IT's services, when one rule
        decides them all: the first later rule that meets them, if it holds them all; None otherwise."""
        for s in later:
            if not (s.mine & it.mine) or not (s.nets & held) or not (s.svc & it.svc):
                continue
            if it.mine <= s.mine and held.issubset(s.nets | self.dont_care) and it.svc.issubset(s.svc):
                return s.action, _name_of(s) or KIND_NAMES.get(s.kind, s.kind)
            return None
        return PASS, "the next tiers"  # no later rule here: the Baseline cleanup, or nothing (allowed)

    # --- peers ---------------------------------------------------------------------------------

    def pod_peers(self, pods: frozenset) -> list[dict]:
        if pods not in self._peers:
            classes = tuple(self.uni.pod_classes[i] for i in sorted(pods))
            self._peers[pods] = [self._selection(p) for p in self.o.peers(classes)]
        return self._peers[pods]

    @staticmethod
    def _selection(peer: dict) -> dict:
        if "podSelector" not in peer:
            return {"namespaces": peer.get("namespaceSelector") or {}}
        return {"pods": {"namespaceSelector": peer.get("namespaceSelector") or {}, "podSelector": peer["podSelector"]}}

    def ports(self, svc: IntervalSet) -> list[dict] | None:
        if svc == FULL_SVC:
            return None
        out = []
        for proto, ranges in sorted(split_svc(svc).items()):
            for lo, hi in ranges:
                if self.f.target == "cnp":
                    dp = {"number": lo} if lo == hi else {"range": {"start": lo, "end": hi}}
                    out.append({PROTO_KEYS[proto]: {"destinationPort": dp}})
                elif lo == hi:
                    out.append({"portNumber": {"protocol": PROTO_NAMES[proto], "port": lo}})
                else:
                    out.append({"portRange": {"protocol": PROTO_NAMES[proto], "start": lo, "end": hi}})
        return out

    def rendered(self, it: Item, direction: str) -> list[dict]:
        """IT as API rules: one, or more when peers or port entries exceed a limit (same action, in a row)."""
        peers = self.pod_peers(it.pods) if it.pods else []
        nets = list(it.networks)
        peers = peers + [{"networks": nets[k : k + NETWORKS_MAX]} for k in range(0, len(nets), NETWORKS_MAX)]
        ports = self.ports(it.svc)
        key = "from" if direction == "ingress" else "to"
        name = _rule_name(it)
        out = []
        for a in range(0, len(peers), self.f.max_peers):
            for b in range(0, len(ports), self.f.max_ports) if ports else [None]:
                rule = {"name": name, "action": self.f.actions[it.action], key: peers[a : a + self.f.max_peers]}
                if ports:
                    rule["protocols" if self.f.target == "cnp" else "ports"] = ports[b : b + self.f.max_ports]
                out.append(rule)
        return out

    # --- the direction's rendered list ------------------------------------------------------------

    def direction_list(self, direction: str) -> list[Item]:
        """The Admin tier's items of DIRECTION in order (the Baseline's go to self.baseline)."""
        items = self.items(direction)
        explicit = direction == "ingress" and self.fallback_ingress
        if not explicit and self.f.target == "anp" and len(self.o.subject_peers()) > 1:
            explicit = True  # a BaselineAdminNetworkPolicy has one subject
        admin, base = [], []
        for it in items:
            if it.kind == "cleanup" and not explicit:
                if it.action == DENY:
                    base.append(it)
                continue  # an allow: nothing decides, so the flow is allowed
            admin.append(it)
        if base:
            self.baseline[direction] = base
        if direction == "ingress":
            return [replace(it, nets=EMPTY) for it in admin if it.pods]
        pods = [replace(it, nets=EMPTY) for it in admin if it.pods]
        nets = [replace(it, pods=frozenset()) for it in admin if it.nets]
        if nets and not (pods and pods[-1].kind == "cleanup"):
            pods.append(
                Item(
                    PASS,
                    self.subjects,
                    frozenset(a.index for a in self.uni.pod_classes),
                    EMPTY,
                    FULL_SVC,
                    (),
                    "pass-pods",
                )
            )
        return pods + self.net_items(nets)

    # --- documents ------------------------------------------------------------------------------

    def meta(self, name: str, rules: list[str], extra: dict | None = None) -> dict:
        ann = {"fw2np.io/ruleset": _bounded(self.rs.name or self.prefix, 253), "fw2np.io/rules": _bounded_list(rules)}
        ann.update(extra or {})
        return {"name": name, "labels": {**MANAGED, RULESET_LABEL: self.prefix}, "annotations": ann}

    def place(self, direction: str, items: list[Item]) -> list[list]:
        """[[priority, classes, rules, rule refs, items]]: ITEMS packed into policies.

        An item joins the latest policy for exactly its classes when it commutes (same action, or no flow
        in common) with every item since placed in a policy for some of those classes, which then comes
        after it; else it starts a policy, whose priority follows the last one of each of its classes.
        Every pair of items this puts out of order commutes, so each flow meets its first match as in
        the ruleset.  A Pass of every pod is a barrier: networks rules must never come before it."""
        placed: list[list] = []
        last: dict[int, int] = {}  # class -> the priority of its latest policy
        latest: dict[frozenset, int] = {}  # classes -> their latest policy (a position in PLACED)
        chunks_of: dict[int, list[int]] = {}  # class -> the positions of its policies, in order
        for it in items:
            refs = [r.ref for r in it.rules if r is not None] or [KIND_NAMES.get(it.kind, it.kind)]
            rules = self.rendered(it, direction)
            k = latest.get(it.mine)
            if (
                k is not None
                and len(placed[k][2]) + len(rules) <= self.f.max_rules
                and self._commutes(it, k, placed, chunks_of)
            ):
                placed[k][2].extend(rules)
                placed[k][3].extend(x for x in refs if x not in placed[k][3])
                placed[k][4].append(it)
                continue
            prio = 1 + max((last.get(x, -1) for x in it.mine), default=-1)
            if prio > PRIORITY_MAX:
                raise InputError(
                    f"{self.f.kind}: the ruleset's {direction} rules need more than {PRIORITY_MAX + 1} "
                    "priorities (0-1000) for some pods; convert it with --target networkpolicy, or split it"
                )
            for x in it.mine:
                last[x] = prio
                chunks_of.setdefault(x, []).append(len(placed))
            latest[it.mine] = len(placed)
            placed.append([prio, it.mine, rules, list(refs), [it]])
        return placed

    COMMUTE_BUDGET = 400  # item comparisons an item may spend to join an earlier policy

    def _commutes(self, it: Item, k: int, placed: list[list], chunks_of: dict) -> bool:
        later: set[int] = set()
        for x in it.mine:
            pos = chunks_of.get(x, [])
            j = len(pos)
            while j and pos[j - 1] > k:
                j -= 1
                later.add(pos[j])
            if len(later) > self.COMMUTE_BUDGET:
                return False
        spent = 0
        for j in later:
            for other in placed[j][4]:
                spent += 1
                if spent > self.COMMUTE_BUDGET or not _commute(it, other):
                    return False
        return True

    def policies(self, direction: str, items: list[Item]) -> list[dict]:
        """ITEMS as policies at consecutive priorities (see the module doc)."""
        placed = self.place(direction, items)
        out = []
        seen: dict[int, int] = {}
        for prio, mine, rules, refs, _ in placed:
            subjects = self.pod_peers(mine)
            for subject in subjects:
                n = seen[prio] = seen.get(prio, 0) + 1
                name = dns_name(f"{self.prefix}-{direction}-{prio}" + (f"-{n}" if n > 1 else ""), 253)
                spec = {"priority": prio, "subject": subject, direction: rules}
                if self.f.target == "cnp":
                    spec = {"tier": "Admin", **spec}
                out.append(
                    {"apiVersion": self.f.api, "kind": self.f.kind, "metadata": self.meta(name, refs), "spec": spec}
                )
        return out

    def baseline_docs(self) -> list[dict]:
        if not self.baseline:
            return []
        spec: dict = {}
        refs: list[str] = []
        for direction, items in sorted(self.baseline.items()):
            rules = []
            for it in items:
                key = "from" if direction == "ingress" else "to"
                peers = [{"namespaces": {}}]
                if direction == "egress":
                    peers.append({"networks": ["0.0.0.0/0", "::/0"]})
                rules.append({"name": _rule_name(it), "action": self.f.actions[DENY], key: peers})
                refs += [r.ref for r in it.rules] or [f"default {self.rs.default}"]
            spec[direction] = rules
        out = []
        subjects = self.o.subject_peers()
        if self.f.target == "anp":
            spec = {"subject": self._selection(subjects[0]), **spec}
            return [
                {
                    "apiVersion": self.f.api,
                    "kind": self.f.baseline_kind,
                    "metadata": self.meta("default", refs),
                    "spec": spec,
                }
            ]
        for n, subject in enumerate(self._selection(p) for p in subjects):
            name = f"{self.prefix}-baseline" + (f"-{n + 1}" if len(subjects) > 1 else "")
            body = {"tier": "Baseline", "priority": BASELINE_PRIORITY, "subject": subject, **spec}
            out.append({"apiVersion": self.f.api, "kind": self.f.kind, "metadata": self.meta(name, refs), "spec": body})
        return out


def build(ordered, prefix: str, target: str) -> list[dict]:
    """The Admin-tier policies, the Baseline cleanup and the NetworkPolicy fallback of ORDERED."""
    b = _Build(ordered, prefix, target)
    dirs = [d for d in ("ingress", "egress") if d in ordered.directions]
    if "ingress" in dirs:
        # the NetworkPolicy tier decides ingress from outside the cluster when some of it is denied
        b.fallback_ingress = any(r.src.nets and not r.allow for r in ordered.direction("ingress"))
    docs: list[dict] = []
    for d in dirs:
        docs += b.policies(d, b.direction_list(d))
    docs += b.baseline_docs()
    if b.fallback_ingress:
        docs += _fallback(b)
    if not docs:
        b.findings.append(
            Finding(
                "note",
                f"the ruleset restricts nothing here: no {b.f.kind} is needed (a flow no tier decides is allowed)",
            )
        )
        return docs
    _summary(b, docs)
    return docs


def _commute(a: Item, b: Item) -> bool:
    """May A and B swap places in a first-match list: the same action, or no flow in common?"""
    if "pass-pods" in (a.kind, b.kind):
        return False
    if a.action == b.action:
        return True
    if not (a.mine & b.mine) or not (a.svc & b.svc):
        return True
    # networks match pod IPs too: a networks item and a pod item may share a flow
    overlap = (a.pods & b.pods) or (a.nets & b.nets) or (a.nets and b.pods) or (a.pods and b.nets)
    return not overlap


# --- the NetworkPolicy fallback ------------------------------------------------------------------


def _fallback(b: _Build) -> list[dict]:
    """The NetworkPolicy compiler's ingress policies cut to their ipBlock peers: they decide the flows
    from outside the cluster, which no ingress rule of these APIs can match (the Admin tier decides
    every flow from a pod, so what reaches them has an IP source)."""
    from ..compiler.synth import convert

    res = convert(b.rs, b.o.inventory)
    out = []
    why = {FALLBACK: f"ingress from outside the cluster ({b.f.kind} ingress peers are pods only)"}
    for pol in res.policies:
        spec = pol.get("spec") or {}
        if "Ingress" not in (spec.get("policyTypes") or []):
            continue
        rules = []
        for rule in spec.get("ingress") or []:
            peers = rule.get("from")
            if not peers:
                rules.append(rule)
                continue
            kept = [p for p in peers if "ipBlock" in p]
            if kept:
                rules.append({**rule, "from": kept})
        meta = dict(pol["metadata"])
        meta["annotations"] = {**(meta.get("annotations") or {}), **why}
        body = {"podSelector": spec.get("podSelector", {}), "policyTypes": ["Ingress"]}
        if rules:
            body["ingress"] = rules
        out.append({"apiVersion": pol["apiVersion"], "kind": pol["kind"], "metadata": meta, "spec": body})
    # a policy left without rules only isolates: redundant where its namespace's cleanup isolates every pod
    whole = {d["metadata"]["namespace"] for d in out if d["spec"]["podSelector"] == {} and "ingress" not in d["spec"]}
    out = [
        d
        for d in out
        if "ingress" in d["spec"] or d["spec"]["podSelector"] == {} or d["metadata"]["namespace"] not in whole
    ]
    mine = {id(r) for o in b.external_ingress for r in o.rules}
    default = any(not o.rules for o in b.external_ingress)
    for f in res.findings:
        if f.kind != "inexpressible":
            continue
        if any((r is None and default) or (r is not None and id(r) in mine) for r in f.rules):
            b.findings.append(
                Finding(
                    f.kind,
                    f"in the NetworkPolicy fallback for ingress from outside the cluster: {f.message}",
                    f.rule,
                    f.example,
                    others=f.others,
                )
            )
    seen = set()
    for o in b.external_ingress:
        for r in o.rules:
            if id(r) in seen:
                continue
            seen.add(id(r))
            b.findings.append(
                Finding(
                    "note",
                    f"its ingress from outside the cluster (e.g. {_address(o.src.nets)}) is decided by the "
                    f"NetworkPolicy fallback: {b.f.kind} ingress peers are pods only",
                    r,
                )
            )
    return out


def _summary(b: _Build, docs: list[dict]) -> None:
    admin = [d for d in docs if d["kind"] == b.f.kind and d["spec"].get("tier", "Admin") == "Admin"]
    base = [d for d in docs if d not in admin and d["kind"] in (b.f.kind, b.f.baseline_kind)]
    nps = [d for d in docs if d["kind"] == "NetworkPolicy"]
    top = max((d["spec"]["priority"] for d in admin), default=0)
    rules = sum(len(d["spec"].get(k) or []) for d in admin for k in ("ingress", "egress"))
    text = f"{b.f.kind}: {rules} rules in {len(admin)} Admin-tier policies (priorities 0-{top})"
    if base:
        text += f"; the cleanup in the Baseline tier ({len(base)} {b.f.baseline_kind})"
        if b.f.target == "anp":
            text += " (the cluster holds one, named default: another ruleset's replaces it)"
    if nps:
        ids = list(dict.fromkeys(r.id for o in b.external_ingress for r in o.rules))
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        text += (
            f"; ingress from outside the cluster goes to the NetworkPolicy tier ({len(nps)} NetworkPolicies, "
            f"the compiler's ipBlock rules) for rules {shown or 'none'} and the default"
        )
    b.findings.append(Finding("note", text))


# --- helpers ---------------------------------------------------------------------------------------


def _address(nets: IntervalSet) -> str:
    from ..compiler.findings import endpoint_text

    return endpoint_text(examples.address(nets), None) if nets else "-"


def _cidr_set(cidr: str) -> IntervalSet:
    net = netaddr.IPNetwork(cidr)
    return ip_range(int(net.first), int(net.last), net.version)


def _proto_names(svc: IntervalSet) -> str:
    from ..model.ruleset import proto_label

    protos = sorted(split_svc(svc))
    return ", ".join(proto_label(p) for p in protos[:4]) + (" ..." if len(protos) > 4 else "")


def _by_rule(rule) -> str:
    return f"rule {rule.id}" if rule is not None else "the default"


def _by(it: Item) -> str:
    if it.rules:
        return ("rule " if len(it.rules) == 1 else "rules ") + ", ".join(it.ids)
    return {"default": "the default", "cleanup": "the default"}.get(it.kind, f"the {it.kind} rule")


def _name_of(it: Item) -> str:
    return ("rule " if len(it.rules) == 1 else "rules ") + ", ".join(it.ids) if it.rules else ""


KIND_NAMES = {
    "default": "default",
    "cleanup": "default (cleanup)",
    "family": "address family guard",
    "decided-at-ingress": "pods whose ingress this ruleset decides",
    "pass-pods": "other pods: next tiers",
}


def _rule_name(it: Item) -> str:
    base = _name_of(it) or KIND_NAMES.get(it.kind, it.kind)
    if it.kind == "cleanup" and it.rules:
        base += " (cleanup)"
    elif it.kind == "narrowed":
        base += " (TCP/UDP/SCTP: an earlier deny of other protocols)"
    elif it.kind == "other-protocols":
        base += " (its other protocols)"
    elif it.kind == "except":
        base += f" except: as {it.via}"
    return _bounded(base, NAME_MAX)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bounded_list(ids: list[str], limit: int = 4096) -> str:
    out, size = [], 0
    for k, i in enumerate(ids):
        if size + len(i) + 2 > limit - 40:
            return ", ".join(out) + f" ... and {len(ids) - k} more"
        out.append(i)
        size += len(i) + 2
    return ", ".join(out)


# --- what the documents test (verify) ----------------------------------------------------------------


def cuts(docs: list[dict], target: str) -> PolicySource:
    """The selectors, CIDRs and ports the documents test (NetworkPolicies among them read as the verifier
    reads NetworkPolicies)."""
    src = PolicySource([])
    nps = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    if nps:
        src.extend(PolicySource(nps).scan())
    for doc in docs:
        if (doc.get("apiVersion"), doc.get("kind")) not in KINDS[target]:
            continue
        spec = doc.get("spec") or {}
        _cut_selection(spec.get("subject") or {}, src)
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(direction) or []:
                for peer in rule.get(key) or []:
                    if "networks" in peer:
                        for c in peer["networks"] or []:
                            try:
                                net = netaddr.IPNetwork(str(c))
                            except (netaddr.AddrFormatError, ValueError, TypeError):
                                raise src.fail(f"networks: {c!r} is not a CIDR", peer) from None
                            src.blocks.append((net.version, int(net.first), int(net.last)))
                    else:
                        _cut_selection(peer, src)
                for entry in rule.get("protocols") or rule.get("ports") or []:
                    _cut_port(entry, src)
    return src


def _cut_selection(obj: dict, src: PolicySource) -> None:
    if "namespaces" in obj:
        src.peers.append(("", parse_selector(obj["namespaces"], src), None))
    elif "pods" in obj:
        pods = obj["pods"] or {}
        src.peers.append(
            ("", parse_selector(pods.get("namespaceSelector"), src), parse_selector(pods.get("podSelector"), src))
        )


def _cut_port(entry: dict, src: PolicySource) -> None:
    for key, proto in (("tcp", 6), ("udp", 17), ("sctp", 132)):
        if key in entry:
            dp = (entry[key] or {}).get("destinationPort") or {}
            lo, hi = _span(dp.get("number"), dp.get("range") or {})
            src.protos.add(proto)
            src.ports.append((proto, lo, hi))
    if "destinationNamedPort" in entry:
        for proto in (6, 17, 132):
            src.port_names.add((str(entry["destinationNamedPort"]), proto))
    for key in ("portNumber", "portRange"):
        if key in entry:
            e = entry[key] or {}
            proto = {"TCP": 6, "UDP": 17, "SCTP": 132}.get(str(e.get("protocol", "TCP")).upper())
            if proto is None:
                raise src.fail(f"protocol {e.get('protocol')!r} must be TCP, UDP or SCTP", e)
            lo, hi = _span(e.get("port"), e) if key == "portNumber" else _span(None, e)
            src.protos.add(proto)
            src.ports.append((proto, lo, hi))


def _span(number, rng: dict) -> tuple[int, int]:
    if number is not None:
        return int(number), int(number)
    return int(rng.get("start", 1)), int(rng.get("end", 65535))


# --- the documents as a firewall table (reverse) -------------------------------------------------------


def table(docs: list[dict], inventory, target: str) -> FirewallTable:
    """Rows in evaluation order, per direction: the Admin tier by priority, the NetworkPolicy tier, the
    Baseline tier, then the API's default (allow)."""
    from ..reverse.table import build_table

    f = FLAVOURS[target]
    pols = [d for d in docs if (d.get("apiVersion"), d.get("kind")) in KINDS[target]]
    nps = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    admin = sorted((d for d in pols if _tier(d) == "Admin"), key=lambda d: (_priority(d), d["metadata"]["name"]))
    base = sorted((d for d in pols if _tier(d) == "Baseline"), key=lambda d: (_priority(d), d["metadata"]["name"]))
    # the NetworkPolicies isolate ingress only (the fallback): rows of directions they leave alone say nothing
    np_rows = [r for r in build_table(nps, inventory).rows if not r.policy.startswith("(not isolated")] if nps else []
    out = FirewallTable([])
    for direction in ("ingress", "egress"):
        for tier, group in (("Admin", admin), ("Baseline", base)):
            if tier == "Baseline":
                out.rows += [r for r in np_rows if r.direction == direction]
            for d in group:
                spec = d.get("spec") or {}
                target_text = _selection_text(spec.get("subject") or {})
                where = f"{d['kind']} {d['metadata']['name']} ({tier}" + (
                    f", priority {spec['priority']})" if "priority" in spec else ")"
                )
                for k, rule in enumerate(spec.get(direction) or []):
                    other = " or ".join(
                        _peer_text(p) for p in rule.get("from" if direction == "ingress" else "to") or []
                    )
                    src, dst = (other, target_text) if direction == "ingress" else (target_text, other)
                    action = str(rule.get("action", "")).lower()
                    action = {"accept": "allow", "pass": "pass (to the next tier)"}.get(action, action)
                    svc = _ports_text(rule.get("protocols") or rule.get("ports"))
                    out.rows.append(
                        Row(target_text, direction, action, src, dst, svc, f"{where} rule {k}: {rule.get('name', '')}")
                    )
    out.notes.append(
        f"{f.kind}: per direction the Admin tier's rules decide first (policies by priority, rules in order; "
        "the first Accept/Allow or Deny decides, Pass goes to the next tier), then the NetworkPolicies that "
        "select the pod, then the Baseline tier; a flow no tier decides is allowed. Each policy applies only "
        "to the pods of its subject (the target column)."
    )
    if nps:
        out.notes.append("The NetworkPolicy rows decide ingress from addresses outside the cluster (ipBlocks).")
    return out


def _tier(d: dict) -> str:
    if d.get("kind") == "BaselineAdminNetworkPolicy":
        return "Baseline"
    if d.get("kind") == "AdminNetworkPolicy":
        return "Admin"
    return (d.get("spec") or {}).get("tier", "Admin")


def _priority(d: dict) -> int:
    p = (d.get("spec") or {}).get("priority", 0)
    return p if isinstance(p, int) else 0


def _selection_text(obj: dict) -> str:
    if "namespaces" in obj:
        ns = namespaces_text(obj["namespaces"])
        return "all pods" if ns == "all namespaces" else f"all pods in {ns}"
    pods = obj.get("pods") or {}
    where = namespaces_text(pods.get("namespaceSelector"))
    text = selector_text(pods.get("podSelector"))
    return f"pods {text} in {where}" if text else f"all pods in {where}"


def _peer_text(p: dict) -> str:
    if "networks" in p:
        return ", ".join(str(c) for c in p["networks"] or [])
    return _selection_text(p)


def _ports_text(entries) -> str:
    if not entries:
        return "any service"
    out = []
    for e in entries:
        for key in ("tcp", "udp", "sctp"):
            if key in e:
                dp = (e[key] or {}).get("destinationPort") or {}
                rng = dp.get("range") or {}
                out.append(f"{key}/{dp['number']}" if "number" in dp else f"{key}/{rng.get('start')}-{rng.get('end')}")
        if "destinationNamedPort" in e:
            out.append(f"port {e['destinationNamedPort']} (named port)")
        if "portNumber" in e:
            pn = e["portNumber"] or {}
            out.append(f"{str(pn.get('protocol', 'TCP')).lower()}/{pn.get('port')}")
        if "portRange" in e:
            pr = e["portRange"] or {}
            out.append(f"{str(pr.get('protocol', 'TCP')).lower()}/{pr.get('start')}-{pr.get('end')}")
    return ", ".join(out)


__all__ = ["build", "cuts", "evaluator", "kinds", "table"]
