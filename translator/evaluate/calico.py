"""Brute-force Calico (projectcalico.org/v3) policy decision for single flows.

Written from Calico's documentation and CRD schema (docs.tigera.io, reference/resources:
globalnetworkpolicy, networkpolicy, globalnetworkset, networkset, tier; the Rule, EntityRule,
Selectors and Ports sections; "Calico automatic labels"; "Get started with policy tiers"),
independently of translator/targets and translator/compiler.

Policies.  `GlobalNetworkPolicy` selects endpoints of every namespace with `selector` (default
all()) and `namespaceSelector`; a namespaced `NetworkPolicy` only those of its namespace.  `types`
defaults to [Ingress] unless the policy has egress rules only ([Egress]) or both ([Ingress, Egress]).
Policies are grouped by tier (`spec.tier`, default "default"); tiers run in `order` (Tier documents;
the default tier is 1,000,000, last), policies in a tier by `order` (omitted: after every other,
"infinite") then by name, rules in order.  The first matching `Allow` or `Deny` decides, `Log`
goes on, `Pass` skips to the next tier that has a policy for the endpoint; a tier that applies to
the endpoint and matches no rule ends in its defaultAction (Deny unless a Tier says Pass).  An
endpoint no policy selects in a direction, or passed beyond the last tier, falls to its profiles:
in Kubernetes the namespace's profile allows everything.  Kubernetes NetworkPolicies (which Calico
puts in the default tier) are not modelled: documents of other kinds are ignored (`ignored`).

Rules.  Every criterion of a rule must hold (AND): protocol / notProtocol (a name or 1-255),
icmp / notICMP {type, code} (the flow's port is the ICMP type; the model has no codes, so a code
leaves the match undecided), ipVersion, and the source and destination EntityRules: nets / notNets
(any IP of the end), selector / notSelector / namespaceSelector, ports / notPorts (destination:
"80", "8000:8100" or a named port of the destination pod; the flow has no source port, so a source
port test is undecided).  A selector matches an endpoint by its labels (a pod also carries
projectcalico.org/namespace and projectcalico.org/orchestrator: k8s) or an IP inside a (global)
network set whose labels it matches, within its scope: the namespaces `namespaceSelector` selects
(namespace labels, projectcalico.org/name and kubernetes.io/metadata.name; `global()`: the
non-namespaced sets), else the policy's namespace for a NetworkPolicy and everything for a
GlobalNetworkPolicy.  `notSelector` negates the match of the endpoints (and sets) it selects.
In an ingress rule, `destination` tests the local endpoint; in an egress rule, `source` does.

A pod with an IP (`Pod.ip`) is matched by nets, notNets and network sets on that IP.  A pod without
one stands for a pod whose IP is in none of the CIDRs the documents name (as NetworkPolicy's
evaluator reads ipBlocks without pod IPs): verify checks pod IPs separately, one per class of the
inventory's pod CIDRs, so a generator must keep net rules off pods when no pod CIDRs are declared.
What a flow does not determine (an ICMP code, a source port, the IP version between two pods
without IPs) leaves a match undecided, taken on the secure side: the flow is allowed only if it is
allowed both when the rule matches and when it does not (an undecided Allow is passed over, an
undecided Deny denies).

    ev = CalicoEvaluator(docs, {namespace: labels})
    ev.allows(src, dst, proto, port)   -> bool
    ev.explain(src, dst, proto, port)  -> {"allowed", "egress", "ingress"}: the deciding policy and rule

Malformed documents raise ValueError naming the document and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import netaddr

from .endpoints import Endpoint, Ip, Pod

API = "projectcalico.org/v3"
POLICY_KINDS = ("GlobalNetworkPolicy", "NetworkPolicy")
SET_KINDS = ("GlobalNetworkSet", "NetworkSet")
NS_LABEL = "projectcalico.org/namespace"
ORCH_LABEL = "projectcalico.org/orchestrator"
NAME_LABELS = ("projectcalico.org/name", "kubernetes.io/metadata.name")
INGRESS, EGRESS = "Ingress", "Egress"
ACTIONS = ("Allow", "Deny", "Log", "Pass")
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132, "udplite": 136}
PORT_PROTOCOLS = (6, 17, 132)
# built-in tiers (order, defaultAction); the default tier's order is fixed at 1,000,000
BUILTIN_TIERS = {
    "default": (1_000_000.0, "Deny"),
    "kube-admin": (1_000.0, "Pass"),
    "adminnetworkpolicy": (1_000.0, "Pass"),
    "kube-baseline": (10_000_000.0, "Pass"),
    "baselineadminnetworkpolicy": (10_000_000.0, "Pass"),
}
UNKNOWN = None  # a three-valued match: True, False or UNKNOWN


def _and(a, b):
    if a is False or b is False:
        return False
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    return True


def _not(a):
    return UNKNOWN if a is UNKNOWN else not a


# --- selectors -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<op>&&|\|\||==|!=|!|\(|\)|\{|\}|,)|(?P<str>'[^']*'|\"[^\"]*\")|(?P<word>[A-Za-z0-9_./\-]+))"
)


@dataclass(frozen=True)
class Node:
    """A parsed selector: op in and, or, not, all, global, has, eq, ne, in, notin, contains, starts, ends."""

    op: str
    key: str = ""
    values: tuple = ()
    args: tuple = ()


class SelectorError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SelectorError(f"selector {text!r}: unexpected text at {text[pos:].strip()[:20]!r}")
        pos = m.end()
        if m.group("op"):
            out.append(("op", m.group("op")))
        elif m.group("str") is not None:
            out.append(("str", m.group("str")[1:-1]))
        else:
            out.append(("word", m.group("word")))
    return out


@lru_cache(maxsize=65536)
def parse_selector(text: str) -> Node:
    """A Calico selector expression as a Node tree (the empty selector is all())."""
    if not isinstance(text, str):
        raise SelectorError(f"a selector must be a string, not {text!r}")
    toks = _tokens(text)
    if not toks:
        return Node("all")
    p = _Parser(text, toks)
    node = p.disjunction()
    if p.i != len(toks):
        raise SelectorError(f"selector {text!r}: unexpected {toks[p.i][1]!r}")
    return node


class _Parser:
    def __init__(self, text: str, toks: list):
        self.text, self.toks, self.i = text, toks, 0

    def peek(self, kind=None, value=None):
        if self.i >= len(self.toks):
            return None
        t = self.toks[self.i]
        if (kind and t[0] != kind) or (value is not None and t[1] != value):
            return None
        return t

    def take(self, kind=None, value=None, what=""):
        t = self.peek(kind, value)
        if t is None:
            got = self.toks[self.i][1] if self.i < len(self.toks) else "the end"
            raise SelectorError(f"selector {self.text!r}: expected {what or value or kind}, got {got!r}")
        self.i += 1
        return t[1]

    def disjunction(self) -> Node:
        parts = [self.conjunction()]
        while self.peek("op", "||"):
            self.i += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Node("or", args=tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.negation()]
        while self.peek("op", "&&"):
            self.i += 1
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Node("and", args=tuple(parts))

    def negation(self) -> Node:
        if self.peek("op", "!"):
            self.i += 1
            return Node("not", args=(self.negation(),))
        return self.atom()

    def atom(self) -> Node:
        if self.peek("op", "("):
            self.i += 1
            node = self.disjunction()
            self.take("op", ")")
            return node
        word = self.take("word", what="a label name, all(), global() or has()")
        if word in ("all", "global") and self.peek("op", "("):
            self.i += 1
            self.take("op", ")")
            return Node(word)
        if word == "has" and self.peek("op", "("):
            self.i += 1
            key = self.take("word", what="a label name")
            self.take("op", ")")
            return Node("has", key)
        key = word
        if self.peek("op", "=="):
            self.i += 1
            return Node("eq", key, (self.take("str", what="a quoted string"),))
        if self.peek("op", "!="):
            self.i += 1
            return Node("ne", key, (self.take("str", what="a quoted string"),))
        if self.peek("word", "in"):
            self.i += 1
            return Node("in", key, self.string_set())
        if self.peek("word", "not"):
            self.i += 1
            self.take("word", "in")
            return Node("notin", key, self.string_set())
        if self.peek("word", "contains"):
            self.i += 1
            return Node("contains", key, (self.take("str", what="a quoted string"),))
        for first, op in (("starts", "starts"), ("ends", "ends")):
            if self.peek("word", first):
                self.i += 1
                self.take("word", "with")
                return Node(op, key, (self.take("str", what="a quoted string"),))
        raise SelectorError(f"selector {self.text!r}: expected an operator after {key!r}")

    def string_set(self) -> tuple:
        self.take("op", "{")
        vals = []
        if not self.peek("op", "}"):
            vals.append(self.take("str", what="a quoted string"))
            while self.peek("op", ","):
                self.i += 1
                vals.append(self.take("str", what="a quoted string"))
        self.take("op", "}")
        return tuple(vals)


def holds(node: Node, labels: dict[str, str], namespaced: bool = True) -> bool:
    """Does the selector NODE match a resource with LABELS (namespaced or not: global())?"""
    op = node.op
    if op == "and":
        return all(holds(a, labels, namespaced) for a in node.args)
    if op == "or":
        return any(holds(a, labels, namespaced) for a in node.args)
    if op == "not":
        return not holds(node.args[0], labels, namespaced)
    if op == "all":
        return True
    if op == "global":
        return not namespaced
    v = labels.get(node.key)
    if op == "has":
        return v is not None
    if op == "eq":
        return v == node.values[0]
    if op == "ne":
        return v != node.values[0]
    if op == "in":
        return v is not None and v in node.values
    if op == "notin":
        return v is None or v not in node.values
    if v is None:
        return False
    if op == "contains":
        return node.values[0] in v
    if op == "starts":
        return v.startswith(node.values[0])
    return v.endswith(node.values[0])


def namespace_holds(node: Node, ns_labels: dict[str, str] | None) -> bool:
    """A namespaceSelector on a resource of a namespace with NS_LABELS (None: a non-namespaced one):
    all() selects every namespace (no global resource), global() the non-namespaced resources."""
    op = node.op
    if op == "and":
        return all(namespace_holds(a, ns_labels) for a in node.args)
    if op == "or":
        return any(namespace_holds(a, ns_labels) for a in node.args)
    if op == "not":
        return not namespace_holds(node.args[0], ns_labels)
    if op == "all":
        return ns_labels is not None
    if op == "global":
        return ns_labels is None
    return holds(node, ns_labels or {}, ns_labels is not None)


# --- addresses and ports -------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _cidr(text) -> tuple[int, int, int]:
    try:
        net = netaddr.IPNetwork(str(text))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ValueError(f"{text!r} is not a valid CIDR") from None
    return net.version, int(net.first), int(net.last)


@lru_cache(maxsize=65536)
def _ip(text: str) -> tuple[int, int]:
    ip = netaddr.IPAddress(text)
    return ip.version, int(ip)


def _in_nets(ip: tuple[int, int], nets) -> bool:
    return any(v == ip[0] and lo <= ip[1] <= hi for v, lo, hi in nets)


def protocol_number(value, where: str) -> int:
    """A rule's protocol (name, case-insensitive, or 1-255)."""
    if isinstance(value, bool):
        raise ValueError(f"{where}: {value!r} is not a protocol")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and value.lower() in PROTOCOLS:
        return PROTOCOLS[value.lower()]
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        n = int(value)
    else:
        raise ValueError(f"{where}: {value!r} is not a protocol (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255)")
    if not 1 <= n <= 255:
        raise ValueError(f"{where}: protocol {n} is outside 1-255")
    return n


