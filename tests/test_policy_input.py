"""Malformed NetworkPolicy manifests: a clear error with a location, never a crash."""

import pytest

from translator.errors import InputError
from translator.model.policies import load_policy_text


@pytest.mark.parametrize("kind", ["\n  name: x", " [NetworkPolicy]", " 7"])
def test_a_kind_that_is_not_a_string_is_an_input_error(kind):
    text = f"apiVersion: networking.k8s.io/v1\nkind:{kind}\nspec: {{}}\n"
    with pytest.raises(InputError) as err:
        load_policy_text(text, "p.yaml")
    assert "kind must be a string" in err.value.message and err.value.loc.line == 2


@pytest.mark.parametrize("api", [" []", " {a: 1}", "\n  - networking.k8s.io/v1"])
@pytest.mark.parametrize("kinds", [frozenset(), frozenset({("projectcalico.org/v3", "NetworkPolicy")})])
def test_an_api_version_that_is_not_a_string_is_an_input_error(api, kinds):
    """Issue 22: (apiVersion, kind) looked up in the ordered targets' kinds raised TypeError (unhashable) for
    a list or a mapping: an internal error in verify, explain and reverse."""
    text = f"kind: NetworkPolicy\napiVersion:{api}\nmetadata: {{name: p, namespace: n}}\nspec: {{}}\n"
    with pytest.raises(InputError) as err:
        load_policy_text(text, "p.yaml", kinds)
    assert "apiVersion must be a string" in err.value.message and err.value.loc.line == 2


def test_other_kinds_are_skipped_and_lists_are_read():
    text = (
        "kind: ConfigMap\n---\nkind: NetworkPolicyList\nitems:\n- apiVersion: networking.k8s.io/v1\n"
        "  kind: NetworkPolicy\n  metadata: {name: a, namespace: n}\n  spec: {podSelector: {}}\n"
    )
    assert [p["metadata"]["name"] for p in load_policy_text(text, "p.yaml")] == ["a"]


# --- issue 22: every field checked before use, with its path and place ----------------------------

HEAD = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n"


def policy(spec: str) -> str:
    """A policy whose spec is SPEC (its lines start at line 5)."""
    return HEAD + "".join(f"  {ln}\n" for ln in spec.splitlines())


