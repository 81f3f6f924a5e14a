"""The PAN-OS frontend: the real `set` configuration, the XML form read as the same, Panorama's rule
order, objects, App-ID as conditions and application overrides as exact ports, zones, errors at
file:line:column, and random rule lists in both forms against a direct evaluator."""

from __future__ import annotations

from pathlib import Path

import netaddr
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from translator.cli.main import cli
from translator.errors import InputError
from translator.frontends import detect, load, panos
from translator.model.inventory import parse_inventory
from translator.model.ruleset import ALLOW, DENY

from .cli_errors import assert_cli_error
from .secure import decide

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "realworld"
PAN = REAL / "panos" / "labval-panos-app-override.txt"
GENERIC = REAL / "inventories" / "generic.yaml"


def read(text: str, inventory=None, path="pan.txt"):
    return panos.load(text, path, inventory=inventory)


def test_real_configuration_rules_overrides_and_defaults():
    assert detect(PAN.read_text(), str(PAN)) == "panos"
    [rs] = load(str(PAN))
    assert [r.id for r in rs.rules] == [
        "DENY", "ALLOW.1", "ALLOW.2", "ALLOW.3", "ALLOW.4",
        "intrazone-default:trust", "intrazone-default:untrust", "interzone-default",
    ]  # fmt: skip
    # TCP_9100 and UDP_9200 are what the application-override rules say: exact ports
    assert (
        decide(rs, "10.0.0.1", "10.0.0.2", 6, 9100) == ALLOW and decide(rs, "10.0.0.1", "10.0.0.2", 17, 9200) == ALLOW
    )
    assert decide(rs, "10.0.0.1", "10.0.0.2", 6, 22) == DENY  # ssh: App-ID decides, a condition
    assert decide(rs, "10.0.0.1", "10.0.0.2", 6, 23) == DENY and decide(rs, "10.0.0.1", "10.0.0.2", 6, 80) == DENY
    r = CliRunner().invoke(cli, ["convert", str(PAN), "-i", str(GENERIC), "-q"])
    assert r.exit_code == 0, r.output


SET = """\
set zone inside network layer3 ethernet1/1
set zone outside network layer3 ethernet1/2
set address web ip-netmask 10.1.1.0/24
set address pool ip-range 10.2.0.1-10.2.0.9
set address cdn fqdn cdn.example.com
set address-group clients static [ web pool ]
set service alt protocol tcp port 8080-8090,8443
set service-group webs members [ service-https alt ]
set rulebase security rules block-bad from any
set rulebase security rules block-bad to any
set rulebase security rules block-bad source 10.1.1.66
set rulebase security rules block-bad destination any
set rulebase security rules block-bad service any
set rulebase security rules block-bad application any
set rulebase security rules block-bad action drop
set rulebase security rules clients-out from inside
set rulebase security rules clients-out to outside
set rulebase security rules clients-out source clients
set rulebase security rules clients-out destination any
set rulebase security rules clients-out service webs
set rulebase security rules clients-out application any
set rulebase security rules clients-out action allow
set rulebase security rules not-web from any
set rulebase security rules not-web to any
set rulebase security rules not-web source any
set rulebase security rules not-web destination web
set rulebase security rules not-web negate-destination yes
set rulebase security rules not-web service service-http
set rulebase security rules not-web application any
set rulebase security rules not-web action allow
set rulebase security rules off from any
set rulebase security rules off to any
set rulebase security rules off source any
set rulebase security rules off destination any
set rulebase security rules off service any
set rulebase security rules off application any
set rulebase security rules off action allow
set rulebase security rules off disabled yes
"""


def _xml(set_text: str) -> str:
    """The same configuration as PAN-OS XML, built from the set lines by the test."""
    tree: dict = {}
    for line in set_text.splitlines():
        w = line.split()[1:]
        if "[" in w:
            k = w.index("[")
            for m in w[k + 1 : w.index("]")]:
                _put(tree, w[:k] + [m], member=True)
            continue
        listed = w[0] == "address-group" or (len(w) > 5 and w[4] in MEMBER_FIELDS)
        _put(tree, w, member=listed)
    head = '<config><devices><entry name="localhost"><vsys><entry name="vsys1">'
    return head + _render(tree) + "</entry></vsys></entry></devices></config>"


