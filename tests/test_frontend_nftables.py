"""The nftables frontend: the real file, every construct read, errors at file:line:column, and random
chains against a direct evaluator of nft's own semantics."""

from __future__ import annotations

from pathlib import Path

import netaddr
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.errors import InputError
from translator.frontends import detect, load, nftables
from translator.model.ruleset import ALLOW, DENY

from .cli_errors import assert_cli_error
from .secure import decide

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "realworld"
SWARM = REAL / "nftables" / "docker-swarm-ipv6.nftables.conf"
HOST4, HOST6 = "10.0.0.5", "2001:db8::5"
HOST = [f"{HOST4}/32", f"{HOST6}/128"]


def nft(text: str, host=None, path="t.nft"):
    return nftables.load(text, path, host_addresses=host)


def forward(*lines: str, policy="drop", family="inet", extra="") -> str:
    body = "\n".join(f"    {x}" for x in lines)
    return (
        f"table {family} f {{\n{extra}  chain fwd {{\n    type filter hook forward priority 0; policy {policy};\n"
        f"{body}\n  }}\n}}\n"
    )


# --- the real file -------------------------------------------------------------------------------


def test_real_file_host_chains_both_families():
    [rs] = load(str(SWARM), host_addresses=HOST)
    assert detect(SWARM.read_text(), str(SWARM)) == "nftables"
    assert rs.lines == 14 and len(rs.rules) == 12 and rs.folded == 2
    assert {s.id for s in rs.skipped} == {
        "ip:filter:INPUT:1",
        "ip:filter:INPUT:2",
        "ip6:filter:INPUT:1",
        "ip6:filter:INPUT:2",
    }
    assert decide(rs, "8.8.8.8", HOST4, 6, 22) == ALLOW
    assert decide(rs, "8.8.8.8", HOST4, 6, 443) == ALLOW
    assert decide(rs, "8.8.8.8", HOST4, 17, 546) == DENY  # DHCPv6 only in the ip6 table
    assert decide(rs, "2001:db8::9", HOST6, 17, 546) == ALLOW
    assert decide(rs, "2001:db8::9", HOST6, 58, 135) == ALLOW  # nd-neighbor-solicit
    assert decide(rs, "8.8.8.8", HOST4, 1, 8) == DENY  # echo-request under a rate limit: a condition
    assert decide(rs, HOST4, "8.8.8.8", 6, 25) == ALLOW  # OUTPUT policy accept
    assert any("no forward ruleset" in str(w) for w in rs.warnings)
    assert any("read as a host firewall" in str(w) for w in rs.warnings)


def test_real_file_needs_the_host_and_converts_with_it():
    inv = REAL / "inventories" / "generic.yaml"
    r = CliRunner().invoke(cli, ["convert", str(SWARM), "-i", str(inv), "-q"])
    assert r.exit_code == 2 and "pass --host WORKLOAD" in r.output and f"{SWARM}:20:" in r.output
    r = CliRunner().invoke(cli, ["convert", str(SWARM), "-i", str(inv), "--host", "host", "-q"])
    assert r.exit_code == 0, r.output
    assert "kind: NetworkPolicy" in r.output


# --- constructs ----------------------------------------------------------------------------------


