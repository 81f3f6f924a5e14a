"""Calico target: the ordered model as projectcalico.org/v3 GlobalNetworkPolicies (default tier).

Per governed direction one GlobalNetworkPolicy (`<prefix>-ingress`, `<prefix>-egress`; one more at
the next `order` every 1,024 rules, the CRD's limit) selects the ruleset's subjects and lists the
ordered rules of `Ordered.direction` in order: one Calico rule per ordered rule wherever a side maps to
one selector or one list of nets, the source rule ids in the rule's `metadata.annotations`
(`fw2np.io/rules`).  Calico matches the first Allow or Deny of the tier, so denies stay denies and
the ruleset's default is the last rule.

* Pods are selected by Calico selector expressions over the pod's labels and the automatic
  `projectcalico.org/namespace` label (`projectcalico.org/namespace == 'shop' && app in {'a','b'}`),
  pods of namespaces outside the inventory with `has(projectcalico.org/orchestrator) && ...`
  (workload endpoints only: no network set or host endpoint).  A selector is at most 1,024
  characters: a longer union becomes several rules.
* External addresses are `nets` / `notNets` (excepts), one address family per rule.  Calico matches
  nets against pod IPs too: the nets never hold a pod CIDR address, and without pod CIDRs in the
  inventory (a pod may then have any IP) a net rule also has `notSelector:
  has(projectcalico.org/orchestrator)`, so no pod is ever matched by it.  A side of every external
  address and some pods is one `notSelector` of the other pods.  A list of more than 256 CIDRs, or
  one that many rules share, is a `GlobalNetworkSet` selected by its `fw2np.io/set` label.
* Services: `protocol` (or `notProtocol` for everything but one protocol), `destination.ports` /
  `notPorts` with ranges ("8000:8100", at most 50 a rule), ICMP / ICMPv6 types as `icmp: {type}`
  (one a rule; `notICMP` for all types but one): exact.  What Calico cannot name (protocol 0 alone,
  ICMP type 255 alone, a pod union whose selector cannot be split under 1,024 characters) is left
  out of an allow and widened in a deny, with an `inexpressible` finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..compiler.findings import Finding, flow_text
from ..compiler.universe import FAMILIES
from ..model.inventory import NAME_LABEL
from ..model.ruleset import port_domain
from ..model.space import PROTO_SHIFT, IntervalSet, split_svc
from . import CALICO, KINDS, RULESET_LABEL
from .ordered import Ordered, ORule, Side

MANAGED = ("app.kubernetes.io/managed-by", "fw2np")
NS_KEY = "projectcalico.org/namespace"
ORCH_KEY = "projectcalico.org/orchestrator"
PODS = f"has({ORCH_KEY})"
SET_KEY = "fw2np.io/set"
RULES_KEY = "fw2np.io/rules"
MAX_RULES, MAX_NETS, MAX_PORTS, MAX_SELECTOR = 1024, 256, 50, 1024
ORDER = 100
PROTO_NAMES = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6", 132: "SCTP", 136: "UDPLite"}
KIND_NOTES = {"default": "(default)", "family": "(family)", "decided-at-ingress": "(decided-at-ingress)"}


def kinds(target: str) -> set[tuple[str, str]]:
    return set(KINDS["calico"])


def evaluator(docs: list[dict], namespaces: dict, target: str):
    """The brute-force Calico evaluator (evaluate/calico.py) over DOCS."""
    from ..evaluate.calico import CalicoEvaluator

    return CalicoEvaluator(docs, namespaces)


def build(ordered: Ordered, prefix: str, target: str) -> list[dict]:
    """The documents: the GlobalNetworkPolicies of each governed direction, then the network sets."""
    return _Renderer(ordered, prefix).documents()


# --- selectors ---------------------------------------------------------------------------------


def _q(v: str) -> str:
    return f"'{v}'"


def _values(vals) -> str:
    return "{" + ",".join(_q(v) for v in vals) + "}"


def _req(key: str, op: str, vals: tuple) -> str:
    if op == "In":
        return f"{key} == {_q(vals[0])}" if len(vals) == 1 else f"{key} in {_values(vals)}"
    if op == "NotIn":
        return f"{key} != {_q(vals[0])}" if len(vals) == 1 else f"{key} not in {_values(vals)}"
    if op == "Exists":
        return f"has({key})"
    return f"!has({key})"


def _reqs(sel: dict) -> list[tuple[str, str, tuple]]:
    """A LabelSelector as (key, op, values) requirements."""
    out = [(k, "In", (str(v),)) for k, v in sorted((sel.get("matchLabels") or {}).items())]
    out += [(e["key"], e["operator"], tuple(e.get("values") or ())) for e in sel.get("matchExpressions") or []]
    return out


def _ns_names(sel: dict) -> tuple[list[str], bool]:
    """The namespace names a namespaceSelector of ordered.peers names, and whether it negates them."""
    if "matchLabels" in sel:
        return [sel["matchLabels"][NAME_LABEL]], False
    (e,) = sel["matchExpressions"]
    return list(e["values"]), e["operator"] == "NotIn"


def _ns_test(names: list[str]) -> str:
    return _req(NS_KEY, "In", tuple(sorted(names)))


@dataclass
class _Term:
    """One alternative of a selector: a namespace test and pod alternatives (each a list of requirements;
    none: every pod of those namespaces)."""

    ns: str
    alts: list[list[tuple[str, str, tuple]]] = field(default_factory=list)
    names: tuple = ()  # the namespaces of an In test (to split a long one)

    def text(self) -> str:
        if not self.alts:
            return self.ns
        parts = [" && ".join(_req(*r) for r in alt) for alt in self.alts]
        if any(not p for p in parts):
            return self.ns
        if len(parts) == 1:
            return f"{self.ns} && {parts[0]}"
        return f"{self.ns} && ({' || '.join(parts)})"

    def split(self) -> list[_Term] | None:
        """Two or more terms whose union is this one, each shorter; None if it cannot be split."""
        if len(self.alts) > 1:
            h = len(self.alts) // 2
            return [_Term(self.ns, self.alts[:h], self.names), _Term(self.ns, self.alts[h:], self.names)]
        if self.alts:
            alt = self.alts[0]
            for k, (key, op, vals) in enumerate(alt):
                if op == "In" and len(vals) > 1:
                    h = len(vals) // 2
                    return [
                        _Term(self.ns, [alt[:k] + [(key, op, vals[:h])] + alt[k + 1 :]], self.names),
                        _Term(self.ns, [alt[:k] + [(key, op, vals[h:])] + alt[k + 1 :]], self.names),
                    ]
        if len(self.names) > 1:
            h = len(self.names) // 2
            a, b = self.names[:h], self.names[h:]
            return [_Term(_ns_test(a), self.alts, a), _Term(_ns_test(b), self.alts, b)]
        return None


def _join(texts: list[str]) -> list[str]:
    """TEXTS (selector terms) ORed into as few selectors of at most 1,024 characters as they fit."""
    out: list[str] = []
    for text in texts:
        if out and len(out[-1]) + 4 + len(text) <= MAX_SELECTOR:
            out[-1] += " || " + text
        else:
            out.append(text)
    return out


# --- services ----------------------------------------------------------------------------------


def _proto(p: int):
    return PROTO_NAMES.get(p, p)


def _port(lo: int, hi: int):
    return lo if lo == hi else f"{lo}:{hi}"


def _ports(p: int, ivs: list[tuple[int, int]]) -> list[tuple[dict, dict]]:
    dlo, dhi = port_domain(p)
    comp, cur = [], dlo
    for lo, hi in ivs:
        if lo > cur:
            comp.append((cur, lo - 1))
        cur = hi + 1
    if cur <= dhi:
        comp.append((cur, dhi))
    fmt = [_port(*c) for c in ivs]
    if comp and len(comp) <= MAX_PORTS and len(str([_port(*c) for c in comp])) < len(str(fmt)):
        return [({"protocol": _proto(p)}, {"notPorts": [_port(*c) for c in comp]})]
    return [({"protocol": _proto(p)}, {"ports": fmt[k : k + MAX_PORTS]}) for k in range(0, len(ivs), MAX_PORTS)]


def _types(p: int, ivs: list[tuple[int, int]]) -> tuple[list[tuple[dict, dict]], list[int]]:
    types = [t for lo, hi in ivs for t in range(lo, hi + 1)]
    if len(types) == 256:
        return [({"protocol": _proto(p)}, {})], []
    comp = sorted(set(range(256)) - set(types))
    if len(comp) == 1 and comp[0] <= 254:
        return [({"protocol": _proto(p), "notICMP": {"type": comp[0]}}, {})], []
    frags = [({"protocol": _proto(p), "icmp": {"type": t}}, {}) for t in types if t <= 254]
    return frags, ([(p << PROTO_SHIFT) | 255] if 255 in types else [])


def services(svc: IntervalSet) -> tuple[list[tuple[dict, dict]], list[int]]:
    """Fragments (rule fields, destination fields) whose union is SVC, and the service points
    (proto << 16 | port) Calico cannot say alone, left out of the fragments."""
    by = split_svc(svc)
    whole = {p for p, ivs in by.items() if ivs == [port_domain(p)]}
    if len(whole) == 256:
        return [({}, {})], []
    missing = [p for p in range(256) if p not in whole]
    frags: list[tuple[dict, dict]] = []
    bad: list[int] = []
    if len(missing) == 1 and missing[0] != 0:
        q = missing[0]
        frags.append(({"notProtocol": _proto(q)}, {}))
        todo = [(q, by[q])] if q in by else []
    else:
        todo = sorted(by.items())
    for p, ivs in todo:
        if p in whole and p not in (1, 58):
            if p == 0:
                bad.append(0)  # protocol 0 has no name in a Calico rule (1-255)
            else:
                frags.append(({"protocol": _proto(p)}, {}))
        elif p in (6, 17, 132):
            frags += _ports(p, ivs)
        else:
            got, b = _types(p, ivs)
            frags += got
            bad += b
    return frags, bad


def _wider(svc: IntervalSet, bad: list[int]) -> tuple[list[tuple[dict, dict]], int | None]:
    """For a deny: fragments covering SVC and more (the inexpressible points BAD included), and a
    service point they take in that SVC does not hold (None if none)."""
    by = split_svc(svc)
    if any(v >> PROTO_SHIFT not in (1, 58) for v in bad):  # protocol 0: everything but a protocol SVC lacks
        free = [q for q in range(1, 256) if q not in by]
        if not free:
            return [({}, {})], None
        extra = free[1] if len(free) > 1 else None
        return [({"notProtocol": _proto(free[0])}, {})], None if extra is None else (extra << PROTO_SHIFT)
    frags, _ = services(svc)
    extra = None
    for v in bad:  # ICMP type 255: every type of the protocol but one SVC lacks
        p = v >> PROTO_SHIFT
        types = {t for lo, hi in by[p] for t in range(lo, hi + 1)}
        free = [t for t in range(255) if t not in types]
        frags = [f for f in frags if f[0].get("protocol") != _proto(p)]
        frags.append(({"protocol": _proto(p), "notICMP": {"type": free[0]}}, {}))
        if len(free) > 1 and extra is None:
            extra = (p << PROTO_SHIFT) | free[1]
    return frags, extra


# --- rendering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Nets:
    """A placeholder for a list of CIDRs (one family) with excepts: inline or a GlobalNetworkSet."""

    cidrs: tuple
    excepts: tuple


def _ids(r: ORule) -> str:
    return ",".join(r.ids) if r.rules else KIND_NOTES.get(r.kind, f"({r.kind})")


class _Renderer:
    def __init__(self, ordered: Ordered, prefix: str):
        self.o, self.prefix = ordered, prefix
        self.uni = ordered.universe
        self.labels = dict([MANAGED, (RULESET_LABEL, prefix)])
        self._sel: dict = {}
        self._wide: dict = {}  # pod classes -> selectors of a superset, when theirs cannot be written
        self.uses: dict[_Nets, int] = {}
        self.sets: dict[tuple, str] = {}
        self.set_docs: list[dict] = []
        # pod-to-pod flows are decided at the destination's ingress (Ordered.direction): in egress rules
        # after the first, flows to subjects are already allowed, so a side may take them in or leave them
        self.at_ingress = "ingress" in ordered.directions and bool(ordered.subjects)

    # --- selectors ---

    def selectors(self, pods) -> tuple[list[str], bool]:
        """Selector expressions (each at most 1,024 characters) whose union is the pods of PODS, and
        whether they are exact (False: a term too long to split was left out)."""
        key = frozenset(a.index for a in pods)
        if key not in self._sel:
            self._sel[key] = self._selectors(pods)
        return self._sel[key]

    def _selectors(self, pods) -> tuple[list[str], bool]:
        peers = self.o.peers(tuple(pods))
        if peers == [{}]:
            return [PODS], True
        terms: list[_Term] = []
        per_ns: dict[str, list] = {}
        for p in peers:
            names, negate = _ns_names(p["namespaceSelector"])
            if "podSelector" in p:
                per_ns.setdefault(names[0], []).append(_reqs(p["podSelector"]))
            elif negate:
                terms.append(_Term(f"{PODS} && {_req(NS_KEY, 'NotIn', tuple(sorted(names)))}" if names else PODS))
            else:
                terms.append(_Term(_ns_test(names), names=tuple(sorted(names))))
        by_alts: dict[str, tuple[list, list[str]]] = {}
        for ns, alts in per_ns.items():
            k = repr(sorted(alts))
            by_alts.setdefault(k, (alts, []))[1].append(ns)
        for alts, nss in by_alts.values():
            terms.append(_Term(_ns_test(nss), alts, tuple(sorted(nss))))
        texts, wide = [], []
        while terms:
            t = terms.pop(0)
            text = t.text()
            if len(text) <= MAX_SELECTOR:
                texts.append(text)
                continue
            parts = t.split()
            if parts is None:
                wide.append(t.ns if len(t.ns) <= MAX_SELECTOR else PODS)  # a superset: its namespaces
            else:
                terms[:0] = parts
        self._wide[frozenset(a.index for a in pods)] = _join(texts + wide)
        return _join(texts), not wide

    def pod_frags(self, pods, allow: bool, r: ORule) -> list[dict]:
        sels, exact = self.selectors(pods)
        if not exact:
            self.finding(r, "a selector of these pods would be longer than Calico's 1,024 characters", allow)
            if not allow:
                sels = self._wide[frozenset(a.index for a in pods)]
        return [{"selector": s} for s in sels]

    def here_frags(self, mine, subjects: frozenset, allow: bool, r: ORule) -> list:
        """The local endpoint's test: none when it is every subject, else a selector of MINE."""
        return [{}] if {a.index for a in mine} == subjects else self.pod_frags(mine, allow, r)

    # --- sides ---

    def side_frags(self, side: Side, allow: bool, r: ORule, free: frozenset = frozenset()) -> list:
        """Entity fragments whose union is SIDE (FREE: pod classes already decided, either way)."""
        uni = self.uni
        chosen = {a.index for a in side.pods} | free
        if len(chosen) == len(uni.pod_classes) and uni.external.issubset(side.nets | uni.dont_care):
            return [{}]
        if uni.external.issubset(side.nets | uni.dont_care):
            # every external address and some pods: everything but the other pods
            rest = tuple(a for a in uni.pod_classes if a.index not in chosen)
            sels, exact = self.selectors(rest)
            if exact and len(sels) == 1:
                return [{"notSelector": sels[0]}]
        out: list = []
        if side.pods:
            pods = side.pods
            if free:
                wider = tuple(a for a in uni.pod_classes if a.index in chosen)
                if sum(map(len, self.selectors(wider)[0])) < sum(map(len, self.selectors(pods)[0])):
                    pods = wider
            out += self.pod_frags(pods, allow, r)
        for whole in FAMILIES.values():
            part = side.nets & whole
            if part:
                blocks = self.o.blocks(part)
                ref = _Nets(tuple(c for c, _ in blocks), tuple(e for _, ex in blocks for e in ex))
                self.uses[ref] = self.uses.get(ref, 0) + 1
                out.append(ref)
        return out

    # --- rules ---

    def finding(self, r: ORule, what: str, allow: bool, v: int | None = None) -> None:
        uni = self.uni
        s = r.src.pods[0].point if r.src.pods else r.src.nets.first() if r.src.nets else None
        d = r.dst.pods[0].point if r.dst.pods else r.dst.nets.first() if r.dst.nets else None
        example = None
        if s is not None and d is not None:
            example = flow_text(s, d, v if v is not None else r.services.first(), uni)
        effect = "left out of the allow (denied)" if allow else "the deny is widened (denies more)"
        self.o.findings.append(
            Finding(
                "inexpressible",
                f"{what}: {effect} in Calico",
                r.rules[0] if r.rules else None,
                example,
                others=tuple(r.rules[1:]),
            )
        )

    def rules(self, direction: str) -> list[dict]:
        subjects = frozenset(a.index for a in self.o.subjects)
        here, there = ("dst", "src") if direction == "ingress" else ("src", "dst")
        out: list[dict] = []
        for r in self.o.direction(direction):
            allow = r.allow
            frags, bad = services(r.services)
            if bad:
                if allow:
                    for v in bad:
                        what = "protocol 0" if v == 0 else f"{'ICMPv6' if v >> PROTO_SHIFT == 58 else 'ICMP'} type 255"
                        self.finding(r, f"{what} cannot be named alone in a Calico rule", allow, v)
                else:
                    frags, extra = _wider(r.services, bad)
                    self.finding(r, "protocol 0 or ICMP type 255 cannot be named alone in a Calico rule", allow, extra)
            if not frags:
                continue
            mine = getattr(r, here).pods
            here_frags = self.here_frags(mine, subjects, allow, r)
            free = subjects if direction == "egress" and self.at_ingress else frozenset()
            there_frags = self.side_frags(getattr(r, there), allow, r, free)
            meta = {"annotations": {RULES_KEY: _ids(r)}}
            for h in here_frags:
                for t in there_frags:
                    src, dst = (t, h) if direction == "ingress" else (h, t)
                    for fields, dest in frags:
                        rule = {"action": "Allow" if allow else "Deny", "metadata": meta, **fields}
                        if src:
                            rule["source"] = src
                        if dest or dst:
                            rule["destination"] = (dst, dest)
                        out.append(rule)
        return out

    # --- network sets ---

    def _set_name(self, nets: tuple) -> str:
        if nets not in self.sets:
            name = f"{self.prefix}-net-{len(self.sets) + 1}"
            self.sets[nets] = name
            self.set_docs.append(
                {
                    "apiVersion": CALICO,
                    "kind": "GlobalNetworkSet",
                    "metadata": {"name": name, "labels": {**self.labels, SET_KEY: name}},
                    "spec": {"nets": list(nets)},
                }
            )
        return self.sets[nets]

    def nets_entity(self, ref: _Nets) -> dict:
        """The entity fields of REF: inline nets, or a network set when too long or shared enough."""
        uses = self.uses.get(ref, 1)
        inline = sum(len(c) + 2 for c in ref.cidrs + ref.excepts) + 12
        as_set = 240 + sum(len(c) + 4 for c in ref.cidrs) + uses * 40
        too_long = len(ref.cidrs) > MAX_NETS
        if too_long or (uses > 1 and as_set < uses * inline - len(ref.excepts) * 4 * uses):
            out = {"selector": f"{SET_KEY} == {_q(self._set_name(ref.cidrs))}"}
        else:
            out = {"nets": list(ref.cidrs)}
        # Calico matches nets against pod IPs too: without pod CIDRs (where pods may have any IP) a net
        # rule leaves every pod out; with them, the nets hold no pod CIDR address
        pods = [] if self.uni.inv.pod_cidrs else [PODS]
        if len(ref.excepts) > MAX_NETS:
            out["notSelector"] = " || ".join(pods + [f"{SET_KEY} == {_q(self._set_name(ref.excepts))}"])
        else:
            if ref.excepts:
                out["notNets"] = list(ref.excepts)
            if pods:
                out["notSelector"] = PODS
        return out

    def finish(self, rule: dict) -> dict:
        for key in ("source", "destination"):
            got = rule.get(key)
            if got is None:
                continue
            dest = {}
            if isinstance(got, tuple):
                got, dest = got
            ent = self.nets_entity(got) if isinstance(got, _Nets) else dict(got)
            ent.update(dest)
            if ent:
                rule[key] = ent
            else:
                del rule[key]
        return rule

    # --- documents ---

    def documents(self) -> list[dict]:
        drafts = []
        for direction in ("ingress", "egress"):
            if direction not in self.o.directions or not self.o.subjects:
                continue
            drafts.append((direction, self.rules(direction)))
        subject_sels, exact = self.selectors(self.o.subjects) if self.o.subjects else ([], True)
        if not exact:
            raise ValueError("the governed pods need a selector longer than Calico's 1,024 characters")
        docs: list[dict] = []
        for direction, rules in drafts:
            rules = [self.finish(r) for r in rules]
            chunks = [rules[k : k + MAX_RULES] for k in range(0, len(rules), MAX_RULES)] or [[]]
            n = 0
            for sel in subject_sels:
                for k, chunk in enumerate(chunks):
                    n += 1
                    name = f"{self.prefix}-{direction}" + (f"-{n}" if n > 1 else "")
                    spec = {"order": ORDER + k, "selector": sel, "types": [direction.capitalize()], direction: chunk}
                    docs.append(
                        {
                            "apiVersion": CALICO,
                            "kind": "GlobalNetworkPolicy",
                            "metadata": {"name": name, "labels": dict(self.labels)},
                            "spec": spec,
                        }
                    )
        return docs + self.set_docs


