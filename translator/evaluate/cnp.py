"""Brute-force decision of single flows under the SIG Network policy API: ClusterNetworkPolicy
(policy.networking.k8s.io/v1alpha2) or AdminNetworkPolicy and BaselineAdminNetworkPolicy (v1alpha1),
with the NetworkPolicies (networking.k8s.io/v1) of the same set as the tier between them.

Written from the API's documentation (https://network-policy-api.sigs.k8s.io/api-overview/) and the
field descriptions of the published CRDs, independently of translator/targets and translator/compiler:

* Tiers, per direction and per pod: the Admin tier (ClusterNetworkPolicies of `tier: Admin`, or every
  AdminNetworkPolicy), then NetworkPolicy, then the Baseline tier (`tier: Baseline`, or the one
  BaselineAdminNetworkPolicy, which must be named `default`).  A flow no tier decides is allowed.
* In a tier, the policies whose subject selects the pod and that have rules of that direction ("CNPs
  with no ingress rules do not affect ingress traffic") are taken by `priority`, lower first; rules in
  the order written; the first rule whose peers and protocols match decides: Accept (Allow) and Deny are
  final for that direction, Pass skips the rest of the tier.  Policies of one priority whose subjects
  both select the pod may be applied in any order ("the implementation can apply any of the matching
  policies"): every order is tried, and a flow is allowed only if it is allowed whatever the order.
* NetworkPolicy tier: a pod selected by a NetworkPolicy of that direction's type gets that policy
  set's decision (NetpolEvaluator), final; otherwise evaluation goes on to the Baseline tier.
* Subjects and peers: `namespaces` (a label selector over the namespace's labels, which include
  kubernetes.io/metadata.name) selects every pod of those namespaces; `pods` selects pods matching
  `podSelector` in namespaces matching `namespaceSelector` (empty or absent: every namespace);
  `networks` (egress only) matches addresses inside a CIDR, and, as the CRD says, cluster-internal
  traffic too: a pod whose IP is inside.  A pod without a known IP may or may not be inside: both
  outcomes are tried.  Ingress peers cannot be CIDRs, so an IP source matches no ingress rule.
* Ports: no `protocols` (`ports`) matches every protocol (ICMP included); otherwise an entry matches
  TCP, UDP or SCTP at a destination port number or in a range (start..end), or a destination pod's
  named container port.

For pod to pod both the source's egress and the destination's ingress must allow.  Malformed documents
(fields, enums and limits of the CRDs) raise ValueError naming the field.

    ev = ClusterPolicyEvaluator(docs, {namespace: labels})
    ev.allows(src, dst, proto, port)  -> bool
    ev.explain(src, dst, proto, port) -> {"allowed", "egress": {...}, "ingress": {...}}
"""

from __future__ import annotations

from dataclasses import dataclass, field

import netaddr

from .endpoints import Endpoint, Ip, Pod
from .netpol import NetpolEvaluator, requirements, requirements_hold

GROUP = "policy.networking.k8s.io"
CNP_API, ANP_API = f"{GROUP}/v1alpha2", f"{GROUP}/v1alpha1"
CNP, ANP, BANP = "ClusterNetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"
NAME_LABEL = "kubernetes.io/metadata.name"
PROTOCOLS = {"TCP": 6, "UDP": 17, "SCTP": 132}
ADMIN, BASELINE = "Admin", "Baseline"
DEFAULT_TIER = "none"  # no tier decided: allowed
ACCEPT, DENY, PASS = "accept", "deny", "pass"
INGRESS, EGRESS = "ingress", "egress"
# per kind: the actions (as written -> meaning), rules a policy and peers a rule may hold, port entries
SPECS = {
    CNP: ({"Accept": ACCEPT, "Deny": DENY, "Pass": PASS}, 25, 25, 25),
    ANP: ({"Allow": ACCEPT, "Deny": DENY, "Pass": PASS}, 100, 100, 100),
    BANP: ({"Allow": ACCEPT, "Deny": DENY}, 100, 100, 100),
}
MAX_NETWORKS = 25  # CIDRs in one networks peer (all three kinds)
MAX_NAME = 100  # characters of a rule name


