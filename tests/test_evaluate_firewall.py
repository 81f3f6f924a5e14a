"""Firewall evaluator on small rulesets: first match, readings, partial cover, unresolved items."""

import pytest

from translator.errors import Loc
from translator.evaluate import FirewallEvaluator, Ip, Pod
from translator.frontends.rules import parse
from translator.model.inventory import parse_inventory
from translator.model.ruleset import (
    AddressDef,
    AddrExpr,
    AnyAddr,
    Condition,
    Net,
    Ref,
    Rule,
    Ruleset,
    ServiceDef,
    Svc,
    Unresolved,
)

TCP, UDP, ICMP, ICMPV6, GRE = 6, 17, 1, 58, 47

INV = """
namespaces:
  shop: {labels: {env: prod}}
workloads:
  web:
    namespace: shop
    labels: {app: web}
    addresses: [10.1.0.0/24]
  db:
    namespace: shop
    labels: {app: db}
    addresses: [dbhosts]
  batch:
    namespace: shop
    labels: {app: batch}
    addresses: [10.3.0.5-10.3.0.9, "2001:db8:3::/64"]
  fresh:
    namespace: shop
    labels: {app: fresh}
"""

WEB = Pod.of("shop", {"app": "web", "pod-template-hash": "x"})
DB = Pod.of("shop", {"app": "db"})
BATCH = Pod.of("shop", {"app": "batch"})
FRESH = Pod.of("shop", {"app": "fresh"})  # a workload without legacy addresses
OTHER = Pod.of("shop", {"app": "unknown"})  # other pod of a governed namespace
OUTSIDE = Pod.of("elsewhere", {"app": "web"})  # outside pod


def fw(rules, mode="secure", inv=INV, objects="address dbhosts 10.2.0.10, 10.2.0.11\n"):
    return FirewallEvaluator(parse(objects + rules), parse_inventory(inv), mode)


def test_workload_of_and_reach():
    e = fw("")
    assert e.workload_of(WEB).name == "web"
    assert e.workload_of(Pod.of("shop", {"app": "db", "x": "y"})).name == "db"
    assert e.workload_of(OTHER) is None
    assert e.workload_of(OUTSIDE) is None
    assert e.in_reach(WEB, Ip("8.8.8.8")) and e.in_reach(Ip("8.8.8.8"), OTHER)
    assert not e.in_reach(OUTSIDE, Ip("8.8.8.8"))
    assert not e.in_reach(Ip("1.1.1.1"), Ip("8.8.8.8"))
    two = fw("", inv="workloads:\n  api: {namespace: ns, labels: {app: api, tier: back}}\n")
    assert two.workload_of(Pod.of("ns", {"app": "api", "tier": "back", "v": "2"})).name == "api"
    assert two.workload_of(Pod.of("ns", {"app": "api"})) is None  # needs all the labels
    assert two.workload_of(Pod.of("ns", {"app": "api", "tier": "front"})) is None
    assert two.in_reach(Pod.of("ns", {}), Ip("8.8.8.8"))  # workload namespaces are governed


def test_legacy_addresses_by_object_and_range():
    e = fw("")
    assert e.legacy["db"] == [(4, 0x0A02000A, 0x0A02000B)]
    assert e.legacy["batch"][0] == (4, 0x0A030005, 0x0A030009)
    assert e.legacy["fresh"] == []
    for addr in ("10.1.0.7", "10.2.0.11", "10.3.0.9", "2001:db8:3::1"):
        with pytest.raises(ValueError):
            e.decide(Ip(addr), WEB, TCP, 80)
    for addr in ("10.1.1.0", "10.2.0.12", "10.3.0.10", "2001:db8:4::1"):
        e.decide(Ip(addr), WEB, TCP, 80)


