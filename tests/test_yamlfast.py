"""The fast plain-YAML reader: the documents PyYAML's safe loader reads, or None (the full loader's turn);
policy files read through it give the same policies and the same placed errors."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.errors import InputError
from translator.io import yamlfast
from translator.io.yamlfast import load_all_plain
from translator.io.yamlio import load_all
from translator.model import policies

SCALARS = [
    "yes", "No", "on", "OFF", "true", "~", "null", "", "0x1F", "0o17", "017", "1_000", "-12", "+3", "1:30",
    "190:20:30", ".inf", "-.Inf", ".nan", "6.02e+23", "1.5", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "'123'", '"yes"', "10.0.0.0/8", "TCP", "'a: b'", '"x\\ty"', "-", "0", "a b", "é", "'~'", "=", "<<",
]  # fmt: skip
FALLBACK = [
    "a: &x 1\nb: *x\n",  # anchors and aliases
    "base: &b {p: 1}\nd:\n  <<: *b\n  q: 2\n",  # a merge key
    "a: !!str 1\n",  # an explicit tag
    "a: ! 1\n",  # the non-specific tag
    "a: 1\na: 2\n",  # a duplicate key
    "? [a, b]\n: 1\n",  # a collection as a key
    "? {a: 1}\n: 1\n",
    "a: =\n",  # the value tag
    "a: <<\n",  # merge as a value
    "a: [1, 2\n",  # bad YAML
    "a: !!binary aGk=\n",
    "!!set {a, b}\n",
    "x: 1" + "0" * 5000 + "\n",  # an int longer than Python converts
]


def _typed(x):
    """X with every scalar's type made part of it (True == 1 and 1.0 == 1 in Python; nan != nan)."""
    if isinstance(x, dict):
        return ("map", [(_typed(k), _typed(v)) for k, v in x.items()])
    if isinstance(x, list):
        return ("seq", [_typed(v) for v in x])
    return (type(x).__name__, repr(x))


def _reference(text: str) -> list:
    """What the full loader (yamlio.load_all, the one it stands in for) reads."""
    return load_all(text, "ref.yaml")


@st.composite
def documents(draw):
    """Nested mappings and lists of tricky scalars, in block or flow style, one or more documents."""
    leaf = st.sampled_from(SCALARS)
    tree = st.recursive(
        leaf,
        lambda kids: st.one_of(
            st.lists(kids, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
            st.dictionaries(st.sampled_from(SCALARS[:30]), kids, max_size=4).map(
                lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"
            ),
        ),
        max_leaves=12,
    )
    docs = draw(st.lists(tree, min_size=1, max_size=3))
    return "\n---\n".join(f"doc: {d}\nother: {draw(leaf)}" for d in docs) + "\n"


@settings(max_examples=300, deadline=None)
@given(documents())
def test_plain_documents_read_as_the_safe_loader_reads_them(text):
    try:
        want = _reference(text)
    except InputError:
        assert load_all_plain(text) is None
        return
    got = load_all_plain(text)
    if got is not None:
        assert _typed(got) == _typed(want)


DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda k: st.lists(k, max_size=4) | st.dictionaries(st.text(max_size=6), k, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(DATA, st.booleans())
def test_dumped_data_reads_back_through_the_fast_path(data, flow):
    text = yaml.safe_dump_all([data, {"k": data}], default_flow_style=flow, allow_unicode=True)
    assert _typed(load_all_plain(text)) == _typed(_reference(text))


def test_each_scalar_resolves_as_pyyaml_resolves_it():
    for s in SCALARS:
        text = f"a: {s}\nb: [{s}]\n"
        try:
            want = _reference(text)
        except InputError:
            assert load_all_plain(text) is None, s
            continue
        got = load_all_plain(text)
        if s in ("=", "<<"):
            assert got is None  # the value and merge tags are the full loader's
        else:
            assert _typed(got) == _typed(want), s


def test_what_it_does_not_take_goes_to_the_full_loader():
    for text in FALLBACK:
        assert load_all_plain(text) is None, text


def test_nesting_at_the_bound_is_read_and_deeper_falls_back(monkeypatch):
    monkeypatch.setenv("FW2NP_MAX_DEPTH", "5")
    assert load_all_plain("a: " + "[" * 4 + "1" + "]" * 4 + "\n") == [{"a": [[[[1]]]]}]
    assert load_all_plain("a: " + "[" * 5 + "1" + "]" * 5 + "\n") is None
    try:
        load_all("a: " + "[" * 5 + "1" + "]" * 5 + "\n", "deep.yaml")
        raise AssertionError("the full loader accepts what the bound refuses")
    except InputError:
        pass


def test_empty_and_scalar_documents():
    assert load_all_plain("") == []
    for text in ("---\n---\nx\n", "x\n...\n---\n", "--- 3\n--- [a]\n"):
        assert _typed(load_all_plain(text)) == _typed(_reference(text))


POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/8}
    ports: [{protocol: TCP, port: 80}]
"""


def test_policies_read_fast_equal_policies_read_with_locations(monkeypatch):
    text = POLICY + "---\n" + POLICY.replace("name: web", "name: db")
    fast = policies.load_policy_text(text, "p.yaml")
    calls = []
    monkeypatch.setattr(policies, "load_all_plain", lambda t: calls.append(t))  # None: the full loader
    slow = policies.load_policy_text(text, "p.yaml")
    assert calls and fast == slow and len(fast) == 2


def test_a_bad_policy_is_placed_by_the_full_loader(monkeypatch):
    bad = POLICY.replace("cidr: 10.0.0.0/8", "cidr: 10.0.0.0/99")
    read = []
    real = yamlfast.load_all_plain
    monkeypatch.setattr(policies, "load_all_plain", lambda t: read.append(1) or real(t))
    try:
        policies.load_policy_text(bad, "bad.yaml")
        raise AssertionError("a bad CIDR was accepted")
    except InputError as exc:
        assert read == [1]  # read fast first, then placed by the full loader
        assert (exc.loc.file, exc.loc.line, exc.loc.column) == ("bad.yaml", 8, 17)
        assert "ipBlock.cidr" in exc.message
