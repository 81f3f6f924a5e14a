"""The real Azure exports of ../shared/realworld/azure-nsg: detected, read with their full rule counts,
converted, hand-decided flows explained on both sides, verified; and the smallest input per case."""

from __future__ import annotations

import json

import pytest

from translator.compiler.synth import convert
from translator.errors import InputError
from translator.frontends import azure_nsg, detect, load
from translator.model.inventory import parse_inventory
from translator.model.ruleset import Net, Unresolved
from translator.verify.core import verify
from translator.verify.explain import explain_policies, explain_rules, parse_flow

from .conftest import ROOT

AZURE = ROOT.parent / "shared" / "realworld" / "azure-nsg"
GENERIC = ROOT.parent / "shared" / "realworld" / "inventories" / "generic.yaml"
FILES = sorted(p.name for p in AZURE.glob("*.json")) if AZURE.is_dir() else []
needs_files = pytest.mark.skipif(not FILES, reason="the real exports (../shared/realworld) are not present")

QUICKSTART = "quickstart-asg-azuredeploy.json"
REST = "rest-api-example-NetworkSecurityGroupGet.json"
DEFAULTS_ONLY = "batfish-VM2-nsg-defaults-only.json"
# the quickstart's web server NIC (in subnet 10.0.0.0/24) as a workload that replaces its ASG
ASG_INV = """\
namespaces:
  prod: {labels: {env: prod}}
workloads:
  web:
    namespace: prod
    labels: {app: web}
    addresses: [10.0.0.4]
    applicationSecurityGroups: [webServersAsg]
  other:
    namespace: prod
    labels: {app: other}
    addresses: [10.0.0.5]
"""
DEFAULTS_PER_DIRECTION = 3  # AllowVnet, AllowAzureLoadBalancer / AllowInternet, DenyAll


def independent_count(path) -> dict[str, int]:
    """Security rules per direction, counted in the JSON itself: every securityRules and
    defaultSecurityRules entry anywhere in the file, and the documented defaults where an NSG has none."""
    counts = {"Inbound": 0, "Outbound": 0}

    def walk(obj):
        if isinstance(obj, dict):
            if isinstance(obj.get("securityRules"), list):
                defaults = obj.get("defaultSecurityRules") or []
                for r in obj["securityRules"] + defaults:
                    counts[r["properties"]["direction"]] += 1
                if not defaults:
                    for d in counts:
                        counts[d] += DEFAULTS_PER_DIRECTION
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(json.loads(path.read_text()))
    return counts


def direction(rs) -> str:
    return "Inbound" if rs.directions == ("ingress",) else "Outbound"


@needs_files
@pytest.mark.parametrize("name", FILES)
def test_every_file_loads_converts_and_verifies(name):
    path = AZURE / name
    assert detect(path.read_text(), str(path)) == "azure-nsg"
    rulesets = load(str(path))
    want = independent_count(path)
    assert len(rulesets) == 2  # one NSG in each file: inbound and outbound
    for inv in (parse_inventory(GENERIC.read_text(), str(GENERIC)), parse_inventory(ASG_INV, "asg.yaml")):
        for rs in load(str(path), inventory=inv):
            assert rs.lines_seen == len(rs.rules) + len(rs.skipped) == want[direction(rs)]
            assert rs.skipped == []  # nothing in these files goes unapplied
            result = convert(rs, inv)
            assert result.stats["rules"] == len(rs.rules) and result.stats["lines"] == want[direction(rs)]
            rep, _ = verify(rs, inv, result.policies, limit=5)
            assert rep.verdict == "equivalent", rep.examples


def decide(rs, inv, flow_text):
    """(firewall decision in the secure reading, decision of the compiled policies) for one flow."""
    flow = parse_flow(flow_text, inv)
    fw = explain_rules(rs, inv, flow)
    np = explain_policies(convert(rs, inv).policies, inv, flow)
    return fw["decision"], np["decision"], fw["by"]


