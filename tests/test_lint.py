"""fw2np lint: each finding kind on crafted rulesets, exactness against the brute-force evaluator, CLI."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.evaluate.concrete import LegacyFlows
from translator.frontends.rules import parse
from translator.lint import workers
from translator.lint.checks import Linter, lint
from translator.lint.index import every_pair
from translator.lint.regions import Line, Plain, box, box_and, box_minus, inside
from translator.model.inventory import parse_inventory
from translator.model.space import IntervalSet

from .conftest import SAMPLES
from .strategies import FLOW_SERVICES, endpoints, load, scenarios

INV = """\
namespaces:
  shop: {}
workloads:
  web:
    namespace: shop
    labels: {app: web}
    addresses: [10.0.1.0/24]
  db:
    namespace: shop
    labels: {app: db}
    addresses: [10.0.2.0/24]
"""


def run(text: str, inv: str | None = None):
    rs = parse(text, "t.fw")
    return lint(rs, parse_inventory(inv, "inv.yaml") if inv else None)


def by_kind(findings, kind):
    return [(f.rule.id if f.rule else None, f.rule.loc.line if f.rule else None) for f in findings if f.kind == kind]


def test_shadowed_needs_the_union_of_earlier_rules():
    fs = run(
        "default deny\n"
        "10 allow 10.0.0.0/25 -> any tcp/80\n"
        "20 deny 10.0.0.128/25 -> any tcp\n"
        "30 allow 10.0.0.0/24 -> any tcp/80\n"  # covered by 10 and 20 together
        "40 allow 10.0.0.0/24 -> any tcp/80-81\n"
    )  # tcp/81 from 10.0.0.0/25 still reaches it
    assert by_kind(fs, "shadowed") == [("30", 4)]
    f = next(f for f in fs if f.kind == "shadowed")
    assert f.related == ["10 (line 2)", "20 (line 3)"] and f.suggestion


def test_redundant_rule_and_cleanup_restating_default():
    fs = run(
        "default deny\n10 allow 10.0.0.0/24 -> any tcp/80\n20 allow 10.0.0.0/16 -> any tcp/80\n30 deny any -> any any\n"
    )
    assert by_kind(fs, "redundant") == [("10", 2), ("30", 4)]
    assert "default" in next(f for f in fs if f.rule.id == "30").message


def test_not_redundant_when_a_later_opposite_rule_would_decide():
    fs = run("default allow\n10 allow 10.0.0.0/24 -> any tcp/80\n20 deny 10.0.0.0/16 -> any tcp\n")
    assert by_kind(fs, "redundant") == []


def test_conflict_with_partly_overlapping_earlier_rule_but_not_exceptions():
    fs = run(
        "default deny\n"
        "10 deny 10.0.0.0/24 -> any tcp/100\n"  # an exception inside 30: not a conflict
        "20 deny 192.0.2.0/24 -> any tcp/1-100\n"  # overlaps 30 partly, not inside it
        "30 allow 10.0.0.0/16, 192.0.2.0/25 -> any tcp/80-200\n"
    )
    assert by_kind(fs, "conflict") == [("30", 4)]
    f = next(f for f in fs if f.kind == "conflict")
    assert f.related == ["20 (line 3)"]
    assert f.example.startswith("192.0.2.") and "tcp/" in f.example


def test_broad_and_cleartext_allows():
    fs = run("default deny\n10 allow any -> any any\n")
    assert by_kind(fs, "broad-allow") == [("10", 2)]
    fs = run(
        "default deny\n10 allow 203.0.113.0/24 -> 10.0.0.5 tcp/22-23\n20 allow 10.0.0.0/8 -> 10.0.0.5 tcp/23\n"
    )  # internal only once web... still an address
    clear = [f for f in fs if f.kind == "cleartext-admin"]
    assert [f.rule.id for f in clear] == ["10", "20"]
    assert "telnet" in clear[0].message and clear[0].example.endswith("tcp/23")


def test_cleartext_from_pods_only_is_not_external():
    fs = run("default deny\n10 allow 10.0.1.0/24 -> 10.0.2.0/24 tcp/23\n", INV)
    assert by_kind(fs, "cleartext-admin") == []
    fs = run("default deny\n10 allow 198.51.100.0/24 -> 10.0.2.0/24 tcp/21\n", INV)
    assert by_kind(fs, "cleartext-admin") == [("10", 2)]


def test_dns_egress_missing_and_present():
    fs = run("default deny\n10 allow 10.0.1.0/24 -> 10.0.2.0/24 tcp/5432\n", INV)
    dns = [f for f in fs if f.kind == "dns-egress"]
    assert any("shop/web" in f.message and "neither udp/53 nor tcp/53" in f.message for f in dns)
    fs = run("default deny\n5 allow any -> 192.0.2.53 udp/53\n10 allow 10.0.1.0/24 -> 10.0.2.0/24 tcp/5432\n", INV)
    dns = [f.message for f in fs if f.kind == "dns-egress"]
    assert dns and all("tcp/53 is not allowed" in m for m in dns)
    fs = run("default deny\n5 allow any -> 192.0.2.53 udp/53, tcp/53\n", INV)
    assert by_kind(fs, "dns-egress") == []
    # without an inventory there are no pods to check
    assert by_kind(run("default deny\n10 allow 10.0.1.0/24 -> 10.0.2.0/24 tcp/5432\n"), "dns-egress") == []


def test_unenforceable_and_approximations():
    fs = run(
        "default deny\n"
        "10 allow 192.0.2.0/24 -> 198.51.100.0/24 tcp/443\n"
        "20 allow 198.51.100.0/24 -> 10.0.2.0/24 tcp/5432 via eth1\n",
        INV,
    )
    assert by_kind(fs, "unenforceable") == [("10", 2)]
    assert ("20", 3) in by_kind(fs, "approximation")
    # without an inventory: no pod checks, but the interface condition is still reported
    fs = run(
        "default deny\n10 allow 192.0.2.0/24 -> 198.51.100.0/24 tcp/443\n"
        "20 allow 198.51.100.0/24 -> 10.0.2.0/24 tcp/5432 via eth1\n"
    )
    assert by_kind(fs, "unenforceable") == [] and by_kind(fs, "approximation") == [("20", 3)]


def test_never_matches_and_partial_cover_is_not_dead():
    fs = run("default deny\n10 allow 10.0.0.0/24 except 10.0.0.0/16 -> any tcp/80\n")
    assert by_kind(fs, "never-matches") == [("10", 2)]
    # 10.0.1.5 is part of web's legacy range: the firewall may have matched a web pod, so it is not dead
    fs = run("default deny\n10 allow 10.0.1.5 -> any tcp/80\n", INV)
    assert by_kind(fs, "never-matches") == [] and by_kind(fs, "approximation") == [("10", 2)]


def test_box_minus_is_exact():
    a = box(IntervalSet([(0, 9)]), IntervalSet([(0, 9)]), IntervalSet([(0, 9)]))
    b = box(IntervalSet([(3, 5)]), IntervalSet([(0, 4)]), IntervalSet([(5, 20)]))
    pieces = box_minus(a, b)
    pts = {
        (s, d, v)
        for p in pieces
        for s in range(10)
        for d in range(10)
        for v in range(10)
        if s in p[0] and d in p[1] and v in p[2]
    }
    want = {
        (s, d, v) for s in range(10) for d in range(10) for v in range(10) if not (3 <= s <= 5 and d <= 4 and v >= 5)
    }
    assert pts == want
    assert sum(p[0].size() * p[1].size() * p[2].size() for p in pieces) == len(want)  # disjoint


_sets = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 6)), max_size=4).map(
    lambda ivs: IntervalSet((lo, lo + n) for lo, n in ivs)
)
_boxes = st.tuples(_sets, _sets, _sets).map(lambda t: box(*t))


@settings(max_examples=200, deadline=None)
@given(st.lists(_boxes, min_size=2, max_size=6))
def test_box_algebra_on_line_codes_is_the_interval_set_algebra(boxes):
    """The fast path's int masks give the same boxes, in the same order, as IntervalSets."""
    boxes = [b for b in boxes if b] or [box(IntervalSet([(0, 1)]), IntervalSet([(0, 1)]), IntervalSet([(0, 1)]))]
    lines = [Line(b[k] for b in boxes) for k in range(3)]

    def code(b):
        return b and type(b)(*(ln.code(x) for ln, x in zip(lines, b)))

    def decode(b):
        return b and type(b)(*(ln.decode(x) for ln, x in zip(lines, b)))

    for a in boxes:
        assert decode(code(a)) == a
        for b in boxes:
            assert decode(box_and(code(a), code(b))) == box_and(a, b)
            assert [decode(x) for x in box_minus(code(a), code(b))] == box_minus(a, b)
            assert inside(code(a), code(b)) == all(x.issubset(y) for x, y in zip(a, b))


