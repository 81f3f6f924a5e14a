"""The pf frontend: the real file, constructs, errors at file:line:column, and random rule lists
(last match, quick, anchors) against a brute-force evaluator of pf's own semantics."""

from __future__ import annotations

from pathlib import Path

import netaddr
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.errors import InputError
from translator.frontends import detect, load, pf
from translator.model.ruleset import ALLOW, DENY

from .cli_errors import assert_cli_error
from .secure import decide

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "realworld"
FWB = REAL / "pf" / "fwbuilder-firewall111.pf.conf"
GENERIC = REAL / "inventories" / "generic.yaml"
HOST = "10.0.0.5"


def read(text: str, host=(f"{HOST}/32",)):
    [rs] = pf.load(text, "pf.conf", host_addresses=list(host) if host else None)
    return rs


# --- the real file -------------------------------------------------------------------------------


def test_real_file_as_a_router_and_as_a_host():
    assert detect(FWB.read_text(), str(FWB)) == "pf"
    [rs] = load(str(FWB))
    assert rs.lines == 44 and len(rs.rules) == 33 and len(rs.skipped) == 2 and rs.folded == 10
    # rule 3 (`pass quick inet from any to any tag tag2`) decides every IPv4 connection first
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 80) == ALLOW
    assert decide(rs, "2001:db8::1", "2001:db8::2", 6, 80) == ALLOW  # no rule for inet6: pf passes
    assert any("read as a router" in str(w) for w in rs.warnings)
    assert any("load loads an anchor's rules" in str(w) for w in rs.warnings)
    [host] = load(str(FWB), host_addresses=[f"{HOST}/32"])
    assert host.lines == 44 and decide(host, "8.8.8.8", HOST, 6, 22) == ALLOW
    r = CliRunner().invoke(cli, ["convert", str(FWB), "-i", str(GENERIC), "--host", "host", "-q"])
    assert r.exit_code == 0, r.output


# --- constructs ----------------------------------------------------------------------------------


def test_last_match_wins_unless_quick():
    rs = read(
        "block in all\n"
        "pass in proto tcp to port 22\n"
        "block in quick proto tcp from 10.9.0.0/16\n"
        "pass in proto tcp from 10.9.1.0/24 to port 80\n"
        "block in proto tcp to port 22\n"
        "pass in from 10.1.0.0/16\n"
    )
    assert decide(rs, "8.8.8.8", HOST, 6, 22) == DENY  # the later block wins
    assert decide(rs, "10.1.0.1", HOST, 6, 22) == ALLOW  # the last one
    assert decide(rs, "10.9.1.1", HOST, 6, 80) == DENY  # quick decides at once
    assert decide(rs, "8.8.8.8", HOST, 17, 53) == DENY
    assert decide(rs, HOST, "8.8.8.8", 17, 53) == ALLOW  # no out rule: pf passes


def test_macros_tables_lists_and_ports():
    rs = read(
        'web_ports = "{ 80, 443 }"\nadmin = "10.1.2.3"\n'
        "table <trusted> const { 10.0.0.0/8, !10.66.0.0/16, 10.66.6.0/24 }\n"
        "block in all\n"
        "pass in proto tcp from <trusted> to port $web_ports\n"
        "pass in proto tcp from $admin to port 2000:2100\n"
        "pass in proto udp from { 192.168.0.0/16 !192.168.1.1 } to port 1000 >< 1010\n"
        "pass in proto tcp from 172.16.0.0/12 to port != 25\n"
    )
    assert decide(rs, "10.1.1.1", HOST, 6, 443) == ALLOW
    assert decide(rs, "10.66.1.1", HOST, 6, 443) == DENY  # the negated entry: longest prefix wins
    assert decide(rs, "10.66.6.6", HOST, 6, 80) == ALLOW
    assert decide(rs, "10.1.2.3", HOST, 6, 2050) == ALLOW and decide(rs, "10.1.2.3", HOST, 6, 2101) == DENY
    assert decide(rs, "192.168.2.2", HOST, 17, 1005) == ALLOW and decide(rs, "192.168.2.2", HOST, 17, 1010) == DENY
    # a list with a negation is pf's union of its items: 192.168.1.1 is still in 192.168.0.0/16
    assert decide(rs, "192.168.1.1", HOST, 17, 1001) == ALLOW
    assert decide(rs, "172.16.0.1", HOST, 6, 25) == DENY and decide(rs, "172.16.0.1", HOST, 6, 26) == ALLOW


def test_anchors_inline_quick_and_external():
    rs = read(
        "block in all\n"
        'anchor "web" in proto tcp {\n  pass to port 80\n  block from 10.0.0.0/8\n}\n'
        'anchor "ssh" quick in proto tcp to port 22 {\n  pass from 10.0.0.0/8\n}\n'
        "pass in proto tcp to port 22\n"
        'anchor "ext" in proto udp\n'
        "pass in proto udp to port 53\n"
    )
    assert decide(rs, "8.8.8.8", HOST, 6, 80) == ALLOW
    assert decide(rs, "10.1.1.1", HOST, 6, 80) == DENY  # the anchor's last match
    assert decide(rs, "10.1.1.1", HOST, 6, 22) == ALLOW  # quick anchor matched: final
    assert decide(rs, "8.8.8.8", HOST, 6, 22) == ALLOW  # nothing matched in the quick anchor: pf goes on
    assert decide(rs, "8.8.8.8", HOST, 17, 53) == DENY  # an external anchor: a quick block (secure side)


