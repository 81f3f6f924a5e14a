"""Cloud frontends: Azure NSG, GCP firewall, AWS network ACL (units, corpus, samples)."""

from __future__ import annotations

import json
from pathlib import Path

import netaddr
import pytest

from translator.compiler.synth import convert
from translator.errors import InputError
from translator.evaluate.endpoints import Ip
from translator.evaluate.firewall import FirewallEvaluator
from translator.frontends import aws_nacl, azure_nsg, gcp
from translator.io.jsonsrc import parse_json
from translator.model.inventory import parse_inventory
from translator.model.ruleset import ALLOW, DENY, AnyAddr, Net, Svc, Unresolved

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
EMPTY_INV = parse_inventory("namespaces:\n  ns: {}\n", "inv.yaml")


def corpus(name: str) -> Path:
    p = CORPUS / name
    if not p.exists():
        pytest.skip(f"corpus file {name} absent")
    return p


def by_name(rulesets):
    return {rs.name: rs for rs in rulesets}


def fw(rs, src, dst, proto, port):
    return FirewallEvaluator(rs, EMPTY_INV).decide(Ip(src), Ip(dst), proto, port)[0]


# --- JSON with positions ---------------------------------------------------------


def test_json_positions_and_errors():
    data = parse_json('{\n  "a": [1, {"b": true}],\n  "c": null\n}', "x.json")
    assert data["a"][1]["b"] is True and data["c"] is None
    assert (data.key_locs["c"].line, data.key_locs["c"].column) == (3, 3)
    assert data["a"][1].loc.line == 2 and data["a"][1].loc.column == 12
    with pytest.raises(InputError) as e:
        parse_json('{\n  "a": 1\n  "b": 2\n}', "x.json")
    assert str(e.value.loc) == "x.json:3:3" and "expected ',' or '}'" in e.value.message
    with pytest.raises(InputError, match="duplicate key 'a'"):
        parse_json('{"a": 1, "a": 2}', "x.json")


# --- Azure -----------------------------------------------------------------------


def nsg(rules, defaults=None):
    props = {"securityRules": [{"name": n, "properties": p} for n, p in rules]}
    if defaults is not None:
        props["defaultSecurityRules"] = defaults
    return json.dumps({"name": "t", "properties": props}, indent=1)


def azr(prio, access="Allow", direction="Inbound", proto="Tcp", src="*", dst="*", port="*", **extra):
    p = {
        "priority": prio,
        "access": access,
        "direction": direction,
        "protocol": proto,
        "sourceAddressPrefix": src,
        "destinationAddressPrefix": dst,
        "destinationPortRange": port,
        "sourcePortRange": "*",
    }
    p.update(extra)
    return p


def test_azure_priority_order_and_documented_defaults():
    text = nsg([("b", azr(200, "Deny", src="10.0.0.0/8")), ("a", azr(100, port="443"))])
    rs = by_name(azure_nsg.load(text, "n.json"))
    inbound = rs["t-inbound"]
    assert [r.id for r in inbound.rules] == [
        "a",
        "b",
        "AllowVnetInBound",
        "AllowAzureLoadBalancerInBound",
        "DenyAllInBound",
    ]
    assert [r.id for r in rs["t-outbound"].rules] == ["AllowVnetOutBound", "AllowInternetOutBound", "DenyAllOutBound"]
    a = inbound.rules[0]
    assert [(s.proto, s.lo, s.hi) for s in a.services] == [(6, 443, 443)]
    assert text.splitlines()[a.loc.line].strip() == '"name": "a",'
    assert fw(inbound, "10.1.1.1", "192.0.2.1", 6, 443)  # rule a
    assert not fw(inbound, "10.1.1.1", "192.0.2.1", 6, 444)  # rule b
    assert not fw(inbound, "8.8.8.8", "192.0.2.1", 6, 80)  # VNet tag unresolved, then DenyAll