ENTRY_LISTS = {"zone", "address", "address-group", "service", "service-group", "rules"}
MEMBER_FIELDS = {"from", "to", "source", "destination", "service", "application"}


def _put(tree, words, member=False):
    node = tree
    k = 0
    while k < len(words) - 1:
        w = words[k]
        node = node.setdefault(w, {})
        if w in ENTRY_LISTS and (k == 0 or w == "rules"):
            k += 1
            node = node.setdefault(("entry", words[k]), {})
        k += 1
        if member and k == len(words) - 1:
            node.setdefault("#members", []).append(words[k])
            return
    node.setdefault("#text", words[-1])


def _render(node) -> str:
    out = ""
    for key, val in node.items():
        if key == "#members":
            out += "".join(f"<member>{m}</member>" for m in val)
        elif key == "#text":
            continue
        elif isinstance(key, tuple):
            out += f'<entry name="{key[1]}">{_render(val)}</entry>'
        elif "#text" in val and len(val) == 1:
            out += f"<{key}>{val['#text']}</{key}>"
        else:
            out += f"<{key}>{_render(val)}</{key}>"
    return out


@pytest.mark.parametrize("form", ["set", "xml"])
def test_objects_negation_disabled_in_both_forms(form):
    text = SET if form == "set" else _xml(SET)
    inv = parse_inventory(
        "workloads:\n  w: {namespace: n, labels: {app: w}, addresses: [10.1.0.0/16, 10.2.0.0/24], zone: inside}\n",
        "inv.yaml",
    )
    [rs] = read(text, inventory=inv, path=f"pan.{form}")
    assert [s.id for s in rs.skipped] == ["off"]
    assert decide(rs, "10.1.1.66", "8.8.8.8", 6, 443) == DENY
    assert decide(rs, "10.1.1.5", "8.8.8.8", 6, 443) == ALLOW and decide(rs, "10.2.0.5", "8.8.8.8", 6, 8443) == ALLOW
    # inside -> inside is not clients-out, but the intrazone default allows it
    assert decide(rs, "10.1.1.5", "10.1.2.2", 6, 443) == ALLOW and decide(rs, "10.1.1.5", "10.1.2.2", 6, 22) == ALLOW
    assert decide(rs, "8.8.8.8", "9.9.9.9", 6, 80) == ALLOW and decide(rs, "8.8.8.8", "10.1.1.5", 6, 80) == DENY
    assert decide(rs, "8.8.8.8", "10.1.1.5", 6, 8080) == DENY  # service-http is 80 and 8080: not to web


def test_panorama_order_shared_pre_local_post():
    text = (
        "set shared pre-rulebase security rules pre from any\n"
        "set shared pre-rulebase security rules pre to any\n"
        "set shared pre-rulebase security rules pre source 10.9.0.0/16\n"
        "set shared pre-rulebase security rules pre destination any\n"
        "set shared pre-rulebase security rules pre service any\n"
        "set shared pre-rulebase security rules pre application any\n"
        "set shared pre-rulebase security rules pre action deny\n"
        "set device-group dc post-rulebase security rules post from any\n"
        "set device-group dc post-rulebase security rules post to any\n"
        "set device-group dc post-rulebase security rules post source any\n"
        "set device-group dc post-rulebase security rules post destination any\n"
        "set device-group dc post-rulebase security rules post service any\n"
        "set device-group dc post-rulebase security rules post application any\n"
        "set device-group dc post-rulebase security rules post action allow\n"
    )
    [rs] = read(text)
    assert [r.id for r in rs.rules][:2] == ["pre:pre", "post:post"]
    assert decide(rs, "10.9.1.1", "1.1.1.1", 6, 80) == DENY and decide(rs, "10.8.1.1", "1.1.1.1", 6, 80) == ALLOW