def test_sets_defines_negation_and_ranges():
    text = "define nets = { 10.1.0.0/16, 10.2.0.0/16 }\n" + forward(
        "ip saddr != $nets tcp dport 22 drop",
        "ip saddr @admins tcp dport { 22, 8000-8100 } accept",
        "ip daddr 192.168.1.1-192.168.1.9 udp dport >= 5000 accept",
        extra="  set admins {\n    type ipv4_addr; flags interval\n    elements = { 10.1.2.0/24, 10.9.0.1 }\n  }\n",
    )
    [rs] = nft(text)
    assert decide(rs, "10.1.2.3", "1.1.1.1", 6, 22) == ALLOW
    assert decide(rs, "10.9.0.1", "1.1.1.1", 6, 22) == DENY  # an admin not in $nets: the drop first
    assert decide(rs, "10.9.0.1", "1.1.1.1", 6, 8050) == ALLOW
    assert decide(rs, "10.1.2.3", "1.1.1.1", 6, 8050) == ALLOW
    assert decide(rs, "10.1.3.3", "1.1.1.1", 6, 22) == DENY  # not an admin: policy
    assert decide(rs, "8.8.8.8", "192.168.1.5", 17, 5000) == ALLOW
    assert decide(rs, "8.8.8.8", "192.168.1.5", 17, 4999) == DENY
    assert decide(rs, "8.8.8.8", "192.168.1.10", 17, 6000) == DENY


def test_verdict_map_jump_goto_return():
    text = (
        "table ip f {\n"
        "  chain web { ip saddr 10.0.0.0/8 return\n tcp dport 80 accept }\n"
        "  chain ssh { tcp dport 22 accept }\n"
        "  chain fwd {\n    type filter hook forward priority 0; policy drop;\n"
        "    tcp dport vmap { 80 : jump web, 22 : goto ssh, 25 : drop, 443 : accept }\n"
        "    tcp dport 80 ip saddr 10.1.0.0/16 accept\n  }\n}\n"
    )
    [rs] = nft(text)
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 80) == ALLOW  # web accepts
    assert decide(rs, "10.9.0.1", "1.1.1.1", 6, 80) == DENY  # web returns; not 10.1/16: policy
    assert decide(rs, "10.1.0.1", "1.1.1.1", 6, 80) == ALLOW  # returned, then the rule after the map
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 22) == ALLOW
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 443) == ALLOW
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 25) == DENY
    assert {r.id for r in rs.rules} >= {"ip:f:fwd:1.3", "ip:f:fwd:1.4", "ip:f:web:2", "ip:f:ssh:1"}


def test_base_chains_of_one_hook_in_priority_order():
    """An accept ends only its own base chain; a drop in any of them is final."""
    text = (
        "table inet late {\n  chain c {\n    type filter hook forward priority 10; policy accept;\n"
        "    tcp dport 22 drop\n  }\n}\n"
        "table inet early {\n  chain c {\n    type filter hook forward priority filter - 10; policy accept;\n"
        "    tcp dport { 22, 23 } accept\n    tcp dport 80 drop\n  }\n}\n"
    )
    [rs] = nft(text)
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 22) == DENY  # accepted early, dropped late
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 23) == ALLOW
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 80) == DENY
    assert decide(rs, "2001:db8::1", "2001:db8::2", 6, 8080) == ALLOW


def test_family_only_table_leaves_the_other_family_denied_and_says_so():
    [rs] = nft(forward("tcp dport 22 accept", policy="accept", family="ip"))
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 80) == ALLOW
    assert decide(rs, "2001:db8::1", "2001:db8::2", 6, 80) == DENY


def test_state_flags_icmp_interfaces_and_the_unmodelled():
    [rs] = nft(
        forward(
            "ct state established,related accept",
            "ct state invalid drop",
            "tcp flags & (fin|syn|rst|ack) != syn ct state new drop",
            'iifname "eth0" tcp dport 80 accept',
            "udp sport 53 accept",
            "meta l4proto icmp icmp type { echo-request, 3 } accept",
            "icmpv6 type nd-neighbor-solicit accept",
            "meta mark 0x1 tcp dport 443 accept",
            'ct state new tcp dport 8080 counter packets 0 bytes 0 log prefix "x " accept comment "web"',
        )
    )
    by = {r.id: r for r in rs.rules}
    skipped = {s.id: s.reason for s in rs.skipped}
    assert "inet:f:fwd:1" in skipped and "inet:f:fwd:2" in skipped  # later packets; invalid ones
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 80) == DENY  # interface: a condition, allow left out
    assert [c.reason for c in by["inet:f:fwd:4"].conditions] == ["interface match"]
    assert [c.reason for c in by["inet:f:fwd:5"].conditions] == ["source port"]
    assert decide(rs, "8.8.8.8", "1.1.1.1", 1, 8) == ALLOW and decide(rs, "8.8.8.8", "1.1.1.1", 1, 3) == ALLOW
    assert decide(rs, "8.8.8.8", "1.1.1.1", 1, 0) == DENY
    assert decide(rs, "2001:db8::1", "2001:db8::2", 58, 135) == ALLOW
    assert [c.reason for c in by["inet:f:fwd:8"].conditions] == ["not modelled by fw2np"]
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 8080) == ALLOW and by["inet:f:fwd:9"].comment == "web"
    # the non-SYN drop takes no connection's first packet: it is a skipped line, not a deny of tcp
    assert "inet:f:fwd:3" in skipped


