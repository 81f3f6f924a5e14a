"""reverse at scale: what its memos and per-class answers decide is what the rule-by-rule reading decides
(same text, same notes in the same order), and a table's columns stay narrow beside a huge cell."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from translator.model.space import EMPTY
from translator.reverse import table as table_mod
from translator.reverse.formats import MAX_WIDTH, render_table
from translator.reverse.match import peer_match, peer_matches, pod_classes
from translator.reverse.picks import Picks
from translator.reverse.rules import reverse_rules
from translator.reverse.table import build_table

from .test_reverse import CINV, PEERS, PINV, PORTS, TARGETS

# peers picking part of a class, by expression, and named ports: the cases with notes
MORE_PEERS = PEERS + [
    {"podSelector": {"matchLabels": {"tier": "x"}}},
    {"podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}},
    {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}},
    {"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}},
    {
        "namespaceSelector": {
            "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["admin"]}]
        },
        "podSelector": {"matchLabels": {"app": "api"}},
    },
]
MORE_PORTS = PORTS + [[{"port": "http"}], [{"protocol": "UDP", "port": "dns"}, {"port": 22}]]


@st.composite
def policy_sets(draw):
    pols = []
    for i in range(draw(st.integers(1, 5))):
        ns, sel = draw(st.sampled_from(TARGETS + [("staging", {"matchLabels": {"tier": "x"}})]))
        spec = {"podSelector": sel}
        for key, peer_key in (("ingress", "from"), ("egress", "to")):
            if draw(st.booleans()):
                rules = []
                for _ in range(draw(st.integers(0, 3))):
                    rule = {}
                    if draw(st.booleans()):
                        rule[peer_key] = draw(st.lists(st.sampled_from(MORE_PEERS), min_size=1, max_size=3))
                    if draw(st.booleans()):
                        rule["ports"] = draw(st.sampled_from(MORE_PORTS))
                    rules.append(rule)
                spec[key] = rules
        if not ({"ingress", "egress"} & set(spec)):
            spec["policyTypes"] = draw(st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
        meta = {"name": f"p{i}", "namespace": ns}
        pols.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec})
    return pols


def test_peer_matches_is_peer_match_for_every_class():
    for inv in (PINV, CINV):
        classes = pod_classes(inv)
        for peer in MORE_PEERS:
            for ns in ("staging", "admin", "elsewhere"):
                want = {k: m for k in classes if (m := peer_match(peer, ns, k, inv)) != "none"}
                assert peer_matches(peer, ns, classes, inv) == want


@settings(max_examples=60, deadline=None)
@given(policy_sets(), st.sampled_from([PINV, CINV]))
def test_rules_from_the_per_class_answers_are_the_rule_by_rule_rules(pols, inv):
    fast = reverse_rules(pols, inv)
    real = Picks.services
    Picks.services = lambda self, p, d, svc_of: (EMPTY, {}, None)  # every pair decided rule by rule
    try:
        slow = reverse_rules(pols, inv)
    finally:
        Picks.services = real
    assert fast == slow


@settings(max_examples=40, deadline=None)
@given(policy_sets(), st.sampled_from([PINV, CINV]))
def test_table_peer_names_remembered_are_the_names_found_each_time(pols, inv):
    fast = [r.cells() for r in build_table(pols, inv).rows]
    real = table_mod._Namer.peer
    table_mod._Namer.peer = table_mod._Namer._name  # every peer named afresh
    try:
        slow = [r.cells() for r in build_table(pols, inv).rows]
    finally:
        table_mod._Namer.peer = real
    assert fast == slow


def _policy(name: str, peers: list[dict]) -> dict:
    spec = {"podSelector": {"matchLabels": {"app": name}}, "ingress": [{"from": peers, "ports": [{"port": 80}]}]}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name}, "spec": spec}


def test_a_huge_cell_does_not_widen_every_row():
    wide = [{"ipBlock": {"cidr": f"198.{i // 256}.{i % 256}.0/24"}} for i in range(400)]
    pols = [_policy("big", wide)] + [_policy(f"w{i}", [{"ipBlock": {"cidr": "10.0.0.0/8"}}]) for i in range(200)]
    text = render_table(build_table(pols), "table")
    lines = text.splitlines()
    big = max(len(ln) for ln in lines)
    assert big > 400 * 14  # the huge cell is shown whole
    rows = [ln for ln in lines if "10.0.0.0/8" in ln]
    assert len(rows) == 200 and all(len(ln) < 5 * MAX_WIDTH + 40 for ln in rows)
    starts = {ln.index("10.0.0.0/8") for ln in rows}
    assert len(starts) == 1  # still aligned
    # every line but the big one is at most the capped widths long (padding to BIG would be ~7 MB)
    assert len(text) < 2 * big + len(lines) * (5 * MAX_WIDTH + 60) < len(lines) * big / 10
