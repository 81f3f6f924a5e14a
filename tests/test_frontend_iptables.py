"""The iptables-save frontend: constructs, chain flattening, real files, the sample."""

from __future__ import annotations

import time
from pathlib import Path

import netaddr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.compiler.synth import convert
from translator.errors import InputError
from translator.frontends import detect, iptables, read_text
from translator.model.inventory import load_inventory
from translator.model.resolve import Resolver
from translator.model.ruleset import ALLOW, DENY
from translator.model.space import svc_range

from .secure import decide, ip

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "iptables"
HOST = ["10.0.0.5/32"]


def load(text: str, host=HOST, path="t.rules"):
    return iptables.load(text, path, host_addresses=host)


def table(*lines: str, policies="INPUT DROP,FORWARD DROP,OUTPUT ACCEPT", chains=()) -> str:
    decl = [f":{p.split()[0]} {p.split()[1]} [0:0]" for p in policies.split(",")]
    decl += [f":{c} - [0:0]" for c in chains]
    return "\n".join(["*filter", *decl, *lines, "COMMIT", ""])


# --- constructs ----------------------------------------------------------------


def test_input_output_combine_into_one_host_ruleset():
    [rs] = load(table("-A INPUT -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT", "-A OUTPUT -d 198.51.100.7 -j DROP"))
    assert [r.id for r in rs.rules] == ["INPUT:1", "INPUT:policy", "OUTPUT:1", "OUTPUT:policy"]
    assert rs.default == DENY
    assert decide(rs, "192.0.2.9", "10.0.0.5", 6, 22) == ALLOW
    assert decide(rs, "192.0.2.9", "10.0.0.5", 6, 23) == DENY  # INPUT policy DROP
    assert decide(rs, "192.0.2.9", "10.0.0.6", 6, 22) == DENY  # not the host: ruleset default
    assert decide(rs, "10.0.0.5", "198.51.100.7", 6, 80) == DENY
    assert decide(rs, "10.0.0.5", "198.51.100.8", 6, 80) == ALLOW  # OUTPUT policy ACCEPT
    assert rs.rules[0].loc.line == 5 and rs.rules[0].loc.column == 1


def test_forward_is_its_own_ruleset_with_the_chain_policy():
    rss = load(
        table(
            "-A FORWARD -s 10.1.0.0/16 -d 10.2.0.0/16 -p udp --dport 53 -j ACCEPT",
            policies="INPUT ACCEPT,FORWARD DROP,OUTPUT ACCEPT",
        ),
        path="/x/gw.rules",
    )
    fwd = {rs.name: rs for rs in rss}["gw-forward"]
    assert fwd.default == DENY and len(fwd.rules) == 1
    assert decide(fwd, "10.1.2.3", "10.2.0.1", 17, 53) == ALLOW
    assert decide(fwd, "10.1.2.3", "10.2.0.1", 6, 53) == DENY


def test_negation_ranges_multiport_and_port_ranges():
    [rs] = load(
        table(
            "-A INPUT ! -s 10.0.0.0/8 -p tcp -m multiport --dports 80,8000:8010 -j ACCEPT",
            "-A INPUT -m iprange --src-range 10.9.0.1-10.9.0.3 -p udp ! --dport 53 -j ACCEPT",
        )
    )
    assert decide(rs, "192.0.2.1", "10.0.0.5", 6, 8005) == ALLOW
    assert decide(rs, "192.0.2.1", "10.0.0.5", 6, 8011) == DENY
    assert decide(rs, "10.1.1.1", "10.0.0.5", 6, 80) == DENY
    assert decide(rs, "10.9.0.2", "10.0.0.5", 17, 54) == ALLOW
    assert decide(rs, "10.9.0.2", "10.0.0.5", 17, 53) == DENY
    assert decide(rs, "10.9.0.4", "10.0.0.5", 17, 54) == DENY


