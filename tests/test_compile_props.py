"""Property tests: compiled policies decide every sampled flow as the ruleset does."""

from hypothesis import given, settings

from translator.compiler.synth import convert
from translator.evaluate import FirewallEvaluator, NetpolEvaluator

from .strategies import FLOW_SERVICES, endpoints, governed, load, scenarios


def check(scenario):
    rs, inv = load(scenario)
    result = convert(rs, inv)
    check_mode(scenario, rs, inv, result, pod_ips=False)
    if inv.pod_cidrs:
        check_mode(scenario, rs, inv, result, pod_ips=True)


def check_mode(scenario, rs, inv, result, pod_ips):
    np_eval = NetpolEvaluator(result.policies, inv.namespaces, pod_ips_match_ipblocks=pod_ips)
    secure = FirewallEvaluator(rs, inv, "secure")
    optimistic = FirewallEvaluator(rs, inv, "optimistic")
    inexpressible = [f for f in result.findings if f.kind == "inexpressible"]
    pods, ips = endpoints(inv, pod_ips)
    every = pods + ips
    for src in every:
        for dst in every:
            if not secure.in_reach(src, dst):
                if governed(src, inv) or governed(dst, inv):
                    # the ruleset does not govern this flow: nothing may restrict it
                    assert all(np_eval.allows(src, dst, p, q) for p, q in FLOW_SERVICES), (src, dst, scenario)
                continue
            for proto, port in FLOW_SERVICES:
                want, rule = secure.decide(src, dst, proto, port)
                got = np_eval.allows(src, dst, proto, port)
                if proto not in (6, 17, 132) and want and not got:
                    # NetworkPolicy cannot say other protocols beside ports: left denied, and reported
                    assert inexpressible, f"{src} -> {dst} proto {proto} denied without a report"
                    continue
                assert got == want, (
                    f"{src} -> {dst} {proto}/{port}: policies {'allow' if got else 'deny'}, ruleset "
                    f"{'allows' if want else 'denies'} (rule {rule.id if rule else 'default'})\n"
                    f"{scenario[0]}\n{scenario[1]}"
                )
                if want:
                    assert optimistic.decide(src, dst, proto, port)[0], "approximations must only deny"


@settings(max_examples=60)
@given(scenarios())
def test_compiled_policies_match_the_ruleset(scenario):
    check(scenario)
