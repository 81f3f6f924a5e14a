"""The ruleset language: every construct, and every error with file:line:column."""

import pytest

from translator.errors import InputError
from translator.frontends.rules import parse
from translator.model.resolve import Resolver
from translator.model.ruleset import ICMP, SCTP, TCP, UDP, AnyAddr, Net, Ref, Svc
from translator.model.space import ip_range, svc_range

FULL = """\
# a comment line
ruleset shop-edge   # trailing comment
default allow

address web-tier  10.1.0.0/24
address db-hosts  10.1.2.10, 10.1.2.11
address partners  203.0.113.0/24 except 203.0.113.128/25
address pool      10.0.0.5-10.0.0.9
address v6net     2001:db8::/32
address everyone  web-tier, db-hosts,
                  pool          # a list may go on after a comma
service postgres  tcp/5432
service dns       udp/53, tcp/53
service hi        tcp/8000-8100
service ping      icmp/8, icmp/echo-reply
service misc      proto/47, sctp/2905, icmpv6

10 allow web-tier -> db-hosts postgres            # app to db
20 deny  partners -> any      any
allow any -> web-tier tcp/80, tcp/443 zone outside -> dmz
r-40 allow 10.0.0.0/8 except 10.1.0.0/16 -> v6net hi via eth0
50 deny any4 -> any6 \\
      dns
"""


def test_every_construct():
    rs = parse(FULL, "full.fw")
    assert rs.name == "shop-edge" and rs.default == "allow"
    assert [r.id for r in rs.rules] == ["10", "20", "#3", "r-40", "50"]
    assert [r.loc.line for r in rs.rules] == [18, 19, 20, 21, 22]
    r10, r20, r3, r40, r50 = rs.rules
    assert r10.comment == "app to db" and r10.action == "allow"
    assert r10.src.include == (Ref("web-tier"),) and r10.services == (Ref("postgres"),)
    assert r20.dst.include == (AnyAddr(),) and r20.services == (Svc(None, 0, 0, "any"),)
    assert r3.hints == (("zone", "outside -> dmz"),)
    assert [c.text for c in r40.conditions] == ["via eth0"]
    assert r40.src.include[0] == Net(0x0A000000, 0x0AFFFFFF, 4, "10.0.0.0/8")
    assert r40.src.exclude[0].text == "10.1.0.0/16"
    assert r50.src.include == (AnyAddr(4),) and r50.dst.include == (AnyAddr(6),)
    res = Resolver(rs)
    pool = res.address(rs.addresses["pool"].expr)
    assert pool.lower == ip_range(0x0A000005, 0x0A000009, 4)
    partners = res.address(rs.addresses["partners"].expr).lower
    assert partners == ip_range(0xCB007100, 0xCB00717F, 4)
    everyone = res.address(rs.addresses["everyone"].expr).lower
    assert everyone.size() == 256 + 2 + 5
    svc = res.services(rs.services["ping"].items).lower
    assert svc == svc_range(ICMP, 8, 8) | svc_range(ICMP, 0, 0)
    misc = res.services(rs.services["misc"].items).lower
    assert svc_range(47, 0, 0).issubset(misc) and svc_range(SCTP, 2905, 2905).issubset(misc)
    assert svc_range(58, 0, 255).issubset(misc)
    dns = res.services(rs.services["dns"].items).lower
    assert dns == svc_range(UDP, 53, 53) | svc_range(TCP, 53, 53)
    hi = res.services(rs.services["hi"].items).lower
    assert hi == svc_range(TCP, 8000, 8100)


def test_defaults_and_name_from_file():
    rs = parse("allow any -> 10.0.0.1 tcp\n", "/x/y/edge-fw.rules")
    assert rs.name == "edge-fw" and rs.default == "deny"
    assert rs.rules[0].services == (Svc.whole(TCP),)


def test_group_nesting_resolves():
    rs = parse("address a 10.0.0.1\naddress b a, 10.0.0.2\naddress c b except a\nallow c -> any any\n", "n.fw")
    assert Resolver(rs).address(rs.addresses["c"].expr).lower == ip_range(0x0A000002, 0x0A000002, 4)


def test_host_bits_warn_not_crash():
    rs = parse("address a 10.0.0.1/8\nallow a -> any any\n", "h.fw")
    assert any("host bits" in w.message for w in rs.warnings)
    assert rs.addresses["a"].expr.include[0].text == "10.0.0.0/8"


@pytest.mark.parametrize(
    "text, line, col, words",
    [
        ("allow any -> any\n", 1, 17, "expected"),
        ("allow any any tcp/80\n", 1, 11, "'->'"),
        ("address a 10.0.0.300\n", 1, 11, "not a valid IP"),
        ("address a 10.0.0.0/33\n", 1, 11, "prefix length"),
        ("allow any -> any tcp/70000\n", 1, 18, "out of range"),
        ("allow any -> any tcp/90-80\n", 1, 18, "runs backwards"),
        ("address a 10.0.0.9-10.0.0.1\n", 1, 11, "runs backwards"),
        ("address a 10.0.0.1\naddress a 10.0.0.2\n", 2, 9, "already defined at line 1"),
        ("allow nothere -> any any\n", 1, 7, "undefined address 'nothere'"),
        ("service s tcp/1\nallow s -> any any\n", 2, 7, "(it is a service)"),
        ("allow any -> any nosvc\n", 1, 18, "undefined service 'nosvc'"),
        ("address a b\naddress b a\nallow a -> any any\n", 2, 11, "cycle: a -> b -> a"),
        ("10 allow any -> any any\n10 deny any -> any any\n", 2, 1, "rule id '10' is already used"),
        ("service tcp tcp/1\n", 1, 9, "protocol name"),
        ("allow any -> any proto/300\n", 1, 18, "bad protocol"),
        ("default maybe\n", 1, 9, "expected"),
        ("allow any -> any any $\n", 1, 22, "unexpected character"),
    ],
)
def test_errors_point_at_the_spot(text, line, col, words):
    with pytest.raises(InputError) as err:
        parse(text, "bad.fw")
    e = err.value
    assert (e.loc.file, e.loc.line, e.loc.column) == ("bad.fw", line, col), e.render()
    assert words in e.message
    rendered = e.render()
    assert rendered.startswith(f"bad.fw:{line}:{col}: error: ")
    caret_line = rendered.splitlines()[-1]
    assert caret_line.index("^") - 4 == col - 1


def test_rule_comment_and_unicode_names_survive():
    rs = parse('1 allow any -> any any # «quoted: "x"» : colon\n', "u.fw")
    assert rs.rules[0].comment == '«quoted: "x"» : colon'
