"""lint's box index: the rules it says meet a box are exactly those a scan of every rule finds, and lint with
it finds what the every-pair reference finds, however coarse the buckets; it skips most pairs at scale."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import bench.generate as gen
from translator.frontends.rules import parse
from translator.lint import index
from translator.lint.checks import Linter
from translator.lint.index import BoxIndex, Scan, every_pair, positions
from translator.lint.regions import Plain
from translator.model.inventory import parse_inventory

from .strategies import ADDRESSES, SERVICES, load, scenarios


@st.composite
def longer_rulesets(draw):
    """A scenario's inventory with up to 30 rules over the strategies' addresses and services."""
    rules_text, inv_text = draw(scenarios())
    head = [ln for ln in rules_text.splitlines() if not ln[:1].isdigit()]
    rules = []
    for k in range(draw(st.integers(1, 30))):
        action = draw(st.sampled_from(["allow", "allow", "deny"]))
        src, dst = draw(st.sampled_from(ADDRESSES)), draw(st.sampled_from(ADDRESSES))
        svc = ", ".join(draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=2)))
        rules.append(f"{k + 1} {action} {src} -> {dst} {svc}")
    return "\n".join(head + rules) + "\n", inv_text


def _findings(lt: Linter) -> list:
    lt.order()
    lt.conflicts_and_risks()
    return [(str(f), f.to_dict()) for f in lt.findings]


@settings(max_examples=80, deadline=None)
@given(st.one_of(scenarios(), longer_rulesets()), st.sampled_from([1, 2, 3, 5, 1024]), st.data())
def test_index_answers_as_a_scan_of_every_box(scenario, buckets, data):
    rs, inv = load(scenario)
    old = index.BUCKETS
    index.BUCKETS = buckets
    try:
        lt = Linter(rs, inv)
        widths = [len(line.cuts) for line in lt.lines]
        n = len(rs.rules)
        for boxes in (lt.small, lt.big, lt.sec):
            idx, scan = BoxIndex(boxes, widths), Scan(boxes)
            for b in filter(None, lt.small + lt.big + lt.sec):
                lo = data.draw(st.integers(0, n))
                hi = data.draw(st.integers(lo, n))
                among = data.draw(st.sampled_from([-1, 0, lt.by_action.get("allow", 0), ~lt.by_action.get("allow", 0)]))
                assert idx.touching(b, lo, hi, among) == scan.touching(b, lo, hi, among)
    finally:
        index.BUCKETS = old


@settings(max_examples=60, deadline=None)
@given(longer_rulesets(), st.booleans(), st.sampled_from([1, 2, 7, 1024]))
def test_indexed_lint_finds_what_every_pair_finds(scenario, with_inventory, buckets):
    """Order and conflict findings, text and JSON in the same order, on coarse and fine buckets."""
    rs, inv = load(scenario)
    inv = inv if with_inventory else None
    want = _findings(Linter(rs, inv, coding=Plain, near=every_pair))
    old = index.BUCKETS
    index.BUCKETS = buckets
    try:
        got = _findings(Linter(rs, inv))
    finally:
        index.BUCKETS = old
    assert got == want


def test_positions_lists_the_one_bits_in_order():
    for c in (0, 1, 0b1011, (1 << 5000) | (1 << 17) | 1, sum(1 << k for k in range(0, 3000, 7))):
        assert positions(c) == [k for k in range(c.bit_length()) if c >> k & 1]


def test_index_tries_few_pairs_on_the_benchmark_ruleset(monkeypatch):
    """On 800 benchmark rules the exact box test runs for under 2% of the rule pairs a scan would try."""
    g = gen.generate(800, workloads=200, seed=3)
    rs = parse(gen.rules_text(g), "bench.fw")
    inv = parse_inventory(gen.inventory_text(g), "inv.yaml")
    calls = []
    real = index.touch
    monkeypatch.setattr(index, "touch", lambda a, b: calls.append(1) or real(a, b))
    lt = Linter(rs, inv)
    got = _findings(lt)
    pairs = len(rs.rules) ** 2  # order, redundant and conflicts each scan about n**2 / 2
    assert 0 < len(calls) < 0.02 * pairs
    monkeypatch.undo()
    assert got == _findings(Linter(rs, inv, near=Scan))