def test_icmp_types_and_codes():
    [rs] = load(
        table(
            "-A INPUT -p icmp --icmp-type echo-request -j ACCEPT",
            "-A INPUT -p icmp --icmp-type port-unreachable -j ACCEPT",
        )
    )
    r1, r2 = rs.rules[:2]
    assert [(s.proto, s.lo, s.hi) for s in r1.services] == [(1, 8, 8)]
    assert [(s.proto, s.lo) for s in r2.services] == [(1, 3)]
    assert [c.reason for c in r2.conditions] == ["ICMP code"]  # an allow with a code never matches


def test_state_loopback_and_conditions():
    [rs] = load(
        table(
            "-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT",
            "-A INPUT -i lo -j ACCEPT",
            "-A INPUT -i lo -s 192.0.2.1 -j DROP",
            "-A INPUT -m conntrack --ctstate NEW -p tcp --dport 80 -j ACCEPT",
            "-A INPUT -i eth0 -p tcp --sport 1024:65535 --dport 81 -j ACCEPT",
            "-A INPUT -m limit --limit 5/min -p tcp --dport 82 -j ACCEPT",
        )
    )
    ids = [r.id for r in rs.rules]
    assert "INPUT:1" not in ids and "INPUT:2" not in ids
    skipped = {s.id: s.reason for s in rs.skipped}
    assert "after a connection's first one" in skipped["INPUT:1"] and "loopback" in skipped["INPUT:2"]
    assert rs.lines == 6 and not any("skipped" in w.message for w in rs.warnings)
    deny = next(r for r in rs.rules if r.id == "INPUT:3")  # a deny is never skipped
    assert deny.action == DENY and [c.text for c in deny.conditions] == ["-i lo"]
    new = next(r for r in rs.rules if r.id == "INPUT:4")
    assert new.conditions == ()
    r5 = next(r for r in rs.rules if r.id == "INPUT:5")
    assert sorted(c.reason for c in r5.conditions) == ["interface match", "source port"]
    r6 = next(r for r in rs.rules if r.id == "INPUT:6")
    assert [c.text for c in r6.conditions] == ["-m limit --limit 5/min"]


def test_log_does_not_end_matching_and_target_options_are_ignored():
    [rs] = load(
        table(
            '-A INPUT -j LOG --log-prefix "in: " --log-level 4',
            "-A INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset",
            "-A INPUT -j RETURN -p tcp",
        )
    )
    assert [r.id for r in rs.rules][:1] == ["INPUT:2"]
    assert decide(rs, "1.1.1.1", "10.0.0.5", 6, 22) == DENY


def test_hostnames_and_ipsets_are_unresolved_secure_side():
    [rs] = load(table("-A INPUT -s example.org -j ACCEPT", "-A INPUT -m set --match-set bad src -j DROP"))
    a, d = rs.rules[:2]
    ra = Resolver(rs)
    assert not ra.address(a.src).lower and ra.address(a.src).upper
    assert "example.org" in a.src.include[-1].text
    assert ra.address(d.src).upper.size() == 2**32  # the deny may hit every IPv4 source


def test_user_chain_return_is_split_on_the_complement():
    [rs] = load(
        table(
            "-A INPUT -s 10.20.0.0/16 -j office",
            "-A office -s 10.20.99.0/24 -j RETURN",
            "-A office -p tcp --dport 22 -j ACCEPT",
            chains=["office"],
        )
    )
    assert decide(rs, "10.20.1.1", "10.0.0.5", 6, 22) == ALLOW
    assert decide(rs, "10.20.99.1", "10.0.0.5", 6, 22) == DENY
    assert decide(rs, "10.21.0.1", "10.0.0.5", 6, 22) == DENY
    assert rs.rules[0].id == "office:2" and rs.rules[0].hints == (("via", "INPUT:1"),)


