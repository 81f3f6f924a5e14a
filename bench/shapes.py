"""Seeded generators of the small inputs with runaway cost (issue 22): four shapes, each to a size in bytes.

* `wildcard`: an IOS extended ACL whose ACEs have non-contiguous wildcard masks (up to 8 scattered
  one bits over the low run, so one ACE expands to up to 256 address ranges).
* `nested`: ruleset-language rules over a-b address ranges nested inside each other (each range
  inside the one before it, with scattered overlapping ones), alternating allow and deny.
* `ports`: many rules each allowing or denying scattered single ports and small port ranges, so the
  service space splits into many pieces.
* `denyfirst`: many denies of scattered single hosts, then allows of large blocks.

Each generator draws from `random.Random(seed)` only, so a (shape, size, seed) gives the same
bytes every time.  All four share one inventory (`inventory_text`): 32 workloads owning /28
blocks in 10.0.0.0/16 in two namespaces.
"""

from __future__ import annotations

import random
from pathlib import Path

from . import generate
from .generate import _wl_block

WORKLOADS = 32
NAMESPACES = ("shop", "ops")


def _wl_host(rnd: random.Random) -> str:
    i = rnd.randrange(WORKLOADS)
    return f"10.0.{(i * 16) // 256}.{(i * 16) % 256 + rnd.randrange(16)}"


def _ip(v: int) -> str:
    return ".".join(str((v >> s) & 255) for s in (24, 16, 8, 0))


def inventory_text() -> str:
    """The generator's inventory writer over the shapes' 32 workloads."""
    workloads = [(f"wl{i}", NAMESPACES[i % 2], [_wl_block(i)]) for i in range(WORKLOADS)]
    return generate.inventory_text(generate.Generated([], workloads, list(NAMESPACES), 0))


def _fill(head: list[str], size: int, line, tail: list[str]) -> str:
    """HEAD, then LINE(i) for i = 0, 1, ... until the text reaches SIZE bytes, then TAIL."""
    out, n = list(head), sum(len(x) + 1 for x in head + tail)
    i = 0
    while n < size or i == 0:
        s = line(i)
        out.append(s)
        n += len(s) + 1
        i += 1
    return "\n".join(out + tail) + "\n"


def wildcard(size: int, seed: int) -> str:
    """IOS: `ip access-list extended BENCH` with ACEs on non-contiguous wildcard masks."""
    rnd = random.Random(seed)

    def line(i: int) -> str:
        low = rnd.randrange(0, 5)  # the low run of ones (one block each)
        bits = rnd.sample(range(low + 1, 24), rnd.randint(5, 8))  # scattered ones above it, under 10/8
        w = (1 << low) - 1
        for b in bits:
            w |= 1 << b
        addr = (10 << 24) | (rnd.getrandbits(24) & ~w)
        act = "deny" if i % 4 == 3 else "permit"
        dst = "any" if rnd.random() < 0.5 else f"host {_wl_host(rnd)}"
        proto = rnd.choice(("tcp", "tcp", "udp"))
        return f" {act} {proto} {_ip(addr)} {_ip(w)} {dst} eq {rnd.randrange(1, 65536)}"

    return _fill(["ip access-list extended BENCH"], size, line, [" deny ip any any"])