def test_azure_service_tags_asg_source_ports_and_host():
    text = nsg(
        [
            (
                "t",
                azr(
                    100,
                    src="VirtualNetwork",
                    dst="*",
                    port="80",
                    sourceApplicationSecurityGroups=[{"id": "/x/applicationSecurityGroups/web-asg"}],
                ),
            ),
            ("s", azr(110, src="1.2.3.4", port="22", sourcePortRange="1024-65535")),
        ],
        defaults=[],
    )
    rs = by_name(azure_nsg.load(text, "n.json", host_addresses=["10.2.0.0/24"]))["t-inbound"]
    t, s = rs.rules[:2]
    assert {type(i) for i in t.src.include} == {Unresolved}
    assert "VirtualNetwork" in t.src.include[0].reason and "web-asg" in t.src.include[1].text
    assert t.dst.include == (Net(0x0A020000, 0x0A0200FF, 4, "10.2.0.0/24"),)  # '*' inbound destination = host
    assert s.conditions and "source port 1024-65535" in s.conditions[0].text


def test_azure_deny_any_protocol_with_port_covers_other_protocols():
    text = nsg([("d", azr(100, "Deny", proto="*", port="53")), ("i", azr(110, "Allow", proto="Icmp"))])
    rs = by_name(azure_nsg.load(text, "n.json"))["t-inbound"]
    assert not fw(rs, "1.1.1.1", "2.2.2.2", 17, 53)
    assert not fw(rs, "1.1.1.1", "2.2.2.2", 1, 8)  # ICMP cannot pass a '*' deny with ports
    assert any("other protocols" in w.message for w in rs.warnings)


@pytest.mark.parametrize(
    "prop,value,msg",
    [
        ("protocol", "Gre", "unknown protocol 'gre'"),
        ("access", "Maybe", "access must be Allow or Deny"),
        ("destinationPortRange", "70000", "bad destination port '70000'"),
    ],
)
def test_azure_errors_name_the_line(prop, value, msg):
    text = nsg([("x", azr(100, **{prop: value}))])
    with pytest.raises(InputError) as e:
        azure_nsg.load(text, "n.json")
    assert msg in e.value.message and e.value.loc.file == "n.json" and e.value.loc.line > 1


def test_azure_corpus_subnet_nsg():
    path = corpus("azure-nsg/batfish_cloud-azure_subnet-nsg.json")
    text = path.read_text()
    assert azure_nsg.detect(text, str(path)) > 0 and gcp.detect(text, str(path)) == 0
    rs = by_name(azure_nsg.load(text, str(path)))
    assert {n: len(r.rules) for n, r in rs.items()} == {"subnet-nsg-inbound": 5, "subnet-nsg-outbound": 6}
    inbound = rs["subnet-nsg-inbound"]
    first = inbound.rules[0]
    assert first.id == "AllowCidrBlockSSHInbound" and first.action == ALLOW
    assert [(s.proto, s.lo, s.hi) for s in first.services] == [(6, 22, 23), (6, 80, 80), (6, 8080, 8080)]
    assert fw(inbound, "10.0.0.7", "172.16.0.1", 6, 23)
    assert not fw(inbound, "10.0.0.7", "172.16.0.1", 6, 24)
    assert not fw(inbound, "10.0.1.7", "172.16.0.1", 6, 22)
    out = rs["subnet-nsg-outbound"]
    assert fw(out, "172.16.0.1", "10.0.0.9", 6, 8080) and fw(out, "172.16.0.1", "9.9.9.9", 17, 5)
    assert not fw(out, "172.16.0.1", "9.9.9.9", 6, 8080)


def test_azure_corpus_vm1_nsg():
    path = corpus("azure-nsg/batfish_cloud-azure_VM1-nsg.json")
    rs = by_name(azure_nsg.load(path.read_text(), str(path)))
    assert {n: len(r.rules) for n, r in rs.items()} == {"VM1-nsg-inbound": 6, "VM1-nsg-outbound": 3}
    assert [r.id for r in rs["VM1-nsg-inbound"].rules[:3]] == [
        "SSH",
        "AllowAnyCustomAnyInbound",
        "DenyAnyCustomAnyInbound",
    ]


def test_azure_sample_pipeline():
    sample = ROOT / "samples" / "azure-nsg"
    inv = parse_inventory((sample / "inventory.yaml").read_text(), "inventory.yaml")
    rs = by_name(azure_nsg.load((sample / "web-nsg.json").read_text(), "web-nsg.json"))["web-nsg-inbound"]
    pols = {p["metadata"]["name"]: p for p in convert(rs, inv).policies}
    web = next(
        p
        for n, p in pols.items()
        if p["spec"].get("podSelector", {}).get("matchLabels") == {"app": "web"} and "ingress" in p["spec"]
    )
    ports = sorted((pp.get("port"), pp.get("endPort")) for r in web["spec"]["ingress"] for pp in r.get("ports", []))
    assert (443, None) in ports and (22, None) in ports and (8000, 8100) in ports