# --- verify's cuts ---------------------------------------------------------------------------


def _calico_docs(docs: list[dict]) -> list[dict]:
    out = []
    for d in docs:
        if not isinstance(d, dict):
            continue
        if d.get("kind") == "List" or (str(d.get("kind", "")).endswith("List") and "items" in d):
            out += _calico_docs(list(d.get("items") or []))
        elif d.get("apiVersion") == CALICO:
            out.append(d)
    return out


MAX_TERMS = 256


def _dnf(node, negate: bool = False):
    """NODE (evaluate.calico.Node) in disjunctive normal form: [[(key, op, values) | True | False]];
    None when larger than MAX_TERMS terms."""
    op = node.op
    if op == "not":
        return _dnf(node.args[0], not negate)
    if op in ("and", "or"):
        conj = (op == "and") != negate
        parts = [_dnf(a, negate) for a in node.args]
        if any(p is None for p in parts):
            return None
        if not conj:
            out = [t for p in parts for t in p]
            return out if len(out) <= MAX_TERMS else None
        out = [[]]
        for p in parts:
            out = [a + b for a in out for b in p]
            if len(out) > MAX_TERMS:
                return None
        return out
    if op == "all":
        return [[not negate]]
    if op == "global":
        return [[negate]]  # no pod and no namespace is non-namespaced
    if op == "has":
        return [[(node.key, "DoesNotExist" if negate else "Exists", frozenset())]]
    vals = frozenset(node.values)
    positive = {"eq": "In", "in": "In", "ne": "NotIn", "notin": "NotIn"}.get(op)
    if positive is None:
        raise ValueError(f"verify cannot cut on the selector operator {op!r} (key {node.key})")
    if negate:
        positive = "NotIn" if positive == "In" else "In"
    return [[(node.key, positive, vals)]]


