"""The Junos frontend: firewall filters and SRX security policies, both configuration forms, the real
files with their full term counts, errors at file:line:column, and random filters and policies
against direct evaluators of Junos's first-match semantics."""

from __future__ import annotations

import re
from pathlib import Path

import netaddr
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.errors import InputError
from translator.frontends import detect, junos, load
from translator.model.inventory import parse_inventory
from translator.model.ruleset import ALLOW, DENY

from .cli_errors import assert_cli_error
from .secure import decide

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BOR01 = SHARED / "realworld" / "junos" / "labval-junos-bor01-display-set.txt"
SRX1 = SHARED / "corpus" / "junos" / "batfish_srx-testbed_junos-srx-1.cfg"
FWL01 = SHARED / "corpus" / "junos" / "lab-validation_onug_fwl01_srx_display_set.txt"
GENERIC = SHARED / "realworld" / "inventories" / "generic.yaml"


def read(text: str, inventory=None, path="j.conf"):
    return junos.load(text, path, inventory=inventory)


def _terms(path: Path, pattern: str) -> int:
    return len(set(re.findall(pattern, path.read_text(), re.M)))


# --- the real files ------------------------------------------------------------------------------


def test_real_filter_every_term():
    assert detect(BOR01.read_text(), str(BOR01)) == "junos"
    [rs] = load(str(BOR01))
    terms = _terms(BOR01, r"^set firewall family inet filter ISP-INBOUND term (\S+) ")
    assert len({r.id.split(".")[0] for r in rs.rules} | {s.id for s in rs.skipped}) == terms == 15
    by = {r.id: r for r in rs.rules}
    assert decide(rs, "52.15.165.117", "8.8.8.8", 6, 80) == DENY  # BLOCK-MALICIOUS-SOURCES
    # DENY-BGP-SRC-IN drops TCP from source port 179, which NetworkPolicy cannot see: in the secure reading it
    # drops all TCP, so PERMIT-HTTP and the rest decide nothing (and the conversion says so)
    assert [c.reason for c in by["DENY-BGP-SRC-IN"].conditions] == ["source port"]
    assert decide(rs, "8.8.8.8", "1.2.3.4", 6, 80) == DENY and by["PERMIT-HTTP"].action == ALLOW
    assert decide(rs, "8.8.8.8", "1.2.3.4", 1, 8) == DENY  # under a policer: a condition
    assert [c.reason for c in by["ALLOW-ICMP"].conditions] == ["action policer"]
    assert [str(x.text) for x in by["PERMIT-SSH-JUMPHOST"].dst.include] == ["10.100.56.100", "10.100.58.100"]
    assert {s.id for s in rs.skipped} == {"PERMIT-TCP-ESTABLISHED"}


@pytest.mark.parametrize("path", [SRX1, FWL01], ids=lambda p: p.name)
def test_real_security_policies_every_policy(path):
    assert detect(path.read_text(), str(path)) == "junos"
    [rs] = load(str(path))
    want = _terms(path, r"^set security policies (from-zone \S+ to-zone \S+|global) policy (\S+) ")
    assert len(rs.rules) - 1 == want  # and the default policy
    assert rs.rules[-1].id == "default-policy" and rs.rules[-1].action == DENY


def test_zones_from_the_inventory_make_the_policies_exact():
    inv = parse_inventory(
        "workloads:\n"
        "  web: {namespace: dc, labels: {app: web}, addresses: [10.100.1.0/24], zone: INSIDE}\n"
        "  vpn: {namespace: dc, labels: {app: vpn}, addresses: [172.24.0.10/32], zone: VPN}\n"
        "  fw: {namespace: dc, labels: {app: fw}, addresses: [10.254.4.1/32], zone: SELF}\n",
        "inv.yaml",
    )
    [rs] = load(str(FWL01), inventory=inv)
    assert any("zones from the inventory" in str(w) for w in rs.warnings)
    assert decide(rs, "10.100.1.5", "8.8.8.8", 6, 80) == ALLOW  # INSIDE>OUTSIDE PERMIT-WEB
    assert decide(rs, "8.8.8.8", "10.100.1.5", 6, 80) == ALLOW  # OUTSIDE>INSIDE PERMIT-WEB (10.100.1.0/24)
    assert decide(rs, "8.8.8.8", "10.100.1.5", 6, 22) == DENY
    assert decide(rs, "172.24.0.10", "8.8.8.8", 17, 500) == ALLOW  # VPN>OUTSIDE PERMIT-IPSEC (junos-ike)
    r = CliRunner().invoke(cli, ["convert", str(FWL01), "-i", str(GENERIC), "-q"])
    assert r.exit_code == 0, r.output