def test_first_match_and_default_deny():
    e = fw("""
1 allow 192.0.2.0/24 -> 10.1.0.0/24 tcp/80
2 deny  192.0.2.0/24 -> 10.1.0.0/24 any
3 allow any -> 10.1.0.0/24 tcp/80, tcp/443
""")
    src = Ip("192.0.2.9")
    ok, rule = e.decide(src, WEB, TCP, 80)
    assert ok and rule.id == "1"
    ok, rule = e.decide(src, WEB, TCP, 443)
    assert not ok and rule.id == "2"
    ok, rule = e.decide(Ip("198.51.100.1"), WEB, TCP, 443)
    assert ok and rule.id == "3"
    assert e.decide(Ip("198.51.100.1"), WEB, TCP, 22) == (False, None)
    assert e.decide(Ip("198.51.100.1"), DB, TCP, 80) == (False, None)
    trace = e.trace(src, WEB, TCP, 443)
    assert [(r.id, m) for r, m in trace] == [("1", False), ("2", True)]
    assert [(r.id, m) for r, m in e.trace(src, DB, TCP, 443)] == [("1", False), ("2", False), ("3", False)]


def test_default_allow():
    e = fw("default allow\ndeny any -> 10.1.0.0/24 tcp/22\n")
    assert e.decide(Ip("8.8.8.8"), WEB, TCP, 80) == (True, None)
    assert not e.decide(Ip("8.8.8.8"), WEB, TCP, 22)[0]
    assert not e.decide(OTHER, WEB, TCP, 22)[0]
    assert e.decide(OTHER, DB, TCP, 22) == (True, None)


def test_except_and_ranges():
    e = fw("""
address partners 203.0.113.0/24 except 203.0.113.128/25
allow partners, 198.51.100.10-198.51.100.20 -> 10.1.0.0/24 tcp/8000-8100
""")
    assert e.decide(Ip("203.0.113.127"), WEB, TCP, 8000)[0]
    assert not e.decide(Ip("203.0.113.128"), WEB, TCP, 8000)[0]
    assert e.decide(Ip("198.51.100.10"), WEB, TCP, 8100)[0]
    assert e.decide(Ip("198.51.100.20"), WEB, TCP, 8050)[0]
    assert not e.decide(Ip("198.51.100.21"), WEB, TCP, 8050)[0]
    assert not e.decide(Ip("198.51.100.9"), WEB, TCP, 8050)[0]
    assert not e.decide(Ip("198.51.100.15"), WEB, TCP, 8101)[0]
    assert not e.decide(Ip("198.51.100.15"), WEB, UDP, 8050)[0]


def test_ipv6():
    e = fw("""
allow 2001:db8::/32 except 2001:db8:3::/48 -> 2001:db8:3::/64 tcp/443
allow any6 -> any6 tcp/22
""")
    # an IPv6 flow of batch stands for its IPv6 legacy addresses only (its IPv4 ones have IPv4 flows)
    assert e.decide(Ip("2001:db8:5::1"), BATCH, TCP, 443)[0]
    assert not e.decide(Ip("10.9.0.1"), BATCH, TCP, 443)[0]
    assert e.decide(Ip("2001:db8:5::1"), Ip("2001:db8:9::1"), TCP, 22)[0]
    assert not e.decide(Ip("192.0.2.1"), WEB, TCP, 22)[0]
    # any6 holds all of IPv6: every pod that may have an IPv6 address
    for p in (OTHER, OUTSIDE, FRESH, BATCH):
        assert e.decide(p, Ip("2001:db8:9::1"), TCP, 22)[0]
        assert not e.decide(p, Ip("192.0.2.1"), TCP, 22)[0]  # the other side is IPv4
    # web has IPv4 legacy addresses only: it never sent an IPv6 flow
    assert not e.decide(WEB, Ip("2001:db8:9::1"), TCP, 22)[0]
    assert e.shared_families(WEB, BATCH) == (4,) and e.shared_families(OTHER, BATCH) == (4, 6)
    v6only = fw(
        "allow 2001:db8::/32 -> 2001:db8:3::/64 tcp/443\n",
        inv=INV.replace('[10.3.0.5-10.3.0.9, "2001:db8:3::/64"]', '["2001:db8:3::/64"]'),
    )
    assert v6only.decide(Ip("2001:db8:5::1"), BATCH, TCP, 443)[0]
    assert not v6only.decide(Ip("2001:db8:5::1"), BATCH, TCP, 444)[0]


