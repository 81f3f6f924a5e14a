"""The fast line scanners and cached value readers give what lark and netaddr give (no timings here)."""

import random
from pathlib import Path

import netaddr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Token, Tree
from lark.exceptions import UnexpectedInput
from lark.tree import Meta

from bench import generate
from translator.errors import InputError
from translator.frontends import iptables, rules
from translator.frontends.common.addresses import IPV4, ipv4_int, ipv4_text, net_text
from translator.frontends.iptables import convert as ipt_convert
from translator.frontends.iptables import reader as ipt_reader
from translator.frontends.iptables import scanner as ipt_scanner


def _outcome(load, text, path, *args):
    try:
        return repr(load(text, path, *args))
    except InputError as exc:
        return "error: " + str(exc)


def _both_paths(module, load, text, path, *args):
    """(fast scanner result, lark result) of LOAD on TEXT, as reprs or error messages (iptables: and
    every rule read on its own, without shared plans)."""
    fast = _outcome(load, text, path, *args)
    with pytest.MonkeyPatch.context() as m:
        if module is iptables:
            m.setattr(ipt_scanner, "scan", lambda _text: iter([None]))
            m.setattr(ipt_reader, "shape", lambda _args: None)
        else:
            m.setattr(module, "_scan", lambda _text: iter([None]))
        slow = _outcome(load, text, path, *args)
    return fast, slow


GOOD_ADDRS = [
    "10.0.0.1",
    "10.0.0.0/8",
    "10.0.0.1/24",
    "1.2.3.4/08",
    "2001:db8::/32",
    "fe80::1-fe80::9",
    "any",
    "any4",
    "any6",
    "web",
    "0.0.0.0/0",
    "255.255.255.255",
    "10.0.0.5-10.0.0.9",
]
BAD_ADDRS = ["10.0.0.0/33", "10.0.300.1", "010.0.0.1", "10.0.0.9-10.0.0.1", "10.0.0.1-2001:db8::1", "::1/129", "nosuch"]
GOOD_SVCS = [
    "tcp/80",
    "udp/53",
    "icmp/echo",
    "icmpv6/128",
    "proto/47",
    "gre",
    "tcp",
    "any",
    "TCP/443",
    "tcp/any",
    "udp/",
    "tcp/8000-8100",
]
BAD_SVCS = ["tcp/70000", "tcp/0", "tcp/90-80", "icmp/300", "proto/300", "proto/foo", "web"]
RULE_ITEMS = GOOD_ADDRS * 6 + BAD_ADDRS
SVC_ITEMS = GOOD_SVCS * 6 + BAD_SVCS


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "r1 ", "r2 ", "7 "]),
            st.sampled_from(["allow", "deny"]),
            st.lists(st.sampled_from(RULE_ITEMS), min_size=1, max_size=2),
            st.lists(st.sampled_from(RULE_ITEMS), min_size=1, max_size=2),
            st.lists(st.sampled_from(SVC_ITEMS), min_size=1, max_size=2),
            st.sampled_from(["", "  # why", " except 10.0.0.1"]),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(
        [
            "address web 10.1.0.0/16, 10.2.0.1\n",
            "address web 10.1.0.1/24\nservice s gre\n",
            "address web 10.1.0.0/16 except 10.1.2.0/24\nservice s tcp/1\n",
            "",
        ]
    ),
)
def test_ruleset_scanner_and_lark_build_the_same_ruleset(lines, defs):
    body = "".join(
        f"{rid}{act} {','.join(src)} -> {', '.join(dst)} {','.join(svc)}{tail}\n"
        for rid, act, src, dst, svc, tail in lines
    )
    fast, slow = _both_paths(rules, rules.parse, "ruleset t\n" + defs + body, "t.fw")
    assert fast == slow


def test_ruleset_scanner_and_lark_agree_on_bench_and_samples():
    texts = [generate.rules_text(generate.generate(300, workloads=40, seed=4))]
    texts += [Path(f"samples/{name}/rules.fw").read_text() for name in ("staging", "deny-before-allow", "ipv6")]
    for text in texts:
        assert rules._fast_records(text) is not None
        fast, slow = _both_paths(rules, rules.parse, text, "x.fw")
        assert fast == slow and not fast.startswith("error")


def test_except_after_a_comma_is_a_name_as_lark_reads_it():
    text = "address except 10.0.0.1\nallow 10.0.0.2 , except , 10.0.0.3 -> any any\n"
    assert rules._fast_records(text) is None
    assert rules.parse(text, "x.fw").rules[0].src.exclude == ()