# --- constructs ----------------------------------------------------------------------------------

SET_FORM = """\
set policy-options prefix-list ADMINS 10.9.0.0/16
set policy-options prefix-list ADMINS 10.9.9.0/24
set firewall family inet filter EDGE term no-lab from source-address 10.0.0.0/8
set firewall family inet filter EDGE term no-lab from source-address 10.1.0.0/16 except
set firewall family inet filter EDGE term no-lab from protocol tcp
set firewall family inet filter EDGE term no-lab from destination-port 8000-8100
set firewall family inet filter EDGE term no-lab then discard
set firewall family inet filter EDGE term admins from source-prefix-list ADMINS except
set firewall family inet filter EDGE term admins then accept
set firewall family inet filter EDGE term web from protocol tcp
set firewall family inet filter EDGE term web from protocol udp
set firewall family inet filter EDGE term web from destination-port http
set firewall family inet filter EDGE term web from destination-port 443
set firewall family inet filter EDGE term web then count WEB
set firewall family inet filter EDGE term dns from address 192.0.2.53/32
set firewall family inet filter EDGE term dns from protocol udp
set firewall family inet filter EDGE term dns then accept
set firewall family inet filter EDGE term skip then next term
set firewall family inet filter EDGE term ping from protocol icmp
set firewall family inet filter EDGE term ping from icmp-type echo-request
set firewall family inet filter EDGE term ping then accept
set firewall family inet filter EDGE term old then accept
deactivate firewall family inet filter EDGE term old
set firewall family inet6 filter EDGE6 term v6 from source-address 2001:db8::/32
set firewall family inet6 filter EDGE6 term v6 then accept
"""

TREE_FORM = """\
/* the same configuration, as `show configuration` prints it */
policy-options {
    prefix-list ADMINS {
        10.9.0.0/16;
        10.9.9.0/24;
    }
}
firewall {
    family inet {
        filter EDGE {
            term no-lab {
                from {
                    source-address {
                        10.0.0.0/8;
                        10.1.0.0/16 except;
                    }
                    protocol tcp;
                    destination-port 8000-8100;
                }
                then discard;
            }
            term admins {
                from {
                    source-prefix-list {
                        ADMINS except;
                    }
                }
                then accept;
            }
            term web {
                from {
                    protocol [ tcp udp ];
                    destination-port [ http 443 ];
                }
                then count WEB;
            }
            term dns {
                from {
                    address {
                        192.0.2.53/32;
                    }
                    protocol udp;
                }
                then accept;
            }
            term skip {
                then next term;
            }
            term ping {
                from {
                    protocol icmp;
                    icmp-type echo-request;
                }
                then accept;
            }
            inactive: term old {
                then accept;
            }
        }
    }
    family inet6 {
        filter EDGE6 {
            term v6 {
                from {
                    source-address {
                        2001:db8::/32;
                    }
                }
                then accept;
            }
        }
    }
}
"""