def nested(size: int, seed: int) -> str:
    """Ruleset language: a-b ranges each inside the one before (a new nest every 40), alternating allow/deny."""
    rnd = random.Random(seed)
    span = [0, 0]

    def line(i: int) -> str:
        if i % 40 == 0:
            lo = (10 << 24) + rnd.randrange(0, 1 << 16)
            span[:] = [lo, lo + (1 << 16) + rnd.randrange(1 << 16)]
        lo, hi = span
        width = hi - lo
        if rnd.random() < 0.25:  # an overlapping range across the nest's edge
            a = lo + rnd.randrange(max(1, width))
            b = a + rnd.randrange(1, max(2, width))
        else:
            a = lo + rnd.randrange(max(1, width // 8) + 1)
            b = hi - rnd.randrange(max(1, width // 8) + 1)
            span[:] = [a, max(a, b)]
            b = max(a, b)
        act = "allow" if i % 2 == 0 else "deny"
        other = _wl_block(rnd.randrange(WORKLOADS)) if rnd.random() < 0.7 else "any"
        src, dst = (f"{_ip(a)}-{_ip(b)}", other) if i % 3 else (other, f"{_ip(a)}-{_ip(b)}")
        return f"{act} {src} -> {dst} tcp/{rnd.choice((80, 443, 8080, 5432))}"

    return _fill(["ruleset nested", "default deny"], size, line, ["deny any -> any any"])


def ports(size: int, seed: int) -> str:
    """Ruleset language: rules each naming scattered single ports and small ranges."""
    rnd = random.Random(seed)

    def line(i: int) -> str:
        svcs = []
        for _ in range(rnd.randint(3, 10)):
            proto = rnd.choice(("tcp", "tcp", "udp"))
            p = rnd.randrange(1, 65000)
            svcs.append(f"{proto}/{p}" if rnd.random() < 0.6 else f"{proto}/{p}-{p + rnd.randrange(1, 40)}")
        act = "deny" if i % 3 == 2 else "allow"
        src = _wl_block(rnd.randrange(WORKLOADS)) if rnd.random() < 0.5 else "any"
        dst = _wl_block(rnd.randrange(WORKLOADS)) if rnd.random() < 0.8 else "any"
        return f"{act} {src} -> {dst} {', '.join(svcs)}"

    return _fill(["ruleset ports", "default deny"], size, line, ["deny any -> any any"])


def denyfirst(size: int, seed: int) -> str:
    """Ruleset language: denies of scattered hosts (9 in 10 lines), then allows of large blocks."""
    rnd = random.Random(seed)
    body: list[str] = []
    n = 0
    while n < size * 0.9:
        if rnd.random() < 0.5:
            s = f"deny {_ip((10 << 24) + rnd.getrandbits(24))} -> {_wl_host(rnd)} any"
        else:
            s = f"deny {_wl_host(rnd)} -> {_ip(rnd.getrandbits(32) | (1 << 24))} tcp/{rnd.randrange(1, 65536)}"
        body.append(s)
        n += len(s) + 1
    k = [0]

    def line(i: int) -> str:
        k[0] += 1
        pre = rnd.choice((8, 12, 16))
        base = rnd.getrandbits(32) >> (32 - pre) << (32 - pre)
        net = f"{_ip(base)}/{pre}" if rnd.random() < 0.5 else "10.0.0.0/16"
        src, dst = (net, "10.0.0.0/16") if i % 2 else ("10.0.0.0/16", net)
        return f"allow {src} -> {dst} {rnd.choice(('tcp/80', 'tcp/443', 'any', 'udp/53'))}"

    return _fill(["ruleset denyfirst", "default deny", *body], size, line, ["deny any -> any any"])


SHAPES = {"wildcard": wildcard, "nested": nested, "ports": ports, "denyfirst": denyfirst}
# the sizes of issue 22 that ran away (bytes)
ISSUE_SIZES = {"wildcard": 100_000, "nested": 467_000, "ports": 1_000_000, "denyfirst": 391_000}
SUFFIX = {"wildcard": ".ios", "nested": ".fw", "ports": ".fw", "denyfirst": ".fw"}


def write(shape: str, size: int, seed: int, directory) -> dict:
    """Write SHAPE at SIZE bytes and the shared inventory into DIRECTORY; their paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths = {"rules": d / f"{shape}{SUFFIX[shape]}", "inventory": d / "inventory.yaml"}
    paths["rules"].write_text(SHAPES[shape](size, seed))
    paths["inventory"].write_text(inventory_text())
    return {k: str(v) for k, v in paths.items()}