def _terms(text: str | None, namespace_side: bool):
    """A selector's DNF terms as (namespace requirements, pod requirements); None: too large."""
    from ..evaluate.calico import parse_selector

    if text is None or text == "":
        return [((), ())]
    terms = _dnf(parse_selector(text))
    if terms is None:
        return None
    out = []
    for t in terms:
        ns_reqs, pod_reqs, alive = [], [], True
        for atom in t:
            if atom is True:
                continue
            if atom is False:
                alive = False
                break
            key, op, vals = atom
            if namespace_side:
                ns_reqs.append((NAME_LABEL if key == "projectcalico.org/name" else key, op, vals))
            elif key == NS_KEY:
                ns_reqs.append((NAME_LABEL, op, vals))
            elif key == ORCH_KEY:
                holds = op == "Exists" or (op == "In" and "k8s" in vals) or (op == "NotIn" and "k8s" not in vals)
                if not holds:
                    alive = False
                    break
            else:
                pod_reqs.append((key, op, vals))
        if alive:
            out.append((tuple(ns_reqs), tuple(pod_reqs)))
    return out


def _atoms(text: str | None, namespace_side: bool):
    """Every atom of a selector as its own term (a finer cut when the DNF is too large)."""
    from ..evaluate.calico import parse_selector

    out = []

    def walk(node):
        if node.op in ("and", "or", "not"):
            for a in node.args:
                walk(a)
        elif node.op not in ("all", "global"):
            got = _terms_of_atom(node, namespace_side)
            out.extend(got)

    walk(parse_selector(text or ""))
    return out or [((), ())]


