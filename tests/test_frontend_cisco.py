"""The Cisco ASA and IOS access-list frontends: constructs, real files, the samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from translator.compiler.synth import convert
from translator.errors import InputError
from translator.frontends import cisco_asa, cisco_ios, detect, read_text
from translator.frontends.common.cisco import mask_bits, port_ranges, wildcard_nets
from translator.model.inventory import load_inventory
from translator.model.resolve import Resolver
from translator.model.ruleset import ALLOW, DENY

from .secure import decide, ip

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not present")


def by_name(rss):
    return {rs.name: rs for rs in rss}


def svcs(rule):
    return sorted((s.proto, s.lo, s.hi) for s in rule.services)


# --- shared helpers -------------------------------------------------------------


def test_wildcards_and_masks():
    assert [(n.text) for n in wildcard_nets("10.1.0.0", "0.0.255.255")] == ["10.1.0.0/16"]
    nets = wildcard_nets("10.50.2.0", "0.0.4.255")
    assert [n.text for n in nets] == ["10.50.2.0/24", "10.50.6.0/24"]
    odd = wildcard_nets("10.0.0.1", "0.0.0.254")
    assert len(odd) == 128 and all(n.first % 2 == 1 and n.first == n.last for n in odd)
    assert wildcard_nets("10.0.0.0", "0.255.255.254") is None  # 2**23 ranges: over the bound
    assert mask_bits("255.255.240.0") == 20 and mask_bits("255.0.255.0") is None
    assert port_ranges("neq", [80]) == [(1, 79), (81, 65535)]
    assert port_ranges("lt", [1024]) == [(1, 1023)] and port_ranges("gt", [1023]) == [(1024, 65535)]


# --- ASA ------------------------------------------------------------------------

ASA = """\
name 192.0.2.13 mailhost
object network web
 subnet 10.1.1.0 255.255.255.0
object network pool
 range 10.1.2.10 10.1.2.20
object network cdn
 fqdn cdn.example.com
object-group network inside
 network-object 10.1.0.0 255.255.0.0
 network-object host 2001:db8::5
object-group network both
 group-object inside
 network-object object web
object-group service webp tcp
 port-object eq www
 port-object range 8000 8010
object-group service mixed
 service-object tcp destination eq https
 service-object udp source eq 53
object-group protocol tu
 protocol-object tcp
 protocol-object udp
object-group icmp-type pings
 icmp-object echo
 icmp-object echo-reply
