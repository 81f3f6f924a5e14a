"""The real iptables exports of ../shared/realworld/iptables: every ruleset read with its rule lines
counted independently, converted and verified; hand-decided flows explained on both sides; and the
smallest input for each defect of issue 15 (abbreviated addresses, the stateful model, an IPv6 file
with an IPv4-only host)."""

from __future__ import annotations

import re

import netaddr
import pytest

from translator.compiler.synth import convert
from translator.errors import InputError
from translator.frontends import iptables, load
from translator.model.inventory import parse_inventory
from translator.model.ruleset import ALLOW, DENY
from translator.verify.core import verify
from translator.verify.explain import explain_policies, explain_rules, parse_flow

from .conftest import ROOT
from .secure import decide as secure_decide

REAL = ROOT.parent / "shared" / "realworld"
IPT = REAL / "iptables"
GENERIC = REAL / "inventories" / "generic.yaml"
CLOUDFLARE = REAL / "inventories" / "cloudflare-only.yaml"
FILES = sorted(p.name for p in IPT.iterdir()) if IPT.is_dir() else []
needs_files = pytest.mark.skipif(not FILES, reason="the real exports (../shared/realworld) are not present")
HOST = ["198.51.100.10", "2001:db8::10"]  # generic.yaml's workload "host"


def inventory(path):
    return parse_inventory(path.read_text(), str(path))


# --- independent count of the files' rule lines ---------------------------------------------------

_RULE = re.compile(r"^(?:\[\d+:\d+\]\s+)?(?:-A|--append)\s+(\S+)(.*)$")
_JUMP = re.compile(r"(?:^|\s)(?:-j|--jump|-g|--goto)\s+(\S+)")


def filter_chains(text: str) -> dict[str, list[tuple[int, str]]]:
    """The -A lines (line number, options) of the *filter table by chain, read with two regexes
    (not the frontend)."""
    chains: dict[str, list[tuple[int, str]]] = {}
    table = None
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line.startswith("*"):
            table = line[1:]
        elif table == "filter" and line.startswith(":"):
            chains.setdefault(line[1:].split()[0], [])
        elif table == "filter" and (m := _RULE.match(line)):
            chains[m.group(1)].append((n, m.group(2)))
    return chains


# the built-in chains of raw and mangle a ruleset's packets cross (besides filter's), as the frontend reads them
STAGE_CHAINS = {
    ("INPUT", "OUTPUT"): {"raw": {"PREROUTING", "OUTPUT"}, "mangle": {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}},
    ("FORWARD",): {"raw": {"PREROUTING"}, "mangle": {"PREROUTING", "FORWARD", "POSTROUTING"}},
}


def stage_lines(text: str, starts: tuple[str, ...]) -> int:
    """The -A lines of the raw and mangle built-in chains that feed a ruleset (these files jump to no user
    chain there)."""
    n, table = 0, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("*"):
            table = line[1:]
        elif (m := _RULE.match(line)) and m.group(1) in STAGE_CHAINS[starts].get(table, ()):
            n += 1
    return n


def fed_chains(chains: dict[str, list[str]], starts: tuple[str, ...]) -> set[str]:
    """STARTS and every user chain their jumps reach."""
    seen, todo = set(), list(starts)
    while todo:
        c = todo.pop()
        if c in seen or c not in chains:
            continue
        seen.add(c)
        todo += [m.group(1) for _n, line in chains[c] for m in _JUMP.finditer(line) if m.group(1) in chains]
    return seen


# (rulesets, skipped lines per ruleset) as read by hand from each file
EXPECTED = {
    "cloudflare-only.iptables.rules": {"cloudflare-only.iptables": ["INPUT:1", "INPUT:2"]},
    "cloudflare-only.ip6tables.rules": {"cloudflare-only.ip6tables": ["INPUT:1", "INPUT:2"]},
    "free5gc-docker-host.iptables-save": {
        # the mangle table is read (its DROPs see packets before filter): its CONNMARK and CHECKSUM lines decide nothing
        "free5gc-docker-host": ["mangle:PREROUTING:1", "mangle:OUTPUT:1", "mangle:POSTROUTING:1", "ts-input:1"],
        "free5gc-docker-host-forward": [
            "mangle:PREROUTING:1",
            "mangle:POSTROUTING:1",
            "FORWARD:2",
            "FORWARD:5",
            "FORWARD:10",
            "FORWARD:15",
            "ts-forward:1",
        ],
    },
    "liimstrap.rules.v6": {"liimstrap.rules": ["INPUT:1", "OUTPUT:1"]},
    "long-options.rules.v4": {"long-options.rules": ["INPUT:1", "INPUT:2", "INPUT:3", "INPUT:6"]},
    "zt-starter.rules.v4": {
        "zt-starter.rules": ["INPUT:1", "INPUT:5", "INPUT:6", "INPUT:7", "INPUT:8", "OUTPUT:1"],
        "zt-starter.rules-forward": [],
    },
    "zt-starter.rules.v6": {
        "zt-starter.rules": ["INPUT:1", "INPUT:4", "INPUT:5", "INPUT:6", "INPUT:7", "OUTPUT:1"],
        "zt-starter.rules-forward": [],
    },
}