BAD_SPECS = [
    ("podSelector: 7", "spec.podSelector", 5, "must be a mapping"),
    ("podSelector: {matchLabels: [a, b]}", "spec.podSelector.matchLabels", 5, "must be a mapping"),
    ("podSelector: {matchExpressions: app}", "spec.podSelector.matchExpressions", 5, "must be a list"),
    ("podSelector: {matchLabels: {app: 1}}", "spec.podSelector.matchLabels.app", 5, "must be a string"),
    ('podSelector: {matchLabels: {app: "a\\n"}}', "spec.podSelector.matchLabels.app", 5, "label value"),
    ('podSelector: {matchLabels: {"app\\n": a}}', "spec.podSelector.matchLabels", 5, "label key"),
    ("podSelector: {matchLabels: {app: [a]}}", "spec.podSelector.matchLabels.app", 5, "must be a string"),
    ("podSelector: {matchExpressions: [{key: app, operator: Has}]}", "matchExpressions[0].operator", 5, "one of In"),
    ("podSelector: {matchExpressions: [{key: app, operator: 3}]}", "matchExpressions[0].operator", 5, "one of In"),
    ("podSelector: {matchExpressions: [{operator: Exists}]}", "matchExpressions[0]", 5, "needs a key"),
    ("podSelector: {matchExpressions: [{key: a, operator: In}]}", "matchExpressions[0].values", 5, "non-empty"),
    ("podSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}", "[0].values", 5, "no values"),
    ("podSelector: {matchExpressions: [{key: a, operator: In, values: x}]}", "[0].values", 5, "must be a list"),
    ("podSelector: {matchExpressions: [{key: a, operator: In, values: [1.5]}]}", "values[0]", 5, "must be a str"),
    ("podSelector: {matchExpressions: [7]}", "spec.podSelector.matchExpressions[0]", 5, "must be a mapping"),
    ("podSelector: {matchLabel: {a: b}}", "spec.podSelector.matchLabel", 5, "unknown field"),
    ("ingres: []", "spec.ingres", 5, "unknown field"),
    ("ingress: {from: []}", "spec.ingress", 5, "must be a list"),
    ("ingress: [5]", "spec.ingress[0]", 5, "must be a mapping"),
    ("ingress:\n- from: 5", "spec.ingress[0].from", 6, "must be a list"),
    ("ingress:\n- from: [{}]", "spec.ingress[0].from[0]", 6, "must set podSelector"),
    ("ingress:\n- from:\n  - podSelector: {}\n  - ipBlock: 10.0.0.0/8", "from[1].ipBlock", 8, "must be a mapping"),
    ("ingress:\n- from:\n  - podSelector: {}\n  - ipBlock: {cidr: 10.0.0.0/33}", "from[1].ipBlock.cidr", 8, "CIDR"),
    ("ingress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0}", "spec.ingress[0].from[0].ipBlock.cidr", 7, "CIDR"),
    ("ingress:\n- from:\n  - ipBlock: {cidr: 10}", "spec.ingress[0].from[0].ipBlock.cidr", 7, "CIDR"),
    ("ingress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/²}", "spec.ingress[0].from[0].ipBlock.cidr", 7, "CIDR"),
    ("ingress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8, except: 10.1.0.0/16}", "ipBlock.except", 7, "a list"),
    ("ingress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}", "except[0]", 7, "strict subset"),
    ("ingress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}", "except[0]", 7, "strict subset"),
    ("ingress:\n- from:\n  - ipBlock: {except: [10.0.0.0/8]}", "ipBlock.cidr", 7, "needs a cidr"),
    ("ingress:\n- from:\n  - ipBlock: {cidr: 0.0.0.0/0}\n    podSelector: {}", "from[0].ipBlock", 7, "cannot also"),
    ("egress:\n- to: [{namespaceSelector: 1}]", "spec.egress[0].to[0].namespaceSelector", 6, "must be a mapping"),
    ("egress:\n- from: []", "spec.egress[0].from", 6, "unknown field (expected to, ports)"),
    ("egress:\n- ports: {port: 80}", "spec.egress[0].ports", 6, "must be a list"),
    ("egress:\n- ports: [80]", "spec.egress[0].ports[0]", 6, "must be a mapping"),
    ("egress:\n- ports: [{port: 0}]", "spec.egress[0].ports[0].port", 6, "1-65535"),
    ("egress:\n- ports: [{port: 65536}]", "spec.egress[0].ports[0].port", 6, "1-65535"),
    ("egress:\n- ports: [{port: 99999999999999999999999999999}]", "ports[0].port", 6, "1-65535"),
    ("egress:\n- ports: [{port: 80.0}]", "spec.egress[0].ports[0].port", 6, "1-65535"),
    ("egress:\n- ports: [{port: true}]", "spec.egress[0].ports[0].port", 6, "1-65535"),
    ("egress:\n- ports: [{port: [80]}]", "spec.egress[0].ports[0].port", 6, "1-65535"),
    ("egress:\n- ports: [{port: '80'}]", "spec.egress[0].ports[0].port", 6, "unquoted"),
    ("egress:\n- ports: [{port: 'http\\n'}]", "spec.egress[0].ports[0].port", 6, "named port"),
    ("egress:\n- ports: [{port: ²}]", "spec.egress[0].ports[0].port", 6, "named port"),
    ("egress:\n- ports: [{port: 80, endPort: 79}]", "spec.egress[0].ports[0].endPort", 6, "below port 80"),
    ("egress:\n- ports: [{port: 80, endPort: 70000}]", "spec.egress[0].ports[0].endPort", 6, "1-65535"),
    ("egress:\n- ports: [{port: http, endPort: 90}]", "spec.egress[0].ports[0].endPort", 6, "numeric port"),
    ("egress:\n- ports: [{endPort: 90}]", "spec.egress[0].ports[0].endPort", 6, "numeric port"),
    ("egress:\n- ports: [{protocol: ICMP, port: 1}]", "spec.egress[0].ports[0].protocol", 6, "TCP, UDP or SCTP"),
    ("egress:\n- ports: [{protocol: tcp, port: 1}]", "spec.egress[0].ports[0].protocol", 6, "TCP, UDP or SCTP"),
    ("egress:\n- ports: [{protocol: 6, port: 1}]", "spec.egress[0].ports[0].protocol", 6, "TCP, UDP or SCTP"),
    ("egress:\n- ports: [{prot: TCP}]", "spec.egress[0].ports[0].prot", 6, "unknown field"),
    ("policyTypes: Ingress", "spec.policyTypes", 5, "must be a list"),
    ("policyTypes: [Ingress, Ingress]", "spec.policyTypes[1]", 5, "twice"),
    ("policyTypes: [ingress]", "spec.policyTypes[0]", 5, "Ingress or Egress"),
]


