"""NetworkPolicy evaluator against the Kubernetes documentation's examples and traps."""

import pytest
import yaml

from translator.evaluate import Ip, NetpolEvaluator, Pod

TCP, UDP, SCTP, ICMP, ICMPV6, GRE = 6, 17, 132, 1, 58, 47


def ev(text, ns_labels=None, **kw):
    return NetpolEvaluator([d for d in yaml.safe_load_all(text) if d], ns_labels, **kw)


def pod(ns, ports=None, ip=None, **labels):
    return Pod.of(ns, labels, ports=ports, ip=ip)


WEB = pod("default", app="web")
OTHER = pod("default", app="other")
PROD = pod("prod", app="web")
OUT = Ip("8.8.8.8")


def test_no_policy_allows_everything():
    e = ev("")
    assert e.allows(WEB, OTHER, TCP, 80)
    assert e.allows(OUT, WEB, UDP, 53)
    assert e.allows(WEB, OUT, ICMP, 8)


def test_ip_to_ip_is_out_of_reach():
    e = ev("""
kind: NetworkPolicy
metadata: {name: deny, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
""")
    assert e.allows(Ip("10.0.0.1"), Ip("10.0.0.2"), TCP, 22)
    assert e.explain(Ip("10.0.0.1"), Ip("10.0.0.2"), TCP, 22) == {
        "allowed": True,
        "egress": {"applies": False},
        "ingress": {"applies": False},
    }


DENY_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""


def test_default_deny_ingress():
    e = ev(DENY_INGRESS)
    assert not e.allows(OTHER, WEB, TCP, 80)
    assert not e.allows(OUT, WEB, TCP, 80)
    assert not e.allows(PROD, WEB, TCP, 80)
    assert e.allows(WEB, OUT, TCP, 443)  # egress not isolated
    assert e.allows(WEB, PROD, TCP, 80)  # prod is not covered
    assert not e.ingress_allows(OUT, WEB, TCP, 80)
    assert e.egress_allows(WEB, OUT, TCP, 80)


def test_policy_only_selects_its_own_namespace():
    e = ev(DENY_INGRESS.replace("namespace: default", "namespace: prod"))
    assert e.allows(OUT, WEB, TCP, 80)
    assert not e.allows(OUT, PROD, TCP, 80)


def test_missing_namespace_means_default():
    e = ev("""
kind: NetworkPolicy
metadata: {name: x}
spec: {podSelector: {}, policyTypes: [Ingress]}
""")
    assert not e.allows(OUT, WEB, TCP, 80)
    assert e.allows(OUT, PROD, TCP, 80)


def test_allow_all_ingress_with_empty_rule():
    e = ev(
        DENY_INGRESS
        + """---
kind: NetworkPolicy
metadata: {name: allow-all-ingress, namespace: default}
spec:
  podSelector: {}
  ingress:
  - {}
  policyTypes: [Ingress]
"""
    )
    assert e.allows(OUT, WEB, ICMP, 8)
    assert e.allows(PROD, WEB, TCP, 80)
    x = e.explain(OUT, WEB, TCP, 80)
    assert x["allowed"] and x["ingress"]["by"] == [("default/allow-all-ingress", 0)]
    assert x["ingress"]["policies"] == ["default/default-deny-ingress", "default/allow-all-ingress"]


def test_default_deny_egress_and_both():
    e = ev("""
kind: NetworkPolicy
metadata: {name: default-deny-egress, namespace: default}
spec: {podSelector: {}, policyTypes: [Egress]}
""")
    assert not e.allows(WEB, OUT, UDP, 53)
    assert not e.allows(WEB, PROD, TCP, 80)
    assert e.allows(OUT, WEB, TCP, 80)  # ingress untouched
    assert e.allows(PROD, WEB, TCP, 80)
    both = ev("""
kind: NetworkPolicy
metadata: {name: default-deny-all, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
""")
    assert not both.allows(WEB, OUT, TCP, 80) and not both.allows(OUT, WEB, TCP, 80)
    x = both.explain(WEB, OTHER, TCP, 80)
    assert not x["allowed"] and x["egress"]["isolated"] and not x["egress"]["allowed"]
    assert "default/default-deny-all" in x["egress"]["reason"]


