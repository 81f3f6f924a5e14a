"""Numbers are ASCII digits only, in every frontend: a superscript or another script's digit where a port,
protocol, prefix length, sequence or line number is expected is a clear error or not a number, never an
internal error ('²'.isdigit() holds and int('²') raises; '\\d' matches '٣' and int() reads it as 3)."""

from __future__ import annotations

import json

import pytest

from translator.errors import InputError
from translator.frontends import load
from translator.model.ruleset import Unresolved

ODD = ["²", "٣", "１"]

# case -> (format, file name, text with {d} where a number goes)
CASES = {
    "rules": ("rules", "r.fw", "allow any -> 10.0.0.0/{d} tcp/80\n"),
    "rules-port": ("rules", "r.fw", "allow any -> any tcp/8{d}\n"),
    "ios": ("cisco-ios", "r.cfg", "ip access-list extended A\n {d}0 permit tcp any any eq 22\n"),
    "ios-proto": ("cisco-ios", "r.cfg", "ip access-list extended A\n permit {d} any any\n"),
    "asa": ("cisco-asa", "a.cfg", "access-list A line {d} extended permit tcp any any eq 80\n"),
    "asa-port": ("cisco-asa", "a.cfg", "access-list A extended permit tcp any any eq 8{d}\n"),
    "nacl": (
        "aws-nacl",
        "n.json",
        json.dumps(
            {
                "NetworkAcls": [
                    {
                        "NetworkAclId": "a",
                        "Entries": [
                            {
                                "RuleNumber": 1,
                                "Egress": False,
                                "Protocol": "{d}",
                                "CidrBlock": "0.0.0.0/0",
                                "RuleAction": "allow",
                            }
                        ],
                    }
                ]
            }
        ),
    ),
    "gcp": (
        "gcp",
        "g.json",
        json.dumps(
            [{"name": "x", "direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"], "allowed": [{"IPProtocol": "{d}"}]}]
        ),
    ),
    "csv": ("csv", "c.csv", "name,source,destination,service,action\nr1,any,10.0.0.1,tcp/8{d},allow\n"),
}


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("case", sorted(CASES))
def test_non_ascii_digits_are_no_numbers(tmp_path, case, odd):
    fmt, name, text = CASES[case]
    path = tmp_path / name
    path.write_text(text.replace("{d}", odd), encoding="utf-8")
    try:
        rulesets = load(str(path), fmt)
    except InputError as e:  # a clear error at its place
        assert e.loc is not None and e.loc.file == str(path)
        return
    # read: the odd digit is in no number, only in an item kept unresolved
    for rs in rulesets:
        for r in rs.rules:
            for item in r.services + r.src.include + r.dst.include:
                assert odd not in getattr(item, "text", "") or isinstance(item, Unresolved), (case, item)


@pytest.mark.parametrize(
    "name,text,fmt",
    [
        ("g.json", '[{"name": "x", "priority": ' + "9" * 5000 + ', "allowed": [{"IPProtocol": "tcp"}]}]', "gcp"),
        (
            "n.json",
            '{"NetworkAcls": [{"NetworkAclId": "a", "Entries": [{"RuleNumber": ' + "9" * 5000 + "}]}]}",
            "aws-nacl",
        ),
    ],
)
def test_a_number_too_long_for_python_is_a_located_error(tmp_path, name, text, fmt):
    """int() refuses more than 4300 digits (ValueError): the JSON and YAML readers say where instead."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as e:
        load(str(path), fmt)
    assert e.value.loc.line == 1 and e.value.loc.column > 1


def test_a_yaml_number_too_long_for_python_is_a_located_error():
    from translator.io.yamlio import load_all

    with pytest.raises(InputError) as e:
        load_all("x: 1\na: " + "9" * 5000 + "\n", "x.yaml")
    assert (e.value.loc.line, e.value.loc.column) == (2, 4)
