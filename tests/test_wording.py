"""The partial-cover finding of the cluster's service CIDRs reads as a sentence (issue 16)."""

from translator.compiler.synth import convert
from translator.frontends.rules import parse
from translator.model.inventory import parse_inventory

INV = """\
cluster: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}
workloads:
  web: {namespace: ns, labels: {app: web}, addresses: [10.0.0.0/24]}
"""


def test_partial_cover_of_the_service_cidrs_is_a_sentence():
    rs = parse("default deny\n10 allow 10.96.0.0/16 -> 10.0.0.0/24 tcp/80\n", "r.fw")
    texts = [f.message for f in convert(rs, parse_inventory(INV, "inv.yaml")).findings if f.kind == "partial-cover"]
    assert texts == [
        "the src covers only part of the cluster's service IPs (serviceCIDRs); the allow does not apply to them"
    ]
    rs = parse("default deny\n10 allow 10.0.0.0/25 -> any tcp/80\n", "r.fw")
    (f,) = [f for f in convert(rs, parse_inventory(INV, "inv.yaml")).findings if f.kind == "partial-cover"]
    assert f.message == "the src covers only part of the addresses of workload ns/web; the allow does not apply to it"
