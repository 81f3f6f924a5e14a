"""The Cisco exports of ../shared/realworld (cisco-asa/, cisco-ios/), read as their devices read them.

Every file is loaded with detection only and either converted (every ruleset, over the generic
inventory, and verified) with its counts checked against an independent count of the file's lines, or
rejected with the right message.  Regression tests hold the smallest input for each defect found on
them, and hand-decided flows are checked against the compiled policies with the evaluators.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from translator.compiler.synth import convert
from translator.errors import InputError
from translator.frontends import cisco_asa, cisco_ios, detect, load
from translator.frontends.common.cisco import line_words
from translator.io.resources import lalr_parser
from translator.model.inventory import load_inventory, parse_inventory
from translator.verify.core import verify
from translator.verify.explain import explain_policies, explain_rules, parse_flow

from .secure import decide

REAL = Path(__file__).resolve().parents[2] / "shared" / "realworld"
INV = load_inventory(str(REAL / "inventories" / "generic.yaml"))
FILES = sorted(
    p.relative_to(REAL).as_posix() for d in ("cisco-asa", "cisco-ios") for p in (REAL / d).iterdir() if p.is_file()
)
REJECTED = {"cisco-asa/ansible-object-groups-only.cfg": (1, 1, "this file holds no access-list")}
# Verified per ruleset; the large file on every 10th ACL (each takes ~0.2 s).


def test_the_folders_are_there():
    assert len(FILES) == 11, FILES


# --- independent counts: regular expressions over the raw text -------------------------------------


def asa_counts(text: str) -> dict[str, tuple[int, int, int]]:
    """ACL -> (entry lines, rules, skipped): entry lines are the non-indented permit/deny lines; an
    inactive one is skipped; a `show access-list` entry with indented expansion lines makes one rule each."""
    out: dict[str, list[int]] = {}
    lines = text.splitlines()
    ace = re.compile(r"^access-list (\S+) (line \d+ )?((extended|standard) )?(permit|deny)\s")
    for i, ln in enumerate(lines):
        m = ace.match(ln)
        if not m:
            continue
        c = out.setdefault(m.group(1), [0, 0, 0])
        c[0] += 1
        if re.search(r"\sinactive\b", ln):
            c[2] += 1
            continue
        exp = 0
        while i + 1 + exp < len(lines) and lines[i + 1 + exp].startswith("  access-list "):
            exp += 1
        c[1] += exp or 1
    return {k: tuple(v) for k, v in out.items()}


def ios_counts(text: str) -> dict[str, tuple[int, int, int]]:
    """ACL -> (entry lines, rules, skipped) from the block structure: a block runs from `ip(v6) access-list`
    to `exit` or the next non-indented line that is not a `!` comment; `permit ... established` is skipped."""
    out: dict[str, list[int]] = {}
    cur = None
    for ln in text.splitlines():
        m = re.match(r"^ip(v6)? access-list (extended |standard )?(\S+)\s*$", ln)
        if m:
            cur = out.setdefault(m.group(3), [0, 0, 0])
            continue
        m = re.match(r"^access-list (\d+) (permit|deny)\s", ln)
        if m:
            cur = None
            c = out.setdefault(m.group(1), [0, 0, 0])
            c[0] += 1
            c[1] += 1
            continue
        if ln.startswith("!") or not ln.strip():
            continue
        if ln.strip() == "exit" or not ln[:1].isspace():
            cur = None
            continue
        if cur is not None and re.match(r"^\s+(\d+ |sequence \d+ )?(permit|deny)\s", ln):
            cur[0] += 1
            if re.match(r"^\s+(\d+ |sequence \d+ )?permit\s.*\sestablished\b", ln):
                cur[2] += 1
            else:
                cur[1] += 1
    return {k: tuple(v) for k, v in out.items()}


@pytest.mark.parametrize("rel", FILES)
def test_realworld_cisco_file(rel):
    path = str(REAL / rel)
    text = path and (REAL / rel).read_text()
    fmt = rel.split("/")[0]
    assert detect(text, path) == fmt
    own, other = (cisco_asa, cisco_ios) if fmt == "cisco-asa" else (cisco_ios, cisco_asa)
    if rel in REJECTED:
        line, col, msg = REJECTED[rel]
        with pytest.raises(InputError) as err:
            load(path)
        assert msg in err.value.message and "not a ruleset" in err.value.message
        assert (err.value.loc.line, err.value.loc.column) == (line, col)
        assert err.value.render().startswith(f"{path}:{line}:{col}: ")
        return
    assert own.detect(text, path) >= 85 and other.detect(text, path) < own.detect(text, path)
    rulesets = load(path)  # no format: detection
    want = (asa_counts if fmt == "cisco-asa" else ios_counts)(text)
    got = {rs.name: (rs.lines, len(rs.rules), len(rs.skipped)) for rs in rulesets}
    assert got == want
    large = len(rulesets) > 20
    for i, rs in enumerate(rulesets):
        result = convert(rs, INV)
        assert result.stats["rules"] == len(rs.rules) and result.stats["lines"] == rs.lines
        assert sum(f.kind == "skipped" for f in result.findings) == len(rs.skipped)
        if large and i % 10:
            continue
        rep, _ = verify(rs, INV, result.policies)
        assert rep.by_direction["more-permissive"] == 0, (rs.name, rep.verdict)
        assert rep.exit_code() == 0 and rep.unreported == 0, (rs.name, rep.verdict)


def test_the_scanner_reads_lines_as_the_grammar():
    """common.cisco.line_words splits lines as grammars/cisco.lark does (words, types, columns)."""
    parser = lalr_parser("cisco.lark")
    for rel in FILES:
        for n, raw in enumerate((REAL / rel).read_text().splitlines()[:400], 1):
            if not raw.strip():
                continue
            mine = [(t.type, str(t), t.column) for t in line_words(raw, rel, n).toks]
            assert mine == [(t.type, str(t), t.column) for t in parser.parse(raw).children], (rel, n)


def test_large_ios_loads_every_acl():
    """Its load time is a figure of bench/ (no timed unit tests)."""
    path = str(REAL / "cisco-ios" / "ciscoconfparse-sample05-large.ios")
    rulesets = cisco_ios.load((REAL / "cisco-ios" / "ciscoconfparse-sample05-large.ios").read_text(), path)
    assert len(rulesets) == 100 and all(rs.lines_seen == len(rs.rules) > 0 for rs in rulesets)


# --- hand-decided flows, on the rules and on the compiled policies -----------------------------------


def _inv(**workloads) -> object:
    lines = ["namespaces:", "  prod: {}", "workloads:"]
    for name, addrs in workloads.items():
        lines.append(f"  {name}: {{namespace: prod, labels: {{app: {name}}}, addresses: [{', '.join(addrs)}]}}")
    return parse_inventory("\n".join(lines) + "\n", "inv.yaml")


V6 = "cisco-ios/fwbuilder-ipv6-acl.fw"
FLOWS = [
    # file, ACL, workloads, flow, decision (read off the file by hand)
    ("cisco-ios/fwbuilder-testios20.fw", "e0_in", {"web": ["10.10.10.5"]}, "203.0.113.9 -> web tcp/80", "allow"),
    ("cisco-ios/fwbuilder-testios20.fw", "e0_out", {"web": ["10.10.12.7"]}, "web -> 203.0.113.9 udp/53", "allow"),
    (V6, "ipv6_e0_0_in", {"h": ["2001:db8::10"]}, "2001:5c0:0:2::24 -> h tcp/22", "allow"),
    (V6, "ipv6_e0_0_in", {"h": ["2001:db8::10"]}, "2001:5c0:0:2::25 -> h tcp/22", "deny"),
    (V6, "tmp_acl", {"h": ["2001:db8::10"]}, "fe80::21d:9ff:aaaa:bbbb -> h tcp/5", "allow"),
    ("cisco-ios/labval-iosxe-acl.running-config.txt", "CONNECTIVITY_TEST_OUT", {"a": ["192.168.123.1"]},
     "a -> 192.168.123.6 tcp/9101", "deny"),
    ("cisco-ios/labval-iosxe-acl.running-config.txt", "CONNECTIVITY_TEST_OUT", {"a": ["192.168.123.1"]},
     "a -> 192.168.123.6 tcp/9150", "allow"),
    ("cisco-asa/fwbuilder-pix-real.fw", "outside_acl_in", {"www": ["10.3.14.30"]}, "8.8.8.8 -> www tcp/80", "allow"),
    ("cisco-asa/fwbuilder-pix-real.fw", "outside_acl_in", {"www": ["10.3.14.30"]}, "8.8.8.8 -> www tcp/22", "deny"),
    ("cisco-asa/fwbuilder-pix-real.fw", "inside_acl_in", {"lan": ["10.3.14.0/24"]}, "lan -> 8.8.8.8 tcp/443", "allow"),
    ("cisco-asa/fwbuilder-asa83-nat.fw", "inside_acl_in", {"a": ["192.168.1.10"]}, "8.8.8.8 -> a tcp/8080", "deny"),
    ("cisco-asa/fwbuilder-asa-objgroups.fw", "outside_acl_in", {"a": ["192.168.1.10"]}, "8.8.8.8 -> a tcp/3128",
     "allow"),
    ("cisco-asa/ansible-show-access-list.txt", "MyACL", {"rdp": ["10.20.31.0/24"]}, "rdp -> 8.8.8.8 tcp/3389",
     "allow"),
    ("cisco-asa/ansible-show-access-list.txt", "MyACL", {"rdp": ["10.20.32.0/24"]}, "rdp -> 8.8.8.8 tcp/3389",
     "deny"),
]  # fmt: skip


@pytest.mark.parametrize("rel, acl, workloads, flow, want", FLOWS)
def test_hand_decided_flow(rel, acl, workloads, flow, want):
    [rs] = [r for r in load(str(REAL / rel)) if r.name == acl]
    inv = _inv(**workloads)
    f = parse_flow(flow, inv)
    assert explain_rules(rs, inv, f)["decision"] == want
    assert explain_policies(convert(rs, inv).policies, inv, f)["decision"] == want


# --- regressions: the smallest input for each defect -------------------------------------------------


def test_pix_entries_without_extended():
    text = "access-list in permit tcp any host 10.0.0.5 eq 80\naccess-list in line 1 deny tcp host 1.1.1.1 any\n"
    [rs] = cisco_asa.load(text, "pix.cfg")
    assert [r.action for r in rs.rules] == ["deny", "allow"]  # `line 1` goes first
    assert decide(rs, "1.1.1.1", "10.0.0.5", 6, 80) == "deny" and decide(rs, "2.2.2.2", "10.0.0.5", 6, 80) == "allow"
    assert rs.lines == 2


def test_bang_headed_scripts_are_detected():
    asa = "!\n! Firewall Builder fwb_pix\n!\nclear config access-list\naccess-list a permit ip any any\n"
    ios = "!\n! Firewall Builder fwb_iosacl\n!\nip access-list extended a\n! Rule 0\n  permit ip any any\nexit\n"
    assert detect(asa, "x.fw") == "cisco-asa" and cisco_asa.detect(asa, "x.fw") >= 85
    assert detect(ios, "x.fw") == "cisco-ios" and cisco_ios.detect(ios, "x.fw") >= 85
    assert cisco_ios.detect(asa, "x.fw") == 0 and cisco_asa.detect(ios, "x.fw") == 0


def test_ios_bang_inside_a_block_does_not_end_it():
    text = "ip access-list extended a\n!\n! Rule 1\n  permit ip any 10.0.0.0 0.0.0.255\n  deny ip any any\nexit\n"
    [rs] = cisco_ios.load(text, "r.fw")
    assert [r.id for r in rs.rules] == ["10", "20"] and rs.lines == 2


def test_ios_block_ends_at_another_command_and_exit():
    text = "ip access-list extended a\n permit ip any any\nhostname r\n permit ip any any\n"
    [rs] = cisco_ios.load(text, "r.cfg")
    assert len(rs.rules) == 1
    with pytest.raises(InputError) as err:
        cisco_ios.load("ip access-list extended a\n permit ip any any\n frobnicate 1\n", "r.cfg")
    assert (err.value.loc.line, err.value.loc.column) == (
        3,
        2,
    ) and "expected permit, deny or remark" in err.value.message


def test_ios_sequence_order_removals_and_stateful_entries():
    text = (
        "ip access-list extended a\n 20 deny ip any any\n 10 permit tcp any any eq 22\n 10 permit ip any any\n"
        " permit tcp any any established\n evaluate mirror\n permit tcp any any eq 80 reflect mirror\n no 20\n"
    )
    [rs] = cisco_ios.load(text, "r.cfg")
    assert [r.id for r in rs.rules] == ["10", "50"] and rs.lines == 6
    reasons = {k.id: k.reason for k in rs.skipped}
    assert "duplicate sequence number" in reasons["10"] and "stateful model" in reasons["30"]
    assert "evaluate mirror" in reasons["40"] and "removed by 'no 20'" in reasons["20"]
    assert not rs.rules[1].conditions  # reflect does not narrow the permit
    [gone] = cisco_ios.load("ip access-list extended b\n permit ip any any\nno ip access-list extended b\n", "r")
    assert not gone.rules and gone.lines == 1 and "removed by" in gone.skipped[0].reason


def test_ios_ipv6_icmp_is_icmpv6():
    [rs] = cisco_ios.load("ipv6 access-list v\n permit icmp any any nd-ns\n permit icmp any any 128\n", "r")
    assert [(s.proto, s.lo) for r in rs.rules for s in r.services] == [(58, 135), (58, 128)]


def test_asa_show_access_list():
    text = (
        "access-list cached ACL log flows: total 0, denied 0 (deny-flow-max 4096)\n"
        "            alert-interval 300\n"
        "access-list A; 2 elements; name hash: 0xaa83124c\n"
        "access-list A line 1 extended permit tcp object-group G any eq 22 (hitcnt=0) 0x61fe98bb\n"
        "  access-list A line 1 extended permit tcp 10.1.0.0 255.255.255.0 any eq 22 (hitcnt=0) 0x69856097\n"
        "  access-list A line 1 extended permit tcp 10.2.0.0 255.255.255.0 any eq 22 (hitcnt=0) 0xca48629c\n"
        "access-list A line 2 extended deny ip any any inactive (hitcnt=0) (inactive) 0x11821a52\n"
    )
    assert detect(text, "show.txt") == "cisco-asa"
    [rs] = cisco_asa.load(text, "show.txt")
    assert rs.lines == 2 and len(rs.rules) == 2 and [k.id for k in rs.skipped] == ["A:line 2"]
    assert decide(rs, "10.2.0.9", "8.8.8.8", 6, 22) == "allow" and decide(rs, "10.3.0.9", "8.8.8.8", 6, 22) == "deny"
    assert not any("not a defined" in w.message for w in rs.warnings)


def test_asa_object_groups_only_is_not_a_ruleset():
    with pytest.raises(InputError) as err:
        cisco_asa.load("object-group network G\n network-object host 10.0.0.1\n", "og.cfg")
    assert "holds no access-list" in err.value.message and (err.value.loc.line, err.value.loc.column) == (1, 1)


def test_asa_clear_and_nat_acls():
    text = (
        "access-list old permit ip any any\nclear configure access-list\naccess-list in permit ip any any\n"
        "access-list n permit ip 10.0.0.0 255.0.0.0 any\nnat (inside) 1 access-list n 0 0\n"
        "access-group in in interface inside\n"
    )
    rss = {rs.name: rs for rs in cisco_asa.load(text, "a.cfg")}
    assert (
        not rss["old"].rules and rss["old"].lines == 1 and "removed by 'clear configure" in rss["old"].skipped[0].reason
    )
    assert len(rss["in"].rules) == 1
    assert any("address translation" in w.message for w in rss["n"].warnings)


def test_asa_fwbuilder_custom_service():
    text = (
        "access-list a deny tcp any host 10.0.0.1 tcp destination neq 8080\n"
        "access-list a permit tcp any host 10.0.0.1 tcp destination eq 80\n"
    )
    [rs] = cisco_asa.load(text, "a.fw")
    assert len(rs.rules) == 1 and rs.rules[0].action == "deny" and rs.lines == 2
    assert "not ASA syntax" in rs.skipped[0].reason
    assert decide(rs, "1.1.1.1", "10.0.0.1", 6, 22) == "deny"