access-list OUT remark first rule
access-list OUT extended deny tcp host 10.9.9.9 object web eq 22 log
access-list OUT extended permit tcp any object web object-group webp
access-list OUT extended permit object-group mixed object-group inside any
access-list OUT extended permit tcp any host mailhost eq smtp
access-list OUT extended permit icmp any any object-group pings
access-list OUT extended permit tcp any object cdn eq https
access-list OUT extended permit ip any any inactive
access-list OUT extended permit tcp any object pool neq 80 time-range work
access-group OUT in interface outside
access-list STD standard permit host 10.0.0.1
"""


def test_asa_constructs():
    rss = by_name(cisco_asa.load(ASA, "fw.cfg"))
    out = rss["OUT"]
    ids = [r.id for r in out.rules]
    assert ids[0] == "OUT:line 2"  # remarks count as ACL lines
    assert out.rules[0].comment == "first rule"
    assert decide(out, "10.9.9.9", "10.1.1.5", 6, 22) == DENY
    assert decide(out, "10.9.9.8", "10.1.1.5", 6, 8005) == ALLOW
    assert decide(out, "10.9.9.8", "10.1.1.5", 6, 8011) == DENY
    assert decide(out, "10.1.7.7", "8.8.8.8", 6, 443) == ALLOW
    assert decide(out, "2001:db8::5", "8.8.8.8", 6, 443) == ALLOW  # an IPv6 host of the group
    assert decide(out, "10.1.7.7", "8.8.8.8", 17, 9) == DENY  # source-port entry: a condition
    mixed = [r for r in out.rules if r.id == "OUT:line 4"]
    assert len(mixed) == 2 and [c.reason for c in mixed[1].conditions] == ["source port"]
    assert decide(out, "1.1.1.1", "192.0.2.13", 6, 25) == ALLOW  # a `name` used with host
    echo = next(r for r in out.rules if r.id == "OUT:line 6")
    assert svcs(echo) == [(1, 0, 0), (1, 8, 8)]
    cdn = next(r for r in out.rules if r.id == "OUT:line 7")
    assert not Resolver(out).address(cdn.dst).lower  # fqdn: unresolved
    assert "OUT:line 8" not in ids
    assert [(k.id, k.reason) for k in out.skipped] == [("OUT:line 8", "inactive: the firewall does not apply it")]
    assert out.lines == 8  # the entry lines, not the remark
    tr = next(r for r in out.rules if r.id == "OUT:line 9")
    assert [c.text for c in tr.conditions] == ["time-range work"]
    assert svcs(tr) == [(6, 1, 79), (6, 81, 65535)]
    assert any("access-group OUT in interface outside" in w.message for w in out.warnings)
    std = rss["STD"].rules[0]
    assert decide(rss["STD"], "8.8.8.8", "10.0.0.1", 6, 1) == ALLOW and std.action == ALLOW


def test_asa_undefined_objects_are_unresolved_secure_side():
    rss = by_name(
        cisco_asa.load(
            "access-list A extended permit tcp object-group nope any eq 80\n"
            "access-list A extended deny ip any object-group nope2\n",
            "a.cfg",
        )
    )
    rs = rss["A"]
    assert decide(rs, "1.1.1.1", "2.2.2.2", 6, 80) == DENY  # the allow matches nothing, the deny anything
    assert sum("not a defined network object-group" in w.message for w in rs.warnings) == 2


@pytest.mark.parametrize(
    "text, where, msg",
    [
        ("access-list A extended permit tcp any any eq wwww\n", (1, 46), "unknown port 'wwww'"),
        ("access-list A extended allow ip any any\n", (1, 24), "expected permit or deny"),
        ("access-list A extended permit ip 10.0.0.0 255.0.255.0 any\n", (1, 43), "not a contiguous subnet mask"),
        ("access-list A extended permit ip any\n", (1, 37), "unexpected end of line"),
        ("access-list A extended permit ip any any loud\n", (1, 42), "unexpected 'loud'"),
        (
            "object-group network G\n group-object H\naccess-list A extended permit ip any any\n",
            (2, 15),
            "undefined network object 'H'",
        ),
    ],
)
def test_asa_errors(text, where, msg):
    with pytest.raises(InputError) as e:
        cisco_asa.load(text, "a.cfg")
    assert (e.value.loc.line, e.value.loc.column) == where
    assert msg in e.value.message


@needs_corpus
def test_corpus_asa_flat_sample():
    path = str(CORPUS / "cisco-asa" / "flatAsaAcl_sample_config.txt")
    text = read_text(path)
    assert detect(text, path) == "cisco-asa"
    rss = by_name(cisco_asa.load(text, path))
    assert {n: len(rs.rules) for n, rs in rss.items()} == {"ACL01": 2, "ACL02": 4, "ACL03": 1, "ACL04": 2, "ACL05": 4}
    r = rss["ACL02"].rules[3]  # protocol group + port group (tcp-udp)
    assert svcs(r) == [(6, 53, 53), (6, 123, 123), (6, 30000, 31000)]
    assert decide(rss["ACL02"], "2001:db8:1111::1", "10.1.0.50", 6, 53) == DENY  # 'deny ip any any' above
    acl4 = rss["ACL04"].rules[0]  # icmp + icmp6 with an icmp-type group
    assert svcs(acl4) == [(1, 0, 0), (1, 3, 3), (1, 8, 8), (58, 1, 1), (58, 128, 128), (58, 129, 129)]
    grp = Resolver(rss["ACL03"]).address(rss["ACL03"].rules[0].dst)
    assert grp.lower == grp.upper and ip("10.1.0.1") in grp.lower and ip("10.1.0.100") in grp.lower
    nf = Resolver(rss["ACL02"]).address(rss["ACL02"].rules[3].dst)  # NETGRP22 holds an fqdn object
    assert ip("10.1.0.5") in nf.lower and nf.upper.size() > nf.lower.size()


@needs_corpus
def test_corpus_asa_running_config():
    path = str(CORPUS / "cisco-asa" / "ciscoconfparse_sample_01.asa")
    rss = by_name(cisco_asa.load(read_text(path), path))
    assert sorted(rss) == sorted(
        ["SPLIT_TUNNEL_NETS", "NO_SSLVPN_NAT", "INSIDE_in", "ANY", "VOIP", "MAINTENANCE", "OUTSIDE_in"]
    )
    ins = rss["INSIDE_in"]
    assert len(ins.rules) == 13 and ins.rules[0].action == DENY and svcs(ins.rules[0]) == [(17, 5555, 5555)]
    assert decide(ins, "10.3.3.3", "8.8.8.8", 17, 5555) == DENY
    assert decide(ins, "10.3.3.3", "8.8.8.8", 17, 53) == ALLOW
    assert decide(ins, "10.3.3.3", "74.125.1.1", 6, 5228) == ALLOW
    assert decide(ins, "10.3.3.3", "8.8.8.8", 6, 5228) == DENY
    assert any("TSUNAMI_addrs is not a defined" in w.message for w in ins.warnings)
    out = rss["OUTSIDE_in"]
    assert [r.action for r in out.rules] == [DENY, ALLOW, ALLOW, DENY] and svcs(out.rules[1]) == [(1, 3, 3)]


@needs_corpus
def test_corpus_asa_batfish_fixture():
    path = str(CORPUS / "cisco-asa" / "batfish_asa_acl.cfg")
    rss = by_name(cisco_asa.load(read_text(path), path))
    assert svcs(rss["outside_in"].rules[0]) == [(17, 69, 69)]
    assert rss["Local_LAN_Access"].rules[0].dst.include[0].text == "0.0.0.0"
    assert len(rss["inline_specifiers"].rules) == 20  # undefined service objects: unresolved
    assert decide(rss["inline_specifiers"], "1.1.1.1", "2.2.2.2", 1, 8) == DENY
    assert "interface outside" in rss["outside"].rules[0].dst.include[0].text


def test_asa_sample_through_the_compiler():
    d = ROOT / "samples" / "cisco-asa"
    path = str(d / "dmz-asa.cfg")
    text = read_text(path)
    assert detect(text, path) == "cisco-asa"
    [rs] = cisco_asa.load(text, path)
    result = convert(rs, load_inventory(str(d / "inventory.yaml")))
    pols = {p["metadata"]["name"].split("-", 3)[-1]: p for p in result.policies}
    app_in = pols["app-ingress"]["spec"]["ingress"]
    assert app_in == [
        {
            "from": [{"podSelector": {"matchLabels": {"tier": "web"}}}],
            "ports": [{"protocol": "TCP", "port": 8443}, {"protocol": "TCP", "port": 9000, "endPort": 9010}],
        }
    ]
    db_from = [peer for r in pols["db-ingress"]["spec"]["ingress"] for peer in r["from"]]
    assert {"podSelector": {"matchLabels": {"tier": "app"}}} in db_from
    assert {"ipBlock": {"cidr": "10.99.1.0/24"}} in db_from


# --- IOS ------------------------------------------------------------------------

IOS = """\
interface Gi0/1
 ip access-group EDGE in
