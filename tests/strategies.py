"""Hypothesis strategies: random inventories and rulesets, and the flows to test them on."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

from translator.evaluate import Ip, Pod
from translator.frontends.rules import parse
from translator.model.inventory import parse_inventory

NAMESPACES = ["ns-a", "ns-b", "ns-c"]
# legacy address blocks, one per workload slot: IPv4-only, IPv6-only and dual-stack workloads
BLOCKS = [
    "10.0.0.0/26",
    "10.0.0.64/26",
    "10.0.1.0/24",
    "10.0.2.5",
    "2001:db8:1::/64",
    "10.0.3.0/24, 2001:db8:3::/64",
    "2001:db8:4::/64",
]
POD_CIDRS = ["", "", "", "100.64.0.0/16", "10.0.128.0/17", "10.0.128.0/17, fd00:10::/64", "fd00:10::/64"]
SERVICE_CIDRS = ["", "10.96.0.0/16", "10.0.0.128/26"]
ADDRESSES = [
    "any",
    "any",
    "any4",
    "any6",
    "10.0.0.0/16",
    "10.0.0.0/25",
    "10.0.0.0/27",
    "10.0.1.0/24",
    "10.0.2.5",
    "10.0.2.0-10.0.2.9",
    "192.0.2.0/24",
    "192.0.2.0/26",
    "192.0.2.7",
    "192.0.2.5-192.0.2.20",
    "198.51.100.0/25",
    "2001:db8::/32",
    "2001:db8:1::/64",
    "2001:db8:1::/80",
    "0.0.0.0/1",
    "10.0.128.0/17",
    "10.0.192.0/18",
    "100.64.0.0/10",
    "10.96.0.0/16",
    "fd00::/8",
    "0.0.0.0/0",
    "::/0",
    "::/1",
    "2001:db8:3::/64",
    "2001:db8:4::/80",
    "10.0.3.0/25",
    "0.0.0.0/0 except 10.0.3.0/24",
    "::/0 except 2001:db8:1::/64",
]
SERVICES = [
    "any",
    "tcp/80",
    "tcp/80-90",
    "tcp/85",
    "tcp",
    "udp/53",
    "udp",
    "icmp",
    "icmp/8",
    "sctp/100",
    "proto/47",
    "tcp/1-1000",
    "udp/50-60",
]


@st.composite
def scenarios(draw):
    """(ruleset text, inventory text)."""
    n_wl = draw(st.integers(1, len(BLOCKS)))
    slots = draw(st.permutations(range(len(BLOCKS))))[:n_wl]
    inv = []
    pods, services = draw(st.sampled_from(POD_CIDRS)), draw(st.sampled_from(SERVICE_CIDRS))
    if pods or services:
        inv += ["cluster:", f"  podCIDRs: [{pods}]", f"  serviceCIDRs: [{services}]"]
    inv.append("namespaces:")
    for ns in NAMESPACES:
        inv.append(f"  {ns}: {{labels: {{team: {ns[-1]}}}}}")
    inv.append("workloads:")
    for i, slot in enumerate(slots):
        ns = draw(st.sampled_from(NAMESPACES[:2]))  # ns-c keeps no workload
        extra = draw(st.sampled_from(["", ", tier: x", ", tier: y"]))
        addrs = "[]" if draw(st.integers(0, 9)) == 0 else f"[{BLOCKS[slot]}]"
        inv += [f"  w{i}:", f"    namespace: {ns}", f"    labels: {{app: w{i}{extra}}}", f"    addresses: {addrs}"]
    rules = [f"default {draw(st.sampled_from(['deny', 'deny', 'allow']))}"]
    scope = draw(st.sampled_from(["", "", "", "scope ingress", "scope egress", "scope both"]))
    if scope:
        rules.append(scope)

    def addr():
        a = draw(st.sampled_from(ADDRESSES))
        if draw(st.integers(0, 5)) == 0:  # one `except` per address list
            a += ", " + draw(st.sampled_from([x for x in ADDRESSES if "except" not in x or "except" not in a]))
        if draw(st.integers(0, 5)) == 0 and "except" not in a:
            a += " except " + draw(st.sampled_from([x for x in ADDRESSES[4:] if "except" not in x]))
        return a

    if draw(st.integers(0, 3)) == 0:
        rules.append("protect " + draw(st.sampled_from(BLOCKS + ["10.0.0.0/25", "any", "10.0.0.0/16"])))
    for k in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["allow", "allow", "deny"]))
        svcs = ", ".join(draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=2)))
        via = " via eth1" if draw(st.integers(0, 12)) == 0 else ""
        rules.append(f"{k + 1} {action} {addr()} -> {addr()} {svcs}{via}")
    return "\n".join(rules) + "\n", "\n".join(inv) + "\n"


def load(scenario):
    rules_text, inv_text = scenario
    return parse(rules_text, "random.fw"), parse_inventory(inv_text, "random-inv.yaml")


def _legacy_nets(inv):
    nets = [ipaddress.ip_network(c) for c in inv.pod_cidrs + inv.service_cidrs]
    for w in inv.workloads.values():
        for a in w.addresses:
            nets.append(ipaddress.ip_network(a, strict=False))
    return nets


EXTERNAL = [
    "0.0.0.1",
    "10.0.0.1",
    "10.0.0.30",
    "10.0.0.100",
    "10.0.1.7",
    "10.0.2.4",
    "10.0.2.5",
    "10.0.2.9",
    "10.0.9.9",
    "10.1.0.1",
    "127.0.0.1",
    "192.0.2.0",
    "192.0.2.4",
    "192.0.2.5",
    "192.0.2.7",
    "192.0.2.20",
    "192.0.2.21",
    "192.0.2.63",
    "192.0.2.64",
    "198.51.100.127",
    "198.51.100.128",
    "203.0.113.9",
    "255.255.255.255",
    "2001:db8::1",
    "2001:db8:1::1",
    "2001:db8:1:0:1::1",
    "2001:db9::1",
    "::1",
    "10.0.128.1",
    "10.0.200.1",
    "100.64.0.1",
    "100.65.0.1",
    "10.96.0.1",
    "fd00::1",
    "fd00:10::1",
    "10.0.3.7",
    "10.0.3.200",
    "2001:db8:3::1",
    "2001:db8:4::1",
    "2001:db8:4:0:1::1",
    "8000::1",
]
FLOW_SERVICES = [
    (6, 80),
    (6, 85),
    (6, 90),
    (6, 91),
    (6, 79),
    (6, 1),
    (6, 1000),
    (6, 1001),
    (6, 65535),
    (17, 53),
    (17, 50),
    (17, 61),
    (17, 9999),
    (1, 8),
    (1, 0),
    (132, 100),
    (132, 101),
    (47, 0),
    (58, 128),
    (50, 0),
]


def endpoints(inv, pod_ips: bool = False):
    """Pods of every class and external IPs (not legacy workload addresses, not cluster CIDRs).

    pod_ips: give each pod an address inside the pod CIDRs (for CNIs that match them with ipBlocks)."""
    pods = [(w.namespace, w.labels) for w in inv.workloads.values()]
    for ns in NAMESPACES:
        pods += [(ns, {"app": "zzz"}), (ns, {}), (ns, {"tier": "x"})]
    pods += [("elsewhere", {"app": "w0"}), ("kube-system", {})]
    if pod_ips:
        nets = [ipaddress.ip_network(c) for c in inv.pod_cidrs]
        pods = [Pod.of(ns, lab, ip=str(nets[k % len(nets)][7 + 3 * k])) for k, (ns, lab) in enumerate(pods)]
    else:
        pods = [Pod.of(ns, lab) for ns, lab in pods]
    legacy = _legacy_nets(inv)
    ips = [Ip(a) for a in EXTERNAL if not any(ipaddress.ip_address(a) in n for n in legacy)]
    return pods, ips


def governed(ep, inv) -> bool:
    return isinstance(ep, Pod) and ep.namespace in inv.namespaces
