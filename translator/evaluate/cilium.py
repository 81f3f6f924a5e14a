"""Brute-force Cilium (cilium.io/v2) decision for single flows.

Written from the Cilium documentation and the CiliumNetworkPolicy CRD, independently of
translator/targets (docs.cilium.io: security/policy/intro "Policy Enforcement Modes", language,
layer3, layer4, deny, kubernetes; operations/performance/scalability/identity-relevant-labels):

* A `CiliumNetworkPolicy` (namespaced) or `CiliumClusterwideNetworkPolicy` holds rules in `spec`
  and/or `specs`; each rule selects endpoints with `endpointSelector` (a `nodeSelector` rule selects
  nodes, not pods, and decides no flow here).  In a CiliumNetworkPolicy the endpointSelector applies
  to the policy's namespace only, and a `fromEndpoints`/`toEndpoints` selector that does not name
  `io.kubernetes.pod.namespace` is limited to that namespace; `io.cilium.k8s.namespace.labels`
  requirements are ignored there (kubernetes.rst, "Known Pitfalls").
* Labels: an endpoint's identity labels carry a source.  A pod has `k8s:<key>` for each of its labels
  that the default identity label filter keeps (keys starting with io.kubernetes, kubernetes.io,
  beta.kubernetes.io, k8s.io, pod-template-hash, ... are ignored), `k8s:io.kubernetes.pod.namespace`
  and `k8s:io.cilium.k8s.namespace.labels.<key>` per namespace label (with kubernetes.io/metadata.name).
  An address outside the cluster has `reserved:world`.  A selector key `source:key` matches that
  source only; a key without a source (`app`) matches any source.  An empty selector selects every
  identity.
* Default deny (intro.rst, the CRD's enableDefaultDeny): an endpoint is in default deny in a direction
  when some rule selecting it has `enableDefaultDeny.<direction>: true`, or leaves it unset and has
  rules of that direction (allow or deny).  Otherwise everything not denied is allowed.
* A flow is allowed in a direction iff no deny rule (`ingressDeny`/`egressDeny`) of a selecting rule
  matches it and (some allow rule matches it or the endpoint is not in default deny): deny wins over
  allow, whatever the order (deny.rst).  Pod to pod needs the source's egress and the destination's
  ingress (layer3.rst); an address end needs only the pod end's side.
* A rule entry matches when all its members match (the CRD: "If multiple members are set, all of them
  need to match").  At most one L3 member (`fromEndpoints`, `fromCIDR`, `fromCIDRSet`, `fromEntities`)
  may be set; none set matches every peer; an empty list selects nothing.  CIDR members match
  addresses outside the cluster only, never a pod managed by Cilium, whatever its IP (layer3.rst, "CIDR
  rules do not apply to traffic where both sides ... are managed by Cilium").  Entities: `world` is
  every address outside the cluster, `cluster` every pod (and the nodes, not modelled), `all` both;
  the others (`host`, `remote-node`, ...) are no pod or outside address here.
* L4: no `toPorts` and no `icmps` matches every protocol, ICMP included (layer4.rst).  A port entry
  matches its protocol (TCP, UDP, SCTP; "ANY" or empty: any of them) and port (a number, `port`..
  `endPort`, "0" or none for every port, or a named port of the destination pod); VRRP, IGMP, GRE,
  IPIP, IPV6, ESP and AH match their protocol.  `icmps` fields match ICMP (family IPv4, the default)
  or ICMPv6 (IPv6) of their type (a number or its CamelCase name).

* DNS (layer3.rst "DNS based", language.rst "DNS Policy and IP Discovery"): `toFQDNs` (an L3
  member) matches an address Cilium learnt from a DNS answer for a `matchName` (exact, any case, a
  trailing dot ignored) or a `matchPattern` (`*` alone: every name; else `*` stands for any run of
  name characters within one label); here that is an address endpoint carrying the name it was
  resolved from (`Ip(address, name)`), so a bare address never matches.  A port entry with L7
  `rules: {dns: [...]}` lets DNS queries through Cilium's DNS proxy: it matches its ports when one
  of the patterns is `*` (any query) and nothing otherwise (the query name is not part of a flow).

Fields that change a decision in ways not modelled here (L7 `rules` other than `dns`, `toServices`,
groups, nodes, CIDR groups, `authentication`, listeners, TLS) raise ValueError naming the field, as
do malformed documents.

    ev = CiliumEvaluator(docs, {namespace: labels})
    ev.allows(src, dst, proto, port) -> bool
    ev.explain(src, dst, proto, port) -> {"allowed", "egress": {...}, "ingress": {...}}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import netaddr

from .endpoints import Endpoint, Ip, Pod

API = "cilium.io/v2"
CNP, CCNP = "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"
NAME_LABEL = "kubernetes.io/metadata.name"
NS_KEY = "io.kubernetes.pod.namespace"
NS_LABELS = "io.cilium.k8s.namespace.labels."
SOURCES = ("k8s", "any", "reserved", "cidr", "container", "unspec", "cilium-generated", "fqdn", "kvstore", "node")
# the default identity label filter (identity-relevant-labels.rst): pod label keys Cilium ignores
IGNORED = re.compile(
    r"io.kubernetes|kubernetes\.io|statefulset\.kubernetes\.io/pod-name|apps\.kubernetes\.io/pod-index"
    r"|batch\.kubernetes\.io/job-completion-index|batch\.kubernetes\.io/controller-uid|beta\.kubernetes\.io"
    r"|k8s\.io|pod-template-generation|pod-template-hash|controller-revision-hash|annotation.*|controller-uid"
    r"|etcd_node|io\.cilium\.k8s"
)
ENTITIES = (
    "all",
    "world",
    "cluster",
    "host",
    "init",
    "ingress",
    "unmanaged",
    "remote-node",
    "health",
    "none",
    "kube-apiserver",
)
PROTOCOLS = {"TCP": 6, "UDP": 17, "SCTP": 132}
PORTLESS = {"VRRP": 112, "IGMP": 2, "GRE": 47, "IPIP": 4, "IPV6": 41, "ESP": 50, "AH": 51}
ICMP4 = {
    "EchoReply": 0,
    "DestinationUnreachable": 3,
    "Redirect": 5,
    "Echo": 8,
    "EchoRequest": 8,
    "RouterAdvertisement": 9,
    "RouterSelection": 10,
    "TimeExceeded": 11,
    "ParameterProblem": 12,
    "Timestamp": 13,
    "TimestampReply": 14,
    "Photuris": 40,
    "ExtendedEchoRequest": 42,
    "ExtendedEchoReply": 43,
}
ICMP6 = {
    "DestinationUnreachable": 1,
    "PacketTooBig": 2,
    "TimeExceeded": 3,
    "ParameterProblem": 4,
    "EchoRequest": 128,
    "EchoReply": 129,
    "MulticastListenerQuery": 130,
    "MulticastListenerReport": 131,
    "MulticastListenerDone": 132,
    "RouterSolicitation": 133,
    "RouterAdvertisement": 134,
    "NeighborSolicitation": 135,
    "NeighborAdvertisement": 136,
    "RedirectMessage": 137,
    "RouterRenumbering": 138,
    "ICMPNodeInformationQuery": 139,
    "ICMPNodeInformationResponse": 140,
    "InverseNeighborDiscoverySolicitation": 141,
    "InverseNeighborDiscoveryAdvertisement": 142,
    "HomeAgentAddressDiscoveryRequest": 144,
    "HomeAgentAddressDiscoveryReply": 145,
    "MobilePrefixSolicitation": 146,
    "MobilePrefixAdvertisement": 147,
    "DuplicateAddressRequestCodeSuffix": 157,
    "DuplicateAddressConfirmationCodeSuffix": 158,
    "ExtendedEchoRequest": 160,
    "ExtendedEchoReply": 161,
}
DIRECTIONS = {"ingress": ("ingress", "ingressDeny", "from"), "egress": ("egress", "egressDeny", "to")}
UNMODELLED = (
    "Groups",
    "Nodes",
    "Services",
    "Requires",
)
UNMODELLED_PORT = ("rules", "listener", "originatingTLS", "terminatingTLS", "serverNames")


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _split_key(key: str) -> tuple[str, str]:
    """'k8s:app' -> ('k8s', 'app'); 'app' -> ('any', 'app')."""
    head, sep, rest = key.partition(":")
    if sep and head in SOURCES:
        return head, rest
    return "any", key


@dataclass(frozen=True)
class Selector:
    """An EndpointSelector as requirements ((source, key), op, values)."""

    reqs: tuple

    def matches(self, labels: dict[tuple[str, str], str]) -> bool:
        for (source, key), op, values in self.reqs:
            if source == "any":
                value = next((v for (s, k), v in labels.items() if k == key), None)
            else:
                value = labels.get((source, key))
            if op == "In" and (value is None or value not in values):
                return False
            if op == "NotIn" and value is not None and value in values:
                return False
            if op == "Exists" and value is None:
                return False
            if op == "DoesNotExist" and value is not None:
                return False
        return True

    def names_namespace(self) -> bool:
        return any(k == NS_KEY for (_, k), _, _ in self.reqs)


def parse_selector(obj, where: str) -> Selector:
    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: a selector must be a mapping")
    reqs = []
    labels = obj.get("matchLabels") or {}
    if not isinstance(labels, dict):
        raise ValueError(f"{where}.matchLabels must be a mapping")
    for k, v in labels.items():
        reqs.append((_split_key(str(k)), "In", frozenset([_text(v)])))
    exprs = obj.get("matchExpressions") or []
    if not isinstance(exprs, list):
        raise ValueError(f"{where}.matchExpressions must be a list")
    for i, e in enumerate(exprs):
        if not isinstance(e, dict) or "key" not in e:
            raise ValueError(f"{where}.matchExpressions[{i}] needs a key and an operator")
        op = e.get("operator")
        values = e.get("values") or []
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"{where}.matchExpressions[{i}].operator {op!r} is not In, NotIn, Exists or DoesNotExist")
        if op in ("In", "NotIn") and not values:
            raise ValueError(f"{where}.matchExpressions[{i}].values must be non-empty for {op}")
        if op in ("Exists", "DoesNotExist") and values:
            raise ValueError(f"{where}.matchExpressions[{i}].values must be empty for {op}")
        reqs.append((_split_key(str(e["key"])), op, frozenset(_text(v) for v in values)))
    return Selector(tuple(reqs))


def _net(text, where: str) -> tuple[int, int, int]:
    """(version, first, last) of a CIDR."""
    try:
        net = netaddr.IPNetwork(str(text))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ValueError(f"{where}: {text!r} is not a valid CIDR") from None
    return net.version, int(net.first), int(net.last)


_ADDRESSES: dict[str, tuple[int, int]] = {}


def _address(text: str) -> tuple[int, int]:
    got = _ADDRESSES.get(text)
    if got is None:
        ip = netaddr.IPAddress(text)
        got = _ADDRESSES[text] = (ip.version, int(ip))
    return got


def _name_matches(kind: str, text: str, name: str) -> bool:
    if kind == "name":
        return text == name
    if text == "*":
        return True
    return re.fullmatch("[-a-z0-9_]*".join(re.escape(part) for part in text.split("*")), name) is not None


def _within(ip: tuple[int, int], net: tuple[int, int, int]) -> bool:
    return ip[0] == net[0] and net[1] <= ip[1] <= net[2]


@dataclass
class Peer:
    """The L3 member of a rule entry (kind None: no L3 member, every peer)."""

    kind: str | None
    selectors: list[Selector] = field(default_factory=list)
    blocks: list[tuple[tuple[int, int, int], list[tuple[int, int, int]]]] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    names: list[tuple[str, str]] = field(default_factory=list)  # toFQDNs: ('name' | 'pattern', text)


@dataclass
class Entry:
    """One ingress/egress (deny) rule entry."""

    peer: Peer
    ports: list[tuple[str, int | None, int | None, str | None]] | None  # (protocol, lo, hi, named port)
    icmps: list[tuple[int, int]] | None  # (protocol 1 or 58, type)


@dataclass
class CRule:
    """One rule (a spec or an item of specs) of a policy."""

    ref: str  # 'namespace/name specs[i]' or 'name spec'
    description: str
    namespace: str | None  # a CiliumNetworkPolicy's namespace; None: clusterwide
    selector: Selector | None  # None: a nodeSelector rule (selects no pod)
    default_deny: dict[str, bool | None]
    entries: dict[str, list[Entry]]  # 'ingress', 'ingressDeny', 'egress', 'egressDeny'


class CiliumEvaluator:
    """Decides single flows under Cilium policies (see the module docstring)."""

    def __init__(self, docs: list[dict], namespaces: dict[str, dict[str, str]] | None = None):
        self.namespace_labels = namespaces or {}
        self.rules: list[CRule] = []
        self._ids: dict = {}
        self._selecting: dict = {}
        self._peers: dict = {}  # (id of a rule entry's peer, endpoint) -> match (the entries are held)
        for doc in docs:
            self._add(doc)

    # --- reading -----------------------------------------------------------

    def _add(self, doc) -> None:
        if not isinstance(doc, dict):
            raise ValueError(f"a policy document must be a mapping, got {type(doc).__name__}")
        kind = doc.get("kind")
        if kind == "List" or (isinstance(kind, str) and kind.endswith("List")):
            for item in doc.get("items") or []:
                self._add(item)
            return
        if kind not in (CNP, CCNP):
            return
        if doc.get("apiVersion") != API:
            raise ValueError(f"{kind}: apiVersion must be {API}, not {doc.get('apiVersion')!r}")
        meta = doc.get("metadata") or {}
        name = str(meta.get("name") or "")
        ns = (meta.get("namespace") or "default") if kind == CNP else None
        base = f"{ns}/{name}" if ns else name
        spec, specs = doc.get("spec"), doc.get("specs")
        if spec is None and not specs:
            raise ValueError(f"{kind} {base}: spec or specs must be provided")
        if specs is not None and not isinstance(specs, list):
            raise ValueError(f"{kind} {base}: specs must be a list")
        items = ([("spec", spec)] if spec is not None else []) + [(f"specs[{i}]", s) for i, s in enumerate(specs or [])]
        for where, s in items:
            self.rules.append(self._rule(s, f"{base} {where}", ns))

    def _rule(self, spec, ref: str, ns: str | None) -> CRule:
        if not isinstance(spec, dict):
            raise ValueError(f"{ref}: a rule must be a mapping")
        has_ep, has_node = "endpointSelector" in spec, "nodeSelector" in spec
        if has_ep == has_node:
            raise ValueError(f"{ref}: exactly one of endpointSelector and nodeSelector must be given")
        selector = parse_selector(spec["endpointSelector"], f"{ref}.endpointSelector") if has_ep else None
        entries = {}
        for allow, deny, word in DIRECTIONS.values():
            for key in (allow, deny):
                raw = spec.get(key)
                if raw is None:
                    raw = []
                if not isinstance(raw, list):
                    raise ValueError(f"{ref}.{key} must be a list")
                entries[key] = [self._entry(e, f"{ref}.{key}[{i}]", word, ns) for i, e in enumerate(raw)]
        if not any(entries.values()) and not any(k in spec for k in entries):
            raise ValueError(f"{ref}: one of ingress, ingressDeny, egress, egressDeny must be given")
        dd = spec.get("enableDefaultDeny") or {}
        if not isinstance(dd, dict) or any(not isinstance(dd.get(d, False), bool) for d in DIRECTIONS):
            raise ValueError(f"{ref}.enableDefaultDeny must map ingress/egress to booleans")
        desc = spec.get("description") or ""
        return CRule(ref, str(desc), ns, selector, {d: dd.get(d) for d in DIRECTIONS}, entries)

    def _entry(self, e, where: str, word: str, ns: str | None) -> Entry:
        if not isinstance(e, dict):
            raise ValueError(f"{where}: a rule entry must be a mapping")
        for suffix in UNMODELLED:
            key = word + suffix
            if e.get(key):
                raise ValueError(f"{where}.{key}: not modelled by this evaluator")
        if e.get("authentication"):
            raise ValueError(f"{where}.authentication: not modelled by this evaluator")
        if word == "from" and e.get("fromFQDNs"):
            raise ValueError(f"{where}.fromFQDNs: not modelled by this evaluator")
        members = (word + "Endpoints", word + "CIDR", word + "CIDRSet", word + "Entities", "toFQDNs")
        l3 = [k for k in members if k in e and (word == "to" or k != "toFQDNs")]
        if len(l3) > 1:
            raise ValueError(f"{where}: {' and '.join(l3)} are mutually exclusive (one L3 member per rule)")
        peer = Peer(None)
        if l3:
            key = l3[0]
            items = e[key]
            if items is None:
                items = []
            if not isinstance(items, list):
                raise ValueError(f"{where}.{key} must be a list")
            if key == "toFQDNs":
                peer = Peer("fqdns", names=[self._fqdn(x, f"{where}.{key}[{i}]") for i, x in enumerate(items)])
            elif key.endswith("Endpoints"):
                sels = []
                for i, s in enumerate(items):
                    sel = parse_selector(s, f"{where}.{key}[{i}]")
                    if ns is not None:  # a namespaced policy: namespace labels ignored, own namespace implied
                        reqs = tuple(r for r in sel.reqs if not r[0][1].startswith(NS_LABELS))
                        if not Selector(reqs).names_namespace():
                            reqs += ((("k8s", NS_KEY), "In", frozenset([ns])),)
                        sel = Selector(reqs)
                    sels.append(sel)
                peer = Peer("endpoints", selectors=sels)
            elif key.endswith("Entities"):
                for i, x in enumerate(items):
                    if x not in ENTITIES:
                        raise ValueError(f"{where}.{key}[{i}]: unknown entity {x!r}")
                peer = Peer("entities", entities=list(items))
            elif key.endswith("CIDRSet"):
                blocks = []
                for i, b in enumerate(items):
                    at = f"{where}.{key}[{i}]"
                    if not isinstance(b, dict):
                        raise ValueError(f"{at} must be a mapping")
                    if "cidrGroupRef" in b or "cidrGroupSelector" in b:
                        raise ValueError(f"{at}: CIDR groups are not modelled by this evaluator")
                    if "cidr" not in b:
                        raise ValueError(f"{at}.cidr is required")
                    exc = b.get("except") or []
                    if not isinstance(exc, list):
                        raise ValueError(f"{at}.except must be a list")
                    blocks.append((_net(b["cidr"], f"{at}.cidr"), [_net(x, f"{at}.except") for x in exc]))
                peer = Peer("cidr", blocks=blocks)
            else:
                peer = Peer("cidr", blocks=[(_net(c, f"{where}.{key}"), []) for c in items])
        ports = None
        if e.get("toPorts"):
            if not isinstance(e["toPorts"], list):
                raise ValueError(f"{where}.toPorts must be a list")
            ports = []
            for i, tp in enumerate(e["toPorts"]):
                at = f"{where}.toPorts[{i}]"
                if not isinstance(tp, dict):
                    raise ValueError(f"{at} must be a mapping")
                for k in UNMODELLED_PORT:
                    if tp.get(k) and not (k == "rules" and self._dns_only(tp[k])):
                        raise ValueError(f"{at}.{k}: not modelled by this evaluator (L3/L4 only)")
                if tp.get("rules") and not any(
                    isinstance(x, dict) and x.get("matchPattern") == "*" for x in tp["rules"]["dns"]
                ):
                    continue  # DNS queries of some names only: no flow is known to be one
                if tp.get("rules") and "Deny" in where:
                    raise ValueError(f"{at}.rules: L7 rules are not allowed in a deny rule")
                plist = tp.get("ports") or []
                if not isinstance(plist, list):
                    raise ValueError(f"{at}.ports must be a list")
                if not plist:  # a toPorts entry without ports: every port of every port protocol
                    ports.append(("ANY", None, None, None))
                for j, p in enumerate(plist):
                    ports.append(self._port(p, f"{at}.ports[{j}]"))
        icmps = None
        if e.get("icmps"):
            if not isinstance(e["icmps"], list):
                raise ValueError(f"{where}.icmps must be a list")
            icmps = []
            for i, ic in enumerate(e["icmps"]):
                at = f"{where}.icmps[{i}]"
                if not isinstance(ic, dict) or not isinstance(ic.get("fields") or [], list):
                    raise ValueError(f"{at}.fields must be a list")
                for j, f in enumerate(ic.get("fields") or []):
                    icmps.append(self._icmp(f, f"{at}.fields[{j}]"))
        return Entry(peer, ports, icmps)

    @staticmethod
    def _fqdn(x, where: str) -> tuple[str, str]:
        if not isinstance(x, dict) or len([k for k in ("matchName", "matchPattern") if x.get(k)]) != 1:
            raise ValueError(f"{where}: one of matchName and matchPattern must be given")
        kind = "name" if x.get("matchName") else "pattern"
        return kind, str(x.get("matchName") or x.get("matchPattern")).lower().rstrip(".")

    @staticmethod
    def _dns_only(rules) -> bool:
        return isinstance(rules, dict) and set(rules) == {"dns"} and isinstance(rules["dns"], list)

    @staticmethod
    def _port(p, where: str) -> tuple[str, int | None, int | None, str | None]:
        if not isinstance(p, dict):
            raise ValueError(f"{where} must be a mapping")
        proto = str(p.get("protocol") or "ANY").upper()
        if proto not in PROTOCOLS and proto not in PORTLESS and proto != "ANY":
            raise ValueError(f"{where}.protocol {p.get('protocol')!r} is not one the CRD accepts")
        raw = p.get("port")
        if proto in PORTLESS:
            if raw not in (None, "", "0", 0):
                raise ValueError(f"{where}.port: {proto} has no ports")
            return proto, None, None, None
        if raw is None or str(raw) in ("", "0"):
            return proto, None, None, None
        text = str(raw)
        if text.isascii() and text.isdigit():
            lo = int(text)
            if not 0 < lo <= 65535:
                raise ValueError(f"{where}.port {text} is out of range")
            end = p.get("endPort")
            if end is None or end == 0:
                return proto, lo, lo, None
            if not isinstance(end, int) or isinstance(end, bool) or not 0 < end <= 65535:
                raise ValueError(f"{where}.endPort must be a port number")
            return proto, lo, max(lo, end), None
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", text) or len(text) > 15:
            raise ValueError(f"{where}.port {text!r} is neither a port number nor a port name")
        return proto, None, None, text  # a named port; endPort is ignored

    @staticmethod
    def _icmp(f, where: str) -> tuple[int, int]:
        if not isinstance(f, dict) or "type" not in f:
            raise ValueError(f"{where}.type is required")
        family = f.get("family") or "IPv4"
        if family not in ("IPv4", "IPv6"):
            raise ValueError(f"{where}.family must be IPv4 or IPv6")
        proto, names = (1, ICMP4) if family == "IPv4" else (58, ICMP6)
        t = f["type"]
        if isinstance(t, bool):
            raise ValueError(f"{where}.type must be a number or a type name")
        if isinstance(t, int) or (isinstance(t, str) and t.isascii() and t.isdigit()):
            if not 0 <= int(t) <= 255:
                raise ValueError(f"{where}.type {t} is out of range")
            return proto, int(t)
        if t not in names:
            raise ValueError(f"{where}.type {t!r} is not an {family} ICMP type name")
        return proto, names[t]

    # --- matching ----------------------------------------------------------

    def identity(self, ep: Endpoint) -> dict[tuple[str, str], str]:
        """The identity labels of an endpoint (remembered)."""
        got = self._ids.get(ep)
        if got is None:
            got = self._ids[ep] = self._identity(ep)
        return got

    def _identity(self, ep: Endpoint) -> dict[tuple[str, str], str]:
        if isinstance(ep, Ip):
            return {("reserved", "world"): ""}
        out = {("k8s", k): _text(v) for k, v in ep.labels if not IGNORED.match(k)}
        out[("k8s", NS_KEY)] = ep.namespace
        ns_labels = {**{k: _text(v) for k, v in self.namespace_labels.get(ep.namespace, {}).items()}}
        ns_labels[NAME_LABEL] = ep.namespace
        for k, v in ns_labels.items():
            out[("k8s", NS_LABELS + k)] = v
        return out

    def selects(self, rule: CRule, pod: Pod, labels) -> bool:
        if rule.selector is None:
            return False
        if rule.namespace is not None and pod.namespace != rule.namespace:
            return False
        return rule.selector.matches(labels)

    def peer_matches(self, peer: Peer, ep: Endpoint, labels) -> bool:
        if peer.kind is None:
            return True
        if peer.kind == "endpoints":
            return any(s.matches(labels) for s in peer.selectors)
        if peer.kind == "entities":
            for x in peer.entities:
                if x == "all" or (x == "world" and isinstance(ep, Ip)) or (x == "cluster" and isinstance(ep, Pod)):
                    return True
            return False
        if peer.kind == "fqdns":
            name = (ep.name or "").lower().rstrip(".") if isinstance(ep, Ip) else ""
            return bool(name) and any(_name_matches(kind, text, name) for kind, text in peer.names)
        if not isinstance(ep, Ip):
            return False  # CIDR rules never match a pod managed by Cilium
        ip = _address(ep.address)
        return any(_within(ip, net) and not any(_within(ip, x) for x in exc) for net, exc in peer.blocks)

    @staticmethod
    def l4_matches(entry: Entry, proto: int, port: int, dst: Endpoint) -> bool:
        if entry.ports is None and entry.icmps is None:
            return True
        for name, lo, hi, named in entry.ports or ():
            if name in PORTLESS:
                if proto == PORTLESS[name]:
                    return True
                continue
            if name == "ANY":
                if proto not in PROTOCOLS.values():
                    continue
            elif PROTOCOLS[name] != proto:
                continue
            if named is not None:  # a named container port of the destination pod
                pname = next(p for p, v in PROTOCOLS.items() if v == proto)
                if isinstance(dst, Pod) and dst.port_number(named, pname) == port:
                    return True
                continue
            if lo is None or lo <= port <= hi:
                return True
        return any(p == proto and t == port for p, t in entry.icmps or ())

    def selecting(self, pod: Pod, direction: str) -> tuple[list[CRule], bool]:
        """The rules that select POD with entries of DIRECTION, and whether POD is in default deny there."""
        key = (pod, direction)
        got = self._selecting.get(key)
        if got is None:
            allow_key, deny_key, _ = DIRECTIONS[direction]
            labels = self.identity(pod)
            picked = [r for r in self.rules if self.selects(r, pod, labels)]
            default_deny = any(
                r.default_deny[direction] is True
                or (r.default_deny[direction] is None and bool(r.entries[allow_key] or r.entries[deny_key]))
                for r in picked
            )
            got = self._selecting[key] = (picked, default_deny)
        return got

    def _side(self, pod: Pod, direction: str, other: Endpoint, dst: Endpoint, proto: int, port: int) -> dict:
        allow_key, deny_key, _ = DIRECTIONS[direction]
        peer_labels = self.identity(other)
        selecting, default_deny = self.selecting(pod, direction)
        by, denied = [], []
        for r in selecting:
            for key, sink in ((deny_key, denied), (allow_key, by)):
                for i, e in enumerate(r.entries[key]):
                    hit = self._peers.get((id(e.peer), other))
                    if hit is None:
                        hit = self._peers[(id(e.peer), other)] = self.peer_matches(e.peer, other, peer_labels)
                    if hit and self.l4_matches(e, proto, port, dst):
                        sink.append((r, f"{key}[{i}]"))
        allowed = not denied and (bool(by) or not default_deny)
        refs = [r.ref for r in selecting]
        if denied:
            r, at = denied[0]
            reason = f"denied by {r.ref} {at}" + (f" ({r.description})" if r.description else "")
        elif by:
            r, at = by[0]
            reason = f"allowed by {r.ref} {at}" + (f" ({r.description})" if r.description else "")
        elif default_deny:
            reason = f"default deny for {direction} (selected by {', '.join(refs)}); no {allow_key} rule matches"
        else:
            reason = f"not in default deny for {direction}: allowed"
        return {
            "applies": True,
            "pod": str(pod),
            "policies": refs,
            "isolated": default_deny,
            "allowed": allowed,
            "by": [(r.ref, at) for r, at in by],
            "denied_by": [(r.ref, at) for r, at in denied],
            "rules": [r.description for r, _ in (denied or by)[:1] if r.description],
            "reason": reason,
        }

    # --- public API --------------------------------------------------------

    def egress_allows(self, src: Pod, dst: Endpoint, proto: int, port: int) -> bool:
        return self._side(src, "egress", dst, dst, proto, port)["allowed"]

    def ingress_allows(self, src: Endpoint, dst: Pod, proto: int, port: int) -> bool:
        return self._side(dst, "ingress", src, dst, proto, port)["allowed"]

    def allows(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> bool:
        if isinstance(src, Pod) and not self.egress_allows(src, dst, proto, port):
            return False
        return not isinstance(dst, Pod) or self.ingress_allows(src, dst, proto, port)

    def explain(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> dict:
        eg = self._side(src, "egress", dst, dst, proto, port) if isinstance(src, Pod) else {"applies": False}
        ing = self._side(dst, "ingress", src, dst, proto, port) if isinstance(dst, Pod) else {"applies": False}
        return {"allowed": all(s.get("allowed", True) for s in (eg, ing)), "egress": eg, "ingress": ing}
