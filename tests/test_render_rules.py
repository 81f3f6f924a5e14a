"""render_rules.render: text that parses back to an equivalent ruleset."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from translator.errors import Loc
from translator.evaluate.endpoints import Ip, Pod
from translator.evaluate.firewall import FirewallEvaluator
from translator.frontends.rules import parse
from translator.model.inventory import Inventory, Workload
from translator.model.resolve import Resolver
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
from translator.reverse.render import render

LOC = Loc("<test>", 1, 1)
SAMPLES = Path(__file__).resolve().parents[1] / "samples"

# a small address world: 10.0.0.0/28 and 2001:db8::/125 hold everything interesting
V4 = int(ipaddress.IPv4Address("10.0.0.0"))
V6 = int(ipaddress.IPv6Address("2001:db8::"))


def _net(version: int, a: int, b: int) -> Net:
    base = V4 if version == 4 else V6
    lo, hi = sorted((a, b))
    return Net(base + lo, base + hi, version, "x")


nets = st.builds(_net, st.sampled_from([4, 4, 4, 6]), st.integers(0, 15), st.integers(0, 15))
unresolved = st.builds(
    Unresolved, st.sampled_from(["www.example.com", "user:bob", "app weird <x>"]), st.just("cannot resolve")
)
svcs = st.one_of(
    st.builds(
        lambda p, a, b: Svc(p, min(a, b), max(a, b)),
        st.sampled_from([6, 17, 132]),
        st.integers(1, 40),
        st.integers(1, 40),
    ),
    st.builds(lambda t: Svc(1, t, t), st.integers(0, 12)),
    st.builds(lambda p: Svc.whole(p), st.sampled_from([6, 17, 1, 47, 58])),
    st.just(Svc.any()),
)
NAMES = ["web", "db", "any", "allow", "tcp", "bad name", "x.y", "9lives", "except"]


@st.composite
def rulesets(draw):
    rs = Ruleset(
        name=draw(st.sampled_from(["t", "my rules", "deny"])),
        source="<test>",
        default=draw(st.sampled_from(["allow", "deny"])),
    )
    anames = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
    for i, n in enumerate(anames):
        earlier = [Ref(m) for m in anames[:i]]
        items = st.one_of(
            nets,
            st.builds(AnyAddr, st.sampled_from([None, 4, 6])),
            unresolved,
            *(st.sampled_from(earlier),) if earlier else (),
        )
        inc = tuple(draw(st.lists(items, min_size=1, max_size=3)))
        exc = tuple(draw(st.lists(items, max_size=2)))
        rs.addresses[n] = AddressDef(n, AddrExpr(inc, exc), LOC)
    snames = draw(st.lists(st.sampled_from(["web", "dns", "any", "tcp", "odd one", "x"]), unique=True, max_size=3))
    for i, n in enumerate(snames):
        earlier = [Ref(m) for m in snames[:i]]
        items = st.one_of(svcs, unresolved, *(st.sampled_from(earlier),) if earlier else ())
        rs.services[n] = ServiceDef(n, tuple(draw(st.lists(items, min_size=1, max_size=3))), LOC)
    aitems = st.one_of(
        nets, st.just(AnyAddr()), unresolved, *(st.sampled_from([Ref(n) for n in anames]),) if anames else ()
    )
    sitems = st.one_of(svcs, unresolved, *(st.sampled_from([Ref(n) for n in snames]),) if snames else ())
    for k in range(draw(st.integers(1, 6))):

        def expr():
            return AddrExpr(
                tuple(draw(st.lists(aitems, min_size=1, max_size=3))), tuple(draw(st.lists(aitems, max_size=1)))
            )

        conds = tuple(
            draw(
                st.lists(
                    st.sampled_from(
                        [Condition("via eth0", "interface match"), Condition("source port 53", "source port")]
                    ),
                    max_size=1,
                )
            )
        )
        rid = draw(st.sampled_from([f"{k + 1}0", f"#{k + 1}", f"r {k}", "allow", f"id-{k}"]))
        rs.rules.append(
            Rule(
                rid,
                draw(st.sampled_from(["allow", "deny"])),
                expr(),
                expr(),
                tuple(draw(st.lists(sitems, min_size=1, max_size=3))),
                LOC,
                comment=draw(st.sampled_from(["", "a\nmulti-line # comment"])),
                conditions=conds,
            )
        )
    return rs


def _secure_bounds(rs: Ruleset):
    """Per rule: (action, has condition, the sets the secure reading uses)."""
    res = Resolver(rs)
    out = []
    for r in rs.rules:
        allow = r.action == "allow"
        pick = (lambda b: b.lower) if allow else (lambda b: b.upper)
        sv = pick(res.services(r.services))
        src, dst = pick(res.address(r.src)), pick(res.address(r.dst))
        if allow and (r.conditions or not sv or not src or not dst):
            continue  # matches nothing in the secure reading
        out.append((r.action, bool(r.conditions), src, dst, sv))
    return rs.default, out


def _flows():
    eps = [Ip(str(ipaddress.ip_address(V4 + i))) for i in (4, 7, 8, 15)]
    eps += [Ip(str(ipaddress.ip_address(V6 + i))) for i in (0, 5, 16)]
    eps += [Ip("192.0.2.1"), Pod.of("prod", {"app": "a"}), Pod.of("prod", {"app": "b"}), Pod.of("elsewhere")]
    svcs_ = [(6, 1), (6, 20), (17, 40), (132, 5), (1, 0), (1, 8), (47, 0), (58, 3)]
    return [(s, d, p, v) for s in eps for d in eps for p, v in svcs_]


INV = Inventory(
    "<inv>",
    namespaces={"prod": {}},
    workloads={
        "a": Workload("a", "prod", {"app": "a"}, ["10.0.0.0/30"]),
        "b": Workload("b", "prod", {"app": "b"}, ["2001:db8::8/125"]),
    },
)
FLOWS = _flows()


def _same_decisions(a: Ruleset, b: Ruleset) -> None:
    ea, eb = FirewallEvaluator(a, INV), FirewallEvaluator(b, INV)
    for s, d, p, v in FLOWS:
        if isinstance(s, Ip) and isinstance(d, Ip) and s == d:
            continue
        assert ea.decide(s, d, p, v)[0] == eb.decide(s, d, p, v)[0], (s, d, p, v)


@settings(max_examples=60, deadline=None)
@given(rulesets())
def test_random_rulesets_round_trip(rs):
    text = render(rs)
    back = parse(text, "<rendered>")
    assert _secure_bounds(back) == _secure_bounds(rs)
    _same_decisions(rs, back)


def test_samples_round_trip():
    files = sorted(SAMPLES.glob("**/rules.fw"))
    assert files
    for f in files:
        rs = parse(f.read_text(), str(f))
        back = parse(render(rs), "<rendered>")
        assert _secure_bounds(back) == _secure_bounds(rs), f
        assert [r.id for r in back.rules] == [r.id for r in rs.rules]
        assert set(back.addresses) == set(rs.addresses)


def test_unresolved_and_conditions_are_commented():
    rs = Ruleset(
        "t",
        "<t>",
        rules=[
            Rule(
                "1", "deny", AddrExpr((Unresolved("evil.example.com", "an FQDN"),)), AddrExpr.any(), (Svc.any(),), LOC
            ),
            Rule(
                "2",
                "allow",
                AddrExpr((Net(V4, V4 + 3, 4, "x"), Unresolved("u", "a user"))),
                AddrExpr.any(),
                (Svc(6, 443, 443),),
                LOC,
                conditions=(Condition("time business-hours", "time range"),),
            ),
        ],
    )
    text = render(rs)
    assert "evil.example.com" in text and "time business-hours" in text
    back = parse(text)
    assert back.rules[0].src.include == (AnyAddr(),)  # the unresolved deny source covers everything
    assert back.rules[1].conditions  # the allow keeps a condition, so it still never matches
    assert [str(i.text) for i in back.rules[1].src.include] == ["10.0.0.0/30"]


def test_names_made_valid():
    rs = Ruleset("my rules", "<t>")
    rs.addresses["any"] = AddressDef("any", AddrExpr((Net(V4, V4, 4, "x"),)), LOC)
    rs.services["tcp"] = ServiceDef("tcp", (Svc(6, 80, 80),), LOC)
    rs.rules.append(Rule("allow", "allow", AddrExpr((Ref("any"),)), AddrExpr.any(), (Ref("tcp"),), LOC))
    back = parse(render(rs))
    assert back.name == "my_rules"
    (addr,) = back.addresses
    assert addr != "any" and back.rules[0].src.include == (Ref(addr),)
    (svc,) = back.services
    assert back.services[svc].items[0].lo == 80
    assert back.rules[0].id != "allow"
