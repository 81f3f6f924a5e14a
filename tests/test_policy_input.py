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


def test_other_kinds_are_skipped_and_lists_are_read():
    text = (
        "kind: ConfigMap\n---\nkind: NetworkPolicyList\nitems:\n- apiVersion: networking.k8s.io/v1\n"
        "  kind: NetworkPolicy\n  metadata: {name: a, namespace: n}\n  spec: {podSelector: {}}\n"
    )
    assert [p["metadata"]["name"] for p in load_policy_text(text, "p.yaml")] == ["a"]