@needs_files
def test_quickstart_asg_mapped_through_the_inventory():
    inv = parse_inventory(ASG_INV, "asg.yaml")
    rs = {r.name: r for r in load(str(AZURE / QUICKSTART), inventory=inv)}
    assert set(rs) == {"webNsg-inbound", "webNsg-outbound"}  # the name is [variables('nsgName')]
    inbound = rs["webNsg-inbound"]
    assert [r.id for r in inbound.rules[:2]] == ["AllowHttpAll", "AllowSshAll"]
    assert inbound.rules[0].dst.include == (Net(0x0A000004, 0x0A000004, 4, "10.0.0.4"),)
    # AllowHttpAll: anything -> web servers tcp/80; AllowSshAll: tcp/22; then DenyAllInBound
    assert decide(inbound, inv, "203.0.113.5 -> web tcp/80") == (
        "allow",
        "allow",
        {"rule": "AllowHttpAll", "line": 116},
    )
    assert decide(inbound, inv, "other -> web tcp/22")[:2] == ("allow", "allow")
    assert decide(inbound, inv, "203.0.113.5 -> web tcp/443")[:2] == ("deny", "deny")
    assert decide(inbound, inv, "203.0.113.5 -> other tcp/80")[:2] == ("deny", "deny")  # not in the ASG
    findings = [str(f) for f in convert(inbound, inv).findings]
    assert not any("webServersAsg" in f for f in findings)
    rep, _ = verify(inbound, inv, convert(inbound, inv).policies)
    assert rep.equivalent


@needs_files
def test_quickstart_asg_unmapped_is_reported():
    inv = parse_inventory(GENERIC.read_text(), str(GENERIC))
    inbound = {r.name: r for r in load(str(AZURE / QUICKSTART), inventory=inv)}["webNsg-inbound"]
    item = inbound.rules[0].dst.include[0]
    assert isinstance(item, Unresolved) and "no inventory workload lists it" in item.reason
    result = convert(inbound, inv)
    unresolved = [f for f in result.findings if f.kind == "unresolved" and "webServersAsg" in f.message]
    assert {f.rule.id for f in unresolved} == {"AllowHttpAll", "AllowSshAll"}
    assert decide(inbound, inv, "203.0.113.5 -> net10 tcp/80")[:2] == ("deny", "deny")  # the secure side
    # read without an inventory: unresolved too
    bare = {r.name: r for r in load(str(AZURE / QUICKSTART))}["webNsg-inbound"]
    assert isinstance(bare.rules[0].dst.include[0], Unresolved)


@needs_files
def test_rest_example_flows():
    inv = parse_inventory(GENERIC.read_text(), str(GENERIC))
    inbound = {r.name: r for r in load(str(AZURE / REST))}["testnsg-inbound"]
    assert [r.id for r in inbound.rules] == [
        "rule1",
        "AllowVnetInBound",
        "AllowAzureLoadBalancerInBound",
        "DenyAllInBound",
    ]
    # rule1: protocol * to port 80 from anywhere to anything: tcp/80 and udp/80
    assert decide(inbound, inv, "203.0.113.5 -> net10 tcp/80")[:2] == ("allow", "allow")
    assert decide(inbound, inv, "203.0.113.5 -> host udp/80")[:2] == ("allow", "allow")
    assert decide(inbound, inv, "203.0.113.5 -> net10 tcp/81")[:2] == ("deny", "deny")  # DenyAllInBound


@needs_files
def test_defaults_only_flows():
    inv = parse_inventory(GENERIC.read_text(), str(GENERIC))
    rs = {r.name: r for r in load(str(AZURE / DEFAULTS_ONLY))}
    assert [len(r.rules) for r in rs.values()] == [3, 3]
    inbound, outbound = rs["VM2-nsg-inbound"], rs["VM2-nsg-outbound"]
    # the VirtualNetwork and AzureLoadBalancer tags have no addresses in the export: the secure side
    assert decide(inbound, inv, "net10 -> net172 tcp/22")[:2] == ("deny", "deny")
    assert decide(outbound, inv, "net10 -> 203.0.113.5 tcp/443")[:2] == ("deny", "deny")  # Internet tag


