"""The inventory: parsing, and clear errors with the YAML line."""

import pytest

from translator.errors import InputError
from translator.model.inventory import NAME_LABEL, parse_inventory

GOOD = """\
cluster:
  podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]
namespaces:
  shop: {labels: {env: prod}}
workloads:
  web:
    namespace: shop
    labels: {app: web}
    addresses: [10.1.0.0/24, 10.1.1.5-10.1.1.9, web-objects]
    ports: {http: 8080, dns: udp/53}
  db:
    namespace: data
    labels: {app: db}
    addresses: 10.2.0.10
"""


def test_parses_everything():
    inv = parse_inventory(GOOD, "inv.yaml")
    assert inv.pod_cidrs == ["10.244.0.0/16", "fd00:10:244::/56"]
    assert set(inv.namespaces) == {"shop", "data"}
    assert inv.namespace_labels("shop") == {"env": "prod", NAME_LABEL: "shop"}
    web = inv.workloads["web"]
    assert web.labels == {"app": "web"} and web.addresses[-1] == "web-objects"
    assert web.ports == {"http": ("TCP", 8080), "dns": ("UDP", 53)}
    assert inv.workloads["db"].addresses == ["10.2.0.10"]
    assert web.loc.line == 6


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("workloads:\n  w: {namespace: Bad_NS, labels: {app: w}}\n", 2, "DNS-1123"),
        ("workloads:\n  w: {namespace: ns, labels: {}}\n", 2, "at least one pod label"),
        ("workloads:\n  w:\n    namespace: ns\n    labels: {app: 'bad value!'}\n", 4, "label value"),
        ("workloads:\n  w:\n    namespace: ns\n    labels: {'-x': a}\n", 4, "label key"),
        ("workloads:\n  w:\n    namespace: ns\n    labels: {app: 5}\n", 4, "must be a string"),
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, colour: red}\n", 2, "unknown workload field 'colour'"),
        ("namespaces:\n  ns: {}\nthings: 1\n", 3, "unknown inventory section"),
        (
            "workloads:\n  a: {namespace: ns, labels: {app: x}}\n  b: {namespace: ns, labels: {app: x, tier: y}}\n",
            3,
            "overlap",
        ),
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {http: 70000}}\n", 2, "port 'http'"),
        ("cluster:\n  podCIDRs: [10.0.0.0/33]\n", 2, "not a valid CIDR"),
        ("workloads:\n  w: {namespace: ns\n", 3, "invalid YAML"),
        (
            "workloads:\n  w: {namespace: ns, labels: {app: w}}\n  w: {namespace: ns, labels: {app: v}}\n",
            3,
            "duplicate key",
        ),
    ],
)
def test_errors_name_the_yaml_line(text, line, words):
    with pytest.raises(InputError) as err:
        parse_inventory(text, "inv.yaml")
    assert err.value.loc.file == "inv.yaml"
    assert err.value.loc.line == line, err.value.render()
    assert words in err.value.message


def test_workloads_in_other_namespaces_may_share_labels():
    inv = parse_inventory("workloads:\n  a: {namespace: x, labels: {app: w}}\n  b: {namespace: y, labels: {app: w}}\n")
    assert len(inv.workloads) == 2


def test_yaml_tags_cannot_run_code():
    with pytest.raises(InputError):
        parse_inventory("workloads: !!python/object/apply:os.system ['echo hi']\n", "evil.yaml")


def test_application_security_groups():
    inv = parse_inventory(
        "workloads:\n"
        "  web: {namespace: ns, labels: {app: web}, addresses: [10.0.0.4],\n"
        "        applicationSecurityGroups: [webServersAsg]}\n"
        "  api: {namespace: ns, labels: {app: api}, applicationSecurityGroups: api-asg_1}\n"
        "  db: {namespace: ns, labels: {app: db}}\n",
        "inv.yaml",
    )
    assert inv.workloads["web"].application_security_groups == ["webServersAsg"]
    assert inv.workloads["api"].application_security_groups == ["api-asg_1"]  # one name as a string
    assert inv.workloads["db"].application_security_groups == []


@pytest.mark.parametrize(
    "value, words",
    [
        ("{a: b}", "must be a list of Azure ASG names"),
        ("[5]", "5 is not an application security group name"),
        ("['-web']", "'-web' is not an application security group name"),
        ("['a/b']", "is not an application security group name"),
        ("[web, WEB]", "lists 'WEB' twice"),
    ],
)
def test_application_security_group_errors(value, words):
    text = f"workloads:\n  w:\n    namespace: ns\n    labels: {{app: w}}\n    applicationSecurityGroups: {value}\n"
    with pytest.raises(InputError) as err:
        parse_inventory(text, "inv.yaml")
    assert err.value.loc.line == 5, err.value.render()
    assert words in err.value.message