def test_goto_returns_to_the_callers_caller():
    [rs] = load(
        table(
            "-A INPUT -p tcp -g tcpin", "-A INPUT -j ACCEPT", "-A tcpin -p tcp --dport 22 -j ACCEPT", chains=["tcpin"]
        )
    )
    assert decide(rs, "1.1.1.1", "10.0.0.5", 6, 22) == ALLOW
    assert decide(rs, "1.1.1.1", "10.0.0.5", 6, 80) == DENY  # goto: INPUT:2 never sees tcp
    assert decide(rs, "1.1.1.1", "10.0.0.5", 17, 80) == ALLOW


def test_return_explosion_falls_back_to_the_secure_side():
    rets = [f"-A c -s 10.{i}.0.0/16 -d 192.168.{i}.0/24 -p tcp --dport {i + 1} -j RETURN" for i in range(4)]
    rs = load(table("-A FORWARD -j c", *rets, "-A c -j DROP", "-A c -j ACCEPT", chains=["c"]))[-1]
    assert any("RETURN at c:" in w.message for w in rs.warnings)
    drops = [r for r in rs.rules if r.id == "c:5"]
    accepts = [r for r in rs.rules if r.id == "c:6"]
    assert drops and all(r.conditions for r in accepts)  # allows never match
    assert decide(rs, "10.0.0.1", "10.0.0.5", 6, 1) == DENY
    assert decide(rs, "10.9.0.1", "10.0.0.5", 6, 1) == DENY  # the DROP matched, secure side


# exact flattening against a direct evaluator of chains
NETS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16"]
PORTS = [22, 80, 443]


def _rule_strategy(chain_names):
    return st.tuples(
        st.sampled_from([None, *NETS]),
        st.booleans(),
        st.sampled_from([None, *PORTS]),
        st.sampled_from(["ACCEPT", "DROP", "RETURN", *chain_names]),
    )


def _rule_text(chain, spec):
    net, neg, port, target = spec
    parts = [f"-A {chain}"]
    if net:
        parts.append(("! " if neg else "") + f"-s {net}")
    if port:
        parts.append(f"-p tcp --dport {port}")
    parts.append(f"-j {target}")
    return " ".join(parts)


def _direct(chains, name, src, port):
    for net, neg, p, target in chains[name]:
        if net and ((netaddr.IPAddress(src) in netaddr.IPNetwork(net)) == neg):
            continue
        if p and p != port:
            continue
        if target in ("ACCEPT", "DROP"):
            return target
        if target == "RETURN":
            return None
        got = _direct(chains, target, src, port)
        if got:
            return got
    return None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_rule_strategy(["a", "b"]), min_size=1, max_size=5),
    st.lists(_rule_strategy(["b"]), max_size=4),
    st.lists(_rule_strategy([]), max_size=4),
)
def test_flattening_is_exact(top, a, b):
    chains = {"INPUT": top, "a": a, "b": b}
    text = table(*[_rule_text(c, r) for c in chains for r in chains[c]], chains=["a", "b"])
    [rs] = load(text)
    for src in ["10.1.2.3", "10.1.9.9", "10.9.9.9", "192.168.1.1", "8.8.8.8"]:
        for port in [22, 80, 443, 8080]:
            want = _direct(chains, "INPUT", int(netaddr.IPAddress(src)), port) or "DROP"
            got = decide(rs, src, "10.0.0.5", 6, port)
            assert got == (ALLOW if want == "ACCEPT" else DENY), (src, port)


# --- errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, where, msg",
    [
        (table("-A INPUT -s 10.0.0.300 -j ACCEPT"), (5, 13), "'10.0.0.300' is not an IPv4 address"),
        (table("-A INPUT --dport 22 -j ACCEPT"), (5, 10), "--dport needs -p tcp, udp or sctp"),
        (table("-A INPUT -j nowhere"), (5, 13), "jump to 'nowhere': no such chain"),
        (table("-A NOPE -j ACCEPT"), (5, 4), "chain NOPE is not declared"),
        (table("-I INPUT -j ACCEPT"), (5, 1), "expected -A CHAIN"),
        (table("-A INPUT -p tcp --dport 70000 -j ACCEPT"), (5, 25), "bad port '70000'"),
        ("*filter\n:INPUT\nCOMMIT\n", (2, 7), "unexpected end of line"),
        (table("-A INPUT -p foo -j ACCEPT"), (5, 13), "unknown protocol 'foo'"),
    ],
)
def test_errors_point_at_the_spot(text, where, msg):
    with pytest.raises(InputError) as e:
        load(text)
    assert (e.value.loc.line, e.value.loc.column) == where
    assert msg in e.value.message
    assert e.value.source_line is not None


