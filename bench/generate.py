"""Seeded generator of realistic rulesets for the benchmarks.

One abstract ruleset is drawn, then written three ways with the same meaning:
the fw2np ruleset language, an iptables-save file (FORWARD chain) and, for the
accept-only variant, an aerleon/capirca policy.  Workloads own /28 blocks in
10.0.0.0/16 (plus a second host for every tenth one); rules name workload
blocks, single hosts inside them, /24 and /22 supernets (overlap), ranges,
external CIDRs and `any`, with ports, port ranges and other protocols.  Deny
rules are interleaved at the given density and the ruleset ends with a
cleanup deny.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

COMMON_PORTS = [
    22,
    25,
    53,
    80,
    123,
    389,
    443,
    636,
    1433,
    2049,
    3306,
    3389,
    5432,
    5672,
    6379,
    8080,
    8443,
    9090,
    9200,
    9300,
    11211,
    27017,
]


@dataclass(frozen=True)
class Svc:
    proto: str  # tcp | udp | icmp | any
    lo: int = 0
    hi: int = 0

    def rules_text(self) -> str:
        if self.proto == "any":
            return "any"
        if self.proto == "icmp":
            return "icmp/8"
        if self.lo == self.hi:
            return f"{self.proto}/{self.lo}"
        return f"{self.proto}/{self.lo}-{self.hi}"


@dataclass(frozen=True)
class GenRule:
    action: str  # allow | deny
    src: str  # CIDR, a-b range or "any"
    dst: str
    svc: Svc


@dataclass
class Generated:
    rules: list[GenRule]
    workloads: list[tuple[str, str, list[str]]]  # (name, namespace, addresses)
    namespaces: list[str]
    seed: int


def _wl_block(i: int) -> str:
    return f"10.0.{(i * 16) // 256}.{(i * 16) % 256}/28"


def _wl_extra(i: int) -> str:
    return f"10.1.{i // 256}.{i % 256}/32"


def generate(
    n_rules: int,
    workloads: int = 500,
    deny: float = 0.2,
    seed: int = 1,
    accept_only: bool = False,
    namespaces: int | None = None,
) -> Generated:
    """N_RULES rules (the last one a cleanup deny) over WORKLOADS workloads."""
    if workloads > 4096:
        raise ValueError("at most 4096 workloads (10.0.0.0/16 in /28 blocks)")
    rnd = random.Random(seed)
    n_ns = namespaces or max(1, workloads // 50)
    nss = [f"team-{k:02d}" for k in range(n_ns)]
    wls = []
    for i in range(workloads):
        addrs = [_wl_block(i)] + ([_wl_extra(i)] if i % 10 == 0 else [])
        wls.append((f"app-{i:04d}", nss[i % n_ns], addrs))

    def workload_addr() -> str:
        i = rnd.randrange(workloads)
        r = rnd.random()
        if r < 0.9 or i % 10:
            return _wl_block(i)
        return _wl_extra(i)

    def host_in_workload() -> str:
        net = ipaddress.ip_network(_wl_block(rnd.randrange(workloads)))
        return str(net[rnd.randrange(16)]) + "/32"

    def supernet() -> str:
        top = max(1, (workloads * 16 + 255) // 256)
        if rnd.random() < 0.7:
            return f"10.0.{rnd.randrange(top)}.0/24"
        return f"10.0.{rnd.randrange(0, top, 4)}.0/22"

    def external() -> str:
        plen = rnd.choice([16, 20, 24, 24, 24, 27, 28, 32])
        a = rnd.choice([23, 34, 52, 64, 91, 104, 141, 151, 172, 185, 192, 198, 203, 212])
        addr = (a << 24) | rnd.getrandbits(24)
        return str(ipaddress.ip_network((addr, plen), strict=False))

    def ip_range() -> str:
        i = rnd.randrange(workloads)
        net = ipaddress.ip_network(_wl_block(i))
        a = rnd.randrange(16)
        return (
            f"{net[a]}-{net[min(15, a + rnd.randrange(1, 24))]}"
            if rnd.random() < 0.5
            else f"{net[0]}-{ipaddress.ip_network(_wl_block(min(workloads - 1, i + rnd.randrange(1, 4))))[15]}"
        )

    def address(side: str, deny_rule: bool) -> str:
        r = rnd.random()
        p_any = (0.05 if side == "src" else 0.01) + (0.05 if deny_rule else 0)
        table = [
            (p_any, lambda: "any"),
            (0.50, workload_addr),
            (0.12, supernet),
            (0.15, external),
            (0.03, host_in_workload),
            (0.03, ip_range),
        ]
        acc = 0.0
        for p, f in table:
            acc += p
            if r < acc:
                return f()
        return workload_addr()

    def service(deny_rule: bool) -> Svc:
        r = rnd.random()
        if r < (0.06 if deny_rule else 0.02):
            return Svc("any")
        if r < 0.65:
            return Svc("tcp", p := rnd.choice(COMMON_PORTS), p)
        if r < 0.80:
            lo = rnd.choice([1024, 3000, 5000, 8000, 9000, 30000])
            return Svc("tcp", lo, lo + rnd.choice([10, 99, 1000, 5000]))
        if r < 0.93:
            return Svc("udp", p := rnd.choice([53, 123, 161, 514, 1812, 4789]), p)
        if r < 0.97 and not accept_only:
            return Svc("icmp")
        return Svc("udp", 10000, 10000 + rnd.choice([99, 999]))

    rules = []
    for _ in range(max(0, n_rules - 1)):
        is_deny = not accept_only and rnd.random() < deny
        src = address("src", is_deny)
        dst = address("dst", is_deny)
        if src == "any" and dst == "any":
            dst = workload_addr()
        rules.append(GenRule("deny" if is_deny else "allow", src, dst, service(is_deny)))
    if n_rules:
        rules.append(GenRule("deny", "any", "any", Svc("any")))
    return Generated(rules, wls, nss, seed)


# --- writers ------------------------------------------------------------------------


def rules_text(g: Generated, name: str = "bench") -> str:
    """The ruleset language."""
    out = [f"# generated by bench.generate (seed {g.seed})", f"ruleset {name}", "default deny", ""]
    for k, r in enumerate(g.rules, 1):
        out.append(f"r{k} {r.action} {r.src} -> {r.dst} {r.svc.rules_text()}")
    return "\n".join(out) + "\n"


def _ipt_addr(flag: str, a: str) -> list[str]:
    if a == "any":
        return []
    if "-" in a:
        return ["-m", "iprange", f"--{flag}-range", a]
    return [f"-{flag[0]}", a]


def iptables_text(g: Generated) -> str:
    """An iptables-save filter table whose FORWARD chain holds the rules."""
    out = [
        f"# generated by bench.generate (seed {g.seed})",
        "*filter",
        ":INPUT ACCEPT [0:0]",
        ":FORWARD DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
    ]
    for r in g.rules:
        parts = ["-A", "FORWARD"] + _ipt_addr("src", r.src) + _ipt_addr("dst", r.dst)
        s = r.svc
        if s.proto == "icmp":
            parts += ["-p", "icmp", "-m", "icmp", "--icmp-type", "8"]
        elif s.proto != "any":
            port = str(s.lo) if s.lo == s.hi else f"{s.lo}:{s.hi}"
            parts += ["-p", s.proto, "-m", s.proto, "--dport", port]
        parts += ["-j", "ACCEPT" if r.action == "allow" else "DROP"]
        out.append(" ".join(parts))
    out.append("COMMIT")
    return "\n".join(out) + "\n"


def inventory_text(g: Generated, pod_cidr: str = "100.64.0.0/16") -> str:
    out = ["# generated by bench.generate", "cluster:", f"  podCIDRs: [{pod_cidr}]", "namespaces:"]
    out += [f"  {ns}: {{labels: {{team: {ns}}}}}" for ns in g.namespaces]
    out.append("workloads:")
    for name, ns, addrs in g.workloads:
        out += [
            f"  {name}:",
            f"    namespace: {ns}",
            f"    labels: {{app: {name}}}",
            f"    addresses: [{', '.join(addrs)}]",
        ]
    return "\n".join(out) + "\n"


def write(g: Generated, directory, name: str = "bench") -> dict:
    """Write rules.fw, rules.iptables and inventory.yaml into DIRECTORY; their paths."""
    from pathlib import Path

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths = {"rules": d / "rules.fw", "iptables": d / "rules.iptables", "inventory": d / "inventory.yaml"}
    paths["rules"].write_text(rules_text(g, name))
    paths["iptables"].write_text(iptables_text(g))
    paths["inventory"].write_text(inventory_text(g))
    return {k: str(v) for k, v in paths.items()}