def test_policy_types_inference():
    # no policyTypes, an egress rule: Ingress and Egress
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8}}]
""")
    assert not e.allows(OUT, WEB, TCP, 80)  # Ingress inferred, no ingress rules
    assert e.allows(WEB, Ip("10.1.2.3"), TCP, 80)
    assert not e.allows(WEB, OUT, TCP, 80)  # Egress inferred
    # no policyTypes, no egress: Ingress only
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec: {podSelector: {matchLabels: {app: web}}}
""")
    assert not e.allows(OUT, WEB, TCP, 80) and e.allows(WEB, OUT, TCP, 80)
    # Kubernetes infers Egress only when there are egress rules (len(egress) != 0)
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec: {podSelector: {matchLabels: {app: web}}, egress: []}
""")
    assert e.allows(WEB, OUT, TCP, 80) and not e.allows(OUT, WEB, TCP, 80)
    # explicit Egress only: ingress untouched
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], ingress: []}
""")
    assert e.allows(OUT, WEB, TCP, 80) and not e.allows(WEB, OUT, TCP, 80)


def test_empty_ingress_list_isolates_with_nothing_allowed_and_missing_spec():
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec: {podSelector: {matchLabels: {app: web}}, ingress: []}
""")
    assert not e.allows(OTHER, WEB, TCP, 80)
    assert e.allows(WEB, OTHER, TCP, 80)
    # a policy without spec: empty podSelector, Ingress: isolates every pod of its namespace
    e = ev("kind: NetworkPolicy\nmetadata: {name: p, namespace: default}\n")
    assert not e.allows(OUT, OTHER, TCP, 80) and e.allows(OUT, PROD, TCP, 80)


def test_from_empty_or_missing_matches_every_endpoint():
    for peers in ("from: []", "ports: [{port: 80}]"):
        e = ev(f"""
kind: NetworkPolicy
metadata: {{name: p, namespace: default}}
spec:
  podSelector: {{}}
  ingress:
  - {peers}
""")
        assert e.allows(OUT, WEB, TCP, 80)
        assert e.allows(PROD, WEB, TCP, 80)
        assert e.allows(Ip("2001:db8::1"), WEB, TCP, 80)
    assert not e.allows(OUT, WEB, TCP, 81)


# The main example of https://kubernetes.io/docs/concepts/services-networking/network-policies/
DOCS_EXAMPLE = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    - namespaceSelector:
        matchLabels:
          project: myproject
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - protocol: TCP
      port: 6379
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 5978
"""


def test_docs_example():
    e = ev(DOCS_EXAMPLE, {"myproject-ns": {"project": "myproject"}})
    db = pod("default", role="db")
    front = pod("default", role="frontend")
    assert e.allows(Ip("172.17.0.5"), db, TCP, 6379)
    assert not e.allows(Ip("172.17.1.5"), db, TCP, 6379)  # except
    assert not e.allows(Ip("172.18.0.5"), db, TCP, 6379)
    assert not e.allows(Ip("172.17.0.5"), db, TCP, 6380)
    assert not e.allows(Ip("172.17.0.5"), db, UDP, 6379)
    assert e.allows(front, db, TCP, 6379)
    assert not e.allows(pod("other", role="frontend"), db, TCP, 6379)  # podSelector: own namespace only
    assert e.allows(pod("myproject-ns", anything="x"), db, TCP, 6379)
    assert not e.allows(pod("default", role="backend"), db, TCP, 6379)
    assert e.allows(db, Ip("10.0.0.7"), TCP, 5978)
    assert not e.allows(db, Ip("10.0.1.7"), TCP, 5978)
    assert not e.allows(db, front, TCP, 5978)  # ipBlock never matches pods
    assert not e.allows(db, Ip("10.0.0.7"), TCP, 5979)
    assert e.allows(front, pod("other", role="x"), TCP, 1)  # frontend not selected
    x = e.explain(front, db, TCP, 6379)
    assert x["egress"]["isolated"] is False and x["ingress"]["by"] == [("default/test-network-policy", 0)]


def test_pod_ips_match_ipblocks_mode():
    text = """
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.9.0/24]}}]
"""
    src_in, src_ex = pod("prod", ip="10.244.1.2", app="a"), pod("prod", ip="10.244.9.2", app="a")
    assert not ev(text).allows(src_in, WEB, TCP, 80)
    b = ev(text, pod_ips_match_ipblocks=True)
    assert b.allows(src_in, WEB, TCP, 80)
    assert not b.allows(src_ex, WEB, TCP, 80)
    assert not b.allows(pod("prod", app="a"), WEB, TCP, 80)  # no IP known