def test_every_file_has_an_expected_outcome():
    assert set(FILES) <= set(EXPECTED), "new real iptables file: add its expected outcome"


@needs_files
@pytest.mark.parametrize("name", FILES)
def test_every_ruleset_converts_with_its_lines_counted_and_verifies(name):
    path = IPT / name
    text = path.read_text()
    chains = filter_chains(text)
    inv = inventory(GENERIC)
    rulesets = load(str(path), host_addresses=HOST)
    assert {rs.name: [s.id for s in rs.skipped] for rs in rulesets} == EXPECTED[name]
    for rs in rulesets:
        starts = ("FORWARD",) if rs.name.endswith("-forward") else ("INPUT", "OUTPUT")
        fed = fed_chains(chains, starts)
        assert rs.lines == sum(len(chains[c]) for c in fed) + stage_lines(text, starts)
        # no line vanishes: each fed line makes a rule, is skipped, or is a jump/RETURN
        made = {r.loc.line for r in rs.rules} | {s.loc.line for s in rs.skipped}
        folded = 0
        for c in fed:
            for n, line in chains[c]:
                if n not in made:
                    target = _JUMP.search(line)
                    assert target and (target.group(1) == "RETURN" or target.group(1) in chains), (n, line)
                    folded += 1
        assert rs.folded == folded  # the summary's "folded into others"
        result = convert(rs, inv)
        assert result.stats["lines"] == rs.lines and result.stats["rules"] == len(rs.rules)
        assert sum(f.kind == "skipped" for f in result.findings) == len(rs.skipped)
        rep, _ = verify(rs, inv, result.policies, limit=20)
        assert rep.by_direction["more-permissive"] == 0  # never wider than the file
        assert rep.verdict in ("equivalent", "approximations") and rep.unreported == 0, rep.examples


def decide(rs, inv, flow_text):
    """(firewall decision, decision of the compiled policies) for one flow."""
    flow = parse_flow(flow_text, inv)
    fw = explain_rules(rs, inv, flow)
    np = explain_policies(convert(rs, inv).policies, inv, flow)
    return fw["decision"], np["decision"]


@needs_files
def test_cloudflare_only_allows_https_from_cloudflare_and_new_ssh():
    inv = inventory(CLOUDFLARE)
    [rs] = load(str(IPT / "cloudflare-only.iptables.rules"), host_addresses=["198.51.100.10"])
    # INPUT:3 sends tcp/443 to CLOUDFLARE, whose 15 --tcp-flags SYN + ctstate NEW allows take these ranges
    assert decide(rs, inv, "103.21.244.5 -> web tcp/443") == ("allow", "allow")
    assert decide(rs, inv, "198.41.200.1 -> web tcp/443") == ("allow", "allow")
    assert decide(rs, inv, "203.0.113.5 -> web tcp/443") == ("deny", "deny")  # RETURN, then INPUT's DROP
    assert decide(rs, inv, "103.21.244.5 -> web tcp/80") == ("deny", "deny")  # only 443 goes to CLOUDFLARE
    assert decide(rs, inv, "203.0.113.5 -> web tcp/22") == ("allow", "allow")  # INPUT:4, new SSH
    [note] = [w for w in rs.warnings if w.message.startswith("stateful model")]
    assert "16 allow(s)" in note.message
    result = convert(rs, inv)
    ingress = [p for p in result.policies if p["metadata"]["name"].endswith("web-ingress")]
    assert ingress and ingress[0]["spec"]["ingress"]
    assert not [f for f in result.findings if f.kind == "condition"]