def test_host_rules_need_host_addresses():
    with pytest.raises(InputError, match="pass --host WORKLOAD"):
        load(table("-A INPUT -j ACCEPT"), host=None)
    rss = load(table("-A FORWARD -j ACCEPT"), host=None, path="r.rules")
    assert [rs.name for rs in rss] == ["r-forward"]


def test_detect():
    text = table("-A INPUT -j ACCEPT")
    assert iptables.detect(text, "x.txt") >= 90
    assert iptables.detect("access-list 101 permit ip any any\n", "x") == 0


# --- real files --------------------------------------------------------------

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not present")


def corpus(name):
    path = str(CORPUS / name)
    return read_text(path), path


@needs_corpus
def test_corpus_batfish_host1():
    text, path = corpus("batfish_unit-tests_host1.iptables")
    assert detect(text, path) == "iptables"
    [rs] = iptables.load(text, path, host_addresses=HOST)
    assert [r.id for r in rs.rules] == [
        "INPUT:1",
        "INPUT:2",
        "INPUT:3",
        "INPUT:4",
        "INPUT:5",
        "INPUT:policy",
        "OUTPUT:policy",
    ]
    r = rs.rules[0]
    assert r.src.include[0].text == "1.2.3.4" and [(s.proto, s.lo, s.hi) for s in r.services] == [(6, 22, 22)]
    assert rs.rules[5].action == ALLOW  # :INPUT ACCEPT
    assert {w.message.split(":")[0] for w in rs.warnings} >= {"table nat skipped"}  # mangle is read (no rules)


@needs_corpus
def test_corpus_tor_relay():
    text, path = corpus("tor-relay-bootstrap_rules.v4")
    with pytest.raises(InputError, match="pass --host"):
        iptables.load(text, path)
    [rs] = iptables.load(text, path, host_addresses=HOST)
    assert [r.id for r in rs.rules] == [
        "INPUT:2",
        "INPUT:3",
        "INPUT:4",
        "INPUT:5",
        "INPUT:6",
        "INPUT:7",
        "INPUT:policy",
        "OUTPUT:policy",
    ]
    # INPUT:8 (RELATED,ESTABLISHED) is implied, INPUT:9 (INVALID DROP) blocks no valid connection
    assert [s.id for s in rs.skipped] == ["INPUT:1", "INPUT:8", "INPUT:9"]
    assert decide(rs, "203.0.113.1", "10.0.0.5", 6, 9001) == ALLOW
    assert decide(rs, "203.0.113.1", "10.0.0.5", 6, 80) == DENY
    assert decide(rs, "203.0.113.1", "10.0.0.5", 1, 8) == DENY  # the rate-limited allow never matches
    assert rs.rules[3].conditions[0].text == "-m limit --limit 2/s"
    assert decide(rs, "203.0.113.1", "10.0.0.5", 1, 3) == ALLOW
    assert any("fail2ban-ssh is never jumped to" in w.message for w in rs.warnings)


@needs_corpus
def test_corpus_ustc_return_chain_with_hostnames():
    text, path = corpus("ustc-liimstrap_rules.v4")
    [rs] = iptables.load(text, path, host_addresses=HOST)
    assert [r.id for r in rs.rules] == ["INPUT:2", "INPUT:policy", "user-filt:26", "OUTPUT:policy"]
    rej = rs.rules[2]
    assert rej.action == DENY and rej.hints == (("via", "OUTPUT:2"),)
    b = Resolver(rs).address(rej.dst)
    assert ip("202.38.64.17") not in b.upper and ip("202.38.93.222") not in b.upper
    assert ip("8.8.8.8") in b.upper and not b.lower  # host names: deny may hit anything else
    assert [c.text for c in rej.conditions] == ["-m owner --uid-owner 1000"]