def test_json_form_reads_as_the_text_form(tmp_path):
    """`nft -j list ruleset`: sets, prefixes, ranges, ct state lists, verdict maps, jumps, comments."""
    import json

    base = {"family": "inet", "table": "t"}

    def match(left, right, op="=="):
        return {"match": {"op": op, "left": left, "right": right}}

    saddr, dport = {"payload": {"protocol": "ip", "field": "saddr"}}, {"payload": {"protocol": "tcp", "field": "dport"}}
    rules = [
        ("fwd", [match({"ct": {"key": "state"}}, ["established", "related"], "in"), {"accept": None}]),
        (
            "fwd",
            [
                match(saddr, "@admins"),
                match(dport, {"set": [22, {"range": [8000, 8100]}]}),
                {"counter": None},
                {"accept": None},
            ],
        ),
        ("fwd", [{"vmap": {"key": dport, "data": {"set": [[80, {"jump": {"target": "web"}}], [25, {"drop": None}]]}}}]),
        ("fwd", [match({"meta": {"key": "iifname"}}, "eth0", "!="), {"accept": None}]),
        ("web", [match(saddr, {"prefix": {"addr": "10.0.0.0", "len": 8}}), {"return": None}]),
        ("web", [{"accept": None}]),
    ]
    items = [{"table": {"family": "inet", "name": "t"}}, {"chain": {**base, "name": "web"}}]
    items.append({"chain": {**base, "name": "fwd", "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}})
    items.append(
        {
            "set": {
                **base,
                "name": "admins",
                "type": "ipv4_addr",
                "flags": ["interval"],
                "elem": [{"prefix": {"addr": "10.1.2.0", "len": 24}}, "10.9.0.1"],
            }
        }
    )
    items += [{"rule": {**base, "chain": c, "expr": e, "comment": f"r{k}"}} for k, (c, e) in enumerate(rules)]
    f = tmp_path / "ruleset.json"
    f.write_text(json.dumps({"nftables": items}, indent=2))
    assert detect(f.read_text(), str(f)) == "nftables"
    [rs] = load(str(f))
    assert decide(rs, "10.1.2.3", "1.1.1.1", 6, 8050) == ALLOW
    assert decide(rs, "10.1.3.3", "1.1.1.1", 6, 8050) == DENY
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 80) == ALLOW  # web accepts outside 10/8
    assert decide(rs, "10.3.0.1", "1.1.1.1", 6, 80) == DENY  # web returns; the interface rule is a condition
    assert decide(rs, "2001:db8::1", "2001:db8::2", 6, 80) == ALLOW  # `ip saddr` does not match IPv6
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 25) == DENY
    by = {r.id: r for r in rs.rules}
    assert by["inet:t:fwd:2"].comment == "r1" and by["inet:t:fwd:2"].loc.line > 1
    assert "inet:t:fwd:1" in {s.id for s in rs.skipped}
    bad = tmp_path / "bad.json"
    bad.write_text('{"nftables": [{"rule": {"family": "ip", "table": "x", "chain": "c", "expr": []}}]}')
    r = CliRunner().invoke(cli, ["convert", str(bad), "-i", str(REAL / "inventories" / "generic.yaml")])
    assert r.exit_code == 2 and "not declared before it" in r.output and f"{bad}:1:" in r.output


def test_layouts_seen_in_public_files():
    """Forms public nftables.conf files use: properties on lines of their own, named priorities with an
    offset, comma lists with blanks, logging without a verdict, `iif lo`, `ct state vmap`."""
    text = (
        "flush ruleset\n"
        "table inet stateful {\n  chain FWD {\n    type filter hook forward priority filter - 20\n    policy accept\n"
        "    ct state vmap { established : accept, related : accept, invalid : drop }\n  }\n}\n"
        "table inet filter {\n  chain fwd {\n    type filter hook forward priority 0;\n    policy drop;\n"
        '    ct state established, related accept;\n    iif lo accept comment "loopback"\n'
        '    tcp dport { 20, 21, 22 } accept\n    log prefix "fwd-drop: " flags all\n'
        '    ip protocol icmp accept\n    counter comment "count the rest"\n  }\n}\n'
    )
    [rs] = nft(text)
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 21) == ALLOW and decide(rs, "8.8.8.8", "1.1.1.1", 6, 80) == DENY
    assert decide(rs, "8.8.8.8", "1.1.1.1", 1, 8) == ALLOW
    reasons = {s.id: s.reason for s in rs.skipped}
    assert reasons["inet:filter:fwd:4"].startswith("no verdict") and reasons["inet:filter:fwd:6"].startswith(
        "no verdict"
    )
    assert "loopback" in reasons["inet:filter:fwd:2"]
    assert any(s.id.startswith("inet:stateful:FWD:1.") for s in rs.skipped)  # the map's established/invalid