def test_namespace_isolation_and_metadata_name_label():
    e = ev(
        """
kind: NetworkPolicy
metadata: {name: same-ns, namespace: default}
spec:
  podSelector: {}
  ingress:
  - from: [{podSelector: {}}]
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
""",
        {"monitoring": {"team": "ops"}, "prod": {"kubernetes.io/metadata.name": "forged"}},
    )
    assert e.allows(OTHER, WEB, TCP, 80)
    assert not e.allows(PROD, WEB, TCP, 80)
    assert e.allows(pod("monitoring", app="prom"), WEB, TCP, 9090)
    assert not e.allows(OUT, WEB, TCP, 80)
    # the automatic label wins over a listed one
    e2 = ev(
        """
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: forged}}}]}]
""",
        {"prod": {"kubernetes.io/metadata.name": "forged"}},
    )
    assert not e2.allows(PROD, WEB, TCP, 80)


def test_empty_namespace_selector_means_all_namespaces():
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {}}]}]
""")
    assert e.allows(PROD, WEB, TCP, 80) and e.allows(OTHER, WEB, TCP, 80)
    assert not e.allows(OUT, WEB, TCP, 80)


AND_OR = """
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {user: alice}}
    %spodSelector: {matchLabels: {role: client}}
"""


def test_and_versus_or_peers():
    labels = {"alice-ns": {"user": "alice"}}
    and_ = ev(AND_OR % "  ", labels)
    or_ = ev(AND_OR % "- ", labels)
    alice_client, alice_other = pod("alice-ns", role="client"), pod("alice-ns", role="server")
    local_client = pod("default", role="client")
    assert and_.allows(alice_client, WEB, TCP, 80)
    assert not and_.allows(alice_other, WEB, TCP, 80)
    assert not and_.allows(local_client, WEB, TCP, 80)
    assert or_.allows(alice_client, WEB, TCP, 80)
    assert or_.allows(alice_other, WEB, TCP, 80)
    assert or_.allows(local_client, WEB, TCP, 80)
    assert not or_.allows(pod("prod", role="client"), WEB, TCP, 80)


def test_match_expressions_and_not_in_without_key():
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector:
    matchExpressions:
    - {key: tier, operator: NotIn, values: [public]}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector:
        matchExpressions:
        - {key: env, operator: In, values: [prod, staging]}
        - {key: debug, operator: DoesNotExist}
        - {key: team, operator: Exists}
""")
    public = pod("default", tier="public")
    nokey = pod("default", app="x")  # NotIn selects pods without the key
    private = pod("default", tier="private")
    good = pod("prod", env="prod", team="a")
    local_good = pod("default", env="staging", team="a")
    assert e.allows(OUT, public, TCP, 80)
    assert not e.allows(OUT, nokey, TCP, 80)
    assert not e.allows(OUT, private, TCP, 80)
    assert e.allows(local_good, nokey, TCP, 80)
    assert not e.allows(good, nokey, TCP, 80)  # other namespace
    assert not e.allows(pod("default", env="dev", team="a"), nokey, TCP, 80)
    assert not e.allows(pod("default", env="prod", team="a", debug="1"), nokey, TCP, 80)
    assert not e.allows(pod("default", env="prod"), nokey, TCP, 80)


def test_named_ports_resolve_on_destination_pod():
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
  - ports: [{port: http}, {port: dns, protocol: UDP, endPort: 9999}]
  egress:
  - ports: [{port: metrics}]
""")
    web = pod("default", ports={"http": 8080, "dns": ("UDP", 53)}, app="web")
    plain = pod("default", app="plain")
    target = pod("prod", ports=[("metrics", "TCP", 9100)], app="t")
    assert e.allows(OUT, web, TCP, 8080)
    assert not e.allows(OUT, web, TCP, 80)
    assert not e.allows(OUT, web, UDP, 8080)  # http is TCP
    assert e.allows(OUT, web, UDP, 53)
    assert not e.allows(OUT, web, UDP, 54)  # endPort ignored with a named port
    assert not e.allows(OUT, plain, TCP, 8080)
    assert e.allows(web, target, TCP, 9100)  # egress: the destination's port
    assert not e.allows(web, Ip("10.0.0.1"), TCP, 9100)  # never matches IPs
    assert not e.allows(target, web, TCP, 9100)  # resolved on web: no metrics port
    tcp_dns = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec: {podSelector: {}, ingress: [{ports: [{port: dns}]}]}
""")
    assert not tcp_dns.allows(OUT, web, TCP, 53)  # web's dns port is UDP, the entry TCP
    assert not tcp_dns.allows(OUT, web, UDP, 53)
    assert tcp_dns.allows(OUT, pod("default", ports={"dns": 53}, app="d"), TCP, 53)