def _reference(rs, inv):
    """Lint as it was before the fast path: IntervalSet boxes, every earlier / later rule tried."""
    lt = Linter(rs, inv, coding=Plain, near=every_pair)
    lt.order()
    lt.conflicts_and_risks()
    if inv:
        lt.dns()
    return lt.findings


def _fast(rs, inv):
    lt = Linter(rs, inv)
    lt.order()
    lt.conflicts_and_risks()
    if inv:
        lt.dns()
    return lt.findings


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.booleans())
def test_fast_lint_finds_what_the_reference_finds(scenario, with_inventory):
    """Same findings (text and JSON, same order) from masks and skipped pairs as from brute force."""
    rs, inv = load(scenario)
    inv = inv if with_inventory else None
    want, got = _reference(rs, inv), _fast(rs, inv)
    assert [(str(f), f.to_dict()) for f in got] == [(str(f), f.to_dict()) for f in want]


def _decisions(rs, inv, flows):
    """The concrete legacy flows' decisions (lint reads rules as the firewall does, address by address)."""
    lf = LegacyFlows(rs, inv)
    return [lf.decide(s, d, p, v) for s, d, (p, v) in flows]


@settings(max_examples=40, deadline=None)
@given(scenarios(), st.data())
def test_deleting_a_shadowed_or_redundant_rule_changes_no_decision(scenario, data):
    rs, inv = load(scenario)
    findings = lint(rs, inv)
    deletable = [f.rule for f in findings if f.kind in ("shadowed", "redundant", "never-matches")]
    if not deletable:
        return
    pods, ips = endpoints(inv)
    eps = pods + ips
    flows = data.draw(
        st.lists(
            st.tuples(st.sampled_from(eps), st.sampled_from(eps), st.sampled_from(FLOW_SERVICES)),
            min_size=30,
            max_size=30,
        )
    )
    before = _decisions(rs, inv, flows)
    for rule in deletable:
        smaller = copy.copy(rs)
        smaller.rules = [r for r in rs.rules if r is not rule]
        assert _decisions(smaller, inv, flows) == before, f"deleting rule {rule.id} changed a decision"