@needs_files
def test_long_options_allows_ssh_from_the_lan_after_the_invalid_drop():
    inv = inventory(CLOUDFLARE)  # web is 198.51.100.10; 192.168.0.0/24 stays external
    [rs] = load(str(IPT / "long-options.rules.v4"), host_addresses=["198.51.100.10"])
    assert decide(rs, inv, "192.168.0.5 -> web tcp/22") == ("allow", "allow")
    assert decide(rs, inv, "192.168.1.5 -> web tcp/22") == ("deny", "deny")
    assert decide(rs, inv, "192.168.0.5 -> web tcp/80") == ("deny", "deny")
    rep, _ = verify(rs, inv, convert(rs, inv).policies)
    assert rep.verdict in ("equivalent", "approximations")


@needs_files
def test_zt_starter_host_flows():
    inv = inventory(GENERIC)
    rs = {r.name: r for r in load(str(IPT / "zt-starter.rules.v4"), host_addresses=HOST)}["zt-starter.rules"]
    assert decide(rs, inv, "203.0.113.5 -> host tcp/22") == ("allow", "allow")  # NEW,ESTABLISHED
    assert decide(rs, inv, "203.0.113.5 -> host tcp/80") == ("deny", "deny")  # INPUT -j REJECT
    assert decide(rs, inv, "host -> 203.0.113.5 tcp/443") == ("allow", "allow")
    assert decide(rs, inv, "host -> 203.0.113.5 tcp/8080") == ("deny", "deny")  # OUTPUT -j REJECT


@needs_files
def test_ip6tables_file_with_an_ipv4_only_host_is_an_error():
    with pytest.raises(InputError) as e:
        load(str(IPT / "cloudflare-only.ip6tables.rules"), host_addresses=["198.51.100.10"])
    assert "--host has no IPv6 address" in e.value.message and "13 rule line(s)" in e.value.message


# --- the smallest inputs ---------------------------------------------------------------------------

H = ["10.0.0.5/32"]


def table(*lines: str, policies="INPUT DROP,FORWARD DROP,OUTPUT ACCEPT", chains=()) -> str:
    decl = [f":{p.split()[0]} {p.split()[1]} [0:0]" for p in policies.split(",")]
    decl += [f":{c} - [0:0]" for c in chains]
    return "\n".join(["*filter", *decl, *lines, "COMMIT", ""])


def host_rs(*lines, chains=(), host=H):
    return iptables.load(table(*lines, chains=chains), "t.rules", host_addresses=host)[0]


@pytest.mark.parametrize(
    "value, first, last",
    [
        ("172.16.0/24", "172.16.0.0", "172.16.0.255"),
        ("10/8", "10.0.0.0", "10.255.255.255"),
        ("10.1", "10.1.0.0", "10.1.0.0"),  # a host: trailing octets are zero, no classful reading
        ("10.1/16", "10.1.0.0", "10.1.255.255"),
        ("010.0x10.1.1", "8.16.1.1", "8.16.1.1"),  # strtoul base 0: octal and hex octets
        ("10.1.2.3/255.255.0.0", "10.1.0.0", "10.1.255.255"),
        ("192.0.2.77/0x18", "192.0.2.0", "192.0.2.255"),
        ("nowhere.example/0", "0.0.0.0", "255.255.255.255"),  # a zero mask ignores the name
    ],
)
def test_abbreviated_addresses_read_as_xtables_does(value, first, last):
    rs = host_rs(f"-A INPUT -s {value} -j ACCEPT")
    lo, hi = (netaddr.IPAddress(a) for a in (first, last))
    for inside in (lo, hi):
        assert secure_decide(rs, str(inside), "10.0.0.5", 6, 1) == ALLOW
    for outside in (int(lo) - 1, int(hi) + 1):
        if 0 <= outside < 1 << 32:
            assert secure_decide(rs, str(netaddr.IPAddress(outside)), "10.0.0.5", 6, 1) == DENY


def test_abbreviated_range():
    rs = host_rs("-A INPUT -m iprange --src-range 10.1-10.2 -j ACCEPT")
    assert secure_decide(rs, "10.1.200.1", "10.0.0.5", 6, 1) == ALLOW
    assert secure_decide(rs, "10.2.0.1", "10.0.0.5", 6, 1) == DENY  # the range ends at 10.2.0.0