IPT_OPTS = [
    "-s 10.0.0.0/8",
    "-d 10.1.2.3",
    "-s 10.0.0.0/8",
    "-d 10.1.2.3",
    "-s 10.9.0.0/16",
    "--dst 10.0.0.3",
    "-s 10.0.0.1/33",
    "-d 1.2.3.400",
    "-s 2001:db8::/32",
    "-s host.example",
    "-s a.example,10.0.0.1",
    "! -s 10.0.0.0/8",
    "-p tcp",
    "-p udp",
    "-p icmp",
    "-p 47",
    "-p bogus",
    "-m tcp --dport 80",
    "--dport 22:80",
    "--dport 80:22",
    "--dport 70000",
    "-m multiport --dports 80,443",
    "--dport 80,443",
    "-m iprange --src-range 10.0.0.1-10.0.0.9",
    "--dst-range 10.0.0.9-10.0.0.1",
    "--icmp-type 8",
    "-m state --state NEW",
    "-m conntrack --ctstate ESTABLISHED",
    "-i eth0",
    "-o lo",
    "-m foo --bar 1",
    "--sport 53",
    "--syn",
    "-m comment --comment x",
]
IPT_TARGETS = [
    "-j ACCEPT",
    "-j DROP",
    "-j REJECT --reject-with icmp-port-unreachable",
    "-j LOG",
    "-j USER",
    "-g USER",
    "-j RETURN",
    "-j NOWHERE",
    "",
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["INPUT", "FORWARD", "OUTPUT", "USER"]),
            st.lists(st.sampled_from(IPT_OPTS), max_size=4),
            st.sampled_from(IPT_TARGETS),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([None, ["10.0.0.5/32"]]),
)
def test_iptables_scanner_and_lark_load_the_same_rulesets(lines, host):
    body = "".join(" ".join(["-A", chain] + opts + [target]).strip() + "\n" for chain, opts, target in lines)
    head = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:USER - [0:0]\n"
    text = head + body + "COMMIT\n"
    fast, slow = _both_paths(iptables, iptables.load, text, "t.rules", host)
    assert fast == slow


def test_iptables_scanner_and_lark_agree_on_bench():
    text = generate.iptables_text(generate.generate(300, workloads=40, seed=4))
    assert ipt_scanner.fast_records(text) is not None
    fast, slow = _both_paths(iptables, iptables.load, text, "x.rules")
    assert fast == slow and not fast.startswith("error")


def _netaddr_ip(text):
    try:
        ip = netaddr.IPAddress(text)
    except (netaddr.AddrFormatError, ValueError):
        return None
    return int(ip), ip.version


def test_address_readers_agree_with_netaddr():
    rnd = random.Random(7)
    octets = ["0", "1", "9", "10", "99", "100", "199", "255", "256", "300", "01", "00", "010"]
    for _ in range(3000):
        text = ".".join(rnd.choice(octets) for _ in range(4))
        plen = rnd.choice(["0", "8", "24", "31", "32", "33", "08"])
        if IPV4.fullmatch(text):
            assert (ipv4_int(text), 4) == _netaddr_ip(text)
            assert ipv4_text(ipv4_int(text)) == str(netaddr.IPAddress(text))
        else:
            assert (
                _netaddr_ip(text) is None
                or not text.isascii()
                or any(p.startswith("0") and p != "0" for p in text.split("."))
            )
        try:
            net = netaddr.IPNetwork(f"{text}/{plen}")
            want = (int(net.first), int(net.last), net.version)
        except (netaddr.AddrFormatError, ValueError):
            want = None
        try:
            got = ipt_reader.network(f"{text}/{plen}")
        except (netaddr.AddrFormatError, ValueError):
            got = None
        assert got == want, (text, plen)


def test_net_text_agrees_with_netaddr():
    rnd = random.Random(3)
    for _ in range(3000):
        first = rnd.choice([0, rnd.randrange(1 << 32), rnd.randrange(1 << 24) << 8])
        last = min((1 << 32) - 1, first + rnd.choice([0, 1, 255, 256, 1023, rnd.randrange(1 << 16)]))
        assert ipt_convert.addr_text(first, last, 4) == net_text(first, last, 4)