@dataclass(frozen=True)
class PortSpec:
    """One entry of ports / notPorts: a number range, or a named port."""

    lo: int = 0
    hi: int = 0
    name: str | None = None


def parse_port(value, where: str) -> PortSpec:
    if isinstance(value, bool):
        raise ValueError(f"{where}: {value!r} is not a port")
    if isinstance(value, int):
        lo = hi = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value):
        lo = hi = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[0-9]+:[0-9]+", value):
        lo, hi = (int(x) for x in value.split(":"))
    elif isinstance(value, str) and value and ":" not in value:
        return PortSpec(name=value)
    else:
        raise ValueError(f"{where}: {value!r} is not a port, a 'start:end' range or a port name")
    if not (0 <= lo <= hi <= 65535):
        raise ValueError(f"{where}: port range {value!r} must have 0 <= start <= end <= 65535")
    return PortSpec(lo, hi)


# --- documents ---------------------------------------------------------------------------------


@dataclass
class NetSet:
    """A GlobalNetworkSet (namespace None) or a NetworkSet."""

    name: str
    namespace: str | None
    labels: dict[str, str]
    nets: tuple


@dataclass
class Entity:
    nets: tuple | None = None
    not_nets: tuple | None = None
    selector: Node | None = None
    not_selector: Node | None = None
    ns_selector: Node | None = None
    ports: tuple | None = None
    not_ports: tuple | None = None


