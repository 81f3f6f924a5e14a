"""ICMP type names: one canonical table per family, and the names each dialect adds or keeps."""

from __future__ import annotations

ICMP_TYPES = {
    "echo-reply": 0,
    "destination-unreachable": 3,
    "source-quench": 4,
    "redirect": 5,
    "echo-request": 8,
    "router-advertisement": 9,
    "router-solicitation": 10,
    "time-exceeded": 11,
    "parameter-problem": 12,
    "timestamp-request": 13,
    "timestamp-reply": 14,
    "address-mask-request": 17,
    "address-mask-reply": 18,
}
ICMP6_TYPES = {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "echo-reply": 129,
    "router-solicitation": 133,
    "router-advertisement": 134,
    "neighbor-solicitation": 135,
    "neighbor-advertisement": 136,
    "redirect": 137,
}

# the ruleset language (and verify's --flow): five canonical names and two short ones
RULESET_ICMP_TYPES = {
    **{n: ICMP_TYPES[n] for n in ("echo-reply", "redirect", "echo-request", "time-exceeded", "parameter-problem")},
    "unreachable": 3,
    "echo": 8,
}