# --- AWS network ACLs --------------------------------------------------------------


def test_aws_corpus_nlb_nacl():
    path = corpus("aws-nacl/lab-validation_aws_nlb_nacl_test_NetworkAcls.json")
    text = path.read_text()
    assert aws_nacl.detect(text, str(path)) > azure_nsg.detect(text, str(path))
    rs = by_name(aws_nacl.load(text, str(path)))
    assert len(rs) == 26
    ing = rs["acl-05483582dc95d5e13-ingress"]
    assert [r.id for r in ing.rules] == ["10", "20", "30", "40", "1000"] and ing.default == DENY
    assert fw(ing, "10.1.1.100", "10.0.0.1", 6, 22)
    assert not fw(ing, "10.1.1.101", "10.0.0.1", 6, 22)
    assert not fw(ing, "8.8.8.8", "10.0.0.1", 6, 80) and fw(ing, "8.8.8.8", "10.0.0.1", 6, 81)
    eg = rs["acl-07f9b0babf4880f54-egress"]
    assert [r.id for r in eg.rules] == ["30", "40", "1000"]
    assert not fw(eg, "10.0.0.1", "8.8.8.8", 6, 1024) and fw(eg, "10.0.0.1", "8.8.8.8", 6, 1023)


def test_aws_corpus_demo_and_security_groups():
    path = corpus("aws-nacl/lab-validation_aws_demo_us-east-1_NetworkAcls.json")
    rs = by_name(aws_nacl.load(path.read_text(), str(path)))
    assert len(rs) == 12 and all(len(r.rules) in (1, 3) for r in rs.values())
    sg = corpus("aws-nacl/lab-validation_aws_demo_us-east-1_SecurityGroups.json")
    text = sg.read_text()
    assert aws_nacl.detect(text, str(sg)) > 0
    with pytest.raises(InputError) as e:
        aws_nacl.load(text, str(sg))
    assert e.value.message.startswith("security groups are stateful and unordered: not a firewall ruleset")
    assert (e.value.loc.line, e.value.loc.column) == (2, 2)


def nacl(entries):
    return json.dumps({"NetworkAcls": [{"NetworkAclId": "acl-1", "Entries": entries}]}, indent=1)


def test_aws_icmp_ipv6_host_and_errors():
    text = nacl(
        [
            {
                "RuleNumber": 10,
                "Egress": False,
                "Protocol": "1",
                "IcmpTypeCode": {"Type": 8, "Code": 0},
                "CidrBlock": "0.0.0.0/0",
                "RuleAction": "allow",
            },
            {
                "RuleNumber": 20,
                "Egress": False,
                "Protocol": "58",
                "IcmpTypeCode": {"Type": -1, "Code": -1},
                "Ipv6CidrBlock": "2001:db8::/32",
                "RuleAction": "allow",
            },
            {"RuleNumber": 30, "Egress": True, "Protocol": "47", "CidrBlock": "10.0.0.0/8", "RuleAction": "deny"},
            {  # the replies of rule 20's connections (NACLs are stateless)
                "RuleNumber": 40,
                "Egress": True,
                "Protocol": "58",
                "IcmpTypeCode": {"Type": -1, "Code": -1},
                "Ipv6CidrBlock": "2001:db8::/32",
                "RuleAction": "allow",
            },
        ]
    )
    rs = by_name(aws_nacl.load(text, "a.json", host_addresses=["10.5.0.0/24"]))
    ing, eg = rs["acl-1-ingress"], rs["acl-1-egress"]
    assert ing.rules[0].conditions[0].text == "icmp code 0"  # codes cannot be checked
    assert not fw(ing, "1.1.1.1", "10.5.0.1", 1, 8)
    assert fw(ing, "2001:db8::1", "10.5.0.1", 58, 3)
    assert eg.rules[0].src.include == (Net(0x0A050000, 0x0A0500FF, 4, "10.5.0.0/24"),)
    assert eg.rules[0].services == (Svc.whole(47),)
    bad = nacl(
        [
            {
                "RuleNumber": 10,
                "Egress": False,
                "Protocol": "6",
                "PortRange": {"From": 9, "To": 1},
                "CidrBlock": "0.0.0.0/0",
                "RuleAction": "allow",
            }
        ]
    )
    with pytest.raises(InputError, match="bad PortRange 9-1") as e:
        aws_nacl.load(bad, "a.json")
    assert e.value.loc.line == 1 or e.value.loc.line > 1


