"""Every file of the public corpus either converts or fails with a precise, expected message."""

import pytest

from translator.compiler.synth import convert
from translator.errors import InputError
from translator.frontends import load
from translator.model.inventory import parse_inventory

from .conftest import CORPUS

# file -> (number of rulesets, number of rules) or the expected error message
EXPECTED = {
    "checkpoint/lab-validation_checkpoint_basic_fw_policy_show-access-rulebase.json": (1, 6),  # 5 and the cleanup
    "junos/batfish_srx-testbed_junos-srx-1.cfg": (1, 8),  # 7 policies and the default policy
    "junos/lab-validation_onug_fwl01_srx_display_set.txt": (1, 21),  # 20 policies and the default policy
    "capirca/policies/includes/untrusted-networks-blocking.inc": "term deny-from-bogons comes before any header",
    "capirca/policies/pol/sample_gce.pol": (2, 13),
    "capirca/policies/pol/sample_k8s.pol": (2, 10),
    "capirca/policies/pol/sample_multitarget.pol": (2, 9),  # with its #include; tcp-established skipped
    "capirca/policies/pol/sample_packetfilter.pol": (1, 6),
    "capirca/policies/pol/sample_srx.pol": (1, 4),
    "capirca/policies/pol/sample_stateful_multitarget_simple.pol": (6, 17),  # inet6 filters drop IPv4-only terms
    "aws-nacl/lab-validation_aws_demo_us-east-1_NetworkAcls.json": (12, 16),
    "aws-nacl/lab-validation_aws_demo_us-east-1_SecurityGroups.json": "security groups are stateful and unordered",
    "aws-nacl/lab-validation_aws_nlb_nacl_test_NetworkAcls.json": (26, 55),  # 2 allows split (replies)
    "azure-nsg/batfish_cloud-azure_VM1-nsg.json": (2, 9),
    "azure-nsg/batfish_cloud-azure_subnet-nsg.json": (2, 11),
    "cisco-asa/batfish_asa_acl.cfg": (4, 23),
    "cisco-asa/ciscoconfparse_sample_01.asa": (7, 24),
    "cisco-asa/flatAsaAcl_sample_config.txt": (5, 13),
    "cisco-ios/batfish_example_as2dept1.cfg": (4, 12),
    "cisco-ios/ciscoconfparse_sample_01.ios": "expected an IP address, got 'any'",
    "cisco-ios/ciscoconfparse_sample_08.ios": "expected an IP address, got 'any'",
    "csv/panco_Address_Service_Objects.csv": "looks like an object export, not a rule export",
    "csv/panco_Firewall_Security_Rule_Template.csv": (1, 1),
    "gcp/gcpdiag_fw-policy_compute-effective-firewalls.json": (2, 32),
    "gcp/gcpdiag_gke1_compute-effective-firewalls.json": (2, 109),
    "iptables/batfish_iptables-firewall_z2-firewall.v4": "no *filter table in this file (found: mangle)",
    "iptables/batfish_unit-tests_host1.iptables": "pass --host WORKLOAD",
    "iptables/tor-relay-bootstrap_rules.v4": "pass --host WORKLOAD",
    "iptables/ufw_before.rules": "jump to 'ufw-logging-deny': no such chain",
    "iptables/ustc-liimstrap_rules.v4": "pass --host WORKLOAD",
}
# formats fw2np does not read (yet): detection must name them, not guess
UNREAD = {
    "capirca/def/": "cannot tell the input format",
}
FILES = (
    sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    if CORPUS.is_dir()
    else []
)
INV = parse_inventory("namespaces:\n  corp: {}\n", "inv.yaml")


@pytest.mark.skipif(not FILES, reason="the corpus (../shared/corpus) is not present")
@pytest.mark.parametrize("rel", FILES)
def test_corpus_file(rel):
    path = str(CORPUS / rel)
    want = EXPECTED.get(rel)
    if want is None:
        want = next((msg for prefix, msg in UNREAD.items() if rel.startswith(prefix)), None)
        assert want, f"new corpus file {rel}: add its expected outcome"
    if isinstance(want, str):
        with pytest.raises(InputError) as err:
            load(path)
        assert want in err.value.message
        assert err.value.render().startswith(path)
        return
    rulesets = load(path)
    assert (len(rulesets), sum(len(rs.rules) for rs in rulesets)) == want
    for rs in rulesets:  # every ruleset compiles over a plain inventory
        result = convert(rs, INV)
        assert result.stats["rules"] == len(rs.rules)