@pytest.mark.parametrize(
    "text, where, msg",
    [
        (
            "set rulebase security rules r source nope\nset rulebase security rules r action allow\n",
            (1, 38),
            "address 'nope' is not defined",
        ),
        ("set service s protocol tcp port 99999\nset rulebase security rules r service s\n", (1, 33), "port '99999'"),
        ("set rulebase security rules r action maybe\n", (1, 38), "action 'maybe'"),
        ("<config><devices><entry name='x'><vsys>\n<entry name='v'></vsys></config>", (2, 19), "not well-formed XML"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><config/>', (1, 1), "DOCTYPE"),
    ],
)
def test_errors_point_at_the_spot(tmp_path, text, where, msg):
    with pytest.raises(InputError) as e:
        read(text)
    assert (e.value.loc.line, e.value.loc.column) == where, e.value.message
    assert msg in e.value.message
    assert_cli_error(tmp_path / "bad.cfg", text, "panos")


NETS = {"A": "10.0.0.0/8", "B": "10.1.0.0/16", "C": "192.168.0.0/16"}
_rule = st.tuples(
    st.sampled_from(["any", "A", "B", "C"]),
    st.booleans(),
    st.sampled_from(["any", "service-http", "ssh22"]),
    st.sampled_from(["allow", "deny", "drop"]),
    st.booleans(),
)
PORTS = {"service-http": {80, 8080}, "ssh22": {22}}


def _pan(rules, src, port) -> str:
    for addr, neg, svc, action, disabled in rules:
        if disabled:
            continue
        inside = addr == "any" or netaddr.IPAddress(src) in netaddr.IPNetwork(NETS[addr])
        if addr != "any" and inside == neg or (addr == "any" and neg):
            continue
        if svc != "any" and port not in PORTS[svc]:
            continue
        return action
    return "deny"  # no zones: the intrazone default is a condition, the interzone default denies


@settings(max_examples=50, deadline=None)
@given(st.lists(_rule, min_size=1, max_size=6))
def test_random_rules_in_both_forms_match_pan_os(rules):
    lines = [f"set address {k} ip-netmask {v}" for k, v in NETS.items()]
    lines.append("set service ssh22 protocol tcp port 22")
    for k, (addr, neg, svc, action, disabled) in enumerate(rules):
        head = f"set rulebase security rules r{k}"
        lines += [f"{head} from any", f"{head} to any", f"{head} source {addr}", f"{head} destination any"]
        lines += [f"{head} service {svc}", f"{head} application any", f"{head} action {action}"]
        lines += [f"{head} negate-source yes"] if neg else []
        lines += [f"{head} disabled yes"] if disabled else []
    text = "\n".join(lines) + "\n"
    for form, body in (("set", text), ("xml", _xml(text))):
        [rs] = read(body, path=f"r.{form}")
        for src in ["10.1.2.3", "10.9.9.9", "192.168.1.1", "8.8.8.8"]:
            for port in (22, 80, 443):
                want = ALLOW if _pan(rules, src, port) == "allow" else DENY
                assert decide(rs, src, "1.1.1.1", 6, port) == want, (form, src, port, text)


def test_one_command_with_many_fields_reads_as_one_field_a_line():
    """`set rulebase security rules r from a to b ... action allow` (typed at the CLI) is the same rule
    as the one-field-a-line `show` output."""
    per_rule: dict[str, list[str]] = {}
    other = []
    for line in SET.splitlines():
        w = line.split()
        if w[1:4] == ["rulebase", "security", "rules"]:
            per_rule.setdefault(w[4], []).append(" ".join(w[5:]))
        else:
            other.append(line)
    merged: dict[str, list[str]] = {}
    for name, fields in per_rule.items():  # lists of one field gathered into one [ ]
        for f in fields:
            key, _, val = f.partition(" ")
            merged.setdefault(name, []).append(f"{key} {val}")
    compact = other + [f"set rulebase security rules {n} " + " ".join(fs) for n, fs in merged.items()]
    inv = parse_inventory(
        "workloads:\n  w: {namespace: n, labels: {app: w}, addresses: [10.1.0.0/16, 10.2.0.0/24], zone: inside}\n",
        "inv.yaml",
    )
    [a] = read(SET, inventory=inv)
    [b] = read("\n".join(compact) + "\n", inventory=inv)
    assert [r.id for r in a.rules] == [r.id for r in b.rules] and [s.id for s in a.skipped] == [s.id for s in b.skipped]
    for src in ["10.1.1.66", "10.1.1.5", "10.2.0.5", "8.8.8.8"]:
        for dst in ["8.8.8.8", "10.1.1.5", "10.1.2.2"]:
            for port in (22, 80, 443, 8443):
                assert decide(a, src, dst, 6, port) == decide(b, src, dst, 6, port), (src, dst, port)