def test_include_and_flush(tmp_path):
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "a.nft").write_text("table inet f {\n  chain fwd {\n    tcp dport 22 accept\n  }\n}\n")
    main = tmp_path / "nftables.conf"
    main.write_text(
        "flush ruleset\ntable inet f {\n  chain fwd {\n    type filter hook forward priority 0; policy drop;\n"
        '  }\n}\ninclude "rules.d/*.nft"\n'
    )
    [rs] = load(str(main))
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 22) == ALLOW
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 23) == DENY


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, col, msg",
    [
        ("ip saddr 10.0.0.300 accept", 14, "'10.0.0.300' is not a valid IPv4 address"),
        ("ip saddr 2001:db8::1 accept", 14, "is IPv6 but `ip` matches IPv4 addresses"),
        ("jump nowhere", 10, "jump nowhere: no such chain"),
        ("ct state bogus accept", 14, "unknown connection state 'bogus'"),
        ("tcp dport 70000 accept", 15, "bad port '70000'"),
        ("ip saddr $nope accept", 14, "$nope is not defined"),
        ("meta l4proto foo accept", 18, "unknown protocol 'foo'"),
        ("tcp dport { 22 accept", 26, "unexpected"),
    ],
)
def test_errors_point_at_the_spot(tmp_path, line, col, msg):
    with pytest.raises(InputError) as e:
        nft(forward(line))
    assert (e.value.loc.line, e.value.loc.column) == (4, col) or (msg == "unexpected" and e.value.loc.line), (
        e.value.loc,
        e.value.message,
    )
    assert msg in e.value.message
    assert_cli_error(tmp_path / "bad.nft", forward(line))


def test_missing_include_is_an_error(tmp_path):
    f = tmp_path / "n.conf"
    f.write_text('flush ruleset\ninclude "nope.nft"\n')
    with pytest.raises(InputError) as e:
        load(str(f))
    assert "include 'nope.nft': no such file" in e.value.message and e.value.loc.line == 2