def test_aws_sample_pipeline_with_host():
    sample = ROOT / "samples" / "aws-nacl"
    inv = parse_inventory((sample / "inventory.yaml").read_text(), "inventory.yaml")
    rss = by_name(
        aws_nacl.load(
            (sample / "network-acls.json").read_text(), "n.json", host_addresses=inv.workloads["web"].addresses
        )
    )
    pols = convert(rss["acl-0web-ingress"], inv).policies
    web_in = [p for p in pols if p["spec"].get("podSelector", {}).get("matchLabels") == {"app": "web"}]
    assert web_in, "web gets an ingress policy"
    blocks = [
        peer["ipBlock"]
        for p in web_in
        for r in p["spec"].get("ingress", [])
        for peer in r.get("from", [])
        if "ipBlock" in peer
    ]
    assert any(b["cidr"] == "0.0.0.0/0" and "192.0.2.0/24" in b.get("except", []) for b in blocks)


# --- GCP ---------------------------------------------------------------------------


def test_gcp_vpc_rules_order_disabled_and_targets():
    rules = [
        {
            "name": "allow-80",
            "priority": 1000,
            "direction": "INGRESS",
            "sourceRanges": ["10.0.0.0/8"],
            "allowed": [{"IPProtocol": "tcp", "ports": ["80"]}],
        },
        {
            "name": "deny-80",
            "priority": 1000,
            "direction": "INGRESS",
            "sourceRanges": ["10.1.0.0/16"],
            "denied": [{"IPProtocol": "tcp", "ports": ["80"]}],
        },
        {
            "name": "off",
            "priority": 10,
            "direction": "INGRESS",
            "sourceRanges": ["0.0.0.0/0"],
            "allowed": [{"IPProtocol": "all"}],
            "disabled": True,
        },
        {
            "name": "tagged",
            "priority": 20,
            "direction": "INGRESS",
            "sourceRanges": ["0.0.0.0/0"],
            "targetTags": ["web"],
            "allowed": [{"IPProtocol": "tcp", "ports": ["443"]}],
        },
        {
            "name": "no-smtp",
            "priority": 1000,
            "direction": "EGRESS",
            "destinationRanges": ["0.0.0.0/0"],
            "denied": [{"IPProtocol": "tcp", "ports": ["25"]}],
        },
    ]
    rs = by_name(gcp.load(json.dumps(rules), "g.json"))
    ing, eg = rs["gcp-ingress"], rs["gcp-egress"]
    assert [r.id for r in ing.rules] == ["tagged", "deny-80", "allow-80"]  # deny first at equal priority
    assert [(s.id, "disabled" in s.reason) for s in ing.skipped] == [("off", True)]
    assert ing.lines_seen == 4  # three rules read and "off", seen and skipped
    assert not fw(ing, "10.1.2.3", "192.0.2.1", 6, 80) and fw(ing, "10.2.2.3", "192.0.2.1", 6, 80)
    assert not fw(ing, "1.1.1.1", "192.0.2.1", 6, 443)  # target tag: unresolved
    assert "applies only to instances" in ing.rules[0].dst.exclude[0].reason
    assert eg.default == ALLOW and not fw(eg, "10.0.0.1", "1.1.1.1", 6, 25) and fw(eg, "10.0.0.1", "1.1.1.1", 6, 26)