@needs_corpus
def test_corpus_ufw_before_fails_on_the_missing_chain():
    text, path = corpus("ufw_before.rules")
    with pytest.raises(InputError) as e:
        iptables.load(text, path, host_addresses=HOST)
    assert (e.value.loc.line, e.value.loc.column) == (50, 61)
    assert "jump to 'ufw-logging-deny': no such chain" in e.value.message


@needs_corpus
def test_corpus_mangle_only_file():
    text, path = corpus("batfish_iptables-firewall_z2-firewall.v4")
    with pytest.raises(InputError, match=r"no \*filter table in this file \(found: mangle\)"):
        iptables.load(text, path, host_addresses=HOST)


# --- the sample, through the compiler ------------------------------------------


def test_sample_through_the_compiler():
    d = ROOT / "samples" / "iptables"
    inv = load_inventory(str(d / "inventory.yaml"))
    path = str(d / "web01.rules")
    [rs] = iptables.load(read_text(path), path, host_addresses=inv.workloads["web"].addresses)
    result = convert(rs, inv)
    pols = {p["metadata"]["name"]: p for p in result.policies}
    ingress = pols["web01-web-ingress"]["spec"]["ingress"]
    ssh = [r for r in ingress if {"protocol": "TCP", "port": 9100} in r.get("ports", [])]
    assert ssh and ssh[0]["from"] == [{"ipBlock": {"cidr": "10.20.0.0/16", "except": ["10.20.99.0/24"]}}]
    egress = pols["web01-web-egress"]["spec"]["egress"]
    to_db = [r for r in egress if {"podSelector": {"matchLabels": {"app": "db"}}} in r["to"]]
    assert [r["ports"] for r in to_db] == [[{"protocol": "TCP", "port": 5432}]]
    assert svc_range(6, 5432, 5432)  # the service space is importable


def test_only_chains_no_builtin_chain_reaches_are_reported_unreached():
    text = (
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:office - [0:0]\n:deeper - [0:0]\n"
        ":orphan - [0:0]\n-A FORWARD -s 10.20.0.0/16 -j office\n-A office -j deeper\n"
        "-A deeper -p tcp --dport 22 -j ACCEPT\n-A orphan -j ACCEPT\nCOMMIT\n"
    )
    rs = iptables.load(text, "t.rules")
    unreached = [w.message for w in rs[0].warnings if "never jumped to" in w.message]
    assert unreached == ["chain orphan is never jumped to from INPUT, OUTPUT or FORWARD: ignored"]


def _chains(n_chains: list[str], lines: list[str]) -> str:
    head = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
    return "\n".join(head + [f":{c} - [0:0]" for c in n_chains] + lines + ["COMMIT", ""])


def test_deep_jump_chains_are_bounded_not_a_recursion_error(monkeypatch):
    """Issue 22: 990 nested jump chains gave a RecursionError; now walked without recursion, bounded by
    FW2NP_MAX_DEPTH (an error naming the bound, at the jump), and read in full when the bound is raised."""
    n = 990
    names = [f"C{i}" for i in range(n)]
    lines = ["-A FORWARD -j C0"] + [f"-A C{i} -j C{i + 1}" for i in range(n - 1)]
    text = _chains(names, lines + [f"-A C{n - 1} -s 203.0.113.9 -j DROP", f"-A C{n - 1} -j ACCEPT"])
    with pytest.raises(InputError, match=r"nest deeper than 64 levels .*FW2NP_MAX_DEPTH") as e:
        iptables.load(text, "deep.rules")
    assert e.value.loc.line == 4 + n + 64 and e.value.loc.column == 11
    monkeypatch.setenv("FW2NP_MAX_DEPTH", "2000")
    [rs] = iptables.load(text, "deep.rules")
    assert [r.action for r in rs.rules] == [DENY, ALLOW] and rs.lines == n + 2 and rs.folded == n
    assert (
        decide(rs, "203.0.113.9", "10.0.0.1", 6, 80) == DENY and decide(rs, "203.0.113.8", "10.0.0.1", 6, 80) == ALLOW
    )