def _terms_of_atom(node, namespace_side: bool):
    from ..evaluate.calico import Node

    wrapped = Node("and", args=(node,))
    terms = _dnf(wrapped)
    res = []
    for t in terms or []:
        for atom in t:
            if isinstance(atom, tuple):
                key, op, vals = atom
                if namespace_side or key == NS_KEY:
                    k = NAME_LABEL if key in ("projectcalico.org/name", NS_KEY) else key
                    res.append((((k, op, vals),), ()))
                elif key != ORCH_KEY:
                    res.append(((), ((key, op, vals),)))
    return res


def cuts(docs: list[dict], target: str):
    """What the documents test, for verify's partition: every selector (namespaces and pods), CIDR,
    port range, ICMP type and protocol."""
    import netaddr

    from ..evaluate.calico import PORT_PROTOCOLS, parse_port, protocol_number
    from ..verify.selectors import Sel
    from ..verify.source import PolicySource

    src = PolicySource([])

    def sel(reqs) -> Sel:
        return Sel(tuple(sorted(reqs, key=lambda r: (r[0], r[1], sorted(r[2])))))

    def terms(text, namespace_side):
        got = _terms(text, namespace_side)
        return _atoms(text, namespace_side) if got is None else got

    def add(ns: str | None, sel_text, ns_text, where: str):
        """Peers for an endpoint selector SEL_TEXT within namespace selector NS_TEXT (or namespace NS)."""
        try:
            pods = terms(sel_text, False)
            spaces = terms(ns_text, True) if ns_text else [((), ())]
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        scope = ((NAME_LABEL, "In", frozenset([ns])),) if ns is not None and not ns_text else ()
        for nsr, _ in spaces:
            for pnsr, podr in pods:
                src.peers.append((ns or "", sel(scope + nsr + pnsr), sel(podr)))

    def cidr(c, where):
        try:
            net = netaddr.IPNetwork(str(c))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            raise ValueError(f"{where}: {c!r} is not a valid CIDR") from None
        src.blocks.append((net.version, int(net.first), int(net.last)))

    for d in _calico_docs(docs):
        kind = d.get("kind")
        meta, spec = d.get("metadata") or {}, d.get("spec") or {}
        name = meta.get("name")
        ns = (meta.get("namespace") or "default") if kind in ("NetworkPolicy", "NetworkSet") else None
        where = f"{kind} {name}"
        if kind in ("GlobalNetworkSet", "NetworkSet"):
            for c in spec.get("nets") or []:
                cidr(c, where)
            continue
        if kind not in ("GlobalNetworkPolicy", "NetworkPolicy"):
            continue
        if ns is not None:
            src.ns_of.append(ns)
        add(ns, spec.get("selector"), spec.get("namespaceSelector"), f"{where}: spec.selector")
        for key in ("ingress", "egress"):
            for i, r in enumerate(spec.get(key) or []):
                r = r or {}
                at = f"{where}: spec.{key}[{i}]"
                protos = [
                    protocol_number(r[k], f"{at}.{k}") for k in ("protocol", "notProtocol") if r.get(k) is not None
                ]
                src.protos |= set(protos)
                p = protocol_number(r["protocol"], at) if r.get("protocol") is not None else None
                for k in ("icmp", "notICMP"):
                    t = (r.get(k) or {}).get("type")
                    if t is not None and p is not None:
                        src.ports.append((p, int(t), int(t)))
                for side in ("source", "destination"):
                    e = r.get(side) or {}
                    for k in ("nets", "notNets"):
                        for c in e.get(k) or []:
                            cidr(c, f"{at}.{side}.{k}")
                    for k in ("selector", "notSelector"):
                        if e.get(k) or (k == "selector" and e.get("namespaceSelector")):
                            add(ns, e.get(k), e.get("namespaceSelector"), f"{at}.{side}.{k}")
                    for k in ("ports", "notPorts"):
                        for j, v in enumerate(e.get(k) or []):
                            spec_ = parse_port(v, f"{at}.{side}.{k}[{j}]")
                            if p not in PORT_PROTOCOLS:
                                continue
                            if spec_.name is not None:
                                src.port_names.add((spec_.name, p))
                            elif spec_.hi >= 1:
                                src.ports.append((p, max(1, spec_.lo), min(65535, spec_.hi)))
    return src