def test_end_port_and_protocol_default():
    e = ev("""
kind: NetworkPolicy
metadata: {name: multi-port-egress, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/24}}]
    ports:
    - protocol: TCP
      port: 32000
      endPort: 32768
    - port: 53
""")
    db, dst = pod("default", role="db"), Ip("10.0.0.9")
    for p in (32000, 32500, 32768):
        assert e.allows(db, dst, TCP, p)
    for p in (31999, 32769):
        assert not e.allows(db, dst, TCP, p)
    assert not e.allows(db, dst, UDP, 32000)
    assert e.allows(db, dst, TCP, 53) and not e.allows(db, dst, UDP, 53)  # default TCP


def test_protocol_without_port_and_sctp():
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {}
  ingress:
  - ports: [{protocol: UDP}, {protocol: SCTP, port: 3868}]
""")
    assert e.allows(OUT, WEB, UDP, 1) and e.allows(OUT, WEB, UDP, 65535)
    assert e.allows(OUT, WEB, SCTP, 3868)
    assert not e.allows(OUT, WEB, SCTP, 3869)
    assert not e.allows(OUT, WEB, TCP, 3868)


def test_icmp_and_other_protocols_only_match_rules_without_ports():
    with_ports = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {}
  ingress: [{ports: [{protocol: TCP}, {protocol: UDP}, {protocol: SCTP}]}]
""")
    assert not with_ports.allows(OUT, WEB, ICMP, 8)
    assert not with_ports.allows(OUT, WEB, ICMPV6, 128)
    assert not with_ports.allows(OUT, WEB, GRE, 0)
    assert with_ports.allows(OUT, WEB, TCP, 22)
    without = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]
""")
    assert without.allows(OUT, WEB, ICMP, 8)
    assert without.allows(OUT, WEB, GRE, 0)
    assert not without.allows(Ip("2001:db8::1"), WEB, ICMPV6, 128)  # IPv6 not in 0.0.0.0/0


def test_ipv6_ip_blocks():
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: "2001:db8::/32", except: ["2001:db8:1::/48"]}}]}]
""")
    assert e.allows(WEB, Ip("2001:db8::5"), TCP, 443)
    assert not e.allows(WEB, Ip("2001:db8:1::5"), TCP, 443)
    assert not e.allows(WEB, Ip("32.1.13.184"), TCP, 443)


def test_policies_of_one_pod_are_ored_and_both_sides_needed():
    e = ev("""
kind: NetworkPolicy
metadata: {name: a, namespace: default}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: 80}]}]
---
kind: NetworkPolicy
metadata: {name: b, namespace: default}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 443}]}]
---
kind: NetworkPolicy
metadata: {name: c, namespace: default}
spec:
  podSelector: {matchLabels: {app: other}}
  policyTypes: [Egress]
  egress: [{ports: [{port: 443}]}]
""")
    assert e.allows(OUT, WEB, TCP, 80) and e.allows(OUT, WEB, TCP, 443)
    assert not e.allows(OUT, WEB, TCP, 22)
    assert not e.allows(OUT, OTHER, TCP, 80) and e.allows(OUT, OTHER, TCP, 443)
    assert not e.allows(OTHER, WEB, TCP, 80)  # OTHER's egress only 443
    assert e.allows(OTHER, WEB, TCP, 443)
    x = e.explain(OTHER, WEB, TCP, 80)
    assert x["egress"]["allowed"] is False and x["ingress"]["allowed"] is True
    assert x["ingress"]["by"] == [("default/a", 0)]


def test_kind_list_is_flattened():
    e = NetpolEvaluator([{"kind": "List", "items": [yaml.safe_load(DENY_INGRESS)]}])
    assert not e.allows(OUT, WEB, TCP, 80)


def test_bad_operator_is_an_error():
    e = ev("""
kind: NetworkPolicy
metadata: {name: p, namespace: default}
spec:
  podSelector: {matchExpressions: [{key: a, operator: Like}]}
""")
    with pytest.raises(ValueError):
        e.allows(OUT, WEB, TCP, 80)