def test_everything_by_union_and_not_by_holes():
    e = fw("""
1 allow 0.0.0.0/1, 128.0.0.0/1 -> 10.1.0.0/24 tcp/80
2 allow 0.0.0.0/0 except 192.0.2.0/24 -> 10.1.0.0/24 tcp/81
""")
    for p in (OTHER, OUTSIDE, FRESH, DB):
        assert e.decide(p, WEB, TCP, 80)[0]
    for p in (OTHER, OUTSIDE, FRESH):
        assert not e.decide(p, WEB, TCP, 81)[0]  # a hole: not all of IPv4
    assert e.decide(DB, WEB, TCP, 81)[0]  # db's legacy addresses are inside
    assert e.decide(Ip("8.8.8.8"), WEB, TCP, 81)[0]
    assert not e.decide(Ip("192.0.2.1"), WEB, TCP, 81)[0]


def test_a_pod_without_legacy_addresses_may_have_any_address():
    e = fw("deny 10.0.0.0/8 -> any any\nallow any -> any tcp/80\n")
    for p in (FRESH, OTHER, OUTSIDE):
        assert not e.decide(p, Ip("8.8.8.8"), TCP, 80)[0]  # it may be inside 10/8: the deny reaches it
        assert e.decide(p, Ip("2001:db8:9::1"), TCP, 80)[0]  # no IPv6 address is inside 10/8
    assert not e.decide(WEB, Ip("8.8.8.8"), TCP, 80)[0]
    assert fw("deny 10.0.0.0/8 -> any any\nallow any -> any tcp/80\n", "optimistic").decide(
        FRESH, Ip("8.8.8.8"), TCP, 80
    )[0]  # it may as well be outside it
    # with pod CIDRs, inside them: outside 10/8 the deny cannot reach it, and it has no IPv6 address
    cidrs = fw(
        "deny 10.0.0.0/8 -> any any\nallow any -> any tcp/80\n", inv="cluster:\n  podCIDRs: [100.64.0.0/10]\n" + INV
    )
    assert cidrs.decide(FRESH, Ip("8.8.8.8"), TCP, 80)[0]
    assert not cidrs.decide(FRESH, Ip("2001:db8:9::1"), TCP, 80)[0]
    assert not cidrs.decide(BATCH, FRESH, TCP, 80)[0]  # batch's IPv4 addresses are in 10/8
    assert cidrs.decide(FRESH, BATCH, TCP, 80)[0]
    assert cidrs.decide(Ip("8.8.8.8"), OTHER, TCP, 80)[0]


def test_a_pod_pair_needs_every_shared_family_to_allow():
    e = fw("allow 0.0.0.0/0 -> any tcp/80\nallow any6 -> any6 tcp/81\nallow any -> any tcp/82\n")
    v6 = Pod.of("shop", {"app": "v6"})
    inv6 = INV + '  v6:\n    namespace: shop\n    labels: {app: v6}\n    addresses: ["2001:db8:7::/64"]\n'
    e6 = fw("allow 0.0.0.0/0 -> any tcp/80\nallow any -> any tcp/82\n", inv=inv6)
    assert not e6.decide(v6, BATCH, TCP, 80)[0]  # IPv6 flows only: an IPv4 source never matched
    assert e6.decide(v6, BATCH, TCP, 82)[0]
    assert not e6.decide(v6, WEB, TCP, 82)[0]  # no shared family: the legacy network had no such flow
    assert e6.decide(v6, WEB, TCP, 82) == (False, None)
    assert e.decide(WEB, BATCH, TCP, 80)[0]  # IPv4 flows only
    assert not e.decide(OTHER, BATCH, TCP, 80)[0]  # IPv4 allows, IPv6 does not: denied
    assert fw("allow 0.0.0.0/0 -> any tcp/80\n", "optimistic").decide(OTHER, BATCH, TCP, 80)[0]
    assert not e.decide(OTHER, BATCH, TCP, 81)[0] and e.decide(OTHER, BATCH, TCP, 82)[0]


PARTIAL = """
1 allow 10.1.0.0/25 -> 198.51.100.1 tcp/80
2 deny  10.1.0.0/25 -> 198.51.100.2 tcp/80
3 allow any -> 198.51.100.2 tcp/80
"""


def test_partial_cover_secure_vs_optimistic():
    sec, opt = fw(PARTIAL), fw(PARTIAL, "optimistic")
    a, b = Ip("198.51.100.1"), Ip("198.51.100.2")
    # allow covering half of web's addresses: secure leaves web out, optimistic takes it in
    assert sec.decide(WEB, a, TCP, 80) == (False, None)
    assert opt.decide(WEB, a, TCP, 80)[1].id == "1"
    # deny covering half: secure takes web in, optimistic leaves it out (then rule 3 allows)
    assert sec.decide(WEB, b, TCP, 80)[1].id == "2"
    assert opt.decide(WEB, b, TCP, 80)[1].id == "3"
    # db is not touched at all
    assert sec.decide(DB, b, TCP, 80)[1].id == "3"
    assert not sec.decide(DB, a, TCP, 80)[0] and not opt.decide(DB, a, TCP, 80)[0]