# --- reverse ---------------------------------------------------------------------------------


@dataclass
class _Pol:
    namespace: str
    name: str
    annotations: dict


def table(docs: list[dict], inventory, target: str):
    """The documents as a first-match table: per policy subject and direction, the rules of every
    policy in Calico's evaluation order (tier, order, name), then the tier's end (deny)."""
    from ..reverse.table import FirewallTable, Row

    names = _Names(docs, inventory)
    pols = []
    for d in _calico_docs(docs):
        if d.get("kind") not in ("GlobalNetworkPolicy", "NetworkPolicy"):
            continue
        meta, spec = d.get("metadata") or {}, d.get("spec") or {}
        ns = (meta.get("namespace") or "default") if d["kind"] == "NetworkPolicy" else None
        order = spec.get("order")
        pols.append((spec.get("tier") or "default", float("inf") if order is None else float(order), meta, ns, spec))
    pols.sort(key=lambda p: (p[0] != "default", p[0], p[1], str(p[2].get("name"))))
    rows: list = []
    ends: dict[tuple[str, str], str] = {}
    for _, _, meta, ns, spec in pols:
        name = str(meta.get("name") or "")
        ref = f"{ns}/{name}" if ns else name
        subject = names.selector(spec.get("selector") or "all()", ns, spec.get("namespaceSelector"))
        ingress, egress = spec.get("ingress") or [], spec.get("egress") or []
        types = spec.get("types") or (
            ["Egress"] if egress and not ingress else ["Ingress", "Egress"] if egress else ["Ingress"]
        )
        for direction in ("ingress", "egress"):
            if direction.capitalize() not in types:
                continue
            for i, r in enumerate(spec.get(direction) or []):
                r = r or {}
                ids = ((r.get("metadata") or {}).get("annotations") or {}).get(RULES_KEY)
                s = names.entity(r.get("source"), ns, subject if direction == "egress" else None)
                t = names.entity(r.get("destination"), ns, subject if direction == "ingress" else None)
                policy = f"{ref} {direction} rule {i}" + (f" (rules {ids})" if ids else "")
                rows.append(Row(subject, direction, str(r.get("action", "")).lower(), s, t, _service_text(r), policy))
            ends[(subject, direction)] = ref
    for (subject, direction), ref in ends.items():
        src, dst = ("any", subject) if direction == "ingress" else (subject, "any")
        rows.append(Row(subject, direction, "deny", src, dst, "any service", f"end of tier default (after {ref})"))
    rows.sort(key=lambda row: ([k for k, _ in ends].index(row.target), row.direction != "ingress"))
    notes = [
        "Calico evaluates the policies of a tier in order and each policy's rules in order: the first Allow "
        "or Deny decides; an endpoint a policy of the tier selects and no rule matches is denied at the "
        "tier's end.",
        "Endpoints selected by no policy fall to their profile: everything is allowed to and from them.",
    ]
    return FirewallTable(
        rows,
        notes,
        [_Pol(ns or "", str(m.get("name") or ""), dict(m.get("annotations") or {})) for _, _, m, ns, _ in pols],
    )