def test_rules_on_pod_cidr_addresses_are_read_address_by_address():
    inv = "cluster:\n  podCIDRs: [10.0.0.0/24]\nnamespaces:\n  a: {}\n"
    fs = run("default allow\n1 allow any except 10.0.0.0/16 -> any any\n2 deny any -> 10.0.0.192/26 any\n", inv)
    assert by_kind(fs, "never-matches") == []  # pods may have 10.0.0.192/26
    fs = run(
        "default deny\n10 allow 10.0.0.0/25 -> any tcp/80\n20 allow 10.0.0.128/25 -> any tcp/80\n"
        "30 allow 10.0.0.0/24 -> any tcp/80\n",
        inv,
    )
    assert by_kind(fs, "shadowed") == [("30", 4)]  # every address it matches is decided above


def test_cli_text_json_and_exit_codes(tmp_path):
    p = tmp_path / "r.fw"
    p.write_text("default deny\n10 allow 10.0.0.0/8 -> any tcp/80\n20 allow 10.1.0.0/16 -> any tcp/80\n")
    runner = CliRunner()
    res = runner.invoke(cli, ["lint", str(p)])
    assert res.exit_code == 1 and f"{p}:3:1: rule 20: warning: shadowed" in res.output
    res = runner.invoke(cli, ["lint", str(p), "--format", "json"])
    doc = json.loads(res.output)
    assert doc["rulesets"][0]["findings"][0] == {
        "kind": "shadowed",
        "severity": "warning",
        "message": "no flow reaches it: earlier rule(s) 10 (line 2) decide all its flows",
        "rule": "20",
        "line": 3,
        "related": ["10 (line 2)"],
        "suggestion": "delete it, or move it above 10 (line 2) if it was meant to apply",
    }
    p.write_text("default deny\n10 allow 10.0.0.0/8 -> 192.0.2.0/24 tcp/80\n")
    assert runner.invoke(cli, ["lint", str(p)]).exit_code == 0
    p.write_text("default deny\n10 allow 10.0.0.0/33 -> any tcp/80\n")
    res = runner.invoke(cli, ["lint", str(p)])
    assert res.exit_code == 2 and f"{p}:2:" in res.output


