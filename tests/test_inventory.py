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


# --- issue 22: names, labels and ports exactly as the API server takes them --------------------


@pytest.mark.parametrize(
    "text, line, words",
    [
        # a `$` anchor matches before a final newline: "staging\n" was a namespace (and a file name)
        ('namespaces:\n  "staging\\n": {}\n', 2, "namespace name 'staging\\n'"),
        ('workloads:\n  w: {namespace: "staging\\n", labels: {app: w}}\n', 2, "namespace must be a valid DNS-1123"),
        ('workloads:\n  w:\n    namespace: ns\n    labels: {"app\\n": w}\n', 4, "label key"),
        ('workloads:\n  w:\n    namespace: ns\n    labels: {app: "w\\n"}\n', 4, "label value"),
        ('workloads:\n  w:\n    namespace: ns\n    labels: {"ex.com\\n/app": w}\n', 4, "prefix"),
        ('namespaces:\n  ns: {labels: {team: "a\\n"}}\n', 2, "label value"),
        ('workloads:\n  "w\\n": {namespace: ns, labels: {app: w}}\n', 2, "printable"),
        ('workloads:\n  "w\\x1b[2J": {namespace: ns, labels: {app: w}}\n', 2, "printable"),
        ("namespaces:\n  " + "a" * 64 + ": {}\n", 2, "DNS-1123 label"),
        ("workloads:\n  w:\n    namespace: ns\n    labels: {" + "a" * 64 + ": w}\n", 4, "label key"),
        ("workloads:\n  w:\n    namespace: ns\n    labels: {" + "a" * 254 + "/app: w}\n", 4, "prefix"),
        ("workloads:\n  w:\n    namespace: ns\n    labels: {app: " + "v" * 64 + "}\n", 4, "label value"),
        # a superscript digit: '²'.isdigit() holds, int('²') raises
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {http: tcp/²}}\n", 2, "port 'http'"),
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {http: '٨٠'}}\n", 2, "port 'http'"),
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {http: ſctp/80}}\n", 2, "port 'http'"),
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {http: true}}\n", 2, "port 'http'"),
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {http: 8.5}}\n", 2, "port 'http'"),
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {http: " + "9" * 40 + "}}\n", 2, "port 'http'"),
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {'http\\n': 80}}\n", 2, "IANA service name"),
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {HTTP: 80}}\n", 2, "IANA service name"),
        ("workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {8080: 80}}\n", 2, "IANA service name"),
        ("workloads:\n  w:\n    namespace: ns\n    ports:\n      http: " + "9" * 5000 + "\n", 5, "too long"),
    ],
)
def test_names_labels_and_ports_are_checked_as_the_api_server_does(text, line, words):
    with pytest.raises(InputError) as err:
        parse_inventory(text, "inv.yaml")
    assert err.value.loc.line == line, err.value.render()
    assert words in err.value.message, err.value.message


def test_valid_edge_names_are_kept():
    inv = parse_inventory(
        "namespaces:\n  " + "a" * 63 + ": {labels: {example.com/team: A_b.c-9, empty: ''}}\n"
        "workloads:\n  w: {namespace: ns, labels: {app: w}, ports: {web-alt: sctp/65535, h2: '8443'}}\n",
        "inv.yaml",
    )
    assert inv.namespaces["a" * 63] == {"example.com/team": "A_b.c-9", "empty": ""}
    assert inv.workloads["w"].ports == {"web-alt": ("SCTP", 65535), "h2": ("TCP", 8443)}


def test_convert_to_a_directory_writes_no_file_for_a_namespace_with_a_newline(tmp_path):
    from click.testing import CliRunner

    from translator.cli.main import cli

    (tmp_path / "r.fw").write_text("ruleset r\nallow any -> any any\n")
    (tmp_path / "inv.yaml").write_text('namespaces:\n  "staging\\n": {}\n')
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["convert", str(tmp_path / "r.fw"), "-i", str(tmp_path / "inv.yaml"), "-d", str(out)])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert "namespace name 'staging\\n'" in res.output
    assert not out.exists() or not any(out.iterdir())