def _service_text(r: dict) -> str:
    parts = []
    proto = r.get("protocol")
    if r.get("notProtocol") is not None:
        parts.append(f"any but {str(r['notProtocol']).lower()}")
    dst = r.get("destination") or {}
    if proto is None and not parts:
        return "any service"
    if proto is not None:
        p = str(proto).lower()
        if dst.get("ports"):
            parts.append(", ".join(f"{p}/{str(x).replace(':', '-')}" for x in dst["ports"]))
        elif dst.get("notPorts"):
            parts.append(f"{p} but ports " + ", ".join(str(x).replace(":", "-") for x in dst["notPorts"]))
        elif r.get("icmp") and (r["icmp"] or {}).get("type") is not None:
            parts.append(f"{p} type {r['icmp']['type']}")
        elif r.get("notICMP") and (r["notICMP"] or {}).get("type") is not None:
            parts.append(f"{p} but type {r['notICMP']['type']}")
        else:
            parts.append(p)
    return "; ".join(parts)


class _Names:
    """Selector expressions shown as workloads of the inventory where they name exactly one or more."""

    def __init__(self, docs: list[dict], inventory):
        self.inv = inventory
        self.sets = {}
        for d in _calico_docs(docs):
            if d.get("kind") == "GlobalNetworkSet":
                labels = (d.get("metadata") or {}).get("labels") or {}
                if SET_KEY in labels:
                    self.sets[str(labels[SET_KEY])] = list((d.get("spec") or {}).get("nets") or [])
        self.workloads = {}
        if inventory is not None:
            for w in inventory.workloads.values():
                ns_part = [(NAME_LABEL, "In", frozenset([w.namespace]))]
                key = (_canon(ns_part), _canon((k, "In", frozenset([v])) for k, v in w.labels.items()))
                self.workloads[key] = f"{w.namespace}/{w.name}"

    def selector(self, text: str, ns: str | None = None, ns_text: str | None = None) -> str:
        """A selector in words: workloads by name, pods by labels and namespaces; else the expression."""
        set_name = _set_of(text)
        if set_name is not None and set_name in self.sets:
            return ", ".join(self.sets[set_name]) or f"network set {set_name}"
        try:
            terms = _terms(text, False)
        except ValueError:
            terms = None
        if terms is None or ns_text or ns is not None:
            where = f" in namespace {ns}" if ns else ""
            if ns_text:
                where += f" in namespaces {ns_text}"
            return f"{text}{where}"
        if not terms:
            return "nothing"
        return " or ".join(self._term(nsr, podr) for nsr, podr in terms)

    def _term(self, nsr, podr) -> str:
        name = self.workloads.get((_canon(nsr), _canon(podr)))
        if name is not None:
            return name
        where = []
        for _, op, vals in nsr:
            names = ", ".join(sorted(vals))
            if op == "In":
                where.append(f"namespace{'s' if len(vals) > 1 else ''} {names}")
            elif op == "NotIn":
                where.append(f"namespaces other than {names}")
            else:
                where.append("any namespace" if op == "Exists" else "no namespace")
        place = " and ".join(where) or "any namespace"
        labels = []
        for key, op, vals in podr:
            shown = ", ".join(sorted(vals))
            if op == "In":
                labels.append(f"{key}={shown}" if len(vals) == 1 else f"{key} in ({shown})")
            elif op == "NotIn":
                labels.append(f"{key}!={shown}" if len(vals) == 1 else f"{key} not in ({shown})")
            else:
                labels.append(f"with label {key}" if op == "Exists" else f"without label {key}")
        return f"pods {', '.join(labels)} in {place}" if labels else f"all pods in {place}"

    def entity(self, e: dict | None, ns: str | None, local: str | None) -> str:
        e = e or {}
        parts = []
        nets = e.get("nets") or []
        if nets:
            text = ", ".join(nets)
            if e.get("notNets"):
                text += " except " + ", ".join(e["notNets"])
            parts.append(text)
        elif e.get("notNets"):
            parts.append("any except " + ", ".join(e["notNets"]))
        if e.get("selector") or e.get("namespaceSelector"):
            parts.append(self.selector(e.get("selector") or "all()", ns, e.get("namespaceSelector")))
        ns_sel = e.get("notSelector")
        if ns_sel:
            if ns_sel == PODS:
                parts.append("not pods" if parts else "any address but pods")
            elif ns_sel.startswith(PODS + " || "):
                inner = self.selector(ns_sel[len(PODS) + 4 :], ns)
                parts.append(f"not pods, not {inner}")
            else:
                parts.append(f"any but {self.selector(ns_sel, ns)}")
        if not parts:
            return local or "any"
        return "; ".join(parts)


def _canon(reqs) -> tuple:
    return tuple(sorted((k, op, tuple(sorted(v))) for k, op, v in reqs))


def _set_of(text: str) -> str | None:
    head = f"{SET_KEY} == '"
    if text.startswith(head) and text.endswith("'") and "'" not in text[len(head) : -1]:
        return text[len(head) : -1]
    return None


__all__ = ["build", "cuts", "evaluator", "kinds", "services", "table"]
