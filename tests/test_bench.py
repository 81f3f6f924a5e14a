"""The benchmark generator and the ruleset-language fast path (no timings here)."""

from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Token, Tree
from lark.exceptions import UnexpectedInput
from lark.tree import Meta

from bench import generate
from bench.run import fit_exponent
from translator.evaluate import FirewallEvaluator, Ip
from translator.frontends import iptables, rules
from translator.model.inventory import parse_inventory


def _rules_tree(records: list) -> Tree:
    """Lark's tree for the ruleset language's fast-scanner RECORDS."""
    def tok(kind, t):
        return Token(kind, t[0], line=t[1], column=t[2])

    item_types = {"net": "ADDR", "any_addr": "ANY", "ref": "NAME", "svc": "SVC", "any_svc": "ANY", "svc_ref": "NAME"}

    def items(lst, data):
        return Tree(data, [Tree(k, [tok(item_types[k], t)]) for k, t in lst])

    def expr(e):
        kids = [items(e[0], "addr_list")]
        if e[1] is not None:
            kids += [tok("EXCEPT", e[1]), items(e[2], "addr_list")]
        return Tree("addr_expr", kids)

    def comment(t):
        return [] if t is None else [tok("COMMENT", t)]

    out = []
    for rec in records:
        kind = rec[0]
        if kind == "rule":
            _, rid, action, src, arrow, dst, svcs, _hints, c = rec
            kids = [Tree("rule_id", [tok("RULE_ID", rid)])] if rid else []
            kids += [tok("ACTION", action), expr(src), tok("ARROW", arrow), expr(dst), items(svcs, "svc_list")]
            out.append(Tree(kind, kids + comment(c)))
        elif kind == "address_def":
            out.append(Tree(kind, [tok("NAME", rec[1]), expr(rec[2])] + comment(rec[3])))
        elif kind == "service_def":
            out.append(Tree(kind, [tok("NAME", rec[1]), items(rec[2], "svc_list")] + comment(rec[3])))
        else:
            out.append(Tree(kind, [tok("ACTION" if kind == "default_decl" else "NAME", rec[1])] + comment(rec[2])))
    return Tree("start", out)


def rules_fast_tree(text: str) -> Tree | None:
    """The fast scanner's reading of TEXT as lark's tree, or None when a line is not plain."""
    records = rules._fast_records(text)
    return None if records is None else _rules_tree(records)


def ipt_fast_tree(text: str) -> Tree | None:
    """The iptables fast scanner's reading of TEXT as lark's tree, or None when a line is not plain."""
    records = iptables._fast_records(text)
    if records is None:
        return None
    out = []
    for kind, line, column, toks in records:
        meta = Meta()
        meta.line, meta.column, meta.empty = line, column, False
        out.append(Tree(kind, [Token(t, v, line=ln, column=col) for t, v, ln, col in toks], meta))
    return Tree("start", out)


def _norm(tree, top=False):
    if isinstance(tree, Token):
        return (tree.type, str(tree), tree.line, tree.column)
    return (str(tree.data), [_norm(c) for c in tree.children if not (top and isinstance(c, Token))])


def _lark(text):
    try:
        return rules.parser().parse(text + ("" if text.endswith("\n") else "\n"))
    except UnexpectedInput:
        return None


def assert_fast_agrees(text):
    fast = rules_fast_tree(text)
    if fast is None:
        return False
    slow = _lark(text)
    assert slow is not None, f"fast path accepted what lark rejects:\n{text}"
    assert _norm(fast, True) == _norm(slow, True), text
    return True


def test_fast_path_builds_lark_tree_for_generated_and_sample_rulesets():
    text = generate.rules_text(generate.generate(300, workloads=40, seed=3))
    assert assert_fast_agrees(text)
    for name in ("staging", "deny-before-allow", "default-allow", "ipv6"):
        assert_fast_agrees(open(f"samples/{name}/rules.fw").read())