def test_full_cover_by_pieces_and_object_with_except():
    e = fw("""
address webish 10.1.0.0/16 except 10.1.0.128/25
1 allow 10.1.0.0-10.1.0.127, 10.1.0.128/25 -> 198.51.100.1 tcp/80
2 allow webish -> 198.51.100.2 tcp/80
3 deny  webish -> 198.51.100.3 tcp/80
4 allow any -> 198.51.100.3 tcp/80
""")
    assert e.decide(WEB, Ip("198.51.100.1"), TCP, 80)[0]  # pieces cover all of 10.1.0.0/24
    assert not e.decide(WEB, Ip("198.51.100.2"), TCP, 80)[0]  # a hole in the upper half
    assert e.decide(WEB, Ip("198.51.100.3"), TCP, 80)[1].id == "3"  # deny meets
    assert e.decide(Ip("10.1.1.1"), Ip("198.51.100.2"), TCP, 80)[0]
    # db (10.2.0.10-11, by object) partial: the range ends inside db's addresses
    e2 = fw("allow 10.2.0.0-10.2.0.10 -> any tcp/80\n")
    assert not e2.decide(DB, Ip("8.8.8.8"), TCP, 80)[0]
    assert fw("allow 10.2.0.0-10.2.0.10 -> any tcp/80\n", "optimistic").decide(DB, Ip("8.8.8.8"), TCP, 80)[0]
    assert fw("allow 10.2.0.0-10.2.0.11 -> any tcp/80\n").decide(DB, Ip("8.8.8.8"), TCP, 80)[0]


def test_services_objects_icmp_and_protocols():
    e = fw("""
service web tcp/80, tcp/443
service webplus web, udp/53
allow any -> 10.1.0.0/24 webplus
allow any -> 10.2.0.10, 10.2.0.11 icmp/echo-request, proto/47
""")
    src = Ip("8.8.8.8")
    assert e.decide(src, WEB, TCP, 443)[0] and e.decide(src, WEB, UDP, 53)[0]
    assert not e.decide(src, WEB, TCP, 53)[0]
    assert e.decide(src, DB, ICMP, 8)[0] and not e.decide(src, DB, ICMP, 0)[0]
    assert e.decide(src, DB, GRE, 0)[0] and not e.decide(src, DB, ICMPV6, 128)[0]


def _rs(rules, addresses=None, services=None, default="deny"):
    return Ruleset("hand", "<hand>", default, rules, addresses or {}, services or {})


def _rule(rid, action, src, dst, svcs=None, conditions=()):
    svcs = tuple(svcs) if svcs is not None else (Svc.any(),)
    return Rule(rid, action, src, dst, svcs, Loc("<hand>", 0), conditions=tuple(conditions))


def _net(text):
    import netaddr

    n = netaddr.IPNetwork(text)
    return Net(int(n.first), int(n.last), n.version, text)


def _inv():
    return parse_inventory(INV.replace("addresses: [dbhosts]", "addresses: [10.2.0.10/31]"))


FQDN = Unresolved("api.example.com", "fqdn")
DST = Ip("198.51.100.1")