@dataclass
class CRule:
    index: int
    action: str
    protocol: int | None
    not_protocol: int | None
    icmp: tuple | None  # (type, code or None)
    not_icmp: tuple | None
    ip_version: int | None
    source: Entity
    destination: Entity
    ids: str  # the rule's fw2np.io/rules annotation, if any


@dataclass
class Policy:
    kind: str
    name: str
    namespace: str | None
    tier: str
    order: float
    selector: Node
    ns_selector: Node | None
    types: tuple[str, ...]
    ingress: list[CRule]
    egress: list[CRule]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def rules(self, direction: str) -> list[CRule]:
        return self.ingress if direction == INGRESS else self.egress


@dataclass
class _Ctx:
    """One flow as the rules see it."""

    src: Endpoint
    dst: Endpoint
    proto: int
    port: int
    local: Pod
    direction: str
    trace: list = field(default_factory=list)


class _Plan:
    """The rules one set of selecting policies evaluates in a direction: tiers of policies in order, their
    rules flattened (tier, policy, rule), each tier's slice, and per endpoint the EntityRule bit sets."""

    def __init__(self, tiers: list[list[Policy]], direction: str):
        self.tiers = tiers
        self.flat: list = []
        self.bounds: list[tuple[int, int]] = []
        for t, pols in enumerate(tiers):
            lo = len(self.flat)
            self.flat += [(t, p, r) for p in pols for r in p.rules(direction)]
            self.bounds.append((lo, len(self.flat)))
        self.masks: dict = {}


