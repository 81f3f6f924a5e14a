"""The benchmark generator, and what its texts give (no timings here)."""

from bench import generate
from bench.run import fit_exponent
from translator.evaluate import FirewallEvaluator, Ip
from translator.frontends import iptables, rules
from translator.model.inventory import parse_inventory


def test_generator_is_seeded_and_shaped():
    a, b = generate.generate(500, workloads=30, seed=7), generate.generate(500, workloads=30, seed=7)
    assert a.rules == b.rules and a.rules != generate.generate(500, workloads=30, seed=8).rules
    assert len(a.rules) == 500 and a.rules[-1].action == "deny" and a.rules[-1].src == "any"
    denies = sum(r.action == "deny" for r in a.rules[:-1]) / 499
    assert 0.12 < denies < 0.28
    assert all(r.action == "allow" for r in generate.generate(200, 30, seed=1, accept_only=True).rules[:-1])


def test_iptables_and_ruleset_texts_decide_alike():
    g = generate.generate(120, workloads=12, seed=5)
    inv = parse_inventory("namespaces: {}\n")  # every address an external endpoint
    rs = rules.parse(generate.rules_text(g))
    fwd = iptables.load(generate.iptables_text(g), "bench.rules")[-1]
    assert len(fwd.rules) == len(rs.rules)
    ea, eb = FirewallEvaluator(rs, inv), FirewallEvaluator(fwd, inv)
    addrs = ["10.0.0.1", "10.0.0.17", "10.0.0.40", "10.0.0.200", "10.1.0.0", "52.1.2.3", "8.8.8.8"]
    seen = set()
    for r in g.rules[:60]:
        for side in (r.src, r.dst):
            if side != "any":
                addrs.append(side.split("/")[0].split("-")[0])
    for s in addrs:
        for d in addrs:
            for proto, port in ((6, 443), (6, 8080), (17, 53), (1, 8), (6, 5005)):
                x = ea.decide(Ip(s), Ip(d), proto, port)[0]
                assert x == eb.decide(Ip(s), Ip(d), proto, port)[0], (s, d, proto, port)
                seen.add(x)
    assert seen == {True, False}


def test_fit_exponent():
    assert abs(fit_exponent([1e3, 1e4, 1e5], [1, 10, 100]) - 1.0) < 1e-9
    assert abs(fit_exponent([1e3, 1e4], [1, 100]) - 2.0) < 1e-9
    assert fit_exponent([1e3], [1]) is None