def test_jump_cycle_is_a_clear_error():
    text = _chains(["A", "B"], ["-A FORWARD -j A", "-A A -p tcp -j B", "-A B -j A"])
    with pytest.raises(InputError, match=r"chain loop: FORWARD -> A -> B -> A") as e:
        iptables.load(text, "loop.rules")
    assert (e.value.loc.line, e.value.loc.column) == (9, 9)


def test_diamond_of_jumps_expands_shared_chains_once():
    """Issue 22: a diamond (D0 jumps to L0 and R0, both jump to D1, ...) was walked once per path (2**n):
    1.3 KB took 37 s. A chain walked again with the same match carried in adds only rules that come after
    their first copies (deciding nothing), so it is walked once per distinct match."""
    n = 25  # 2**25 paths, 51 levels deep
    names = [c for i in range(n) for c in (f"D{i}", f"L{i}", f"R{i}")] + [f"D{n}"]
    lines = ["-A FORWARD -j D0"]
    for i in range(n):
        lines += [f"-A D{i} -p tcp -j L{i}", f"-A D{i} -j R{i}", f"-A L{i} -j D{i + 1}", f"-A R{i} -j D{i + 1}"]
    lines += [f"-A D{n} -p tcp --dport 22 -j DROP", f"-A D{n} -s 10.0.0.0/8 -j ACCEPT"]
    t = time.monotonic()
    [rs] = iptables.load(_chains(names, lines), "diamond.rules")
    assert time.monotonic() - t < 5
    assert len(rs.rules) <= 4 and rs.lines == len(lines)
    assert decide(rs, "10.0.0.1", "10.0.0.2", 6, 22) == DENY and decide(rs, "10.0.0.1", "10.0.0.2", 6, 80) == ALLOW
    assert decide(rs, "11.0.0.1", "10.0.0.2", 6, 80) == DENY


def test_diamond_with_distinct_matches_stops_at_the_bound(monkeypatch):
    """Branches that match differently (-i) make 2**n distinct paths: stopped at FW2NP_MAX_JUMP_VISITS."""
    monkeypatch.setenv("FW2NP_MAX_JUMP_VISITS", "20000")
    n = 30
    names = [c for i in range(n) for c in (f"D{i}", f"L{i}", f"R{i}")] + [f"D{n}"]
    lines = ["-A FORWARD -j D0"]
    for i in range(n):
        lines += [f"-A D{i} -i eth{i} -j L{i}", f"-A D{i} -j R{i}", f"-A L{i} -j D{i + 1}", f"-A R{i} -j D{i + 1}"]
    lines += [f"-A D{n} -j DROP"]
    t = time.monotonic()
    with pytest.raises(InputError, match=r"more than 20,000 rule visits.*FW2NP_MAX_JUMP_VISITS"):
        iptables.load(_chains(names, lines), "diamond.rules")
    assert time.monotonic() - t < 5