def test_unresolved_addresses_secure_and_optimistic():
    rules = [
        _rule("a", "allow", AddrExpr((FQDN,)), AddrExpr((_net("198.51.100.1/32"),)), [Svc(TCP, 80, 80)]),
        _rule("d", "deny", AddrExpr((FQDN,)), AddrExpr((_net("198.51.100.1/32"),)), [Svc(TCP, 443, 443)]),
        _rule(
            "x",
            "allow",
            AddrExpr((AnyAddr(),), (Ref("maybe"),)),
            AddrExpr((_net("198.51.100.1/32"),)),
            [Svc(TCP, 8080, 8080)],
        ),
    ]
    addrs = {"maybe": AddressDef("maybe", AddrExpr((_net("192.0.2.0/24"), FQDN)), Loc("<hand>"))}
    sec = FirewallEvaluator(_rs(rules, addrs, default="allow"), _inv())
    opt = FirewallEvaluator(_rs(rules, addrs, default="allow"), _inv(), "optimistic")
    src = Ip("8.8.8.8")
    assert sec.decide(src, DST, TCP, 80) == (True, None)  # allow: unresolved matches nothing
    assert opt.decide(src, DST, TCP, 80)[1].id == "a"  # optimistic: may match
    assert sec.decide(WEB, DST, TCP, 443)[1].id == "d"  # deny: unresolved matches everything
    assert sec.decide(OTHER, DST, TCP, 443)[1].id == "d"
    assert opt.decide(src, DST, TCP, 443) == (True, None)
    # any except (192.0.2.0/24 + fqdn): lower = nothing of any use, upper = all but 192.0.2.0/24
    assert sec.decide(src, DST, TCP, 8080) == (True, None)
    assert opt.decide(src, DST, TCP, 8080)[1].id == "x"
    assert opt.decide(Ip("192.0.2.1"), DST, TCP, 8080) == (True, None)
    assert sec.has(rules[2].src, 4, 0x08080808, False) is False
    assert opt.has(rules[2].src, 4, 0x08080808, True) is True
    assert opt.has(rules[2].src, 4, 0xC0000201, True) is False


def test_unresolved_services_and_deny_with_except_unresolved():
    rules = [
        _rule("d", "deny", AddrExpr((AnyAddr(),), (FQDN,)), AddrExpr((AnyAddr(),)), [Unresolved("app:ssh", "app")]),
        _rule("a", "allow", AddrExpr((AnyAddr(),)), AddrExpr((AnyAddr(),)), [Ref("maybe-svc")]),
    ]
    svcs = {"maybe-svc": ServiceDef("maybe-svc", (Svc(TCP, 80, 80), Unresolved("app:web", "app")), Loc("<hand>"))}
    sec = FirewallEvaluator(_rs(rules, services=svcs), _inv())
    opt = FirewallEvaluator(_rs(rules, services=svcs), _inv(), "optimistic")
    src = Ip("8.8.8.8")
    # secure deny: upper(any except fqdn) = any, upper(unresolved service) = every service
    assert sec.decide(src, WEB, TCP, 80)[1].id == "d"
    # optimistic deny: lower(any except fqdn) = nothing; allow: upper of the service object = all
    assert opt.decide(src, WEB, UDP, 9)[1].id == "a"
    sec2 = FirewallEvaluator(_rs(rules[1:], services=svcs), _inv())
    assert sec2.decide(src, WEB, TCP, 80)[0] and not sec2.decide(src, WEB, TCP, 81)[0]


def test_via_conditions():
    text = """
1 allow any -> 10.1.0.0/24 tcp/22 via eth0
2 deny  any -> 10.1.0.0/24 tcp/23 via eth1
3 allow any -> 10.1.0.0/24 tcp/22-23
"""
    sec, opt = fw(text), fw(text, "optimistic")
    src = Ip("8.8.8.8")
    assert sec.decide(src, WEB, TCP, 22)[1].id == "3"  # allow with a condition never matches
    assert sec.decide(src, WEB, TCP, 23)[1].id == "2"  # deny matches, ignoring the condition
    assert opt.decide(src, WEB, TCP, 22)[1].id == "1"
    assert opt.decide(src, WEB, TCP, 23)[1].id == "3"
    hand = [_rule("c", "deny", AddrExpr.any(), AddrExpr.any(), conditions=[Condition("sport 53", "source port")])]
    assert not FirewallEvaluator(_rs(hand, default="allow"), _inv()).decide(src, WEB, UDP, 1)[0]
    assert FirewallEvaluator(_rs(hand, default="allow"), _inv(), "optimistic").decide(src, WEB, UDP, 1)[0]


def test_bad_inputs():
    with pytest.raises(ValueError):
        fw("", mode="lenient")
    with pytest.raises(ValueError):
        fw("", objects="")  # dbhosts is not defined
    hand = _rs([], {"fq": AddressDef("fq", AddrExpr((FQDN,)), Loc("<hand>"))})
    with pytest.raises(ValueError):
        FirewallEvaluator(hand, parse_inventory(INV.replace("dbhosts", "fq")))