def test_protect_keyword_found_where_lark_places_the_statement():
    for text in [
        "protect 10.0.0.0/8\nprotect any\n",
        "ruleset x\n  protect  any\n   protect \\\n  web , db\n",
        "protect protect-net\n# c\n\n\tprotect\t10.1.0.0/16 except 10.1.2.0/24 # x\n",
    ]:
        tree = rules.parser().parse(text)
        second = [c for c in tree.children if isinstance(c, Tree) and c.data == "protect_decl"][1]
        try:
            rules.parse(text, "p.fw")
        except InputError as exc:
            assert "the protected pods are already given" in exc.message
            assert (exc.loc.line, exc.loc.column) == (second.meta.line, second.meta.column)
        else:
            raise AssertionError("a second protect was accepted")


# --- the fast scanners' records as lark's trees ------------------------------------


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
    records = ipt_scanner.fast_records(text)
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


WORDS = [
    "allow",
    "deny",
    "any",
    "any4",
    "any6",
    "except",
    "via",
    "zone",
    "ruleset",
    "default",
    "address",
    "service",
    "web",
    "allowed",
    "denyx",
    "anyhost",
    "exceptional",
    "r1",
    "10",
    "a-b",
    "x.y",
    "_z",
    "10.0.0.1",
    "10.0.0.0/8",
    "10.0.0.1-10.0.0.9",
    "2001:db8::/32",
    "::1",
    "10.0.0.1/24x",
    "1.2.3",
    "tcp/80",
    "TCP/443",
    "udp/1-9",
    "icmp/echo",
    "proto/47",
    "tcp",
    "gre",
    "tcp/",
    "->",
    ",",
    "#c",
    "# note",
    "->b",
    "a->",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=9), min_size=1, max_size=4),
    st.sampled_from([" ", "  ", ", ", " ,", ","]),
)
def test_fast_path_never_disagrees_with_lark(lines, sep):
    text = "\n".join(" ".join(ws) if k % 2 else sep.join(ws) for k, ws in enumerate(lines)) + "\n"
    if rules_fast_tree(text) is not None:
        assert_fast_agrees(text)


def test_fast_path_keeps_error_messages_and_falls_back():
    bad = "allow 10.0.0.1 -> 10.0.0.0/33 tcp/80\n"  # a semantic error raised by the builder
    try:
        rules.parse(bad, "b.fw")
    except Exception as exc:  # the exact error is checked below
        assert "bad prefix length /33" in str(exc) and "b.fw:1:" in str(exc)
    else:
        raise AssertionError("accepted a /33")
    assert rules_fast_tree("allow a -> b tcp/80 via eth0\n") is None
    assert rules_fast_tree("deny allow a -> b tcp/80\n") is None
    assert rules_fast_tree("allow a,\n  b -> c tcp/80\n") is None


def _norm_ipt(t, top=False):
    if isinstance(t, Token):
        return (t.type, str(t), t.line, t.column)
    return (str(t.data), None if top else (t.meta.line, t.meta.column), [_norm_ipt(c) for c in t.children])


def assert_ipt_fast_agrees(text):
    fast = ipt_fast_tree(text)
    if fast is None:
        return False
    try:
        slow = ipt_scanner.parser().parse(text + ("" if text.endswith("\n") else "\n"))
    except UnexpectedInput:
        raise AssertionError(f"iptables fast path accepted what lark rejects:\n{text}") from None
    assert _norm_ipt(fast, True) == _norm_ipt(slow, True), text
    return True


def test_iptables_fast_path_builds_lark_tree():
    assert assert_ipt_fast_agrees(generate.iptables_text(generate.generate(300, workloads=40, seed=3)))
    assert (
        assert_ipt_fast_agrees(open("/work/shared/corpus/iptables/ustc-liimstrap_rules.v4").read())
        if __import__("os").path.exists("/work/shared/corpus/iptables/ustc-liimstrap_rules.v4")
        else True
    )


IPT_WORDS = [
    "-A",
    "INPUT",
    "-s",
    "10.0.0.0/8",
    "!",
    "-p",
    "tcp",
    "--dport",
    "22:80",
    "-j",
    "ACCEPT",
    "-5",
    "--",
    "-",
    "x-y",
    "[0:0]",
    ":FOO",
    "*filter",
    "COMMIT",
    "-m",
    "a,b",
    "1.2.3.4",
    "--syn",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(IPT_WORDS), min_size=1, max_size=7), min_size=1, max_size=4))
def test_iptables_fast_path_never_disagrees_with_lark(lines):
    text = "*filter\n" + "\n".join(" ".join(ws) for ws in lines) + "\nCOMMIT\n"
    assert_ipt_fast_agrees(text)