def _compact(text: str) -> str:
    """SET_FORM with each term's `from` statements, and its `then` ones, typed as one command each."""
    out, cur = [], {}
    for line in text.splitlines():
        m = re.match(r"(set firewall family \S+ filter \S+ term \S+) (from|then) (.*)", line)
        if not m:
            out.append(line)
            continue
        key = (m.group(1), m.group(2))
        if key not in cur:
            cur[key] = len(out)
            out.append(f"{m.group(1)} {m.group(2)}")
        out[cur[key]] += " " + m.group(3)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize(
    "text", [SET_FORM, TREE_FORM, _compact(SET_FORM)], ids=["display-set", "hierarchical", "compact"]
)
def test_filter_constructs_in_both_forms(text):
    edge, edge6 = read(text)
    assert [r.id for r in edge.rules] == ["no-lab", "admins", "web", "dns.1", "dns.2", "ping"]
    assert {s.id for s in edge.skipped} == {"skip"}
    assert decide(edge, "10.2.0.1", "1.1.1.1", 6, 8080) == DENY
    assert decide(edge, "10.1.0.1", "1.1.1.1", 6, 8080) == DENY  # excepted: falls to... nothing else matches
    assert decide(edge, "10.1.0.1", "1.1.1.1", 6, 80) == ALLOW  # web (count only: accepts)
    assert decide(edge, "10.1.0.1", "1.1.1.1", 17, 443) == ALLOW
    assert (
        decide(edge, "8.8.8.8", "192.0.2.53", 17, 9999) == ALLOW
        and decide(edge, "192.0.2.53", "8.8.8.8", 17, 1) == ALLOW
    )
    assert decide(edge, "8.8.8.8", "1.1.1.1", 1, 8) == ALLOW and decide(edge, "8.8.8.8", "1.1.1.1", 1, 0) == DENY
    assert decide(edge, "10.9.1.1", "1.1.1.1", 6, 22) == DENY  # `ADMINS except`: no prefix left to accept
    assert decide(edge, "8.8.8.8", "1.1.1.1", 6, 25) == DENY  # the implicit discard
    assert decide(edge6, "2001:db8::1", "2001:db9::1", 6, 22) == ALLOW
    assert decide(edge6, "2001:db9::1", "2001:db8::1", 6, 22) == DENY


def test_apply_groups_and_security_policies_with_books_and_applications():
    inv = parse_inventory(
        "workloads:\n  db: {namespace: dc, labels: {app: db}, addresses: [10.20.0.0/24], zone: trust}\n", "inv.yaml"
    )
    [rs] = read(
        "set groups BASE security policies global policy log-deny match source-address any\n"
        "set groups BASE security policies global policy log-deny match destination-address any\n"
        "set groups BASE security policies global policy log-deny match application any\n"
        "set groups BASE security policies global policy log-deny then deny\n"
        "set apply-groups BASE\n"
        "set security address-book global address NET-A 192.168.10.0/24\n"
        "set security address-book global address RANGE range-address 192.168.20.1 to 192.168.20.9\n"
        "set security address-book global address-set CLIENTS address NET-A\n"
        "set security address-book global address-set CLIENTS address RANGE\n"
        "set security zones security-zone trust address-book address DB 10.20.0.5/32\n"
        "set applications application pg protocol tcp destination-port 5432\n"
        "set applications application alt protocol tcp\n"
        "set applications application alt destination-port 8000-8010\n"
        "set applications application-set db-apps application alt\n"
        "set applications application-set db-apps application pg\n"
        "set applications application-set db-apps application junos-ssh\n"
        "set security policies from-zone untrust to-zone trust policy clients match source-address CLIENTS\n"
        "set security policies from-zone untrust to-zone trust policy clients match destination-address DB\n"
        "set security policies from-zone untrust to-zone trust policy clients match application db-apps\n"
        "set security policies from-zone untrust to-zone trust policy clients then permit\n",
        inventory=inv,
    )
    assert decide(rs, "192.168.10.7", "10.20.0.5", 6, 5432) == ALLOW
    assert decide(rs, "192.168.20.5", "10.20.0.5", 6, 22) == ALLOW
    assert (
        decide(rs, "192.168.20.5", "10.20.0.5", 6, 8005) == ALLOW
        and decide(rs, "192.168.20.5", "10.20.0.5", 6, 8011) == DENY
    )
    assert decide(rs, "192.168.20.10", "10.20.0.5", 6, 22) == DENY
    assert decide(rs, "10.20.0.9", "10.20.0.5", 6, 22) == DENY  # trust -> trust: no such pair, global deny
    assert [r.id for r in rs.rules][-2:] == ["global:log-deny", "default-policy"]