def test_raw_and_mangle_drops_are_denies_before_filter():
    """Issue 22: DROPs in raw and mangle were ignored, so 203.0.113.9 was allowed. An ACCEPT there only ends
    that table's walk: it takes its match away from the DROPs after it, and allows nothing."""
    text = (
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        "-A PREROUTING -s 203.0.113.9 -j DROP\n"
        "-A PREROUTING -s 198.51.100.1 -j ACCEPT\n"
        "-A PREROUTING -s 198.51.100.0/24 -j DROP\n"
        "-A PREROUTING -j NOTRACK\nCOMMIT\n"
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n"
        "-A INPUT -p tcp --dport 23 -j DROP\n-A INPUT -m conntrack --ctstate ESTABLISHED -p tcp --dport 25 -j DROP\n"
        "COMMIT\n" + table("-A INPUT -j ACCEPT", "-A FORWARD -j ACCEPT", policies="INPUT DROP,FORWARD DROP,OUTPUT DROP")
    )
    host, fwd = load(text)
    for rs in (host, fwd):
        dst = "10.0.0.5"
        assert decide(rs, "203.0.113.9", dst, 6, 80) == DENY and decide(rs, "203.0.113.8", dst, 6, 80) == ALLOW
        assert decide(rs, "198.51.100.2", dst, 6, 80) == DENY and decide(rs, "198.51.100.1", dst, 6, 80) == ALLOW
    assert decide(host, "192.0.2.1", "10.0.0.5", 6, 23) == DENY and decide(fwd, "192.0.2.1", "10.0.0.5", 6, 23) == ALLOW
    assert decide(host, "192.0.2.1", "10.0.0.5", 6, 25) == DENY  # a later-packets DROP: secure side, a condition
    assert [r.id for r in host.rules][:4] == [
        "raw:PREROUTING:1",
        "raw:PREROUTING:3",
        "mangle:INPUT:1",
        "mangle:INPUT:2",
    ]
    assert any(c.reason.startswith("matches only packets after") for c in host.rules[3].conditions)
    # every line accounted: raw's 4 and mangle INPUT's 2 feed the host ruleset, raw's 4 the forward one
    assert (host.lines, host.folded) == (4 + 2 + 1, 1) and (fwd.lines, fwd.folded) == (4 + 1, 1)
    assert [s.id for s in host.skipped] == ["raw:PREROUTING:4"] and [s.id for s in fwd.skipped] == ["raw:PREROUTING:4"]
    assert any("UNTRACKED" in w.message for w in host.warnings)


def test_mangle_drop_policy_and_postrouting_and_user_chain():
    text = (
        "*mangle\n:PREROUTING DROP [0:0]\n:POSTROUTING ACCEPT [0:0]\n:M - [0:0]\n"
        "-A PREROUTING -s 10.1.0.0/16 -j M\n-A M -s 10.1.2.0/24 -j DROP\n-A M -j ACCEPT\n"
        "-A POSTROUTING -p udp -j DROP\nCOMMIT\n" + table("-A FORWARD -j ACCEPT")
    )
    rss = {rs.name: rs for rs in load(text, host=None)}
    fwd = rss["t-forward"]
    assert decide(fwd, "10.1.1.1", "10.9.0.1", 6, 80) == ALLOW
    assert decide(fwd, "10.1.2.1", "10.9.0.1", 6, 80) == DENY  # M's DROP
    assert decide(fwd, "10.2.0.1", "10.9.0.1", 6, 80) == DENY  # the PREROUTING policy DROP
    assert decide(fwd, "10.1.1.1", "10.9.0.1", 17, 53) == DENY  # POSTROUTING, after filter
    assert fwd.lines == 4 + 1 and fwd.folded == 2 and not fwd.skipped


def test_forward_ruleset_made_for_raw_drops_alone_and_nat_drop_refused():
    text = "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s 203.0.113.9 -j DROP\nCOMMIT\n" + table(
        policies="INPUT ACCEPT,FORWARD ACCEPT,OUTPUT ACCEPT"
    )
    [fwd] = load(text, host=None)
    assert decide(fwd, "203.0.113.9", "10.0.0.1", 6, 80) == DENY and decide(fwd, "1.1.1.1", "10.0.0.1", 6, 80) == ALLOW
    nat = "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s 203.0.113.9 -j DROP\nCOMMIT\n" + table(
        "-A FORWARD -j ACCEPT"
    )
    with pytest.raises(InputError, match="in table nat: the nat table does not filter") as e:
        load(nat)
    assert (e.value.loc.line, e.value.loc.column) == (3, 33)