def _gcp_reference(dump, direction, src, dst, proto, port):
    """GCP's own evaluation (IP-only rules): policies in order, goto_next, then VPC rules, implied rule."""

    def l4(configs, key):
        for c in configs:
            p = c[key]
            num = {"tcp": 6, "udp": 17, "icmp": 1}.get(p)
            if p == "all" or (
                num == proto
                and (
                    not c.get("ports") or any(int(r.split("-")[0]) <= port <= int(r.split("-")[-1]) for r in c["ports"])
                )
            ):
                return True
        return False

    def inside(ip, ranges):
        return any(netaddr.IPAddress(ip) in netaddr.IPNetwork(r) for r in ranges)

    remote = src if direction == "INGRESS" else dst
    for pol in dump["firewallPolicys"]:
        rules = sorted(
            (r for r in pol["rules"] if r["direction"] == direction),
            key=lambda r: (r["priority"], r["action"] != "deny"),
        )
        for r in rules:
            m = r["match"]
            key = "srcIpRanges" if direction == "INGRESS" else "destIpRanges"
            if inside(remote, m[key]) and l4(m["layer4Configs"], "ipProtocol"):
                if r["action"] == "goto_next":
                    break
                return r["action"] == "allow"
    for r in sorted(
        (r for r in dump["firewalls"] if r["direction"] == direction), key=lambda r: (r["priority"], "denied" not in r)
    ):
        key = "sourceRanges" if direction == "INGRESS" else "destinationRanges"
        if inside(remote, r[key]) and l4(r.get("allowed") or r.get("denied"), "IPProtocol"):
            return "allowed" in r
    return direction == "EGRESS"


def test_gcp_goto_next_is_exact_against_gcp_semantics():
    def pr(prio, action, ranges, l4, direction="INGRESS"):
        key = "srcIpRanges" if direction == "INGRESS" else "destIpRanges"
        return {"priority": prio, "action": action, "direction": direction, "match": {key: ranges, "layer4Configs": l4}}

    tcp53 = [{"ipProtocol": "tcp", "ports": ["53"]}, {"ipProtocol": "udp", "ports": ["53"]}]
    ALL = [{"ipProtocol": "all"}]
    dump = {
        "firewallPolicys": [
            {
                "shortName": "org",
                "type": "HIERARCHY",
                "rules": [
                    pr(10, "allow", ["1.0.0.0/8"], [{"ipProtocol": "tcp", "ports": ["22"]}]),
                    pr(20, "goto_next", ["10.0.0.0/8"], ALL),
                    pr(30, "goto_next", ["35.0.0.0/8"], tcp53),
                    pr(40, "deny", ["0.0.0.0/0"], ALL),
                    pr(50, "goto_next", ["0.0.0.0/0"], ALL, "EGRESS"),
                ],
            },
            {
                "shortName": "folder",
                "type": "HIERARCHY",
                "rules": [
                    pr(5, "deny", ["10.9.0.0/16"], ALL),
                    pr(6, "goto_next", ["0.0.0.0/0"], ALL),
                    pr(7, "deny", ["0.0.0.0/0"], [{"ipProtocol": "tcp", "ports": ["25"]}], "EGRESS"),
                    pr(8, "goto_next", ["0.0.0.0/0"], ALL, "EGRESS"),
                ],
            },
        ],
        "firewalls": [
            {
                "name": "web",
                "priority": 1000,
                "direction": "INGRESS",
                "sourceRanges": ["0.0.0.0/0"],
                "allowed": [{"IPProtocol": "tcp", "ports": ["80", "53"]}],
            },
            {
                "name": "dns",
                "priority": 900,
                "direction": "INGRESS",
                "sourceRanges": ["35.1.0.0/16"],
                "allowed": [{"IPProtocol": "udp", "ports": ["53"]}],
            },
            {
                "name": "no-x",
                "priority": 1000,
                "direction": "EGRESS",
                "destinationRanges": ["35.0.0.0/8"],
                "denied": [{"IPProtocol": "all"}],
            },
        ],
    }
    rs = by_name(gcp.load(json.dumps(dump), "g.json"))
    ips = ["1.2.3.4", "10.1.1.1", "10.9.1.1", "35.1.2.3", "35.200.0.1", "8.8.8.8"]
    services = [(6, 22), (6, 25), (6, 53), (17, 53), (6, 80), (1, 8)]
    for direction, name, local in (("INGRESS", "gcp-ingress", "192.168.0.1"), ("EGRESS", "gcp-egress", "192.168.0.1")):
        for ip in ips:
            for proto, port in services:
                src, dst = (ip, local) if direction == "INGRESS" else (local, ip)
                want = _gcp_reference(dump, direction, src, dst, proto, port)
                assert fw(rs[name], src, dst, proto, port) == want, (direction, ip, proto, port)