def test_unmapped_zones_are_conditions():
    [rs] = read(
        "set security policies from-zone a to-zone b policy p match source-address any\n"
        "set security policies from-zone a to-zone b policy p match destination-address any\n"
        "set security policies from-zone a to-zone b policy p match application junos-http\n"
        "set security policies from-zone a to-zone b policy p then permit\n"
        "set security policies default-policy permit-all\n"
    )
    assert [c.reason for c in rs.rules[0].conditions] == ["zone"]
    assert decide(rs, "8.8.8.8", "1.1.1.1", 6, 80) == ALLOW  # via the default policy: permit-all
    assert any("no inventory workload names its zone" in str(w) for w in rs.warnings)


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, where, msg",
    [
        (
            "set firewall family inet filter F term t from source-prefix-list NOPE\n",
            (1, 66),
            "prefix-list NOPE is not defined",
        ),
        (
            "set firewall family inet filter F term t from source-address 10.0.0.300/8\n",
            (1, 62),
            "is not an address prefix",
        ),
        ("set firewall family inet filter F term t from protocol bogus\n", (1, 56), "unknown protocol 'bogus'"),
        ("set firewall family inet filter F term t from port nosuch\n", (1, 52), "port 'nosuch'"),
        (
            "set applications application x protocol tcp destination-port nosuch\n"
            "set security policies from-zone a to-zone b policy p match application x\n"
            "set security policies from-zone a to-zone b policy p then permit\n",
            (1, 32),
            "destination-port 'nosuch' is not a port",
        ),
        ("set firewall family inet filter F term t from destination-port 99999\n", (1, 64), "destination-port '99999'"),
        (
            "set security policies from-zone a to-zone b policy p match source-address NOPE\n"
            "set security policies from-zone a to-zone b policy p then permit\n",
            (1, 75),
            "address NOPE is not in the address books",
        ),
        (
            "set security policies from-zone a to-zone b policy p match application nope\n"
            "set security policies from-zone a to-zone b policy p then permit\n",
            (1, 72),
            "application nope is not defined",
        ),
        ("firewall {\n  filter F {\n    term t {\n      then accept\n    }\n  }\n}\n", (5, 5), "unexpected"),
    ],
)
def test_errors_point_at_the_spot(tmp_path, text, where, msg):
    with pytest.raises(InputError) as e:
        read(text)
    assert (e.value.loc.line, e.value.loc.column) == where, e.value.message
    assert msg in e.value.message
    assert_cli_error(tmp_path / "bad.conf", text, "junos")


# --- random filters and policies against Junos's semantics --------------------------------------------

NETS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16"]
SOURCES = ["10.1.2.3", "10.1.9.9", "10.9.9.9", "192.168.1.1", "8.8.8.8"]
_term = st.tuples(
    st.lists(st.sampled_from(NETS), max_size=2, unique=True),
    st.lists(st.sampled_from(NETS), max_size=1),
    st.sampled_from([None, 22, 80]),
    st.sampled_from(["accept", "discard", "reject", "next term", "count C"]),
)


def _in(src: str, net: str) -> bool:
    return netaddr.IPAddress(src) in netaddr.IPNetwork(net)


def _junos_filter(terms, src: str, port: int) -> str:
    """A term matches when every condition does; an address condition takes its longest matching
    prefix (an `except` one: no match); a term without a terminating action accepts."""
    for nets, excepts, p, action in terms:
        if nets or excepts:
            entries = [(n, False) for n in nets] + [(n, True) for n in excepts]
            hits = [(netaddr.IPNetwork(n).prefixlen, e) for n, e in entries if _in(src, n)]
            best = max(hits, default=None)
            if best is None or best[1]:
                continue
        if p and p != port:
            continue
        if action == "next term":
            continue
        return "accept" if action in ("accept", "count C") else "discard"
    return "discard"