@pytest.mark.parametrize(
    "value, msg",
    [
        ("1.2.3.256", "'1.2.3.256' is not an IPv4 address"),
        ("1.2.3.4.5", "'1.2.3.4.5' is not an IPv4 address"),
        ("1.2.3.", "'1.2.3.' is not an IPv4 address"),
        ("08.1.1.1", "'08.1.1.1' is not an IPv4 address"),  # 08 is no octal number
        ("10.0.0.0/33", "invalid mask '33'"),
        ("10.0.0.0/255.0.255.0", "is not contiguous"),
        ("10.0.0.0/8/8", "not a valid address, network or host name"),
    ],
)
def test_what_iptables_rejects_is_rejected_at_the_spot(value, msg):
    with pytest.raises(InputError) as e:
        host_rs(f"-A INPUT -s {value} -j ACCEPT")
    assert msg in e.value.message
    assert (e.value.loc.line, e.value.loc.column) == (5, 13)
    assert e.value.render().startswith("t.rules:5:13")


@pytest.mark.parametrize(
    "match",
    [
        "-p tcp --syn",
        "-p tcp --tcp-flags FIN,SYN,RST,ACK SYN",
        "-p tcp -m conntrack --ctstate NEW",
        "-p tcp -m state --state NEW",
        "-p tcp -m conntrack --ctstate NEW,ESTABLISHED",
        "-p tcp -m tcp --tcp-flags SYN,RST,ACK,FIN SYN -m conntrack --ctstate NEW",
    ],
)
def test_new_connection_forms_allow_the_connection(match):
    rs = host_rs(f"-A INPUT {match} --dport 443 -j ACCEPT", f"-A INPUT {match} --dport 80 -j ACCEPT")
    assert [r.conditions for r in rs.rules[:2]] == [(), ()]
    assert secure_decide(rs, "192.0.2.1", "10.0.0.5", 6, 443) == ALLOW
    notes = [w for w in rs.warnings if w.message.startswith("stateful model")]
    assert len(notes) == 1 and "2 allow(s)" in notes[0].message  # once per ruleset


@pytest.mark.parametrize(
    "match, why",
    [
        ("-m conntrack --ctstate ESTABLISHED,RELATED", "after a connection's first one"),
        ("-m state --state ESTABLISHED", "after a connection's first one"),
        ("-p tcp ! --syn", "after a connection's first one"),
        ("-m conntrack --ctstate INVALID", "only invalid packets"),
    ],
)
def test_later_packet_allows_are_skipped_not_allow_all(match, why):
    rs = host_rs(f"-A INPUT {match} -j ACCEPT")
    assert [r.id for r in rs.rules] == ["INPUT:policy", "OUTPUT:policy"]
    [s] = rs.skipped
    assert s.id == "INPUT:1" and why in s.reason and rs.lines == 1
    assert secure_decide(rs, "192.0.2.1", "10.0.0.5", 6, 80) == DENY


@pytest.mark.parametrize("match", ["-m conntrack --ctstate INVALID", "-p tcp -m state --state NEW ! --syn"])
def test_invalid_drop_blocks_no_valid_connection(match):
    rs = host_rs(f"-A INPUT {match} -j DROP", "-A INPUT -s 192.168.0.0/24 -p tcp --dport 22 -j ACCEPT")
    assert [s.id for s in rs.skipped] == ["INPUT:1"] and "invalid packets" in rs.skipped[0].reason
    assert secure_decide(rs, "192.168.0.5", "10.0.0.5", 6, 22) == ALLOW


def test_new_only_drop_is_an_exact_deny():
    rs = host_rs("-A INPUT -p tcp --syn --dport 22 -j DROP", "-A INPUT -p tcp -j ACCEPT")
    assert rs.rules[0].action == DENY and rs.rules[0].conditions == ()
    assert secure_decide(rs, "192.0.2.1", "10.0.0.5", 6, 22) == DENY
    assert secure_decide(rs, "192.0.2.1", "10.0.0.5", 6, 23) == ALLOW


@pytest.mark.parametrize("match", ["-m conntrack --ctstate ESTABLISHED", "-p tcp ! --syn"])
def test_later_packet_drop_denies_the_connection_and_says_so(match):
    rs = host_rs(f"-A INPUT {match} -j DROP", "-A INPUT -p tcp --dport 22 -j ACCEPT")
    drop = rs.rules[0]
    assert drop.action == DENY and "breaks connections" in drop.conditions[-1].reason
    assert secure_decide(rs, "192.0.2.1", "10.0.0.5", 6, 22) == DENY  # the secure side: never wider
    inv = parse_inventory(
        "namespaces:\n  p: {}\nworkloads:\n  h: {namespace: p, labels: {app: h}, addresses: [10.0.0.5]}\n", "i"
    )
    assert any(f.kind == "condition" and f.rule.id == "INPUT:1" for f in convert(rs, inv).findings)


