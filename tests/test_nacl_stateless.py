"""AWS network ACLs are stateless: a connection works on the device only if the other direction lets its
replies back. The frontend's reading must never allow a connection the device would break.

The oracle below is the device's own semantics, written from the AWS documentation: entries in rule
number order, first match, the final * deny; a reply goes to the client's ephemeral port (any of
1024-65535) and must pass the other direction's entries."""

from __future__ import annotations

import ipaddress
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from translator.frontends import aws_nacl
from translator.model.ruleset import ALLOW, Net

CIDRS = ["0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32", "192.0.2.0/24"]
PORTS = [(1024, 65535), (22, 22), (443, 443), (1000, 2000), (30000, 40000), (1, 65535)]
REMOTES = ["10.1.2.3", "10.1.9.9", "10.9.9.9", "192.0.2.7", "8.8.8.8"]
FLOWS = [(6, 22), (6, 443), (6, 1500), (6, 35000), (17, 443), (17, 65535), (1, 8), (47, 0)]


@st.composite
def entries(draw):
    out = []
    for egress in (False, True):
        nums = draw(st.lists(st.integers(1, 200), min_size=0, max_size=5, unique=True))
        for n in nums:
            proto = draw(st.sampled_from(["-1", "6", "17", "1"]))
            e = {
                "CidrBlock": draw(st.sampled_from(CIDRS)),
                "Egress": egress,
                "Protocol": proto,
                "RuleAction": draw(st.sampled_from(["allow", "deny"])),
                "RuleNumber": n,
            }
            if proto in ("6", "17"):
                lo, hi = draw(st.sampled_from(PORTS))
                e["PortRange"] = {"From": lo, "To": hi}
            if proto == "1":
                e["IcmpTypeCode"] = {"Code": -1, "Type": draw(st.sampled_from([-1, 0, 8]))}
            out.append(e)
        out.append(
            {"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "-1", "RuleAction": "deny", "RuleNumber": 32767}
        )
    return out


def device(entries_, egress: bool, remote: str, proto: int, port: int) -> bool:
    """First match of the entries of one direction for a packet to or from REMOTE."""
    for e in sorted((e for e in entries_ if e["Egress"] == egress), key=lambda e: e["RuleNumber"]):
        if ipaddress.ip_address(remote) not in ipaddress.ip_network(e["CidrBlock"]):
            continue
        p = int(e["Protocol"])
        if p != -1 and p != proto:
            continue
        if p in (6, 17) and not e["PortRange"]["From"] <= port <= e["PortRange"]["To"]:
            continue
        if p == 1 and e["IcmpTypeCode"]["Type"] not in (-1, port):
            continue
        return e["RuleAction"] == "allow"
    return False


def reply_ports(entries_, proto: int) -> list[int]:
    """The replies' destination values worth trying: every ephemeral port where a decision may change."""
    if proto == 1:
        return [0]  # an echo request's reply is an echo reply
    if proto not in (6, 17):
        return [0]
    pts = {1024, 65535}
    for e in entries_:
        if "PortRange" in e:
            for p in (
                e["PortRange"]["From"] - 1,
                e["PortRange"]["From"],
                e["PortRange"]["To"],
                e["PortRange"]["To"] + 1,
            ):
                if 1024 <= p <= 65535:
                    pts.add(p)
    return sorted(pts)


def device_connection(entries_, egress: bool, remote: str, proto: int, port: int) -> bool:
    """The connection works for every client port: its first packet passes and so do all its replies."""
    return device(entries_, egress, remote, proto, port) and all(
        device(entries_, not egress, remote, proto, e) for e in reply_ports(entries_, proto)
    )


def fw2np_allows(rs, egress: bool, remote: str, proto: int, port: int) -> bool:
    """The frontend's ruleset, read on the secure side (an allow with a condition matches nothing)."""
    x = ipaddress.ip_address(remote)
    for r in rs.rules:
        side = r.dst if egress else r.src
        if not any(isinstance(n, Net) and n.version == x.version and n.first <= int(x) <= n.last for n in side.include):
            continue
        svc = r.services[0]
        if svc.proto is not None and (svc.proto != proto or not svc.lo <= port <= svc.hi):
            continue
        if r.action == ALLOW and r.conditions:
            continue
        return r.action == ALLOW
    return rs.default == ALLOW


@settings(max_examples=300, deadline=None)
@given(entries())
def test_never_allows_a_connection_whose_replies_the_device_drops(es):
    doc = {"NetworkAcls": [{"NetworkAclId": "acl-x", "Entries": es}]}
    ingress, egress = aws_nacl.load(json.dumps(doc), "n.json")
    for rs, is_egress in ((ingress, False), (egress, True)):
        for remote in REMOTES:
            for proto, port in FLOWS:
                if fw2np_allows(rs, is_egress, remote, proto, port):
                    assert device_connection(es, is_egress, remote, proto, port), (rs.name, remote, proto, port)


def entry(egress: bool, number: int, action: str, proto: str = "-1", cidr: str = "0.0.0.0/0", ports=None) -> dict:
    e = {"CidrBlock": cidr, "Egress": egress, "Protocol": proto, "RuleAction": action, "RuleNumber": number}
    if ports:
        e["PortRange"] = {"From": ports[0], "To": ports[1]}
    return e


def acl(*es) -> tuple:
    return tuple(aws_nacl.load(json.dumps({"NetworkAcls": [{"NetworkAclId": "a", "Entries": list(es)}]}), "n.json"))


def test_an_allow_whose_replies_pass_keeps_its_meaning():
    ingress, _ = acl(
        entry(False, 100, "allow", "6", ports=(443, 443)), entry(True, 100, "allow", "6", ports=(1024, 65535))
    )
    assert [(r.id, r.conditions) for r in ingress.rules] == [("100", ())]


def test_replies_denied_for_one_host_split_the_allow():
    """Egress denies one host before allowing everything: inbound connections from that host break on the
    device (their replies are dropped), so only that part of the allow is left denied, and reported."""
    ingress, egress = acl(
        entry(False, 100, "allow"), entry(True, 1, "deny", cidr="10.1.2.3/32"), entry(True, 100, "allow")
    )
    (good, bad) = ingress.rules
    assert good.id == "100" and not good.conditions and "10.1.2.3" not in [n.text for n in good.src.include]
    assert bad.id == "100/replies-dropped" and [n.text for n in bad.src.include] == ["10.1.2.3/32"]
    assert "stateless" in bad.conditions[0].reason and "entry 1 denies" in bad.conditions[0].reason
    assert fw2np_allows(ingress, False, "8.8.8.8", 6, 443) and not fw2np_allows(ingress, False, "10.1.2.3", 6, 443)
    # the egress allow's replies all come back through ingress 100 (allow all)
    assert [(r.id, r.conditions) for r in egress.rules if r.action == ALLOW] == [("100", ())]


def test_no_reply_path_drops_the_allow():
    ingress, _ = acl(entry(False, 100, "allow", "6", ports=(443, 443)))
    (rule,) = ingress.rules
    assert rule.conditions and "no a-egress entry allows all of them" in rule.conditions[0].reason
