"""CSV rule exports: header aliases, --columns, cells, errors, the corpus and the sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from translator.cli.main import cli
from translator.compiler.synth import convert
from translator.errors import InputError
from translator.evaluate.endpoints import Ip
from translator.evaluate.firewall import FirewallEvaluator
from translator.frontends import csv_rules
from translator.model.inventory import parse_inventory
from translator.model.ruleset import ALLOW, DENY, AnyAddr, Unresolved

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
INV = parse_inventory("namespaces:\n  ns: {}\n", "inv.yaml")


def load(text, **kw):
    return csv_rules.load(text, "r.csv", **kw)[0]


def fw(rs, src, dst, proto, port):
    return FirewallEvaluator(rs, INV).decide(Ip(src), Ip(dst), proto, port)[0]


def test_aliases_services_and_order():
    rs = load(
        "Name,Source Address,Destination Address,Service,Action\n"
        'a,10.0.0.0/8,any,"tcp/443;udp-53",permit\n'
        "b,any,192.0.2.0/24,service-http,DROP\n"
        "c,any,any,any,accept\n"
    )
    assert [r.id for r in rs.rules] == ["a", "b", "c"] and rs.default == DENY
    assert [r.action for r in rs.rules] == [ALLOW, DENY, ALLOW]
    assert [(s.proto, s.lo, s.hi) for s in rs.rules[0].services] == [(6, 443, 443), (17, 53, 53)]
    assert [(s.proto, s.lo) for s in rs.rules[1].services] == [(6, 80), (6, 8080)]
    assert not fw(rs, "1.1.1.1", "192.0.2.5", 6, 8080) and fw(rs, "1.1.1.1", "192.0.2.5", 6, 81)
    assert rs.rules[1].loc.line == 3


def test_multi_value_cells_negation_and_unresolved():
    rs = load(
        "name,source,destination,service,action,negatesource\n"
        'r1,"10.1.0.0/16, web-servers\nexample.com",any,"tcp/22",allow,no\n'
        "r2,10.0.0.0/8,any,any,deny,yes\n"
    )
    r1, r2 = rs.rules
    kinds = [type(i).__name__ for i in r1.src.include]
    assert kinds == ["Net", "Unresolved", "Unresolved"]
    assert "defined elsewhere" in r1.src.include[1].reason and "FQDN" in r1.src.include[2].reason
    assert r2.src.include == (AnyAddr(),) and r2.src.exclude[0].text == "10.0.0.0/8"
    assert r2.loc.line == 4  # the quoted cell spans two lines
    assert not fw(rs, "8.8.8.8", "1.1.1.1", 6, 80)  # r2: any except 10/8
    assert fw(rs, "10.1.2.3", "1.1.1.1", 6, 22) and not fw(rs, "10.1.2.3", "1.1.1.1", 6, 23)


def test_conditions_disabled_and_zones():
    rs = load(
        "Rule Name,From,To,Source,Destination,Application,Source User,Service,Action,Enabled,Schedule\n"
        "app,trust,untrust,any,any,ssl,any,application-default,allow,yes,\n"
        "usr,any,any,any,any,any,alice,tcp/80,allow,true,\n"
        "off,any,any,any,any,any,any,tcp/81,allow,no,\n"
        "night,any,any,any,any,any,any,tcp/82,deny,yes,weekend\n"
    )
    assert [r.id for r in rs.rules] == ["app", "usr", "night"]
    assert [(s.id, "disabled" in s.reason) for s in rs.skipped] == [("off", True)]
    app, usr, night = rs.rules
    assert app.conditions[0].text == "application ssl" and app.hints == (("zone", "trust -> untrust"),)
    assert isinstance(app.services[0], Unresolved)
    assert usr.conditions[0].text == "source user alice"
    assert not fw(rs, "1.1.1.1", "2.2.2.2", 6, 80)  # a user condition: the allow never matches
    assert not fw(rs, "1.1.1.1", "2.2.2.2", 6, 82)  # a deny with a schedule matches (secure side)


def test_columns_mapping_and_protocol_column():
    text = 'Regel,Von,Nach,Proto,Port,Aktion\nr,10.0.0.1,any,udp,"53;123",erlauben\n'
    with pytest.raises(InputError, match="no 'action', 'src', 'dst' column"):
        load(text)
    with pytest.raises(InputError, match="unknown action 'erlauben'") as e:
        load(text, columns="name=Regel,src=Von,dst=Nach,protocol=Proto,service=Port,action=Aktion")
    assert (e.value.loc.line, e.value.loc.column) == (2, 29)
    rs = load(
        text.replace("erlauben", "permit"),
        columns="name=Regel,src=Von,dst=Nach,protocol=Proto,service=Port,action=Aktion",
    )
    assert [(s.proto, s.lo) for s in rs.rules[0].services] == [(17, 53), (17, 123)]
    with pytest.raises(InputError, match="--columns: bad entry 'source=Von'"):
        load(text, columns="source=Von")


@pytest.mark.parametrize(
    "row,msg,line",
    [
        ("a,any,any,tcp/80\n", "row has 4 cells but the header has 5", 2),
        ("a,any,any,tcp/80,\n", "rule a: no action", 2),
        ("a,any,any,tcp/99999,allow\n", "bad port in service 'tcp/99999'", 2),
        ("a,any,any,443,allow\n", "service '443' names no protocol", 2),
    ],
)
def test_row_errors(row, msg, line):
    with pytest.raises(InputError) as e:
        load("name,source,destination,service,action\n" + row)
    assert msg in e.value.message and e.value.loc.line == line and e.value.loc.file == "r.csv"


def test_detect():
    head = "name,source,destination,service,action\n"
    assert csv_rules.detect(head, "x.csv") == 80 and csv_rules.detect(head, "x.txt") == 50
    assert csv_rules.detect("ruleset x\ndefault deny\n", "x.fw") == 0


def test_corpus_panco_rule_template():
    path = CORPUS / "csv" / "panco_Firewall_Security_Rule_Template.csv"
    if not path.exists():
        pytest.skip("corpus absent")
    rs = csv_rules.load(path.read_text(), str(path))[0]
    assert len(rs.rules) == 1
    r = rs.rules[0]
    assert r.id == "internal_outbound" and r.action == ALLOW and r.loc.line == 2
    assert r.src.include[0].text == "10.1.1.0/24" and isinstance(r.dst.include[0], AnyAddr)
    assert r.services[0].proto is None and r.conditions == ()
    assert r.hints == (("zone", "trust -> trust, untrust"),)


def test_corpus_panco_objects_file_is_refused():
    path = CORPUS / "csv" / "panco_Address_Service_Objects.csv"
    if not path.exists():
        pytest.skip("corpus absent")
    with pytest.raises(InputError) as e:
        csv_rules.load(path.read_text(), str(path))
    assert "this looks like an object export, not a rule export" in e.value.message
    assert e.value.loc.line == 1


def test_sample_pipeline():
    sample = ROOT / "samples" / "csv"
    inv = parse_inventory((sample / "inventory.yaml").read_text(), "inventory.yaml")
    rs = csv_rules.load((sample / "rules.csv").read_text(), "rules.csv")[0]
    assert [r.id for r in rs.rules] == ["web-in", "block-scanner", "app-to-db", "admin-ssh", "dns-out", "cleanup"]
    result = convert(rs, inv)
    db = [p for p in result.policies if p["spec"].get("podSelector", {}).get("matchLabels") == {"app": "db"}]
    ingress = [r for p in db for r in p["spec"].get("ingress", [])]
    assert ingress and all(pp.get("port") == 5432 for r in ingress for pp in r["ports"])
    assert any(f.kind == "unresolved" and f.rule.id == "admin-ssh" for f in result.findings)


def test_cli_convert_csv_and_error_exit_code(tmp_path):
    sample = ROOT / "samples" / "csv"
    runner = CliRunner()
    res = runner.invoke(cli, ["convert", str(sample / "rules.csv"), "-i", str(sample / "inventory.yaml"), "-q"])
    assert res.exit_code == 0, res.output
    assert "kind: NetworkPolicy" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("name,source,destination,service,action\na,any,any\n")
    res = runner.invoke(cli, ["convert", str(bad), "-i", str(sample / "inventory.yaml")])
    assert res.exit_code == 2 and f"{bad}:2:1: error: row has 3 cells" in res.output


@pytest.mark.parametrize("first", ["#1 block scanner", '"#1"', "#"])
def test_hash_first_cell_is_a_rule_not_a_comment(first):
    """Issue 22: a data row whose first cell starts with '#' was skipped as a comment, so its deny was lost."""
    rs = load(f"Name,Source,Destination,Service,Action\n{first},203.0.113.9,any,any,deny\nok,any,any,any,allow\n")
    assert [r.action for r in rs.rules] == [DENY, ALLOW]
    assert not fw(rs, "203.0.113.9", "10.0.0.1", 6, 80) and fw(rs, "203.0.113.8", "10.0.0.1", 6, 80)


def test_hash_header_and_preamble_comment():
    rs = load("# exported by panorama\n#Name,Source,Destination,Service,Action\n#2,10.0.0.1,any,any,drop\n")
    assert [(r.id, r.action) for r in rs.rules] == [("#2", DENY)]
    assert csv_rules.detect("# exported\n#Name,Source,Destination,Action\n", "x.csv") == 80


@pytest.mark.parametrize(
    "header, logged",
    [
        ("Rule,Source,Destination,Action,SessionID,Bytes,ReceiveTime", "SessionID, Bytes, ReceiveTime"),
        ("srcip,dstip,dstport,action,sentbyte,rcvdbyte,sessionid", "sentbyte, rcvdbyte, sessionid"),
    ],
)
def test_a_traffic_log_is_not_a_rule_export(header, logged):
    """Issue 15: a PAN-OS traffic log (one row a session seen: Source, Destination and Action columns, but
    SessionID, Bytes, ...) was read as a ruleset of its sessions. The smallest log: three session columns."""
    row = (
        "r1,10.0.0.1,10.0.0.2,allow,7,100,2026/01/01"
        if header.startswith("Rule")
        else "1.1.1.1,2.2.2.2,80,accept,1,2,3"
    )
    with pytest.raises(InputError) as e:
        load(f"{header}\n{row}\n")
    assert e.value.message.startswith(f"this is a traffic log, not a rule export: its columns {logged} describe")
    assert (e.value.loc.line, e.value.loc.column) == (1, 1)
    assert csv_rules.load("Rule,Source,Destination,Action,Bytes\nr1,10.0.0.1,any,deny,0\n", "r.csv")[0].rules