# --- random chains against nft's own semantics ------------------------------------------------------

NETS = [None, "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16"]
PORTS = [None, 22, 80, 443]
SOURCES = ["10.1.2.3", "10.1.9.9", "10.9.9.9", "192.168.1.1", "8.8.8.8"]


def _spec(targets):
    return st.tuples(st.sampled_from(NETS), st.booleans(), st.sampled_from(PORTS), st.sampled_from(targets))


def _line(spec) -> str:
    net, neg, port, verdict = spec
    parts = []
    if net:
        parts.append(f"ip saddr {'!= ' if neg else ''}{net}")
    if port:
        parts.append(f"tcp dport {port}")
    parts.append(verdict)
    return " ".join(parts)


def _json_expr(spec) -> list:
    net, neg, port, verdict = spec
    out = []
    if net:
        addr, length = net.split("/")
        right = {"prefix": {"addr": addr, "len": int(length)}}
        out.append(
            {
                "match": {
                    "op": "!=" if neg else "==",
                    "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                    "right": right,
                }
            }
        )
    if port:
        out.append({"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": port}})
    kind, _, target = verdict.partition(" ")
    out.append({kind: {"target": target} if target else None})
    return out


def _json_ruleset(chains, policy) -> str:
    """The same chains as `nft -j list ruleset` prints them."""
    import json

    base = {"family": "ip", "table": "f"}
    items = [{"metainfo": {"json_schema_version": 1}}, {"table": {"family": "ip", "name": "f", "handle": 1}}]
    for name in ("a", "b"):
        items.append({"chain": {**base, "name": name, "handle": 2}})
    items.append({"chain": {**base, "name": "fwd", "type": "filter", "hook": "forward", "prio": 0, "policy": policy}})
    for name, specs in chains.items():
        items += [
            {"rule": {**base, "chain": name, "handle": 10 + k, "expr": _json_expr(x)}} for k, x in enumerate(specs)
        ]
    return json.dumps({"nftables": items}, indent=1)


def _direct(chains, name, src, port):
    """nft's evaluation: the first matching rule's verdict; jump returns at the end or on return,
    goto does not return to the caller."""
    for net, neg, p, verdict in chains[name]:
        if net and ((netaddr.IPAddress(src) in netaddr.IPNetwork(net)) == neg):
            continue
        if p and p != port:
            continue
        if verdict in ("accept", "drop"):
            return verdict
        if verdict == "return":
            return None
        kind, target = verdict.split()
        got = _direct(chains, target, src, port)
        if got or kind == "goto":
            return got or "end"
    return None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_spec(["accept", "drop", "jump a", "goto b"]), min_size=1, max_size=5),
    st.lists(_spec(["accept", "drop", "return", "jump b"]), max_size=4),
    st.lists(_spec(["accept", "drop", "return"]), max_size=4),
    st.sampled_from(["accept", "drop"]),
)
def test_random_chains_match_nft(top, a, b, policy):
    chains = {"fwd": top, "a": a, "b": b}
    text = "table ip f {\n"
    for name in ("a", "b"):
        text += f"  chain {name} {{\n" + "".join(f"    {_line(s)}\n" for s in chains[name]) + "  }\n"
    text += f"  chain fwd {{\n    type filter hook forward priority 0; policy {policy};\n"
    text += "".join(f"    {_line(s)}\n" for s in top) + "  }\n}\n"
    [rs] = nft(text)
    [rs_json] = nft(_json_ruleset(chains, policy), path="t.json")
    for src in SOURCES:
        for port in [22, 80, 443, 8080]:
            got_direct = _direct(chains, "fwd", src, port)
            want = ALLOW if (policy if got_direct in (None, "end") else got_direct) == "accept" else DENY
            assert decide(rs, src, "1.1.1.1", 6, port) == want, (src, port, text)
            assert decide(rs_json, src, "1.1.1.1", 6, port) == want, (src, port, "json")
