"""Brute-force NetworkPolicy (networking.k8s.io/v1) decision for single flows.

Written from the Kubernetes documentation, independently of the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import netaddr

from .endpoints import Endpoint, Ip, Pod

NAME_LABEL = "kubernetes.io/metadata.name"
PROTO_NAMES = {6: "TCP", 17: "UDP", 132: "SCTP"}
INGRESS, EGRESS = "Ingress", "Egress"


def requirement_holds(op: str, values, value: str | None) -> bool:
    """One matchExpressions requirement on a label VALUE (None: the pod has no such key)."""
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    raise ValueError(f"unknown label selector operator {op!r}")


def selector_matches(sel: dict | None, labels: dict[str, str]) -> bool:
    """A LabelSelector: every matchLabels pair and every matchExpressions entry holds."""
    return requirements_hold(requirements(sel), labels)


def requirements(sel: dict | None) -> tuple:
    """A LabelSelector as (key, operator, values) requirements, values as Kubernetes reads them."""
    sel = sel or {}
    out = [(k, "In", (_text(v),)) for k, v in (sel.get("matchLabels") or {}).items()]
    for expr in sel.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            raise ValueError(f"a matchExpressions entry must be a mapping, not {expr!r}")
        out.append((expr.get("key"), expr.get("operator"), frozenset(_text(v) for v in expr.get("values") or [])))
    return tuple(out)


def requirements_hold(reqs: tuple, labels: dict[str, str]) -> bool:
    return all(requirement_holds(op, values, labels.get(k)) for k, op, values in reqs)


def _text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


@lru_cache(maxsize=4096)
def _net(cidr: str) -> netaddr.IPNetwork:
    try:
        return netaddr.IPNetwork(str(cidr))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise ValueError(f"ipBlock: {cidr!r} is not a valid CIDR") from None


@lru_cache(maxsize=65536)
def _span(cidr: str) -> tuple[int, int, int]:
    net = _net(cidr)
    return net.version, int(net.first), int(net.last)


@lru_cache(maxsize=65536)
def _addr(text: str) -> tuple[int, int]:
    ip = netaddr.IPAddress(text)
    return ip.version, int(ip)


def _within(ip: tuple[int, int], cidr: str) -> bool:
    v, lo, hi = _span(cidr)
    return v == ip[0] and lo <= ip[1] <= hi


def in_ip_block(address: str, block: dict) -> bool:
    """ADDRESS is inside block.cidr and outside every block.except."""
    return ip_block_holds(_addr(address), block)


def ip_block_holds(ip: tuple[int, int], block: dict) -> bool:
    """`in_ip_block` for IP = (version, integer)."""
    if "cidr" not in block or not _within(ip, block["cidr"]):
        return False
    return not any(_within(ip, e) for e in block.get("except") or [])


@dataclass
class DefaultedPolicy:
    """A NetworkPolicy with its defaults applied."""

    namespace: str
    name: str
    pod_selector: dict
    types: tuple[str, ...]
    ingress: list
    egress: list

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @staticmethod
    def of(obj: dict) -> DefaultedPolicy:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        types = tuple(spec.get("policyTypes") or ())
        if not types:
            # Kubernetes defaulting: Ingress always, Egress when there are egress rules
            types = (INGRESS, EGRESS) if spec.get("egress") else (INGRESS,)
        return DefaultedPolicy(
            meta.get("namespace") or "default",
            meta.get("name") or "",
            spec.get("podSelector") or {},
            types,
            [r or {} for r in spec.get("ingress") or []],
            [r or {} for r in spec.get("egress") or []],
        )


class NetpolEvaluator:
    """Decides single flows under a set of NetworkPolicies."""

    def __init__(
        self,
        policies: list[dict],
        namespace_labels: dict[str, dict[str, str]] | None = None,
        pod_ips_match_ipblocks: bool = False,
    ):
        self.policies: list[DefaultedPolicy] = []
        for obj in policies:
            self._add(obj)
        self.namespace_labels = namespace_labels or {}
        self.pod_ips = pod_ips_match_ipblocks

    def _add(self, obj) -> None:
        if not isinstance(obj, dict):
            raise ValueError(f"a NetworkPolicy must be a mapping, got {type(obj).__name__}")
        kind = obj.get("kind")
        if kind == "List" or kind == "NetworkPolicyList":
            for item in obj.get("items") or []:
                self._add(item)
        elif kind in (None, "NetworkPolicy"):
            self.policies.append(DefaultedPolicy.of(obj))

    def ns_labels(self, ns: str) -> dict[str, str]:
        return {**{k: _text(v) for k, v in self.namespace_labels.get(ns, {}).items()}, NAME_LABEL: ns}

    def peer_test(self, peer: dict, policy_ns: str):
        """`peer_matches` for one PEER as a function of the endpoint (selectors read once)."""
        peer = peer or {}
        if peer.get("ipBlock") is not None:
            block = peer["ipBlock"]

            def in_block(ep) -> bool:
                if isinstance(ep, Ip):
                    return in_ip_block(ep.address, block)
                return self.pod_ips and ep.ip is not None and in_ip_block(ep.ip, block)

            return in_block
        pod_sel, ns_sel = peer.get("podSelector"), peer.get("namespaceSelector")
        if pod_sel is None and ns_sel is None:
            return lambda ep: False
        ns_ok: dict[str, bool] = {}
        reqs: dict[str, tuple] = {}  # read on first use

        def test(ep) -> bool:
            if not isinstance(ep, Pod):
                return False
            ns = ep.namespace
            if ns_sel is None:
                if ns != policy_ns:
                    return False
            else:
                if ns not in ns_ok:
                    if "ns" not in reqs:
                        reqs["ns"] = requirements(ns_sel)
                    ns_ok[ns] = requirements_hold(reqs["ns"], self.ns_labels(ns))
                if not ns_ok[ns]:
                    return False
            if pod_sel is None:
                return True
            if "pod" not in reqs:
                reqs["pod"] = requirements(pod_sel)
            return requirements_hold(reqs["pod"], ep.label_map)

        return test

    # --- matching -----------------------------------------------------------

    def selecting(self, pod: Pod, direction: str) -> list[DefaultedPolicy]:
        """Policies of that type that select POD."""
        labels = pod.label_map
        return [
            p
            for p in self.policies
            if direction in p.types and p.namespace == pod.namespace and selector_matches(p.pod_selector, labels)
        ]

    def peer_matches(self, peer: dict, policy_ns: str, ep: Endpoint) -> bool:
        return self.peer_test(peer, policy_ns)(ep)

    @staticmethod
    def port_matches(entry: dict, proto: int, port: int, dst: Endpoint) -> bool:
        entry = entry or {}
        name = PROTO_NAMES.get(proto)
        protocol = str(entry.get("protocol") or "TCP").upper()
        if name is None or protocol != name:
            return False
        p = entry.get("port")
        if p is None:
            return True
        if isinstance(p, str) and not (p.isascii() and p.isdigit()):  # '²'.isdigit() holds
            # a named port of the destination pod; endPort does not apply
            return isinstance(dst, Pod) and dst.port_number(p, protocol) == port
        end = entry.get("endPort")
        return int(p) <= port <= int(end) if end is not None else port == int(p)

    def rule_matches(
        self, rule: dict, direction: str, policy_ns: str, other: Endpoint, dst: Endpoint, proto: int, port: int
    ) -> bool:
        peers = rule.get("from" if direction == INGRESS else "to")
        if peers and not any(self.peer_matches(p, policy_ns, other) for p in peers):
            return False
        ports = rule.get("ports")
        return not ports or any(self.port_matches(e, proto, port, dst) for e in ports)

    def _side(
        self, pod: Pod, direction: str, other: Endpoint, dst: Endpoint, proto: int, port: int, first_only: bool
    ) -> dict:
        pols = self.selecting(pod, direction)
        out = {
            "applies": True,
            "pod": str(pod),
            "policies": [p.ref for p in pols],
            "isolated": bool(pols),
            "allowed": not pols,
            "by": [],
            "reason": "",
        }
        if not pols:
            out["reason"] = f"no {direction} policy selects the pod: not isolated"
            return out
        for p in pols:
            rules = p.ingress if direction == INGRESS else p.egress
            for i, r in enumerate(rules):
                if self.rule_matches(r, direction, p.namespace, other, dst, proto, port):
                    out["by"].append((p.ref, i))
                    out["allowed"] = True
                    if first_only:
                        return out
        if not out["allowed"]:
            out["reason"] = (
                f"isolated for {direction} by {', '.join(out['policies'])}; no rule of those policies matches"
            )
        else:
            out["reason"] = f"allowed by {out['by'][0][0]} {direction.lower()} rule {out['by'][0][1]}"
        return out

    # --- public API ---------------------------------------------------------

    def egress_allows(self, src: Pod, dst: Endpoint, proto: int, port: int) -> bool:
        """Does SRC's egress allow the flow (True when SRC is not egress-isolated)?"""
        return self._side(src, EGRESS, dst, dst, proto, port, True)["allowed"]

    def ingress_allows(self, src: Endpoint, dst: Pod, proto: int, port: int) -> bool:
        """Does DST's ingress allow the flow (True when DST is not ingress-isolated)?"""
        return self._side(dst, INGRESS, src, dst, proto, port, True)["allowed"]

    def allows(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> bool:
        """Pod ends need their side's policies; IP to IP is out of reach (True)."""
        if isinstance(src, Pod) and not self.egress_allows(src, dst, proto, port):
            return False
        return not isinstance(dst, Pod) or self.ingress_allows(src, dst, proto, port)

    def explain(self, src: Endpoint, dst: Endpoint, proto: int, port: int) -> dict:
        """Which policies select each end, isolation, and the rules that allow (or why not)."""
        eg = self._side(src, EGRESS, dst, dst, proto, port, False) if isinstance(src, Pod) else {"applies": False}
        ing = self._side(dst, INGRESS, src, dst, proto, port, False) if isinstance(dst, Pod) else {"applies": False}
        allowed = all(s.get("allowed", True) for s in (eg, ing))
        return {"allowed": allowed, "egress": eg, "ingress": ing}