WORDS = ["allow", "deny", "any", "any4", "any6", "except", "via", "zone", "ruleset", "default", "address",
         "service", "web", "allowed", "denyx", "anyhost", "exceptional", "r1", "10", "a-b", "x.y", "_z",
         "10.0.0.1", "10.0.0.0/8", "10.0.0.1-10.0.0.9", "2001:db8::/32", "::1", "10.0.0.1/24x", "1.2.3",
         "tcp/80", "TCP/443", "udp/1-9", "icmp/echo", "proto/47", "tcp", "gre", "tcp/", "->", ",", "#c",
         "# note", "->b", "a->"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=9), min_size=1, max_size=4),
       st.sampled_from([" ", "  ", ", ", " ,", ","]))
def test_fast_path_never_disagrees_with_lark(lines, sep):
    text = "\n".join(" ".join(ws) if k % 2 else sep.join(ws) for k, ws in enumerate(lines)) + "\n"
    if rules_fast_tree(text) is not None:
        assert_fast_agrees(text)


def test_fast_path_keeps_error_messages_and_falls_back():
    bad = "allow 10.0.0.1 -> 10.0.0.0/33 tcp/80\n"      # a semantic error raised by the builder
    try:
        rules.parse(bad, "b.fw")
    except Exception as exc:            # noqa: BLE001 - the exact error is checked below
        assert "bad prefix length /33" in str(exc) and "b.fw:1:" in str(exc)
    else:
        raise AssertionError("accepted a /33")
    assert rules_fast_tree("allow a -> b tcp/80 via eth0\n") is None
    assert rules_fast_tree("deny allow a -> b tcp/80\n") is None
    assert rules_fast_tree("allow a,\n  b -> c tcp/80\n") is None


def test_generator_is_seeded_and_shaped():
    a, b = generate.generate(500, workloads=30, seed=7), generate.generate(500, workloads=30, seed=7)
    assert a.rules == b.rules and a.rules != generate.generate(500, workloads=30, seed=8).rules
    assert len(a.rules) == 500 and a.rules[-1].action == "deny" and a.rules[-1].src == "any"
    denies = sum(r.action == "deny" for r in a.rules[:-1]) / 499
    assert 0.12 < denies < 0.28
    assert all(r.action == "allow" for r in generate.generate(200, 30, seed=1, accept_only=True).rules[:-1])


def test_iptables_and_ruleset_texts_decide_alike():
    g = generate.generate(120, workloads=12, seed=5)
    inv = parse_inventory("namespaces: {}\n")        # every address an external endpoint
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


def _norm_ipt(t, top=False):
    if isinstance(t, Token):
        return (t.type, str(t), t.line, t.column)
    return (str(t.data), None if top else (t.meta.line, t.meta.column), [_norm_ipt(c) for c in t.children])


def assert_ipt_fast_agrees(text):
    fast = ipt_fast_tree(text)
    if fast is None:
        return False
    try:
        slow = iptables.parser().parse(text + ("" if text.endswith("\n") else "\n"))
    except UnexpectedInput:
        raise AssertionError(f"iptables fast path accepted what lark rejects:\n{text}") from None
    assert _norm_ipt(fast, True) == _norm_ipt(slow, True), text
    return True


def test_iptables_fast_path_builds_lark_tree():
    assert assert_ipt_fast_agrees(generate.iptables_text(generate.generate(300, workloads=40, seed=3)))
    assert assert_ipt_fast_agrees(open("/work/shared/corpus/iptables/ustc-liimstrap_rules.v4").read()) \
        if __import__("os").path.exists("/work/shared/corpus/iptables/ustc-liimstrap_rules.v4") else True


IPT_WORDS = ["-A", "INPUT", "-s", "10.0.0.0/8", "!", "-p", "tcp", "--dport", "22:80", "-j", "ACCEPT", "-5",
             "--", "-", "x-y", "[0:0]", ":FOO", "*filter", "COMMIT", "-m", "a,b", "1.2.3.4", "--syn"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(IPT_WORDS), min_size=1, max_size=7), min_size=1, max_size=4))
def test_iptables_fast_path_never_disagrees_with_lark(lines):
    text = "*filter\n" + "\n".join(" ".join(ws) for ws in lines) + "\nCOMMIT\n"
    assert_ipt_fast_agrees(text)


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