def test_convert_summary_includes_lint():
    res = CliRunner().invoke(
        cli, ["convert", str(SAMPLES / "staging" / "rules.fw"), "-i", str(SAMPLES / "staging" / "inventory.yaml")]
    )
    assert res.exit_code == 0
    assert "  dns-egress (lint warning): 4\n" in res.stderr
    assert "7 findings (1 note, 1 conflict, 4 dns-egress, 1 redundant)" in res.stderr.splitlines()[-1]


def test_rulesets_linted_in_worker_processes_as_in_one(monkeypatch):
    text = "ruleset r{}\ndefault deny\n10 allow 10.0.0.0/8 -> any tcp/80\n20 allow 10.{}.0.0/16 -> any tcp/80\n"
    rss = [parse(text.format(k, k), "t.fw") for k in range(3)]
    want = [[(str(f), f.to_dict()) for f in lint(rs)] for rs in rss]
    monkeypatch.setattr(workers, "PARALLEL_MIN_RULES", 0)
    assert [[(str(f), f.to_dict()) for f in fs] for fs in workers.lint_each(rss, None)] == want


def test_lint_workers_leave_sigint_and_sigterm_to_the_parent(monkeypatch):
    """The forked workers inherited the CLI's SIGTERM handler: the pool's terminate at the end of a run (or a
    SIGTERM to lint) raised Terminated in them, and each printed a worker's traceback on stderr. They ignore
    SIGINT and die of SIGTERM, as batch's workers do; the parent's handlers are left as they were."""
    import os
    import signal

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: lint_each lints in this process")
    rss = [parse(f"ruleset r{k}\n10 allow any -> any tcp/80\n", "t.fw") for k in range(2)]
    monkeypatch.setattr(workers, "PARALLEL_MIN_RULES", 0)

    def dispositions(rs, inv):  # what a worker has (handlers are no picklable results: their names)
        return tuple(getattr(signal.getsignal(s), "name", "a handler") for s in (signal.SIGINT, signal.SIGTERM))

    monkeypatch.setattr(workers, "run", lambda rs, inv: (*dispositions(rs, inv), os.getpid()))

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        got = workers.lint_each(rss, None)
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, old)
    assert {(i, t) for i, t, _ in got} == {("SIG_IGN", "SIG_DFL")}
    assert os.getpid() not in {pid for _, _, pid in got}


def test_a_lint_worker_that_dies_does_not_hang_lint(monkeypatch):
    """multiprocessing.Pool waits forever for a task whose worker was killed (as by the OOM killer): lint
    uses batch's pool, which sees the death; the ruleset is then linted in the parent."""
    import os

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: lint_each lints in this process")
    parent = os.getpid()
    rss = [parse(f"ruleset r{k}\n10 allow any -> any tcp/80\n", "t.fw") for k in range(3)]
    monkeypatch.setattr(workers, "PARALLEL_MIN_RULES", 0)
    monkeypatch.setattr(workers, "run", lambda rs, inv: os._exit(9) if os.getpid() != parent else rs.name)
    assert workers.lint_each(rss, None) == ["r0", "r1", "r2"]
