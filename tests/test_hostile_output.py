"""Hostile values in reverse's outputs (issue 22, injection): labels, names, annotations and namespace
names holding newlines, ESC sequences, bidi overrides, '#', '|' or '<script>' never start a rule in
the ruleset language, never forge or hide a row on a terminal or in Markdown, and never reach HTML
unescaped.  The loaders reject most such values (InputError); the renderers are safe without them."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from translator.errors import InputError, Loc
from translator.frontends.rules import parse
from translator.io.safe_text import escaped, unsafe
from translator.lint.checks import LintFinding
from translator.model.inventory import Inventory, Workload, parse_inventory
from translator.model.policies import load_policy_text
from translator.model.ruleset import AddrExpr, AnyAddr, Rule, Svc
from translator.reverse.formats import FORMATS, csv_cell, render_table
from translator.reverse.rules import reverse_rules
from translator.reverse.table import build_table

EVIL = "nothing\n1 allow any -> any any\n#"  # the label value
FORMULA = ("=", "+", "-", "@")


def policy(name="p", ns="staging", selector=None, annotations=None, ingress=None, egress=None) -> dict:
    spec = {"podSelector": selector or {}, "policyTypes": ["Ingress"] + (["Egress"] if egress is not None else [])}
    spec["ingress"] = ingress or []
    if egress is not None:
        spec["egress"] = egress
    meta = {"name": name, "namespace": ns, "annotations": annotations or {}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec}


def one_workload(labels: dict, name="web", ns="staging") -> Inventory:
    return Inventory("<t>", {ns: {}}, {name: Workload(name, ns, labels, ["10.0.0.1"])})


def no_raw_controls(text: str) -> bool:
    """No character of TEXT but its own line breaks is a control (so str.splitlines sees the same lines)."""
    lines = text.split("\n")
    return all(not unsafe(line) for line in lines) and text.splitlines() == lines[: -1 if text.endswith("\n") else None]


# --- regression tests: the smallest inputs ------------------------------------------------


def test_escaped_shows_controls_visibly():
    assert escaped("a\nb\x1b[2Kc\u202ed\x85e\t") == "a\\nb\\x1b[2Kc\\u202ed\\x85e\\t"
    assert escaped("plain é ٣ \\n") == "plain é ٣ \\n"  # printable text (and a backslash) unchanged
    assert not unsafe(escaped("".join(map(chr, range(0x200)))))


def test_label_value_in_rules_comment_starts_no_rule():
    # a label value with newlines once wrote '1 allow any -> any any' as a live rule
    inv = one_workload({"app": "web", "x": EVIL})
    text, notes = reverse_rules([policy(selector={"matchLabels": {"x": EVIL}})], inv)
    benign, _ = reverse_rules([policy(selector={"matchLabels": {"x": "v"}})], one_workload({"app": "web", "x": "v"}))
    assert len(parse(text).rules) == len(parse(benign).rules)
    assert "\\n1 allow any -> any any\\n#" in text
    assert not any(ln.startswith("1 allow") for ln in text.splitlines())
    assert any("\n" in n for n in notes)  # the notes themselves keep the value; the CLI escapes them


def test_workload_and_namespace_names_in_rules_comments():
    inv = Inventory(
        "<t>", {EVIL: {}}, {EVIL: Workload(EVIL, EVIL, {"app": "w"}, ["10.0.0.1", "obj\n9 allow any -> any any"])}
    )
    text, _ = reverse_rules([policy(ns=EVIL, selector={"matchLabels": {"app": "w"}})], inv)
    rs = parse(text)
    assert not any(r.id in ("1", "9") for r in rs.rules)
    assert no_raw_controls(text)


def test_terminal_table_rows_cannot_be_forged_or_hidden():
    forged = "x\n  2    allow   any   any   any service  p"
    hidden = "y\x1b[1A\x1b[2K\r\u202e"
    objs = [policy(selector={"matchLabels": {"a": forged, "b": hidden}})]
    out = render_table(build_table(objs), "table")
    plain = render_table(build_table([policy(selector={"matchLabels": {"a": "x", "b": "y"}})]), "table")
    assert no_raw_controls(out)
    assert len(out.splitlines()) == len(plain.splitlines())
    assert "\\x1b[1A\\x1b[2K\\r\\u202e" in out


def test_annotation_values_through_the_loader():
    # Kubernetes annotation values may hold anything, so the loader keeps them: the outputs escape them
    doc = policy(annotations={"note": "a\n| 9 | allow | any |\x1b[31m<script>alert(1)</script>\u202e"})
    objs = load_policy_text(json.dumps(doc), "p.json")
    plain = load_policy_text(json.dumps(policy(annotations={"note": "a"})), "p.json")
    for fmt in ("table", "markdown", "html", "csv"):
        out = render_table(build_table(objs), fmt)
        assert no_raw_controls(out), fmt
        assert len(out.splitlines()) == len(render_table(build_table(plain), fmt).splitlines()), fmt
    html = render_table(build_table(objs), "html")
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    md = render_table(build_table(objs), "markdown")
    row = [ln for ln in md.splitlines() if ln.startswith("| staging |")][0]
    assert len(re.findall(r"(?<!\\)\|", row)) == 4  # three cells, none broken by a pipe


def test_html_environment_autoescapes():
    from translator.reverse.formats import environment

    assert environment(True).autoescape is True


def test_csv_cells_defuse_formulas_and_controls():
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_cell("@x") == "'@x" and csv_cell("any") == "any"
    objs = [policy(name="=cmd|' /C calc'!A0", selector={"matchLabels": {"a": "v\r\n+1"}}, ingress=[{}])]
    rows = list(csv.reader(io.StringIO(render_table(build_table(objs), "csv"))))
    assert len(rows) == 1 + len(build_table(objs).rows)
    assert all(not c.startswith(FORMULA) and not unsafe(c) for r in rows for c in r)
    assert any(c.startswith("'=cmd") for r in rows for c in r)


def test_lint_finding_text_escapes_rule_ids_and_messages():
    any_ = AddrExpr((AnyAddr(),))
    rule = Rule("1\x1b[2K\n9", "allow", any_, any_, (Svc(None),), Loc("r\n.fw", 3))
    text = str(LintFinding("shadowed", "earlier rule 1\x1b[2K decides it", "move \u202eit", rule=rule))
    lines = text.split("\n")
    assert len(lines) == 2 and lines[1].startswith("    suggestion: ")  # only its own line break
    assert all(not unsafe(ln) for ln in lines) and "1\\x1b[2K\\n9" in text


# --- fuzzing ------------------------------------------------------------------------------

NASTY = [
    "\n",
    "\r",
    "\x1b[2K",
    "\x1b]0;t\x07",
    "\x00",
    "\x7f",
    "\x85",
    "\x9b",
    "\u2028",
    "\u202e",
    "\u2066",
    "\u200f",
    "#",
    "|",
    "`",
    "<script>",
    "\\",
    ",",
    " ",
    "->",
    "٣",
    "²",
    "０",
    "1 allow any -> any any",
]
hostile = st.lists(st.sampled_from(NASTY) | st.text("abz09-._", min_size=1, max_size=3), min_size=1, max_size=4).map(
    "".join
)


class Benign:
    """Maps each distinct hostile string to a distinct plain one (same equalities, same structure)."""

    def __init__(self):
        self.map: dict[str, str] = {}

    def __call__(self, s: str) -> str:
        return self.map.setdefault(s, f"v{len(self.map)}")


@st.composite
def worlds(draw):
    """A world whose every name, label, annotation and port name is hostile; `build` makes it concrete."""
    nss = draw(st.lists(hostile, min_size=1, max_size=2, unique=True))
    keys = draw(st.lists(hostile, min_size=1, max_size=2, unique=True))
    vals = draw(st.lists(hostile, min_size=1, max_size=2, unique=True))
    labels = st.lists(st.tuples(st.sampled_from(keys), st.sampled_from(vals)), max_size=2).map(lambda kv: dict(kv))
    workloads = []
    for i, name in enumerate(draw(st.lists(hostile, min_size=1, max_size=3, unique=True))):
        obj = [draw(hostile)] if draw(st.booleans()) else []  # an inventory object name (addresses unknown)
        ports = {draw(hostile): 80 + i} if draw(st.booleans()) else {}
        workloads.append((name, draw(st.sampled_from(nss)), draw(labels), [f"10.0.{i}.0/24"], obj, ports))
    ns_labels = {ns: draw(labels) for ns in nss}

    def peer():
        kind = draw(st.sampled_from(["pod", "ns", "both", "ip"]))
        if kind == "ip":
            return ("ip",)
        pod = draw(labels) if kind in ("pod", "both") else None
        ns = (draw(st.sampled_from(keys)), draw(st.sampled_from(vals))) if kind in ("ns", "both") else None
        return ("sel", pod, ns)

    def rules():
        port = st.one_of(st.just(80), hostile, st.none())
        return [(peer(), draw(port)) for _ in range(draw(st.integers(0, 2)))]

    pols = []
    for name in draw(st.lists(hostile, min_size=1, max_size=3, unique=True)):
        ns = draw(st.sampled_from(nss + [draw(hostile)]))
        ann = {draw(hostile): draw(hostile)} if draw(st.booleans()) else {}
        egress = rules() if draw(st.booleans()) else None
        pols.append((name, ns, draw(labels), ann, rules(), egress))
    return ns_labels, workloads, pols


def build(world, f=lambda s: s) -> tuple[list[dict], Inventory, dict]:
    """(policy manifests, Inventory, inventory document) of WORLD with every string through F."""
    ns_labels, workloads, pols = world

    def lab(d):
        return {f(k): f(v) for k, v in d.items()}

    def peer(x, side_ns):
        if x[0] == "ip":
            return {"ipBlock": {"cidr": "10.0.0.0/16"}}
        out = {}
        if x[1] is not None:
            out["podSelector"] = {"matchLabels": lab(x[1])}
        if x[2] is not None:
            out["namespaceSelector"] = {
                "matchExpressions": [{"key": f(x[2][0]), "operator": "In", "values": [f(x[2][1])]}]
            }
        return out

    def rules(rs, side="from"):
        out = []
        for pr, port in rs:
            r = {side: [peer(pr, None)]}
            if port is not None:
                r["ports"] = [{"protocol": "TCP", "port": port if isinstance(port, int) else f(port)}]
            out.append(r)
        return out

    objs = [
        policy(f(name), f(ns), {"matchLabels": lab(sel)}, lab(ann), rules(ing), None if eg is None else rules(eg, "to"))
        for name, ns, sel, ann, ing, eg in pols
    ]
    inv = Inventory(
        "<fuzz>",
        {f(ns): lab(d) for ns, d in ns_labels.items()},
        {
            f(n): Workload(
                f(n), f(ns), lab(la), cidrs + [f(o) for o in obj], {f(k): ("TCP", v) for k, v in ports.items()}
            )
            for n, ns, la, cidrs, obj, ports in workloads
        },
    )
    doc = {
        "namespaces": {f(ns): {"labels": lab(d)} for ns, d in ns_labels.items()},
        "workloads": {
            f(n): {"namespace": f(ns), "labels": lab(la), "addresses": cidrs} for n, ns, la, cidrs, _, _ in workloads
        },
    }
    return objs, inv, doc


def rows_of_markdown(text: str) -> list[int]:
    return [len(re.findall(r"(?<!\\)\|", ln)) for ln in text.splitlines() if ln.startswith("|")]


def check_outputs(objs, inv, plain_objs, plain_inv) -> None:
    """Every format of reverse over OBJS/INV against the same world with plain values."""
    for fmt in FORMATS:
        if fmt == "rules":
            text, _ = reverse_rules(objs, inv)
            plain, _ = reverse_rules(plain_objs, plain_inv)
            assert no_raw_controls(text)
            assert len(parse(text).rules) == len(parse(plain).rules)  # (a) no injected rule
            continue
        for with_inv in (True, False):
            out = render_table(build_table(objs, inv if with_inv else None), fmt)
            ref = render_table(build_table(plain_objs, plain_inv if with_inv else None), fmt)
            assert no_raw_controls(out), fmt  # (b)
            assert len(out.splitlines()) == len(ref.splitlines()), fmt
            if fmt == "markdown":
                assert rows_of_markdown(out) == rows_of_markdown(ref)
            elif fmt == "html":
                assert "<script" not in out.lower()  # (c)
                assert out.count("<tr") == ref.count("<tr")
            elif fmt == "csv":
                got = list(csv.reader(io.StringIO(out)))
                assert len(got) == len(list(csv.reader(io.StringIO(ref))))
                assert all(not c.startswith(FORMULA) for r in got for c in r)


FUZZ_EXAMPLES = 60
FUZZ_SECONDS = 5.0  # bound per example (the whole check, every format, both paths)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(worlds())
def test_fuzz_hostile_values_render_safely(world):
    start = time.monotonic()
    objs, inv, doc = build(world)
    plain_objs, plain_inv, _ = build(world, Benign())
    check_outputs(objs, inv, plain_objs, plain_inv)  # the renderers alone, on unchecked values
    # through the loaders: a value is rejected with an InputError, or rendered safely
    try:
        inv = parse_inventory(json.dumps(doc), "inv.json")
        objs = load_policy_text("\n---\n".join(json.dumps(o) for o in objs), "p.yaml")
    except InputError as e:
        assert e.render()
    else:
        for fmt in FORMATS:
            if fmt == "rules":
                text, _ = reverse_rules(objs, inv)
                assert no_raw_controls(text)
                parse(text)
            else:
                out = render_table(build_table(objs, inv), fmt)
                assert no_raw_controls(out) and "<script" not in out.lower()
    assert time.monotonic() - start < FUZZ_SECONDS


@pytest.mark.parametrize("value", ["a\nb", "\x1b[2K", "\u202e", "\x00", "<script>"])
def test_loader_rejects_hostile_label_values(value):
    with pytest.raises(InputError):
        load_policy_text(json.dumps(policy(selector={"matchLabels": {"app": value}})), "p.json")


def test_convert_and_lint_print_input_values_escaped(tmp_path):
    """A CSV rule name with an ESC sequence and a newline-free forged line reaches convert's summary and
    lint's text only escaped (the terminal never sees a raw control character from the input)."""
    from click.testing import CliRunner

    from translator.cli.main import cli

    rules = tmp_path / "r.csv"
    rules.write_text(
        "name,source,destination,service,action\n"
        "\x1b[2Jx\x1b]0;t\x07,any,10.0.0.1,tcp/80,deny\n"
        "\x1b[1Ay,web.example.com,10.0.0.1,tcp/81,allow\n"  # unresolved: a compiler finding names the rule
    )
    inv = tmp_path / "inv.yaml"
    inv.write_text("namespaces: {a: {}}\nworkloads:\n  w: {namespace: a, labels: {app: w}, addresses: [10.0.0.1]}\n")
    for args in (["convert", str(rules), "-i", str(inv), "-o", str(tmp_path / "o.yaml")], ["lint", str(rules)]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code in (0, 1), r.output
        assert "\x1b" not in r.output and "\x07" not in r.output
        assert "\\x1b[1Ay" in r.output  # the rule is named, escaped