@pytest.mark.parametrize("spec, field, line, words", BAD_SPECS)
def test_a_bad_field_names_its_path_and_line(spec, field, line, words):
    with pytest.raises(InputError) as err:
        load_policy_text(policy(spec), "p.yaml")
    msg = err.value.message
    assert msg.startswith("NetworkPolicy shop/p: ") and field in msg and words in msg, msg
    assert err.value.loc.file == "p.yaml" and err.value.loc.line == line, err.value.render()


@pytest.mark.parametrize(
    "meta, field",
    [
        ("7", "metadata"),
        ("{namespace: shop}", "metadata.name"),
        ("{name: 7}", "metadata.name"),
        ('{name: "p\\n"}', "metadata.name"),
        ('{name: p, namespace: "shop\\n"}', "metadata.namespace"),
        ("{name: p, namespace: [shop]}", "metadata.namespace"),
        ("{name: p, labels: [a]}", "metadata.labels"),
        ("{name: p, labels: {a: 1}}", "metadata.labels.a"),
        ("{name: p, annotations: {a: 1}}", "metadata.annotations.a"),
    ],
)
def test_bad_metadata(meta, field):
    text = f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {meta}\nspec: {{}}\n"
    with pytest.raises(InputError) as err:
        load_policy_text(text, "p.yaml")
    assert field in err.value.message and err.value.loc.line == 3, err.value.render()


def test_a_policy_in_a_list_is_named_by_its_item():
    text = (
        '{"kind": "List", "items": [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",\n'
        ' "metadata": {"name": "p"}, "spec": {"ingress": [{"ports": [{"port": 1e3}]}]}}]}\n'
    )
    with pytest.raises(InputError) as err:
        load_policy_text(text, "p.json")
    assert "default/p: items[0].spec.ingress[0].ports[0].port" in err.value.message, err.value.message
    assert err.value.loc.line == 2


def test_a_number_of_thousands_of_digits_is_an_input_error():
    with pytest.raises(InputError) as err:
        load_policy_text(policy("egress:\n- ports:\n  - port: " + "9" * 5000), "p.yaml")
    assert "too long" in err.value.message and err.value.loc.line == 7


def test_valid_policies_pass():
    text = policy(
        "podSelector:\n"
        "  matchLabels: {example.com/app: web, empty: ''}\n"
        "  matchExpressions: [{key: tier, operator: Exists}, {key: x, operator: NotIn, values: [a, '']}]\n"
        "policyTypes: [Ingress, Egress]\n"
        "ingress:\n"
        "- {}\n"
        "- from: [{ipBlock: {cidr: 10.0.0.1/8, except: [10.1.0.0/16]}}, {namespaceSelector: {}, podSelector: null}]\n"
        "  ports: [{port: web-alt}, {protocol: SCTP, port: 1, endPort: 65535}, {protocol: UDP}]\n"
        "egress:\n"
        "- to: [{ipBlock: {cidr: 'fd00::/8', except: ['fd00::1/128']}}]\n"
    )
    assert [p["metadata"]["name"] for p in load_policy_text(text, "p.yaml")] == ["p"]


def _files(tmp_path, pol: str):
    (tmp_path / "r.fw").write_text("ruleset r\nallow any -> any any\n")
    (tmp_path / "inv.yaml").write_text("workloads:\n  web: {namespace: shop, labels: {app: web}}\n")
    (tmp_path / "p.yaml").write_text(pol)
    return str(tmp_path / "r.fw"), str(tmp_path / "inv.yaml"), str(tmp_path / "p.yaml")


@pytest.mark.parametrize("spec, field, line, words", BAD_SPECS[::4])
@pytest.mark.parametrize("command", ["verify", "explain", "reverse"])
def test_the_commands_exit_2_with_the_field(tmp_path, command, spec, field, line, words):
    from click.testing import CliRunner

    from translator.cli.main import cli

    rules, inv, pols = _files(tmp_path, policy(spec))
    args = {
        "verify": ["verify", rules, pols, "-i", inv],
        "explain": ["explain", pols, "-i", inv, "--flow", "10.0.0.1 -> web tcp/80"],
        "reverse": ["reverse", pols, "-i", inv],
    }[command]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert f"p.yaml:{line}:" in res.output and "error: " in res.output and field in res.output, res.output
    assert "Traceback" not in res.output