@settings(max_examples=60, deadline=None)
@given(st.lists(_term, min_size=1, max_size=6))
def test_random_filters_match_junos(terms):
    lines = []
    for k, (nets, excepts, port, action) in enumerate(terms):
        head = f"set firewall family inet filter F term t{k}"
        lines += [f"{head} from source-address {n}" for n in nets]
        lines += [f"{head} from source-address {n} except" for n in excepts if n not in nets]
        if port:
            lines += [f"{head} from protocol tcp", f"{head} from destination-port {port}"]
        lines.append(f"{head} then {action}")
    terms = [(n, [e for e in x if e not in n], p, a) for n, x, p, a in terms]
    [rs] = read("\n".join(lines) + "\n")
    for src in SOURCES:
        for port in (22, 80, 443):
            want = ALLOW if _junos_filter(terms, src, port) == "accept" else DENY
            assert decide(rs, src, "1.1.1.1", 6, port) == want, (src, port, lines)


ZONES = {"in": "10.1.0.0/16", "dmz": "192.168.0.0/16"}  # "out": every other address
_policy = st.tuples(
    st.sampled_from([("in", "out"), ("out", "dmz"), ("in", "dmz"), ("dmz", "out")]),
    st.sampled_from(["any", "NET-A", "NET-B"]),
    st.sampled_from(["any", "junos-ssh", "junos-http"]),
    st.sampled_from(["permit", "deny"]),
)
BOOK = {"NET-A": "10.1.2.0/24", "NET-B": "192.168.7.0/24"}
APPS = {"junos-ssh": 22, "junos-http": 80}


def _zone(addr: str) -> str:
    return next((z for z, n in ZONES.items() if _in(addr, n)), "out")


def _srx(policies, glob, default, src, dst, port) -> str:
    pair = (_zone(src), _zone(dst))
    mine = [p for p in policies if p[0] == pair]
    for _, s, app, action in mine + [(pair, *g) for g in glob]:
        if s != "any" and not _in(src, BOOK[s]):
            continue
        if app != "any" and APPS[app] != port:
            continue
        return action
    return default


@settings(max_examples=50, deadline=None)
@given(
    st.lists(_policy, max_size=6),
    st.lists(
        st.tuples(
            st.sampled_from(["any", "NET-A"]),
            st.sampled_from(["any", "junos-http"]),
            st.sampled_from(["permit", "deny"]),
        ),
        max_size=2,
    ),
    st.sampled_from(["permit", "deny"]),
)
def test_random_security_policies_match_the_srx(policies, glob, default):
    inv = parse_inventory(
        "workloads:\n"
        "  a: {namespace: n, labels: {app: a}, addresses: [10.1.0.0/16], zone: in}\n"
        "  b: {namespace: n, labels: {app: b}, addresses: [192.168.0.0/16], zone: dmz}\n",
        "inv.yaml",
    )
    lines = [f"set security address-book global address {k} {v}" for k, v in BOOK.items()]
    for k, ((fz, tz), s, app, action) in enumerate(policies):
        head = f"set security policies from-zone {fz} to-zone {tz} policy p{k}"
        lines += [f"{head} match source-address {s}", f"{head} match destination-address any"]
        lines += [f"{head} match application {app}", f"{head} then {action}"]
    for k, (s, app, action) in enumerate(glob):
        head = f"set security policies global policy g{k}"
        lines += [f"{head} match source-address {s}", f"{head} match destination-address any"]
        lines += [f"{head} match application {app}", f"{head} then {action}"]
    lines.append(f"set security policies default-policy {default}-all")
    [rs] = read("\n".join(lines) + "\n", inventory=inv)
    for src in ["10.1.2.3", "10.1.9.9", "192.168.7.7", "8.8.8.8"]:
        for dst in ["10.1.5.5", "192.168.1.1", "9.9.9.9"]:
            for port in (22, 80):
                want = ALLOW if _srx(policies, glob, default, src, dst, port) == "permit" else DENY
                assert decide(rs, src, dst, 6, port) == want, (src, dst, port, lines)