def _str(value, where: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"{where}: must be a string, not {value!r}")
    return value


def _sel(value, where: str) -> Node | None:
    if value is None or value == "":
        return None
    try:
        return parse_selector(_str(value, where))
    except SelectorError as e:
        raise ValueError(f"{where}: {e}") from None


class CalicoEvaluator:
    """Decides single flows under Calico documents (see the module docstring)."""

    def __init__(self, docs: list[dict], namespaces: dict[str, dict[str, str]] | None = None):
        self.namespaces = {
            ns: {str(k): str(v) for k, v in (labels or {}).items()} for ns, labels in (namespaces or {}).items()
        }
        self.policies: list[Policy] = []
        self.sets: list[NetSet] = []
        self.tiers: dict[str, tuple[float, str]] = dict(BUILTIN_TIERS)
        self.ignored: list[str] = []
        self._plans: dict = {}
        self._shared: dict = {}
        for doc in docs:
            self._add(doc)
        for p in self.policies:
            if p.tier not in self.tiers:
                raise ValueError(f"{p.kind} {p.ref}: spec.tier {p.tier!r} is not defined (no Tier document)")

    # --- reading ---------------------------------------------------------------------------

    def _add(self, doc) -> None:
        if not isinstance(doc, dict):
            raise ValueError(f"a document must be a mapping, got {type(doc).__name__}")
        kind = doc.get("kind")
        if kind in ("List",) or (isinstance(kind, str) and kind.endswith("List") and "items" in doc):
            for item in doc.get("items") or []:
                self._add(item)
            return
        if doc.get("apiVersion") != API:
            self.ignored.append(f"{doc.get('apiVersion')}/{kind}")
            return
        meta = doc.get("metadata") or {}
        if not isinstance(meta, dict):
            raise ValueError(f"{kind}: metadata must be a mapping")
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{kind}: metadata.name is required")
        spec = doc.get("spec") or {}
        if not isinstance(spec, dict):
            raise ValueError(f"{kind} {name}: spec must be a mapping")
        if kind in POLICY_KINDS:
            self.policies.append(self._policy(kind, name, meta, spec))
        elif kind in SET_KINDS:
            self.sets.append(self._set(kind, name, meta, spec))
        elif kind == "Tier":
            order = spec.get("order")
            action = spec.get("defaultAction", "Deny")
            if order is not None and (isinstance(order, bool) or not isinstance(order, (int, float))):
                raise ValueError(f"Tier {name}: spec.order must be a number")
            if action not in ("Deny", "Pass"):
                raise ValueError(f"Tier {name}: spec.defaultAction must be Deny or Pass")
            if name == "default" and order is not None and float(order) != BUILTIN_TIERS["default"][0]:
                raise ValueError("Tier default: spec.order is fixed at 1000000")
            self.tiers[name] = (float("inf") if order is None else float(order), action)
        else:
            self.ignored.append(f"{API}/{kind}")

    def _set(self, kind: str, name: str, meta: dict, spec: dict) -> NetSet:
        ns = None
        if kind == "NetworkSet":
            ns = meta.get("namespace") or "default"
        labels = self._labels(meta.get("labels"), f"{kind} {name}: metadata.labels")
        if ns is not None:
            labels = {**labels, NS_LABEL: ns}
        nets = spec.get("nets") or []
        if not isinstance(nets, list):
            raise ValueError(f"{kind} {name}: spec.nets must be a list")
        out = []
        for i, c in enumerate(nets):
            try:
                out.append(_cidr(c))
            except ValueError as e:
                raise ValueError(f"{kind} {name}: spec.nets[{i}]: {e}") from None
        return NetSet(name, ns, labels, tuple(out))

    @staticmethod
    def _labels(labels, where: str) -> dict[str, str]:
        if labels is None:
            return {}
        if not isinstance(labels, dict):
            raise ValueError(f"{where}: must be a mapping")
        return {str(k): str(v) for k, v in labels.items()}

    def _policy(self, kind: str, name: str, meta: dict, spec: dict) -> Policy:
        ns = (meta.get("namespace") or "default") if kind == "NetworkPolicy" else None
        where = f"{kind} {ns + '/' if ns else ''}{name}"
        for flag in ("doNotTrack", "preDNAT", "applyOnForward"):
            if spec.get(flag):
                raise ValueError(f"{where}: spec.{flag}: host endpoint policy is not modelled")
        if spec.get("serviceAccountSelector"):
            raise ValueError(f"{where}: spec.serviceAccountSelector: service accounts are not modelled")
        order = spec.get("order")
        if order is not None and (isinstance(order, bool) or not isinstance(order, (int, float))):
            raise ValueError(f"{where}: spec.order must be a number, not {order!r}")
        tier = _str(spec.get("tier"), f"{where}: spec.tier", "default") or "default"
        rules = {}
        for key in ("ingress", "egress"):
            items = spec.get(key) or []
            if not isinstance(items, list):
                raise ValueError(f"{where}: spec.{key} must be a list")
            rules[key] = [self._rule(r, i, f"{where}: spec.{key}[{i}]") for i, r in enumerate(items)]
        types = spec.get("types")
        if types:
            if not isinstance(types, list) or any(t not in (INGRESS, EGRESS) for t in types):
                raise ValueError(f"{where}: spec.types must list Ingress and/or Egress, not {types!r}")
            types = tuple(dict.fromkeys(types))
        elif rules["egress"] and not rules["ingress"]:
            types = (EGRESS,)
        elif rules["egress"]:
            types = (INGRESS, EGRESS)
        else:
            types = (INGRESS,)
        ns_sel = _sel(spec.get("namespaceSelector"), f"{where}: spec.namespaceSelector") if ns is None else None
        if ns is not None and spec.get("namespaceSelector"):
            raise ValueError(f"{where}: spec.namespaceSelector is a GlobalNetworkPolicy field")
        return Policy(
            kind,
            name,
            ns,
            tier,
            float("inf") if order is None else float(order),
            _sel(spec.get("selector"), f"{where}: spec.selector") or Node("all"),
            ns_sel,
            types,
            rules["ingress"],
            rules["egress"],
        )

    def _rule(self, r, index: int, where: str) -> CRule:
        if not isinstance(r, dict):
            raise ValueError(f"{where}: a rule must be a mapping")
        action = r.get("action")
        if action not in ACTIONS:
            raise ValueError(f"{where}: action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if r.get("http"):
            raise ValueError(f"{where}: http: application layer policy is not modelled")
        proto = None if r.get("protocol") is None else protocol_number(r["protocol"], f"{where}: protocol")
        not_proto = None if r.get("notProtocol") is None else protocol_number(r["notProtocol"], f"{where}: notProtocol")
        icmp = self._icmp(r.get("icmp"), f"{where}: icmp", proto)
        not_icmp = self._icmp(r.get("notICMP"), f"{where}: notICMP", proto)
        ipv = r.get("ipVersion")
        if ipv is not None and ipv not in (4, 6):
            raise ValueError(f"{where}: ipVersion must be 4 or 6, not {ipv!r}")
        if (proto == 1 and ipv == 6) or (proto == 58 and ipv == 4):
            raise ValueError(f"{where}: protocol {r['protocol']} requires ipVersion {4 if proto == 1 else 6}")
        ents = {}
        for key in ("source", "destination"):
            ents[key] = self._entity(r.get(key), f"{where}: {key}", proto, ipv)
        meta = r.get("metadata") or {}
        ann = (meta.get("annotations") or {}) if isinstance(meta, dict) else {}
        ids = ann.get("fw2np.io/rules", "") if isinstance(ann, dict) else ""
        return CRule(
            index, action, proto, not_proto, icmp, not_icmp, ipv, ents["source"], ents["destination"], str(ids)
        )

    @staticmethod
    def _icmp(obj, where: str, proto) -> tuple | None:
        if obj is None:
            return None
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: must be a mapping with type and code")
        if proto not in (1, 58):
            raise ValueError(f"{where}: ICMP fields require protocol ICMP or ICMPv6")
        t, c = obj.get("type"), obj.get("code")
        if t is None:
            if c is not None:
                raise ValueError(f"{where}: ICMP code specified without an ICMP type")
            return None
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= 254:
            raise ValueError(f"{where}.type must be an integer 0-254, not {t!r}")
        if c is not None and (isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 255):
            raise ValueError(f"{where}.code must be an integer 0-255, not {c!r}")
        return (t, c)

    def _entity(self, obj, where: str, proto, ipv) -> Entity:
        if obj is None:
            return Entity()
        if not isinstance(obj, dict):
            raise ValueError(f"{where}: must be a mapping")
        for key in ("serviceAccounts", "services"):
            if obj.get(key):
                raise ValueError(f"{where}.{key}: not modelled")
        e = Entity()
        versions = set()
        for key, attr in (("nets", "nets"), ("notNets", "not_nets")):
            items = obj.get(key)
            if items is None:
                continue
            if not isinstance(items, list):
                raise ValueError(f"{where}.{key} must be a list of CIDRs")
            got = []
            for i, c in enumerate(items):
                try:
                    got.append(_cidr(c))
                except ValueError as err:
                    raise ValueError(f"{where}.{key}[{i}]: {err}") from None
            versions |= {v for v, _, _ in got}
            setattr(e, attr, tuple(got))
        if len(versions) > 1:
            raise ValueError(f"{where}: nets and notNets mix IPv4 and IPv6 CIDRs")
        if ipv is not None and versions and versions != {ipv}:
            raise ValueError(f"{where}: nets of IPv{versions.pop()} in a rule with ipVersion {ipv}")
        e.selector = _sel(obj.get("selector"), f"{where}.selector")
        e.not_selector = _sel(obj.get("notSelector"), f"{where}.notSelector")
        e.ns_selector = _sel(obj.get("namespaceSelector"), f"{where}.namespaceSelector")
        if e.selector is not None and "global(" in obj.get("selector", ""):
            raise ValueError(f"{where}.selector: global() can only be used in a namespaceSelector")
        for key, attr in (("ports", "ports"), ("notPorts", "not_ports")):
            items = obj.get(key)
            if items is None:
                continue
            if not isinstance(items, list):
                raise ValueError(f"{where}.{key} must be a list")
            if items and proto not in PORT_PROTOCOLS:
                raise ValueError(f"{where}.{key}: ports require protocol TCP, UDP or SCTP")
            setattr(e, attr, tuple(parse_port(p, f"{where}.{key}[{i}]") for i, p in enumerate(items)))
        return e

    # --- endpoints -------------------------------------------------------------------------------

    def ns_labels(self, ns: str) -> dict[str, str]:
        return {**self.namespaces.get(ns, {}), **{k: ns for k in NAME_LABELS}}

    @staticmethod
    def pod_labels(pod: Pod) -> dict[str, str]:
        return {**pod.label_map, NS_LABEL: pod.namespace, ORCH_LABEL: "k8s"}

    @staticmethod
    def address(ep: Endpoint) -> tuple[int, int] | None:
        """The IP of EP (None: a pod without a known IP)."""
        if isinstance(ep, Ip):
            return _ip(ep.address)
        return _ip(ep.ip) if ep.ip else None

    def selects(self, p: Policy, pod: Pod) -> bool:
        """Does policy P apply to POD (its namespace, selector and namespaceSelector)?"""
        if p.namespace is not None and p.namespace != pod.namespace:
            return False
        if p.ns_selector is not None and not namespace_holds(p.ns_selector, self.ns_labels(pod.namespace)):
            return False
        return holds(p.selector, self.pod_labels(pod))

    # --- matching --------------------------------------------------------------------------------

    def _in_scope(self, p: Policy, ns_sel: Node | None, namespace: str | None) -> bool:
        """Is a resource of NAMESPACE (None: non-namespaced) in the scope of an entity's selectors?"""
        if ns_sel is not None:
            return namespace_holds(ns_sel, None if namespace is None else self.ns_labels(namespace))
        if p.namespace is not None:
            return namespace == p.namespace
        return True

    def _member(self, p: Policy, sel: Node, ns_sel: Node | None, ep: Endpoint) -> bool:
        """Is EP among what SEL selects in scope: a matching pod, or an IP of a matching network set?"""
        if isinstance(ep, Pod) and self._in_scope(p, ns_sel, ep.namespace) and holds(sel, self.pod_labels(ep)):
            return True
        ip = self.address(ep)
        if ip is None:
            return False  # a pod without an IP: in no network set
        return any(
            _in_nets(ip, s.nets)
            for s in self.sets
            if self._in_scope(p, ns_sel, s.namespace) and holds(sel, s.labels, s.namespace is not None)
        )

    def entity_matches(self, p: Policy, e: Entity, ep: Endpoint, is_dst: bool):
        """The endpoint half of an EntityRule (nets, notNets, selector, notSelector; a source port test is
        undecided): True, False or UNKNOWN.  Destination ports are the service half (`service_matches`)."""
        got = True
        ip = self.address(ep)
        if e.nets is not None:
            got = ip is not None and _in_nets(ip, e.nets)
        if e.not_nets is not None:
            got = got and (ip is None or not _in_nets(ip, e.not_nets))
        if got is False:
            return False
        if e.selector is not None or e.ns_selector is not None:
            got = _and(got, self._member(p, e.selector or Node("all"), e.ns_selector, ep))
        if e.not_selector is not None:
            got = _and(got, _not(self._member(p, e.not_selector, e.ns_selector, ep)))
        if got is not False and not is_dst and (e.ports or e.not_ports):
            got = _and(got, UNKNOWN)  # the flow stands for every source port
        return got

    @staticmethod
    def _port_hit(spec: PortSpec, ctx: _Ctx) -> bool:
        if spec.name is None:
            return spec.lo <= ctx.port <= spec.hi
        dst = ctx.dst
        if not isinstance(dst, Pod):
            return False
        label = {6: "TCP", 17: "UDP", 132: "SCTP"}[ctx.proto]
        return dst.port_number(spec.name, label) == ctx.port

    def _family(self, ctx: _Ctx):
        for ep in (ctx.src, ctx.dst):
            ip = self.address(ep)
            if ip is not None:
                return ip[0]
        return UNKNOWN

    def service_matches(self, r: CRule, ctx: _Ctx):
        """The service half of rule R: protocol, notProtocol, ICMP, ipVersion, destination ports."""
        if r.protocol is not None and r.protocol != ctx.proto:
            return False
        if r.not_protocol is not None and r.not_protocol == ctx.proto:
            return False
        e = r.destination
        if (r.source.ports or r.source.not_ports or e.ports or e.not_ports) and ctx.proto not in PORT_PROTOCOLS:
            return False
        got = True
        if r.icmp is not None:
            t, c = r.icmp
            if ctx.port != t:
                return False
            if c is not None:
                got = UNKNOWN  # the flow stands for every code of its type
        if r.not_icmp is not None:
            t, c = r.not_icmp
            if ctx.port == t:
                if c is None:
                    return False
                got = UNKNOWN
        if r.ip_version is not None:
            fam = self._family(ctx)
            if fam is not UNKNOWN and fam != r.ip_version:
                return False
            got = _and(got, True if fam == r.ip_version else UNKNOWN)
        if e.ports and not any(self._port_hit(spec, ctx) for spec in e.ports):
            return False
        if e.not_ports and any(self._port_hit(spec, ctx) for spec in e.not_ports):
            return False
        return got

    def rule_matches(self, p: Policy, r: CRule, ctx: _Ctx):
        """True, False or UNKNOWN: does rule R of policy P match the flow (every criterion, ANDed)?"""
        got = self.service_matches(r, ctx)
        for e, ep, is_dst in ((r.source, ctx.src, False), (r.destination, ctx.dst, True)):
            if got is False:
                return False
            got = _and(got, self.entity_matches(p, e, ep, is_dst))
        return got

    # --- deciding ------------------------------------------------------------------------------

    def applicable(self, pod: Pod, direction: str) -> list[list[Policy]]:
        """The policies selecting POD in DIRECTION, grouped by tier in evaluation order."""
        tiers: dict[str, list[Policy]] = {}
        for p in self.policies:
            if direction in p.types and self.selects(p, pod):
                tiers.setdefault(p.tier, []).append(p)
        out = []
        for tier in sorted(tiers, key=lambda t: (self.tiers[t][0], t)):
            out.append(sorted(tiers[tier], key=lambda p: (p.order, p.name, p.namespace or "")))
        return out

    def _plan(self, pod: Pod, direction: str) -> _Plan:
        """The rules POD's DIRECTION evaluates, in order (kept: pods of one label set share it)."""
        key = (pod.namespace, pod.labels, direction)
        plan = self._plans.get(key)
        if plan is None:
            tiers = self.applicable(pod, direction)
            ids = tuple(id(p) for t in tiers for p in t)
            plan = self._shared.get((ids, direction))
            if plan is None:
                plan = self._shared[(ids, direction)] = _Plan(tiers, direction)
            self._plans[key] = plan
        return plan

    def _masks(self, plan: _Plan, ep: Endpoint, is_dst: bool) -> tuple[int, int]:
        """(rules whose EntityRule on that side may match EP, those undecided) as bit sets over the plan."""
        key = (is_dst, ep)
        got = plan.masks.get(key)
        if got is None:
            may = unknown = 0
            for i, (_, p, r) in enumerate(plan.flat):
                m = self.entity_matches(p, r.destination if is_dst else r.source, ep, is_dst)
                if m is not False:
                    may |= 1 << i
                    if m is UNKNOWN:
                        unknown |= 1 << i
            got = plan.masks[key] = (may, unknown)
        return got

    def _decide(self, plan: _Plan, t: int, ctx: _Ctx, cand: int, unknown: int, path: list) -> tuple[bool, list]:
        """(allowed, the decisions on the way) from tier T on: the first Allow or Deny that matches decides,
        Pass goes to the next tier, a tier with no match ends in its defaultAction; an undecided match
        takes the secure side (allowed only if allowed both ways)."""
        if t >= len(plan.tiers):
            return True, path + [("profile", None, None, "allow")]
        lo, hi = plan.bounds[t]
        bits = cand & (((1 << hi) - 1) ^ ((1 << lo) - 1))
        while bits:
            low = bits & -bits
            bits ^= low
            i = low.bit_length() - 1
            _, p, r = plan.flat[i]
            m = self.service_matches(r, ctx)
            if m is False or r.action == "Log":
                continue
            if unknown >> i & 1:
                m = UNKNOWN
            if r.action == "Allow":
                if m is True:
                    return True, path + [(p, r, m, "allow")]
                continue  # undecided: allowed when it matches, so the rest decides
            if r.action == "Deny":
                return False, path + [(p, r, m, "deny")]  # undecided: denied when it matches
            passed, trail = self._decide(plan, t + 1, ctx, cand, unknown, path + [(p, r, m, "pass")])
            if m is True or not passed:
                return passed, trail
        tier = plan.tiers[t][0].tier
        if self.tiers[tier][1] == "Pass":
            return self._decide(plan, t + 1, ctx, cand, unknown, path + [("tier-pass", tier, None, "pass")])
        return False, path + [("tier-end", tier, None, "deny")]

    def _side(self, pod: Pod, direction: str, src: Endpoint, dst: Endpoint, proto: int, port: int) -> dict:
        plan = self._plan(pod, direction)
        refs = [p.ref for tier in plan.tiers for p in tier]
        out = {"applies": True, "pod": str(pod), "policies": refs, "isolated": bool(plan.tiers), "by": []}
        if not plan.tiers:
            out.update(allowed=True, reason=f"no {direction} policy selects the pod: its profile allows")
            return out
        ctx = _Ctx(src, dst, proto, port, pod, direction)
        ms, us = self._masks(plan, src, False)
        md, ud = self._masks(plan, dst, True)
        cand = ms & md
        allowed, trail = self._decide(plan, 0, ctx, cand, (us | ud) & cand, [])
        out["allowed"] = allowed
        what, rule, m, verdict = trail[-1]
        if what == "profile":
            out["reason"] = "passed beyond the last tier: the profile allows"
        elif what in ("tier-end", "tier-pass"):
            out["reason"] = f"no rule of tier {rule} matches: the tier's default action ({verdict})"
        else:
            ids = f" (firewall rules {rule.ids})" if rule.ids else ""
            how = "" if m is True else " (may match: undecided for this flow, secure side)"
            out["reason"] = f"{verdict} by {what.ref} {direction.lower()} rule {rule.index}{ids}{how}"
            out["policy"], out["rule"], out["rules"] = what.ref, rule.index, rule.ids
            if allowed:
                out["by"].append((what.ref, rule.index))
        return out

    # --- public API --------------------------------------------------------------------------------

    def egress_allows(self, src: Pod, dst: Endpoint, proto: int, port: int) -> bool:
        return self._side(src, EGRESS, src, dst, proto, port)["allowed"]

    def ingress_allows(self, src: Endpoint, dst: Pod, proto: int, port: int) -> bool:
        return self._side(dst, INGRESS, src, dst, proto, port)["allowed"]

    def allows(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> bool:
        """The source pod's egress and the destination pod's ingress; IP to IP is not governed (True)."""
        if isinstance(src, Pod) and not self.egress_allows(src, dst, proto, port):
            return False
        return not isinstance(dst, Pod) or self.ingress_allows(src, dst, proto, port)

    def explain(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> dict:
        eg = self._side(src, EGRESS, src, dst, proto, port) if isinstance(src, Pod) else {"applies": False}
        ing = self._side(dst, INGRESS, src, dst, proto, port) if isinstance(dst, Pod) else {"applies": False}
        return {"allowed": all(s.get("allowed", True) for s in (eg, ing)), "egress": eg, "ingress": ing}