!
ip access-list extended EDGE
 remark block a host
 deny   ip host 198.51.100.7 any
 permit tcp any 10.0.0.0 0.0.255.255 eq www 443
 permit tcp any any established
 deny   tcp any any established
 permit udp any eq domain 10.0.0.0 0.255.255.255
 25 permit tcp 10.1.0.1 0.0.254.0 any range 8000 8080
 permit icmp any any echo
 permit icmp any any 3 4
 permit tcp any any gt 1023 log
ip access-list standard MGMT
 permit 10.7.0.0 0.0.0.255
 permit host 10.8.0.1
 deny   any log
access-list 101 permit tcp any host 10.9.9.9 eq 22
access-list 101 deny ip any any
access-list 5 permit 172.16.1.5
ipv6 access-list V6
 sequence 20 permit tcp 2001:db8::/32 any eq 443
 deny ipv6 any any
"""


def test_ios_constructs():
    rss = by_name(cisco_ios.load(IOS, "r.cfg"))
    assert detect(IOS, "r.cfg") == "cisco-ios"
    edge = rss["EDGE"]
    # entries in sequence order; an unnumbered one gets the highest number so far + 10, as IOS numbers them
    assert [r.id for r in edge.rules] == ["10", "20", "25", "40", "50", "60", "70", "80"]
    assert edge.lines == 9 and [(k.id, k.loc.line) for k in edge.skipped] == [("30", 8)]
    assert "stateful model implies it" in edge.skipped[0].reason
    assert edge.rules[0].comment == "block a host"
    assert decide(edge, "198.51.100.7", "10.0.1.1", 6, 80) == DENY
    assert decide(edge, "198.51.100.8", "10.0.1.1", 6, 443) == ALLOW
    assert not any("established" in w.message for w in edge.warnings)
    est_deny = edge.rules[3]
    assert est_deny.action == DENY and [c.text for c in est_deny.conditions] == ["established"]
    assert [c.reason for c in edge.rules[4].conditions] == ["source port"]
    wild = edge.rules[2]  # 10.1.0.1 0.0.254.0: 128 /24-like points
    assert len(wild.src.include) == 128 and wild.src.include[1].text == "10.1.2.1"
    assert svcs(edge.rules[5]) == [(1, 8, 8)]
    assert [c.text for c in edge.rules[6].conditions] == ["icmp code 4"]
    assert svcs(edge.rules[7]) == [(6, 1024, 65535)]
    assert any("ip access-group EDGE in' on interface Gi0/1" in w.message for w in edge.warnings)
    mg = rss["MGMT"]
    assert decide(mg, "10.7.0.9", "1.1.1.1", 6, 1) == ALLOW and decide(mg, "10.7.1.9", "1.1.1.1", 6, 1) == DENY
    assert decide(mg, "10.8.0.1", "1.1.1.1", 17, 1) == ALLOW
    assert [r.id for r in rss["101"].rules] == ["10", "20"]
    assert decide(rss["5"], "172.16.1.5", "1.1.1.1", 6, 1) == ALLOW
    v6 = rss["V6"]
    assert [r.id for r in v6.rules] == ["20", "30"]
    assert decide(v6, "2001:db8::1", "2001:db9::1", 6, 443) == ALLOW


def test_ios_huge_noncontiguous_wildcard_is_secure_side():
    [rs] = cisco_ios.load(
        "ip access-list extended X\n permit ip 10.0.0.0 0.255.255.254 any\n deny ip 10.0.0.0 0.255.255.254 any\n",
        "x.cfg",
    )
    assert decide(rs, "10.1.0.1", "1.1.1.1", 6, 1) == DENY
    assert any("non-contiguous wildcard" in w.message for w in rs.warnings)


@pytest.mark.parametrize(
    "text, where, msg",
    [
        ("ip access-list extended X\n permit tcp any any eq bogus\n", (2, 24), "unknown port 'bogus'"),
        ("ip access-list extended X\n permit tcp any 10.0.0.0\n", (2, 25), "unexpected end of line"),
        ("ip access-list extended X\n allow ip any any\n", (2, 2), "expected permit, deny or remark"),
        ("ip access-list extended X\n permit ip any any frobnicate\n", (2, 20), "unexpected 'frobnicate'"),
        ("access-list 101 permit foo any any\n", (1, 24), "unknown protocol 'foo'"),
    ],
)
def test_ios_errors(text, where, msg):
    with pytest.raises(InputError) as e:
        cisco_ios.load(text, "x.cfg")
    assert (e.value.loc.line, e.value.loc.column) == where
    assert msg in e.value.message


@needs_corpus
def test_corpus_ios_batfish_example():
    path = str(CORPUS / "cisco-ios" / "batfish_example_as2dept1.cfg")
    text = read_text(path)
    assert detect(text, path) == "cisco-ios"
    rss = by_name(cisco_ios.load(text, path))
    assert {n: len(rs.rules) for n, rs in rss.items()} == {
        "RESTRICT_HOST_TRAFFIC_IN": 3,
        "RESTRICT_HOST_TRAFFIC_OUT": 3,
        "102": 2,
        "105": 4,
    }
    inn = rss["RESTRICT_HOST_TRAFFIC_IN"]
    assert inn.rules[0].src.include[0].text == "2.128.0.0/16"
    assert decide(inn, "2.128.5.5", "9.9.9.9", 6, 80) == ALLOW
    assert decide(inn, "9.9.9.9", "2.128.5.5", 1, 8) == DENY  # the icmp permit comes after deny ip any any
    out = rss["RESTRICT_HOST_TRAFFIC_OUT"]
    assert decide(out, "1.128.0.1", "2.128.0.1", 6, 80) == ALLOW  # the permit comes first
    assert rss["102"].rules[0].dst.include[0].text == "255.255.255.0"


@needs_corpus
@pytest.mark.parametrize("name, line", [("ciscoconfparse_sample_01.ios", 348), ("ciscoconfparse_sample_08.ios", 453)])
def test_corpus_ios_ciscoconfparse_fixture_has_an_invalid_line(name, line):
    path = str(CORPUS / "cisco-ios" / name)
    with pytest.raises(InputError) as e:
        cisco_ios.load(read_text(path), path)
    assert (e.value.loc.line, e.value.loc.column) == (line, 18)
    assert e.value.message == "expected an IP address, got 'any'"
    assert e.value.source_line.strip() == "permit esp host any any"


def test_ios_sample_through_the_compiler():
    d = ROOT / "samples" / "cisco-ios"
    path = str(d / "branch-rtr.cfg")
    rss = by_name(cisco_ios.load(read_text(path), path))
    assert sorted(rss) == ["15", "LAN_IN"]
    result = convert(rss["LAN_IN"], load_inventory(str(d / "inventory.yaml")))
    pols = {p["metadata"]["name"].split("-", 3)[-1]: p for p in result.policies}
    db_rules = pols["db-ingress"]["spec"]["ingress"]
    pg = [r for r in db_rules if {"protocol": "TCP", "port": 5432} in r.get("ports", [])]
    assert [r["from"] for r in pg] == [[{"podSelector": {"matchLabels": {"tier": "app"}}}]]  # rule 20 denies the rest
    cache = pols["cache-ingress"]["spec"]["ingress"]
    build = [r for r in cache if {"protocol": "TCP", "port": 8080, "endPort": 8089} in r.get("ports", [])]
    peers = [p for r in build for p in r["from"]]
    assert {"ipBlock": {"cidr": "10.50.2.0/24"}} in peers and {"ipBlock": {"cidr": "10.50.6.0/24"}} in peers


def test_ios_says_its_access_lists_are_stateless():
    """The return path's ACL is not checked: a ruleset with an allow says so; one with denies only does not."""
    text = "ip access-list extended A\n permit tcp any any eq 22\nip access-list extended B\n deny ip any any\n"
    rs = {r.name: r for r in cisco_ios.load(text, "r.cfg")}
    assert any("stateless" in w.message for w in rs["A"].warnings)
    assert not any("stateless" in w.message for w in rs["B"].warnings)


def test_asa_show_output_masks_share_the_wildcard_bound(monkeypatch):
    """`show access-list` non-contiguous masks expand under the same per-list bound as IOS wildcards."""
    monkeypatch.setenv("FW2NP_MAX_WILDCARD_RANGES", "300")
    line = "access-list A line {n} extended permit ip 10.0.0.0 255.0.255.0 any (hitcnt=0) 0x1\n"
    text = "access-list A; 2 elements; name hash: 0x1\n" + line.format(n=1) + line.format(n=2)
    with pytest.raises(InputError, match="FW2NP_MAX_WILDCARD_RANGES") as e:
        cisco_asa.load(text, "show.txt")
    assert e.value.loc.line == 3
    monkeypatch.setenv("FW2NP_MAX_WILDCARD_RANGES", "0")
    assert len(cisco_asa.load(text, "show.txt")[0].rules) == 2