def test_return_of_later_packets_changes_no_connection():
    rs = host_rs(
        "-A INPUT -j c",
        "-A c -m state --state ESTABLISHED,RELATED -j RETURN",
        "-A c -p tcp --dport 22 -j ACCEPT",
        chains=["c"],
    )
    assert secure_decide(rs, "192.0.2.1", "10.0.0.5", 6, 22) == ALLOW
    assert [r.conditions for r in rs.rules if r.id == "c:2"] == [()]
    assert [s.id for s in rs.skipped] == ["c:1"] and "RETURN" in rs.skipped[0].reason
    assert rs.lines == 3


def test_return_of_new_connections_excludes_them():
    rs = host_rs(
        "-A INPUT -j c",
        "-A INPUT -p tcp -j ACCEPT",
        "-A c -p tcp --syn -j RETURN",
        "-A c -j DROP",
        chains=["c"],
    )
    assert secure_decide(rs, "192.0.2.1", "10.0.0.5", 6, 22) == ALLOW  # returned, then INPUT:2
    assert secure_decide(rs, "192.0.2.1", "10.0.0.5", 17, 53) == DENY  # c:2


def test_chain_entered_by_later_packets_only():
    rs = host_rs(
        "-A INPUT -m state --state ESTABLISHED -j c",
        "-A INPUT -p tcp --dport 80 -j ACCEPT",
        "-A c -p tcp --dport 25 -j DROP",
        "-A c -j ACCEPT",
        chains=["c"],
    )
    assert [s.id for s in rs.skipped] == ["c:2"]
    deny = next(r for r in rs.rules if r.id == "c:1")
    assert "breaks connections" in deny.conditions[-1].reason
    assert secure_decide(rs, "192.0.2.1", "10.0.0.5", 6, 80) == ALLOW


def test_unreached_lines_log_and_targetless_lines_are_skipped():
    rs = host_rs(
        "-A INPUT -j LOG --log-prefix x",
        "-A INPUT -p tcp -j c",
        "-A INPUT -m comment --comment count",
        "-A c -j RETURN",
        "-A c -p tcp --dport 22 -j ACCEPT",
        "-A c -p udp -j ACCEPT",
        chains=["c"],
    )
    reasons = {s.id: s.reason for s in rs.skipped}
    assert set(reasons) == {"INPUT:1", "INPUT:3", "c:2", "c:3"}
    assert "decides nothing" in reasons["INPUT:1"] and "only counts" in reasons["INPUT:3"]
    assert "no packet that reaches it" in reasons["c:2"] and "no packet that reaches it" in reasons["c:3"]
    assert rs.lines == 6


def test_ip6tables_with_ipv4_only_host():
    v6 = "-A INPUT -s 2001:db8::/32 -p tcp --dport 22 -j ACCEPT"
    with pytest.raises(InputError) as e:
        iptables.load(table(v6), "t6.rules", host_addresses=["10.0.0.5"])
    assert "--host has no IPv6 address" in e.value.message and "1 rule line(s)" in e.value.message
    # with a FORWARD ruleset the forward rules still convert, and the host chains are reported
    [fwd] = iptables.load(table(v6, "-A FORWARD -d 2001:db8::1 -j ACCEPT"), "t6.rules", host_addresses=["10.0.0.5"])
    assert fwd.name == "t6-forward" and any("--host has no IPv6 address" in w.message for w in fwd.warnings)
    # a dual-stack host: its IPv6 address is protected
    [rs] = iptables.load(table(v6), "t6.rules", host_addresses=["10.0.0.5", "2001:db8::5"])
    assert secure_decide(rs, "2001:db8::9", "2001:db8::5", 6, 22) == ALLOW


@pytest.mark.parametrize(
    "line, msg",
    [
        ("-A INPUT --syn -j ACCEPT", "--syn needs -p tcp"),
        ("-A INPUT -p udp --tcp-flags SYN SYN -j ACCEPT", "--tcp-flags needs -p tcp"),
        ("-A INPUT -p tcp --tcp-flags SYN,BOGUS SYN -j ACCEPT", "unknown TCP flag 'BOGUS'"),
        ("-A INPUT -m conntrack --ctstate NEWISH -j ACCEPT", "unknown connection state 'NEWISH'"),
    ],
)
def test_bad_state_and_flag_options(line, msg):
    with pytest.raises(InputError) as e:
        host_rs(line)
    assert msg in e.value.message and e.value.loc.line == 5