@dataclass
class PRule:
    index: int
    action: str  # accept | deny | pass
    written: str  # the action as written (Accept, Allow, ...)
    name: str
    peers: list[tuple]  # ("namespaces", reqs) | ("pods", ns reqs, pod reqs) | ("networks", [(v, first, last)])
    ports: list[tuple] | None  # None: every protocol; ("port", proto, lo, hi) | ("named", name)


@dataclass
class PPolicy:
    kind: str
    name: str
    tier: str
    priority: int
    subject: tuple  # ("namespaces", reqs) | ("pods", ns reqs, pod reqs)
    rules: dict[str, list[PRule]] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


class ClusterPolicyEvaluator:
    """Decides single flows under ClusterNetworkPolicies or Admin/BaselineAdminNetworkPolicies (and the
    NetworkPolicies among the documents); see the module docstring."""

    def __init__(self, docs: list[dict], namespaces: dict[str, dict[str, str]] | None = None):
        self.namespace_labels = {ns: dict(labels or {}) for ns, labels in (namespaces or {}).items()}
        self.policies: list[PPolicy] = []
        netpols: list[dict] = []
        for doc in docs:
            self._add(doc, netpols)
        kinds = {p.kind for p in self.policies}
        if CNP in kinds and kinds & {ANP, BANP}:
            raise ValueError(
                "the documents mix ClusterNetworkPolicy with AdminNetworkPolicy/BaselineAdminNetworkPolicy: "
                "the API defines no order between them"
            )
        banps = [p for p in self.policies if p.kind == BANP]
        if len(banps) > 1:
            raise ValueError("more than one BaselineAdminNetworkPolicy: the cluster holds one, named default")
        names = [p.ref for p in self.policies]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"{dup[0]}: two documents of one name (cluster-scoped names are unique)")
        self.netpol = NetpolEvaluator(netpols, self.namespace_labels, pod_ips_match_ipblocks=True)
        self._tiers = {
            (tier, d): sorted(
                (p for p in self.policies if p.tier == tier and p.rules[d]), key=lambda p: (p.priority, p.name)
            )
            for tier in (ADMIN, BASELINE)
            for d in (INGRESS, EGRESS)
        }
        self._ns_memo: dict = {}
        self._selecting: dict = {}

    # --- reading -----------------------------------------------------------------------

    def _add(self, doc, netpols: list[dict]) -> None:
        if not isinstance(doc, dict):
            raise ValueError(f"a document must be a mapping, not {type(doc).__name__}")
        kind, api = doc.get("kind"), doc.get("apiVersion")
        if kind in ("List", "ClusterNetworkPolicyList", "AdminNetworkPolicyList"):
            for item in doc.get("items") or []:
                self._add(item, netpols)
            return
        if kind == "NetworkPolicy" and api in (None, "networking.k8s.io/v1"):
            netpols.append(doc)
            return
        if (api, kind) in ((CNP_API, CNP), (ANP_API, ANP), (ANP_API, BANP)):
            self.policies.append(_policy(doc, kind))
            return
        if api is not None and str(api).startswith(GROUP + "/") and kind in (CNP, ANP, BANP):
            raise ValueError(f"{kind}: apiVersion {api!r} is not served (use {CNP_API} or {ANP_API})")

    # --- matching ------------------------------------------------------------------------

    def ns_labels(self, ns: str) -> dict[str, str]:
        return {**{k: str(v) for k, v in self.namespace_labels.get(ns, {}).items()}, NAME_LABEL: ns}

    def _ns_holds(self, reqs: tuple, ns: str) -> bool:
        key = (reqs, ns)
        if key not in self._ns_memo:
            self._ns_memo[key] = requirements_hold(reqs, self.ns_labels(ns))
        return self._ns_memo[key]

    def selects(self, subject: tuple, pod: Pod) -> bool:
        """Does a subject (or a namespaces/pods peer) select POD?"""
        if subject[0] == "namespaces":
            return self._ns_holds(subject[1], pod.namespace)
        return self._ns_holds(subject[1], pod.namespace) and requirements_hold(subject[2], pod.label_map)

    def peer_matches(self, peer: tuple, ep: Endpoint) -> bool | None:
        """True, False, or None when it depends on an IP the pod's description does not give."""
        if peer[0] == "networks":
            address = ep.address if isinstance(ep, Ip) else ep.ip
            if address is None:
                return None  # a pod's IP is matched too; this pod's is not known
            ip = netaddr.IPAddress(address)
            v, x = ip.version, int(ip)
            return any(pv == v and lo <= x <= hi for pv, lo, hi in peer[1])
        return isinstance(ep, Pod) and self.selects(peer, ep)

    @staticmethod
    def ports_match(ports: list[tuple] | None, proto: int, port: int, dst: Endpoint) -> bool:
        if ports is None:
            return True
        for entry in ports:
            if entry[0] == "port":
                if entry[1] == proto and entry[2] <= port <= entry[3]:
                    return True
            elif isinstance(dst, Pod):
                for name, p, number in dst.ports:
                    if name == entry[1] and PROTOCOLS.get(p) == proto and number == port:
                        return True
        return False

    def rule_matches(self, rule: PRule, other: Endpoint, dst: Endpoint, proto: int, port: int) -> bool | None:
        if not self.ports_match(rule.ports, proto, port, dst):
            return False
        seen = [self.peer_matches(p, other) for p in rule.peers]
        if True in seen:
            return True
        return None if None in seen else False

    def _policies_for(self, tier: str, direction: str, pod: Pod) -> list[PPolicy]:
        key = (tier, direction, pod)
        if key not in self._selecting:
            self._selecting[key] = [p for p in self._tiers[(tier, direction)] if self.selects(p.subject, pod)]
        return self._selecting[key]

    def _tier(self, tier: str, direction: str, pod: Pod, other: Endpoint, dst: Endpoint, proto: int, port: int):
        """[(action or None, policy, rule)]: every possible outcome of the tier (None: no rule decided)."""
        pols = self._policies_for(tier, direction, pod)
        k = 0
        while k < len(pols):
            group = [p for p in pols[k:] if p.priority == pols[k].priority]
            k += len(group)
            found, all_may_miss = [], True
            for p in group:
                may_miss = True
                for r in p.rules[direction]:
                    m = self.rule_matches(r, other, dst, proto, port)
                    if m is False:
                        continue
                    found.append((r.action, p, r))
                    if m:
                        may_miss = False
                        break
                all_may_miss = all_may_miss and may_miss
            if found:
                return found + ([(None, None, None)] if all_may_miss else [])
        return [(None, None, None)]

    def _outcomes(self, direction: str, pod: Pod, other: Endpoint, dst: Endpoint, proto: int, port: int):
        """[(allowed, tier, policy, rule)]: every possible decision of POD's DIRECTION."""
        out = []
        for action, pol, rule in self._tier(ADMIN, direction, pod, other, dst, proto, port):
            if action in (ACCEPT, DENY):
                out.append((action == ACCEPT, ADMIN, pol, rule))
                continue
            np_dir = "Ingress" if direction == INGRESS else "Egress"
            if self.netpol.selecting(pod, np_dir):
                if direction == INGRESS:
                    ok = self.netpol.ingress_allows(other, pod, proto, port)
                else:
                    ok = self.netpol.egress_allows(pod, other, proto, port)
                out.append((ok, "NetworkPolicy", pol, rule))
                continue
            for b_action, b_pol, b_rule in self._tier(BASELINE, direction, pod, other, dst, proto, port):
                if b_action in (ACCEPT, DENY):
                    out.append((b_action == ACCEPT, BASELINE, b_pol, b_rule))
                else:
                    out.append((True, None, b_pol or pol, b_rule or rule))
        return out

    # --- public API ------------------------------------------------------------------------

    def egress_allows(self, src: Pod, dst: Endpoint, proto: int, port: int) -> bool:
        return all(ok for ok, *_ in self._outcomes(EGRESS, src, dst, dst, proto, port))

    def ingress_allows(self, src: Endpoint, dst: Pod, proto: int, port: int) -> bool:
        return all(ok for ok, *_ in self._outcomes(INGRESS, dst, src, dst, proto, port))

    def allows(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> bool:
        """Pod ends need their direction's decision; IP to IP is not these APIs' business (True)."""
        for ep in (src, dst):
            if not isinstance(ep, (Pod, Ip)):
                raise TypeError(f"not an endpoint: {ep!r}")
        if isinstance(src, Pod) and not self.egress_allows(src, dst, proto, port):
            return False
        return not isinstance(dst, Pod) or self.ingress_allows(src, dst, proto, port)

    def explain(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> dict:
        """Per direction: the policies selecting the pod, and the tier, policy and rule that decide."""
        eg = self._side(EGRESS, src, dst, dst, proto, port) if isinstance(src, Pod) else {"applies": False}
        ing = self._side(INGRESS, dst, src, dst, proto, port) if isinstance(dst, Pod) else {"applies": False}
        allowed = all(s.get("allowed", True) for s in (eg, ing))
        return {"allowed": allowed, "egress": eg, "ingress": ing}

    def _side(self, direction: str, pod: Pod, other: Endpoint, dst: Endpoint, proto: int, port: int) -> dict:
        outs = self._outcomes(direction, pod, other, dst, proto, port)
        np_dir = "Ingress" if direction == INGRESS else "Egress"
        pols = [p.ref for t in (ADMIN, BASELINE) for p in self._policies_for(t, direction, pod)]
        pols += [p.ref for p in self.netpol.selecting(pod, np_dir)]
        decisions = []
        for ok, tier, pol, rule in outs:
            d = {"allowed": ok, "tier": tier or DEFAULT_TIER}
            if pol is not None and rule is not None:
                d.update(policy=pol.ref, rule=rule.index, rule_name=rule.name, action=rule.written)
            decisions.append(d)
        allowed = all(ok for ok, *_ in outs)
        first = decisions[0]
        if first["tier"] == "NetworkPolicy":
            np_side = self.netpol.explain(other, pod, proto, port) if direction == INGRESS else None
            if np_side is None:
                np_side = self.netpol.explain(pod, other, proto, port)
            why = f"decided by the NetworkPolicies that select the pod: {np_side[direction]['reason']}"
            if "policy" in first:
                why += f" (passed by {first['policy']} rule {first['rule']} '{first['rule_name']}')"
        elif first["tier"] in (ADMIN, BASELINE):
            rule = f"rule {first['rule']} '{first['rule_name']}'"
            why = f"{first['tier']} tier: {first['policy']} {rule} ({first['action']})"
        else:
            why = "no tier decides: allowed"
            if "policy" in first:
                why += f" (passed by {first['policy']} rule {first['rule']} '{first['rule_name']}')"
        if len({d["allowed"] for d in decisions}) > 1:
            why += "; the outcome depends on the order of policies of one priority or on the pod's IP: denied"
        by = [(d["policy"], d["rule"]) for d in decisions if d["allowed"] and d["tier"] in (ADMIN, BASELINE)]
        return {
            "applies": True,
            "pod": str(pod),
            "policies": pols,
            "allowed": allowed,
            "by": by if allowed else [],
            "reason": why,
            "decisions": decisions,
            "ambiguous": len(decisions) > 1,
        }


# --- documents to policies -------------------------------------------------------------------


def _policy(doc: dict, kind: str) -> PPolicy:
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise ValueError(f"{kind}: metadata.name is required")
    name = meta["name"]
    where = f"{kind} {name}: spec"
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: a mapping is required")
    actions, max_rules, max_peers, max_ports = SPECS[kind]
    known = {"subject", "ingress", "egress"} | ({"priority"} if kind != BANP else set())
    if kind == CNP:
        known.add("tier")
    for key in spec:
        if key not in known:
            raise ValueError(f"{where}.{key}: not a field of {kind}")
    if kind == CNP:
        tier = spec.get("tier")
        if tier not in (ADMIN, BASELINE):
            raise ValueError(f"{where}.tier: {tier!r} must be Admin or Baseline")
    else:
        tier = ADMIN if kind == ANP else BASELINE
    if kind == BANP:
        if name != "default":
            raise ValueError(f"{where}: a BaselineAdminNetworkPolicy must be named default, not {name!r}")
        priority = 0
    else:
        priority = spec.get("priority")
        if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 1000:
            raise ValueError(f"{where}.priority: {priority!r} must be an integer from 0 to 1000")
    subject = _selection(spec.get("subject"), f"{where}.subject", kind)
    pol = PPolicy(kind, name, tier, priority, subject)
    for direction, peer_key in ((INGRESS, "from"), (EGRESS, "to")):
        rules = spec.get(direction)
        if rules is None:
            rules = []
        if not isinstance(rules, list):
            raise ValueError(f"{where}.{direction}: a list is required")
        if len(rules) > max_rules:
            raise ValueError(f"{where}.{direction}: {len(rules)} rules, at most {max_rules} allowed")
        pol.rules[direction] = [
            _rule(r, k, f"{where}.{direction}[{k}]", direction, peer_key, kind, actions, max_peers, max_ports)
            for k, r in enumerate(rules)
        ]
    return pol


def _rule(r, k, where, direction, peer_key, kind, actions, max_peers, max_ports) -> PRule:
    if not isinstance(r, dict):
        raise ValueError(f"{where}: a mapping is required")
    port_key = "protocols" if kind == CNP else "ports"
    for key in r:
        if key not in ("action", "name", peer_key, port_key):
            raise ValueError(f"{where}.{key}: not a field of a {kind} {direction} rule")
    action = r.get("action")
    if action not in actions:
        raise ValueError(f"{where}.action: {action!r} must be one of {', '.join(actions)}")
    name = r.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise ValueError(f"{where}.name: a string of at most {MAX_NAME} characters is required")
    peers = r.get(peer_key)
    if not isinstance(peers, list) or not peers:
        raise ValueError(f"{where}.{peer_key}: at least one peer is required")
    if len(peers) > max_peers:
        raise ValueError(f"{where}.{peer_key}: {len(peers)} peers, at most {max_peers} allowed")
    parsed = [_peer(p, f"{where}.{peer_key}[{i}]", direction, kind) for i, p in enumerate(peers)]
    ports = r.get(port_key)
    if ports is not None:
        if not isinstance(ports, list) or not ports:
            raise ValueError(f"{where}.{port_key}: a non-empty list is required when present")
        if len(ports) > max_ports:
            raise ValueError(f"{where}.{port_key}: {len(ports)} entries, at most {max_ports} allowed")
        reader = _cnp_protocol if kind == CNP else _anp_port
        ports = [reader(e, f"{where}.{port_key}[{i}]") for i, e in enumerate(ports)]
    return PRule(k, actions[action], action, name, parsed, ports)


def _selector(sel, where: str) -> tuple:
    if sel is None:
        sel = {}
    if not isinstance(sel, dict):
        raise ValueError(f"{where}: a label selector (mapping) is required")
    for key in sel:
        if key not in ("matchLabels", "matchExpressions"):
            raise ValueError(f"{where}.{key}: not a field of a label selector")
    try:
        reqs = requirements(sel)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    for key, op, values in reqs:
        if not isinstance(key, str) or not key:
            raise ValueError(f"{where}.matchExpressions: every entry needs a key")
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"{where}.matchExpressions: operator {op!r} is not In, NotIn, Exists or DoesNotExist")
        if op in ("In", "NotIn") and not values:
            raise ValueError(f"{where}.matchExpressions: {op} needs values")
        if op in ("Exists", "DoesNotExist") and values:
            raise ValueError(f"{where}.matchExpressions: {op} takes no values")
    return reqs


def _selection(obj, where: str, kind: str) -> tuple:
    """A subject or a namespaces/pods peer."""
    if not isinstance(obj, dict) or len(obj) != 1:
        raise ValueError(f"{where}: exactly one of namespaces, pods is required")
    (key, val), *_ = obj.items()
    if key == "namespaces":
        return ("namespaces", _selector(val, f"{where}.namespaces"))
    if key == "pods":
        if not isinstance(val, dict):
            raise ValueError(f"{where}.pods: a mapping is required")
        for k in val:
            if k not in ("namespaceSelector", "podSelector"):
                raise ValueError(f"{where}.pods.{k}: not a field")
        if "podSelector" not in val or (kind != CNP and "namespaceSelector" not in val):
            need = "podSelector" if kind == CNP else "namespaceSelector and podSelector"
            raise ValueError(f"{where}.pods: {need} required")
        return (
            "pods",
            _selector(val.get("namespaceSelector"), f"{where}.pods.namespaceSelector"),
            _selector(val.get("podSelector"), f"{where}.pods.podSelector"),
        )
    raise ValueError(f"{where}.{key}: not a field here (namespaces or pods)")


def _peer(p, where: str, direction: str, kind: str) -> tuple:
    if isinstance(p, dict) and len(p) == 1 and "networks" in p:
        if direction == INGRESS:
            raise ValueError(f"{where}.networks: ingress peers are namespaces or pods only")
        nets = p["networks"]
        if not isinstance(nets, list) or not nets or len(nets) > MAX_NETWORKS:
            raise ValueError(f"{where}.networks: 1 to {MAX_NETWORKS} CIDRs are required")
        out = []
        for i, c in enumerate(nets):
            if not isinstance(c, str) or "/" not in c or len(c) > 43:
                raise ValueError(f"{where}.networks[{i}]: {c!r} is not a CIDR")
            try:
                net = netaddr.IPNetwork(c)
            except (netaddr.AddrFormatError, ValueError, TypeError):
                raise ValueError(f"{where}.networks[{i}]: {c!r} is not a CIDR") from None
            out.append((net.version, int(net.first), int(net.last)))
        return ("networks", out)
    return _selection(p, where, kind)


def _port_number(v, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 65535:
        raise ValueError(f"{where}: {v!r} must be a port number from 1 to 65535")
    return v


def _cnp_protocol(e, where: str) -> tuple:
    if not isinstance(e, dict) or len(e) != 1:
        raise ValueError(f"{where}: exactly one of tcp, udp, sctp, destinationNamedPort is required")
    (key, val), *_ = e.items()
    if key == "destinationNamedPort":
        if not isinstance(val, str) or not val:
            raise ValueError(f"{where}.destinationNamedPort: a port name is required")
        return ("named", val)
    if key not in ("tcp", "udp", "sctp"):
        raise ValueError(f"{where}.{key}: not a protocol (tcp, udp, sctp, destinationNamedPort)")
    proto = PROTOCOLS[key.upper()]
    if not isinstance(val, dict) or set(val) != {"destinationPort"}:
        raise ValueError(f"{where}.{key}: destinationPort is required")
    dp = val["destinationPort"]
    if not isinstance(dp, dict) or len(dp) != 1:
        raise ValueError(f"{where}.{key}.destinationPort: exactly one of number, range is required")
    if "number" in dp:
        n = _port_number(dp["number"], f"{where}.{key}.destinationPort.number")
        return ("port", proto, n, n)
    rng = dp.get("range")
    if not isinstance(rng, dict) or set(rng) != {"start", "end"}:
        raise ValueError(f"{where}.{key}.destinationPort.range: start and end are required")
    lo = _port_number(rng["start"], f"{where}.{key}.destinationPort.range.start")
    hi = _port_number(rng["end"], f"{where}.{key}.destinationPort.range.end")
    if lo >= hi:
        raise ValueError(f"{where}.{key}.destinationPort.range: start must be less than end")
    return ("port", proto, lo, hi)


def _anp_port(e, where: str) -> tuple:
    if not isinstance(e, dict) or len(e) != 1:
        raise ValueError(f"{where}: exactly one of portNumber, portRange is required")
    (key, val), *_ = e.items()
    if key not in ("portNumber", "portRange") or not isinstance(val, dict):
        raise ValueError(f"{where}.{key}: not a port entry (portNumber, portRange)")
    fields = {"protocol", "port"} if key == "portNumber" else {"protocol", "start", "end"}
    for k in val:
        if k not in fields:
            raise ValueError(f"{where}.{key}.{k}: not a field")
    protocol = val.get("protocol", "TCP")
    if protocol not in PROTOCOLS:
        raise ValueError(f"{where}.{key}.protocol: {protocol!r} must be TCP, UDP or SCTP")
    if key == "portNumber":
        n = _port_number(val.get("port"), f"{where}.portNumber.port")
        return ("port", PROTOCOLS[protocol], n, n)
    lo = _port_number(val.get("start"), f"{where}.portRange.start")
    hi = _port_number(val.get("end"), f"{where}.portRange.end")
    if lo >= hi:
        raise ValueError(f"{where}.portRange: start must be less than end")
    return ("port", PROTOCOLS[protocol], lo, hi)