def test_size_bound_fails_early_with_a_clear_message(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from translator.cli.main import cli

    g = generate.generate(50, workloads=5, seed=2)
    paths = generate.write(g, tmp_path)
    monkeypatch.setenv("FW2NP_MAX_LINES", "30")
    for key in ("rules", "iptables"):
        res = CliRunner().invoke(cli, ["convert", paths[key], "-i", paths["inventory"], "-q"])
        assert res.exit_code == 2, res.output
        assert "more than the bound of 30 lines" in res.output and "FW2NP_MAX_LINES=" in res.output
        assert "Traceback" not in res.output
    monkeypatch.setenv("FW2NP_MAX_LINES", "0")
    res = CliRunner().invoke(cli, ["convert", paths["rules"], "-i", paths["inventory"], "-q"])
    assert res.exit_code == 0 and "kind: NetworkPolicy" in res.output


def test_shapes_are_seeded_and_read_by_the_frontends(tmp_path):
    from bench import shapes
    from translator.frontends import load

    for name, gen in shapes.SHAPES.items():
        a = gen(3000, 4)
        assert a == gen(3000, 4) and a != gen(3000, 5), name
        assert 3000 <= len(a) < 3400, name
        paths = shapes.write(name, 3000, 4, tmp_path / name)
        rs = load(paths["rules"])
        assert rs[-1].rules, name
        inv = parse_inventory(open(paths["inventory"]).read(), paths["inventory"])
        assert len(inv.workloads) == shapes.WORKLOADS
    ios = load(shapes.write("wildcard", 3000, 4, tmp_path / "w")["rules"])[-1]
    assert max(len(r.src.include) for r in ios.rules) >= 32  # non-contiguous masks expand to many ranges


def test_wildcard_range_bound_stops_at_the_ace_that_crosses_it(monkeypatch, tmp_path):
    import pytest

    from translator.errors import InputError
    from translator.frontends import cisco_ios

    text = (
        "ip access-list extended A\n"
        " permit tcp 10.0.0.0 0.0.3.3 any eq 80\n"  # 4 ranges
        " permit tcp 10.0.0.0 0.0.0.255 any eq 81\n"  # contiguous: not counted
        " permit tcp 10.1.0.0 0.3.0.1 any eq 82\n"  # 4 more: 8
    )
    monkeypatch.setenv("FW2NP_MAX_WILDCARD_RANGES", "7")
    with pytest.raises(InputError) as e:
        cisco_ios.load(text, "acl.ios")
    msg = e.value.render()
    assert msg.startswith("acl.ios:4:22: error:") and "FW2NP_MAX_WILDCARD_RANGES=8" in msg and "bound of 7" in msg
    monkeypatch.setenv("FW2NP_MAX_WILDCARD_RANGES", "8")
    assert len(cisco_ios.load(text, "acl.ios")[0].rules) == 3
    monkeypatch.setenv("FW2NP_MAX_WILDCARD_RANGES", "0")
    assert len(cisco_ios.load(text, "acl.ios")[0].rules) == 3
    monkeypatch.delenv("FW2NP_MAX_WILDCARD_RANGES")
    assert cisco_ios.RangeBudget().limit == 20_000


def test_one_size_then_reverse_verify_lint_give_every_column(tmp_path):
    """At a tiny size: convert's output figures, and reverse / verify / lint timed on what it wrote."""
    import json

    from bench import run
    from translator.model.policies import load_policies

    d = str(tmp_path)
    row = {"rules": 60, **run.one_size(60, 8, 0.2, 3, d)}
    pols = load_policies(str(tmp_path / "policies.yaml"))
    sizes = [len(json.dumps(p, separators=(",", ":")).encode()) for p in pols]
    assert row["policies"] == len(pols) > 1
    assert row["max_policy_json_bytes"] == max(sizes) and row["policies_over_1mib"] == 0
    assert row["max_policy"] == pols[sizes.index(max(sizes))]["metadata"]["name"]
    assert row["yaml_bytes"] == (tmp_path / "policies.yaml").stat().st_size
    rules = [r for p in pols for r in (p["spec"].get("ingress") or []) + (p["spec"].get("egress") or [])]
    assert row["peers"] == sum(len(r.get("from") or r.get("to") or []) for r in rules) > 0
    assert row["ports"] == sum(len(r.get("ports") or []) for r in rules) > 0
    for what, fn in (("reverse", run.reverse_size), ("verify", run.verify_size), ("lint", run.lint_size)):
        got = fn(d)
        assert got[f"{what}_s"] > 0 and got[f"{what}_peak_rss_mb"] > 0, what
        row.update(got)
    assert row["verify_more_permissive"] == 0 and row["verify_checked"] > 0
    assert row["reverse_bytes"] == len((tmp_path / "reverse.txt").read_bytes()) > 0
    assert row["lint_findings"] > 0
    row["lint_s"], row["lint_error"] = None, "timeout after 5 s"  # as _child reports a timeout
    del row["lint_s"]
    times, size = run.table([row]), run.size_table([row])
    head, _, cells = times.splitlines()
    assert "reverse s" in head and "verify MB" in head and "lint s" in head
    assert cells.split(" | ")[head.split(" | ").index("lint s")] == "timeout after 5 s"
    assert cells.split(" | ")[head.split(" | ").index("reverse s")] == f"{row['reverse_s']:.2f}"
    head, _, cells = size.splitlines()
    assert cells.split(" | ")[head.split(" | ").index("largest policy KiB (JSON)")] == f"{max(sizes) / 1024:,.0f}"
    assert set(run.FITTED) >= {"reverse_s", "verify_s", "lint_s", "convert_s", "yaml_bytes"}


def test_a_child_past_its_limit_is_reported_as_a_timeout(tmp_path):
    from bench import run

    args = ["--shape-one", "ports", "--shape-bytes", "5000000", "--dir", str(tmp_path)]  # minutes of work
    assert run._child(args, 1.0) == {"error": "timeout after 1 s"}