def test_state_flags_icmp_self_and_conditions():
    rs = read(
        "set skip on lo0\n"
        "block all\n"
        "pass in on em0 proto tcp to port 80\n"
        "pass in proto tcp to self port 443 flags S/SA keep state\n"
        "pass in proto udp to port 123 no state\n"
        "pass in inet proto icmp icmp-type echoreq\n"
        "pass in proto tcp from port 1024:65535 to port 8080\n"
        "pass in proto tcp to port 9000 tagged web\n"
        "match in all scrub (no-df)\n"
    )
    assert decide(rs, "8.8.8.8", HOST, 6, 80) == DENY  # interface: a condition
    assert decide(rs, "8.8.8.8", HOST, 6, 443) == ALLOW  # self is the --host
    assert decide(rs, "8.8.8.8", HOST, 17, 123) == DENY  # no state: replies need rules of their own
    assert decide(rs, "8.8.8.8", HOST, 1, 8) == ALLOW and decide(rs, "8.8.8.8", HOST, 1, 0) == DENY
    assert decide(rs, "8.8.8.8", HOST, 6, 8080) == DENY  # source port: a condition
    assert decide(rs, "8.8.8.8", HOST, 6, 9000) == DENY
    reasons = {c.reason for r in rs.rules for c in r.conditions}
    assert {"interface match", "source port", "tag"} <= reasons
    assert any(s.reason.startswith("a match rule") for s in rs.skipped)
    assert any("set skip on lo0" in str(w) for w in rs.warnings)


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, where, msg",
    [
        ("pass in from 10.0.0.300\n", (1, 14), "'10.0.0.300' is not a valid address"),
        ("pass in proto tcp to port 70000\n", (1, 27), "bad port '70000'"),
        ("pass in proto foo\n", (1, 15), "unknown protocol 'foo'"),
        ("pass in from <nope>\n", (1, 14), "table <nope> is not defined"),
        ("pass in from $nope\n", (1, 14), "$nope is not defined"),
        ("pass in bogus\n", (1, 9), "unexpected 'bogus' in a pf rule"),
        ("pass in proto tcp flags X/SA\n", (1, 25), "unknown TCP flag 'X'"),
        ("frobnicate all\n", (1, 1), "a pf rule starts with pass, block, match or anchor"),
        ("pass in proto tcp to port { 22\n", (1, 31), "unexpected end of input"),
    ],
)
def test_errors_point_at_the_spot(tmp_path, text, where, msg):
    with pytest.raises(InputError) as e:
        read(text)
    assert (e.value.loc.line, e.value.loc.column) == where, e.value.message
    assert msg in e.value.message
    assert_cli_error(tmp_path / "bad.pf.conf", text, "pf")


# --- random rule lists against pf's own semantics ---------------------------------------------------

NETS = [None, "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16"]
PORTS = [None, 22, 80]
SOURCES = ["10.1.2.3", "10.1.9.9", "10.9.9.9", "192.168.1.1", "8.8.8.8"]

_rule = st.tuples(
    st.sampled_from(["pass", "block"]), st.booleans(), st.sampled_from(NETS), st.booleans(), st.sampled_from(PORTS)
)
_item = st.one_of(
    _rule.map(lambda r: ("rule", r)),
    st.tuples(st.booleans(), st.sampled_from(PORTS), st.lists(_rule, min_size=1, max_size=3)).map(
        lambda a: ("anchor", a)
    ),
)


def _words(spec) -> str:
    action, quick, net, neg, port = spec
    out = [action, "in"] + (["quick"] if quick else []) + ["proto", "tcp"]
    out += ["from", ("!" if neg else "") + net] if net else []
    out += ["to", "any", "port", str(port)] if port else []
    return " ".join(out)


def _matches(net, neg, port, src, p) -> bool:
    if net and (netaddr.IPAddress(src) in netaddr.IPNetwork(net)) == neg:
        return False
    return not port or port == p


def _pf(items, src, p):
    """pf.conf(5): the last matching rule decides, a matching quick rule at once; an anchor's rules
    are evaluated in its place (quick anchor: final once one of its rules matched)."""

    def walk(rules):
        last = None
        for kind, spec in rules:
            if kind == "anchor":
                quick, port, body = spec
                if port and port != p:
                    continue
                got, final = walk([("rule", r) for r in body])
                last = got or last
                if final or (quick and got):
                    return last, True
                continue
            action, q, net, neg, port = spec
            if _matches(net, neg, port, src, p):
                last = action
                if q:
                    return last, True
        return last, False

    return walk(items)[0] or "pass"


@settings(max_examples=80, deadline=None)
@given(st.lists(_item, min_size=1, max_size=6))
def test_random_rules_match_pf(items):
    lines = []
    for kind, spec in items:
        if kind == "rule":
            lines.append(_words(spec))
        else:
            quick, port, body = spec
            head = f'anchor "a{len(lines)}"' + (" quick" if quick else "") + " in proto tcp"
            head += f" to any port {port}" if port else ""
            lines.append(head + " {\n" + "".join(f"  {_words(r).replace(' in', '', 1)}\n" for r in body) + "}")
    text = "\n".join(lines) + "\n"
    rs = read(text)
    for src in SOURCES:
        for port in (22, 80, 443):
            want = ALLOW if _pf(items, src, port) == "pass" else DENY
            assert decide(rs, src, HOST, 6, port) == want, (src, port, text)
