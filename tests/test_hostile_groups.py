"""Hostile group graphs: deep chains, diamonds, cycles and self-references in every format with groups.

Each outcome must be a result or a clear InputError (with a place) within a time bound, through the
frontend, the compiler, verify, explain and reverse; for acyclic groups the resolved sets must equal a
brute-force expansion of the definitions.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from translator.compiler.synth import convert
from translator.errors import InputError
from translator.frontends import cisco_asa, rules
from translator.model.inventory import parse_inventory
from translator.model.resolve import MAX_GROUP_DEPTH, Resolver
from translator.model.ruleset import TCP, Ref
from translator.model.space import IntervalSet, ip_range, svc_range

from .downstream import downstream

INV = parse_inventory(
    "namespaces:\n  a: {}\nworkloads:\n  w:\n    namespace: a\n    labels: {app: w}\n    addresses: [10.0.0.1]\n"
)
SECONDS = 5.0  # the time bound of one example (frontend, compiler, verify, explain, reverse)


def run(load, text: str, path: str):
    """Load TEXT, compile every ruleset, verify, explain and reverse it (tests/downstream.py): the rulesets,
    or the InputError; within SECONDS."""
    t0 = time.perf_counter()
    try:
        out = load(text, path)
        for rs in out:
            downstream(rs, INV)
    except InputError as e:
        out = e
        assert e.loc is not None and e.loc.file == path, e
    spent = time.perf_counter() - t0
    assert spent < SECONDS, f"{spent:.1f} s"
    return out


def addr_of(rs, name) -> IntervalSet:
    b = Resolver(rs)._addr_item(Ref(name))
    assert b.exact
    return b.lower


def svc_of(rs, name) -> IntervalSet:
    b = Resolver(rs)._svc_item(Ref(name))
    assert b.exact
    return b.lower


def hosts(xs) -> IntervalSet:
    return IntervalSet(iv for x in xs for iv in ip_range(0x0A000000 + x, 0x0A000000 + x, 4))


def ports(xs) -> IntervalSet:
    return IntervalSet(iv for x in xs for iv in svc_range(TCP, x, x))


# --- regressions -------------------------------------------------------------------------------


def chain_rules(n: int, svc: bool = False) -> str:
    if svc:
        lines = ["service g0 tcp/80"] + [f"service g{i} g{i - 1}" for i in range(1, n + 1)]
        return "\n".join(lines + [f"10 allow any -> any g{n}"]) + "\n"
    lines = ["address g0 10.0.0.1"] + [f"address g{i} g{i - 1}" for i in range(1, n + 1)]
    return "\n".join(lines + [f"10 allow g{n} -> any tcp/80"]) + "\n"


@pytest.mark.parametrize("svc", [False, True])
def test_500_nested_groups_stop_at_the_bound(svc):
    text = chain_rules(500, svc)
    with pytest.raises(InputError) as e:
        rules.parse(text, "deep.fw")
    assert "FW2NP_MAX_GROUP_DEPTH" in e.value.message and e.value.loc.line == MAX_GROUP_DEPTH + 2
    assert e.value.loc.column > 1


@pytest.mark.parametrize("svc", [False, True])
def test_500_nested_groups_resolve_without_recursion_when_the_bound_is_raised(svc, monkeypatch):
    monkeypatch.setenv("FW2NP_MAX_GROUP_DEPTH", "3000")
    rs = rules.parse(chain_rules(2000, svc), "deep.fw")
    if svc:
        assert svc_of(rs, "g2000") == ports([80])
    else:
        assert addr_of(rs, "g2000") == hosts([1])
    convert(rs, INV)


def test_resolver_names_a_cycle_it_is_given():
    rs = rules.parse("address a 10.0.0.1\naddress b a\n10 allow b -> any any\n", "c.fw")
    rs.addresses["a"].expr = type(rs.addresses["a"].expr)((Ref("b", rs.addresses["b"].loc),))
    with pytest.raises(InputError, match="cycle: a -> b -> a|cycle: b -> a -> b"):
        Resolver(rs)._addr_item(Ref("b"))


ASA_CYCLES = {
    "network": "object-group network A\n group-object B\nobject-group network B\n group-object A\n"
    "access-list out extended permit ip object-group A any\n",
    "self": "object-group network A\n network-object host 10.0.0.1\n group-object A\n"
    "access-list out extended permit ip object-group A any\n",
    "service": "object-group service A\n group-object B\nobject-group service B\n group-object A\n"
    "access-list out extended permit object-group A any any\n",
    "port": "object-group service A tcp\n group-object B\nobject-group service B tcp\n group-object A\n"
    "access-list out extended permit tcp any any object-group A\n",
    "protocol": "object-group protocol A\n group-object B\nobject-group protocol B\n group-object A\n"
    "access-list out extended permit object-group A any any\n",
    "icmp-type": "object-group icmp-type A\n group-object A\n"
    "access-list out extended permit icmp any any object-group A\n",
}


@pytest.mark.parametrize("kind", sorted(ASA_CYCLES))
def test_asa_cyclic_groups_are_a_cycle_error(kind):
    with pytest.raises(InputError, match="cycle: A -> (B -> )?A") as e:
        cisco_asa.load(ASA_CYCLES[kind], "fw.asa")
    assert e.value.loc.line in (2, 3, 4) and e.value.loc.column > 1


def asa_diamond(depth: int, kind: str) -> str:
    """G0a holds G1a and G1b, both hold G2a and G2b, ...: 2**depth paths, 2*depth groups."""
    out = []
    for i in range(depth):
        for s in "ab":
            if kind == "service":
                out += [f"object-group service G{i}{s}", f" service-object tcp destination eq {1000 + i}"]
            else:
                out += [f"object-group network G{i}{s}", f" network-object host 10.0.{i}.{1 if s == 'a' else 2}"]
            if i + 1 < depth:
                out += [f" group-object G{i + 1}a", f" group-object G{i + 1}b"]
    if kind == "service":
        out.append("access-list out extended permit object-group G0a any any")
    else:
        out.append("access-list out extended permit ip object-group G0a any")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("kind", ["service", "network"])
def test_asa_diamond_groups_expand_once(kind):
    text = asa_diamond(40, kind)  # 2**40 paths: hopeless per path
    (rs,) = run(cisco_asa.load, text, "d.asa")
    (rule,) = rs.rules
    if kind == "service":
        assert sorted(s.lo for s in rule.services) == list(range(1000, 1040))
    else:
        want = IntervalSet(
            iv
            for i in range(40)
            for x in ((1, 2) if i else (1,))
            for iv in ip_range(0x0A000000 + i * 256 + x, 0x0A000000 + i * 256 + x, 4)
        )
        assert addr_of(rs, "G0a") == want


def _diamond_rules(depth: int) -> str:
    out = []
    for i in range(depth):
        for s in "ab":
            sub = f", a{i + 1}a, a{i + 1}b" if i + 1 < depth else ""
            out.append(f"address a{i}{s} 10.0.{i}.{1 if s == 'a' else 2}{sub}")
            sub = f", s{i + 1}a, s{i + 1}b" if i + 1 < depth else ""
            out.append(f"service s{i}{s} tcp/{1000 + i}{sub}")
    return "\n".join(out + ["10 allow a0a -> any s0a"]) + "\n"


def test_rules_language_diamond_groups_expand_once():
    depth = 40
    (rs,) = run(rules.load, _diamond_rules(depth), "d.fw")
    assert svc_of(rs, "s0a") == ports(range(1000, 1000 + depth))
    want = IntervalSet(
        iv
        for i in range(depth)
        for x in ((1, 2) if i else (1,))
        for iv in ip_range(0x0A000000 + i * 256 + x, 0x0A000000 + i * 256 + x, 4)
    )
    assert addr_of(rs, "a0a") == want


# --- fuzzing -----------------------------------------------------------------------------------


@st.composite
def graphs(draw):
    """A group graph: per group, its leaf members (small numbers) and the groups it names.

    Shapes: a chain (past the depth bound at times), a diamond, or any graph (cycles, self-references)."""
    shape = draw(st.sampled_from(["chain", "diamond", "random", "acyclic"]))
    if shape == "chain":
        n = draw(st.integers(1, MAX_GROUP_DEPTH + 6))
        return [([i % 50 + 1], [i + 1] if i + 1 < n else []) for i in range(n)]
    if shape == "diamond":
        d = draw(st.integers(1, 25))
        g = []
        for i in range(d):
            for _ in "ab":
                g.append(([i % 50 + 1], [2 * i + 2, 2 * i + 3] if i + 1 < d else []))
        return g
    n = draw(st.integers(1, 10))
    g = []
    for i in range(n):
        leaves = draw(st.lists(st.integers(1, 50), max_size=3))
        lo = i + 1 if shape == "acyclic" else 0
        refs = draw(st.lists(st.integers(lo, n - 1), max_size=3)) if lo < n else []
        g.append((leaves, sorted(set(refs))))
    return g


def expand(g, i, seen=(), memo=None) -> set[int] | None:
    """Brute force from the definitions: the leaves of group I (None on a cycle); memoised, or diamonds
    would take 2**depth here too."""
    memo = {} if memo is None else memo
    if i in seen:
        return None
    if i not in memo:
        out = set(g[i][0])
        for r in g[i][1]:
            sub = expand(g, r, seen + (i,), memo)
            if sub is None:
                return None
            out |= sub
        memo[i] = out
    return memo[i]


def depth_of(g, i, memo) -> int:
    if i not in memo:
        memo[i] = 1 + max((depth_of(g, r, memo) for r in g[i][1]), default=-1)
    return memo[i]


def expected(g):
    """The leaves of group 0, or None when the groups are cyclic or nested past the bound."""
    if any(expand(g, i) is None for i in range(len(g))):
        return None
    memo: dict = {}
    if max(depth_of(g, i, memo) for i in range(len(g))) > MAX_GROUP_DEPTH:
        return None
    return expand(g, 0)


def check(g, out, resolved, make=set):
    want = expected(g)
    if want is None:
        assert isinstance(out, InputError)
        assert "cycle" in out.message or "FW2NP_MAX_GROUP_DEPTH" in out.message, out
        return
    assert not isinstance(out, InputError), out
    assert resolved(out) == make(want)


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(graphs(), st.booleans())
def test_fuzz_rules_language_groups(g, svc):
    g = [(leaves if leaves or refs else [1], refs) for leaves, refs in g]  # the language has no empty group
    lines = []
    for i, (leaves, refs) in enumerate(g):
        if svc:
            items = [f"tcp/{x}" for x in leaves] + [f"g{r}" for r in refs]
            lines.append(f"service g{i} " + ", ".join(items))
        else:
            items = [f"10.0.0.{x}" for x in leaves] + [f"g{r}" for r in refs]
            lines.append(f"address g{i} " + ", ".join(items))
    lines.append("10 allow any -> any g0" if svc else "10 allow g0 -> any tcp/80")
    out = run(rules.load, "\n".join(lines) + "\n", "g.fw")
    if svc:
        check(g, out, lambda o: svc_of(o[0], "g0"), ports)
    else:
        check(g, out, lambda o: addr_of(o[0], "g0"), hosts)


def _asa_groups(g, head, member):
    lines = []
    for i, (leaves, refs) in enumerate(g):
        lines.append(f"{head} G{i}")
        lines += [member(x) for x in leaves] + [f" group-object G{r}" for r in refs]
    return lines


@FUZZ
@given(graphs(), st.sampled_from(["network", "service", "port"]))
def test_fuzz_asa_object_groups(g, kind):
    if kind == "network":
        lines = _asa_groups(g, "object-group network", lambda x: f" network-object host 10.0.0.{x}")
        lines.append("access-list out extended permit ip object-group G0 any")
    elif kind == "service":
        lines = _asa_groups(g, "object-group service", lambda x: f" service-object tcp destination eq {x}")
        lines.append("access-list out extended permit object-group G0 any any")
    else:
        lines = _asa_groups(g, "object-group service", lambda x: f" port-object eq {x}")
        lines = [ln + " tcp" if ln.startswith("object-group") else ln for ln in lines]
        lines.append("access-list out extended permit tcp any any object-group G0")
    out = run(cisco_asa.load, "\n".join(lines) + "\n", "g.asa")
    if kind == "network":
        check(g, out, lambda o: {x - 0x0A000000 for lo, hi in addr_of(o[0], "G0") for x in range(lo, hi + 1)})
    else:
        check(g, out, lambda o: {p for r in o[0].rules for s in r.services for p in range(s.lo, s.hi + 1)})


def test_verify_and_explain_decide_diamond_groups_once():
    """The evaluators verify and explain use decide a group reached by many paths once: a 30-level diamond
    (2**30 paths) was walked per path by FirewallEvaluator.has and svc_has."""
    from translator.evaluate.endpoints import Ip
    from translator.evaluate.firewall import FirewallEvaluator
    from translator.verify.core import verify

    rs = rules.parse(_diamond_rules(30), "d.fw")
    t = time.monotonic()
    fw = FirewallEvaluator(rs, INV)
    far = rs.rules[0].src  # a0a holds 10.0.29.2 through both halves of every level
    assert fw.has(far, 4, 0x0A001D02, False) and not fw.has(far, 4, 0x0A001D03, True)
    assert fw.svc_has(rs.rules[0].services, TCP, 1029, False) and not fw.svc_has(rs.rules[0].services, TCP, 1030, True)
    assert fw.decide(Ip("10.0.29.2"), Ip("192.0.2.1"), TCP, 1029)[0] is True
    rep, _ = verify(rs, INV, convert(rs, INV).policies)
    assert rep.by_direction["more-permissive"] == 0
    assert time.monotonic() - t < 30  # per path it would not finish


def test_legacy_object_membership_decides_diamond_groups_once():
    """verify.addresses.addr_contains (workload addresses that name objects) on a 25-level diamond and
    through an except: exact, and once per object."""
    from translator.verify.addresses import addr_contains

    rs = rules.parse(_diamond_rules(25) + "address outer 10.0.0.0/8 except a0a\n", "d.fw")
    a0a, outer = rs.addresses["a0a"].expr, rs.addresses["outer"].expr
    assert addr_contains(rs, a0a, 4, 0x0A001802) and not addr_contains(rs, a0a, 4, 0x0A001803)
    assert addr_contains(rs, outer, 4, 0x0A050000) and not addr_contains(rs, outer, 4, 0x0A001802)
    assert not addr_contains(rs, a0a, 6, 0x0A001802)