def test_gcp_corpus_fw_policy():
    path = corpus("gcp/gcpdiag_fw-policy_compute-effective-firewalls.json")
    text = path.read_text()
    assert gcp.detect(text, str(path)) > 0 and azure_nsg.detect(text, str(path)) == 0
    rs = by_name(gcp.load(text, str(path)))
    ing, eg = rs["default-ingress"], rs["default-egress"]
    assert len(ing.rules) == 32 and len(eg.rules) == 0 and eg.default == ALLOW
    assert [r.id for r in ing.rules[:5]] == [
        "parent-folder-policy/9000",
        "sub-folder-policy/8999",
        "sub-folder-policy/9000",
        "test-sorting-same-ip-policy/1000",
        "test-sorting-same-ip-policy/1000",
    ]
    assert [r.action for r in ing.rules[3:5]] == [DENY, ALLOW]  # deny first at equal priority
    assert fw(ing, "10.101.0.1", "10.128.0.2", 6, 2001)  # parent policy allow
    assert not fw(ing, "10.104.0.1", "10.128.0.2", 6, 80)  # the deny of the tie
    assert not fw(ing, "10.100.0.5", "10.128.0.2", 6, 1001)  # fw-test-800 before fw-test-900
    assert fw(ing, "10.100.0.5", "10.128.0.2", 6, 1500)  # fw-test-900
    assert fw(ing, "8.8.8.8", "10.128.0.2", 6, 22) and not fw(ing, "8.8.8.8", "10.128.0.2", 6, 23)


def test_gcp_corpus_gke1():
    path = corpus("gcp/gcpdiag_gke1_compute-effective-firewalls.json")
    rs = by_name(gcp.load(path.read_text(), str(path)))
    ing, eg = rs["default-ingress"], rs["default-egress"]
    assert len(eg.rules) == 2 and len(ing.rules) == 107
    assert fw(ing, "35.235.240.5", "10.128.0.2", 6, 3389)  # policy 600 allow
    assert not fw(ing, "8.8.8.8", "10.128.0.2", 6, 22)  # policy 700 deny
    assert fw(ing, "10.128.0.9", "10.128.0.2", 17, 2000)  # goto_next 602 -> default-allow-internal
    assert not fw(ing, "35.199.192.1", "10.128.0.2", 17, 53)  # goto_next 603 -> implied deny
    assert not fw(ing, "35.199.192.1", "10.128.0.2", 6, 22)  # not sent on: policy 700 deny
    assert fw(ing, "35.199.224.1", "10.128.0.2", 1, 8)  # goto_next 604 -> default-allow-icmp


def test_gcp_sample_pipeline_and_errors():
    sample = ROOT / "samples" / "gcp"
    inv = parse_inventory((sample / "inventory.yaml").read_text(), "inventory.yaml")
    rs = by_name(gcp.load((sample / "firewall-rules.json").read_text(), "f.json"))["shop-vpc-ingress"]
    result = convert(rs, inv)
    assert any(f.kind == "unresolved" and f.rule.id == "allow-ssh-bastion" for f in result.findings)
    api = [p for p in result.policies if p["spec"].get("podSelector", {}).get("matchLabels") == {"app": "api"}]
    ports = {
        (pp.get("port"), pp.get("endPort"))
        for p in api
        for r in p["spec"].get("ingress", [])
        for pp in r.get("ports", [])
    }
    assert (443, None) in ports and (9000, 9100) in ports and (22, None) not in ports
    with pytest.raises(InputError, match="exactly one of 'allowed' and 'denied'") as e:
        gcp.load('[\n {"name": "x", "direction": "INGRESS"}\n]', "g.json")
    assert (e.value.loc.line, e.value.loc.column) == (2, 2)
    with pytest.raises(InputError, match="ports are only allowed with tcp, udp and sctp"):
        gcp.load('[{"name": "x", "allowed": [{"IPProtocol": "icmp", "ports": ["1"]}]}]', "g.json")


def test_gcp_any_source_denotes_every_pod():
    rules = [{"name": "all", "priority": 1, "direction": "INGRESS", "allowed": [{"IPProtocol": "tcp"}]}]
    rs = by_name(gcp.load(json.dumps(rules), "g.json"))["gcp-ingress"]
    assert rs.rules[0].src.include[0].text == "0.0.0.0/0" and not isinstance(rs.rules[0].src.include[0], AnyAddr)