# --- the smallest input for each case ---------------------------------------------------------------

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def props(prio=100, src="*", dst="*", port="80", **extra):
    p = {
        "priority": prio,
        "direction": "Inbound",
        "access": "Allow",
        "protocol": "Tcp",
        "sourceAddressPrefix": src,
        "destinationAddressPrefix": dst,
        "sourcePortRange": "*",
        "destinationPortRange": port,
    }
    p.update(extra)
    return p


def template(resources, parameters=None, variables=None):
    out = {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": resources}
    if parameters is not None:
        out["parameters"] = parameters
    if variables is not None:
        out["variables"] = variables
    return json.dumps(out, indent=1)


def nsg_resource(rules, name="n", **extra):
    return {
        "type": "Microsoft.Network/networkSecurityGroups",
        "name": name,
        "location": "[resourceGroup().location]",
        "properties": {"securityRules": [{"name": n, "properties": p} for n, p in rules]},
        **extra,
    }


def inbound_of(text, **options):
    return {r.name: r for r in azure_nsg.load(text, "t.json", **options)}["n-inbound"]


def test_template_nsg_under_resources():
    text = template([{"type": "Microsoft.Network/publicIPAddresses", "name": "pip"}, nsg_resource([("a", props())])])
    assert detect(text, "t.json") == "azure-nsg"
    rs = inbound_of(text)
    assert [r.id for r in rs.rules][:1] == ["a"] and rs.lines == 1 + DEFAULTS_PER_DIRECTION
    assert [(s.proto, s.lo, s.hi) for s in rs.rules[0].services] == [(6, 80, 80)]


def test_template_child_security_rule_resources():
    nested = nsg_resource(
        [("a", props(100)), ("b", props(110))],
        resources=[{"type": "securityRules", "name": "c", "properties": props(120, port="22")}],
    )
    top = {"type": "Microsoft.Network/networkSecurityGroups/securityRules", "name": "n/a", "properties": props(90)}
    rs = inbound_of(template([nested, top]))
    assert [r.id for r in rs.rules][:3] == ["a", "b", "c"]
    assert rs.rules[0].comment.startswith("priority 90")  # the resource replaces the inline rule a
    assert [s.id for s in rs.skipped] == ["a"] and "replaced by the securityRules resource n/a" in rs.skipped[0].reason
    assert rs.lines == 4 + DEFAULTS_PER_DIRECTION  # a seen twice: once read, once skipped


def test_template_rules_for_an_nsg_it_does_not_define():
    top = {"type": "Microsoft.Network/networkSecurityGroups/securityRules", "name": "n/a", "properties": props()}
    rs = inbound_of(template([top]))
    assert rs.rules[0].id == "a" and any("without defining it" in w.message for w in rs.warnings)


def test_template_parameters_variables_and_expressions():
    params = {
        "prio": {"type": "int", "defaultValue": 150},
        "src": {"type": "string", "defaultValue": "[variables('net')]"},
        "nodefault": {"type": "string"},
    }
    variables = {"net": "192.0.2.0/24", "name": "[concat('n', '')]", "port": "[string(443)]"}
    rules = [
        ("a", props("[parameters('prio')]", src="[parameters('src')]", port="[variables('port')]")),
        ("b", props(200, src="[parameters('nodefault')]", port="[parameters('nodefault')]")),
        ("c", props(210, src="[concat(parameters('src'))]", dst="[resourceGroup().location]")),
    ]
    rs = inbound_of(template([nsg_resource(rules, name="[variables('name')]")], params, variables))
    a, b, c = rs.rules[:3]
    assert a.comment.startswith("priority 150") and a.src.include == (Net(0xC0000200, 0xC00002FF, 4, "192.0.2.0/24"),)
    assert [(s.proto, s.lo) for s in a.services] == [(6, 443)]
    # a parameter without a default is never guessed: Unresolved address and service
    assert isinstance(b.src.include[0], Unresolved) and "no defaultValue" in b.src.include[0].reason
    assert isinstance(b.services[0], Unresolved)
    assert c.src.include[0].text == "192.0.2.0/24" and isinstance(c.dst.include[0], Unresolved)
    assert "known only at deployment" in c.dst.include[0].reason


def test_template_unevaluable_priority_is_an_error():
    text = template([nsg_resource([("a", props("[parameters('p')]"))])], {"p": {"type": "int"}})
    with pytest.raises(InputError) as err:
        azure_nsg.load(text, "t.json")
    assert "priority [parameters('p')] has no value in the template" in err.value.message
    line = next(i for i, t in enumerate(text.splitlines(), 1) if '"priority": "[parameters' in t)
    assert err.value.loc.line == line and err.value.render().startswith(f"t.json:{line}:")


@pytest.mark.parametrize(
    "resources, words",
    [
        ([{"type": "Microsoft.Network/virtualNetworks", "name": "v"}], "defines no network security group"),
        ([nsg_resource([], copy={"name": "x", "count": 2})], "copy loops are not read"),
    ],
)
def test_template_errors(resources, words):
    with pytest.raises(InputError) as err:
        azure_nsg.load(template(resources), "t.json")
    assert words in err.value.message and err.value.loc.line


ASG = [{"id": "[resourceId('Microsoft.Network/applicationSecurityGroups', 'webAsg')]"}]


def asg_text():
    return template([nsg_resource([("a", props(dst=None, destinationApplicationSecurityGroups=ASG))])])


def test_asg_mapped_to_a_workload():
    inv = parse_inventory(
        "workloads:\n  web: {namespace: ns, labels: {app: web}, addresses: [10.0.0.4, 10.0.0.5],"
        " applicationSecurityGroups: [WebAsg]}\n"
    )
    rs = inbound_of(asg_text(), inventory=inv)
    assert [n.text for n in rs.rules[0].dst.include] == ["10.0.0.4", "10.0.0.5"]  # names match case-insensitively
    assert decide(rs, inv, "192.0.2.1 -> web tcp/80")[:2] == ("allow", "allow")


def test_asg_unresolved():
    inv = parse_inventory("workloads:\n  web: {namespace: ns, labels: {app: web}, addresses: [10.0.0.4]}\n")
    for options in ({"inventory": inv}, {}):
        item = inbound_of(asg_text(), **options).rules[0].dst.include[0]
        assert isinstance(item, Unresolved) and item.text == "asg:webAsg"
    # a workload that lists the ASG but has no legacy address cannot stand for its NICs
    inv = parse_inventory("workloads:\n  web: {namespace: ns, labels: {app: web}, applicationSecurityGroups: webAsg}\n")
    item = inbound_of(asg_text(), inventory=inv).rules[0].dst.include[0]
    assert isinstance(item, Unresolved) and "has no legacy addresses" in item.reason
    result = convert(inbound_of(asg_text(), inventory=inv), inv)
    assert any(f.kind == "unresolved" and "webAsg" in f.message for f in result.findings)


def test_rest_example_wrapper():
    body = {"name": "n", "properties": {"securityRules": [{"name": "a", "properties": props()}]}}
    text = json.dumps({"parameters": {"api-version": "2023-09-01"}, "responses": {"200": {"body": body}}})
    assert detect(text, "t.json") == "azure-nsg"
    assert inbound_of(text).rules[0].id == "a"
    listed = json.dumps({"responses": {"200": {"body": {"value": [body]}}}})
    assert inbound_of(listed).rules[0].id == "a"
    with pytest.raises(InputError) as err:
        azure_nsg.load(json.dumps({"responses": {"404": {}}}), "t.json")
    assert 'responses -> "200" -> body' in err.value.message
