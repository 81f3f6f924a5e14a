"""What the Cisco frontends (ASA, IOS) share: port, ICMP and protocol names, masks, the word cursor."""

from __future__ import annotations

import re

import netaddr
from lark import Token

from ...errors import InputError, Loc
from ...limits import max_wildcard_ranges
from ...model.names import is_digits
from ...model.ruleset import PROTO_NAMES, TCP, UDP, Net, Svc, port_domain, proto_label
from .addresses import net_text

# Cisco keyword names of TCP/UDP ports (IOS and ASA use the same list).
TCP_PORTS = {
    "aol": 5190,
    "bgp": 179,
    "chargen": 19,
    "cifs": 3020,
    "citrix-ica": 1494,
    "cmd": 514,
    "ctiqbe": 2748,
    "daytime": 13,
    "discard": 9,
    "domain": 53,
    "echo": 7,
    "exec": 512,
    "finger": 79,
    "ftp": 21,
    "ftp-data": 20,
    "gopher": 70,
    "h323": 1720,
    "hostname": 101,
    "http": 80,
    "https": 443,
    "ident": 113,
    "imap4": 143,
    "irc": 194,
    "kerberos": 750,
    "klogin": 543,
    "kshell": 544,
    "ldap": 389,
    "ldaps": 636,
    "login": 513,
    "lotusnotes": 1352,
    "lpd": 515,
    "netbios-ssn": 139,
    "nfs": 2049,
    "nntp": 119,
    "pcanywhere-data": 5631,
    "pim-auto-rp": 496,
    "pop2": 109,
    "pop3": 110,
    "pptp": 1723,
    "rsh": 514,
    "rtsp": 554,
    "sip": 5060,
    "smtp": 25,
    "sqlnet": 1521,
    "ssh": 22,
    "sunrpc": 111,
    "tacacs": 49,
    "talk": 517,
    "telnet": 23,
    "uucp": 540,
    "whois": 43,
    "www": 80,
    "drip": 3949,
    "msrpc": 135,
    "onep-plain": 15001,
    "onep-tls": 15002,
    "rdp": 3389,
}
UDP_PORTS = {
    "biff": 512,
    "bootpc": 68,
    "bootps": 67,
    "cifs": 3020,
    "discard": 9,
    "dnsix": 195,
    "domain": 53,
    "echo": 7,
    "http": 80,
    "isakmp": 500,
    "kerberos": 750,
    "mobile-ip": 434,
    "nameserver": 42,
    "netbios-dgm": 138,
    "netbios-ns": 137,
    "nfs": 2049,
    "ntp": 123,
    "pcanywhere-status": 5632,
    "pim-auto-rp": 496,
    "radius": 1645,
    "radius-acct": 1646,
    "rip": 520,
    "secureid-udp": 5510,
    "sip": 5060,
    "snmp": 161,
    "snmptrap": 162,
    "sunrpc": 111,
    "syslog": 514,
    "tacacs": 49,
    "talk": 517,
    "tftp": 69,
    "time": 37,
    "who": 513,
    "www": 80,
    "xdmcp": 177,
    "vxlan": 4789,
    "non500-isakmp": 4500,
}
# ICMP message names (Cisco spelling) -> (type, code or None).
ICMP_NAMES = {
    "echo-reply": (0, None),
    "unreachable": (3, None),
    "source-quench": (4, None),
    "redirect": (5, None),
    "alternate-address": (6, None),
    "echo": (8, None),
    "router-advertisement": (9, None),
    "router-solicitation": (10, None),
    "time-exceeded": (11, None),
    "parameter-problem": (12, None),
    "timestamp-request": (13, None),
    "timestamp-reply": (14, None),
    "information-request": (15, None),
    "information-reply": (16, None),
    "mask-request": (17, None),
    "mask-reply": (18, None),
    "conversion-error": (31, None),
    "mobile-redirect": (32, None),
    "traceroute": (30, None),
    "net-unreachable": (3, 0),
    "host-unreachable": (3, 1),
    "protocol-unreachable": (3, 2),
    "port-unreachable": (3, 3),
    "packet-too-big": (3, 4),
    "administratively-prohibited": (3, 13),
    "ttl-exceeded": (11, 0),
    "reassembly-timeout": (11, 1),
}
ICMP6_NAMES = {
    "unreachable": (1, None),
    "packet-too-big": (2, None),
    "time-exceeded": (3, None),
    "parameter-problem": (4, None),
    "echo": (128, None),
    "echo-reply": (129, None),
    "membership-query": (130, None),
    "membership-report": (131, None),
    "membership-reduction": (132, None),
    "router-solicitation": (133, None),
    "router-advertisement": (134, None),
    "neighbor-solicitation": (135, None),
    "neighbor-advertisement": (136, None),
    "neighbor-redirect": (137, None),
    "router-renumbering": (138, None),
    "nd-ns": (135, None),
    "nd-na": (136, None),
    "redirect": (137, None),
    "mld-query": (130, None),
    "mld-report": (131, None),
    "mld-reduction": (132, None),
}
CISCO_PROTOS = {
    **PROTO_NAMES,
    "ip": None,
    "ipv6": None,
    "ipinip": 4,
    "nos": 94,
    "pcp": 108,
    "snp": 109,
    "igrp": 9,
    "tcp-udp": None,
}


def port_number(word: str, proto: int | None) -> int | None:
    """A port given as a number or a Cisco name (None if unknown)."""
    if is_digits(word):
        n = int(word)
        return n if 0 <= n <= 65535 else None
    w = word.lower()
    table = TCP_PORTS if proto == TCP else UDP_PORTS if proto == UDP else {**UDP_PORTS, **TCP_PORTS}
    return table.get(w)


def port_ranges(op: str, args: list[int]) -> list[tuple[int, int]]:
    """Ranges of ports denoted by a Cisco operator: eq/neq/lt/gt/range (eq may list several)."""
    if op == "eq":
        return [(a, a) for a in args]
    if op == "neq":
        out, lo = [], 1
        for a in sorted(set(args)):
            if a > lo:
                out.append((lo, a - 1))
            lo = max(lo, a + 1)
        return out + ([(lo, 65535)] if lo <= 65535 else [])
    if op == "lt":
        return [(1, args[0] - 1)] if args[0] > 1 else []
    if op == "gt":
        return [(args[0] + 1, 65535)] if args[0] < 65535 else []
    if op == "range":
        lo, hi = args
        return [(max(lo, 1), hi)] if hi >= max(lo, 1) else []
    raise ValueError(op)


def port_svcs(proto: int, ranges: list[tuple[int, int]], text: str) -> list[Svc]:
    """Svc items for PROTO (tcp/udp/sctp) over RANGES."""
    lo_d, hi_d = port_domain(proto)
    out = []
    for lo, hi in ranges:
        lo, hi = max(lo, lo_d), min(hi, hi_d)
        if lo <= hi:
            out.append(Svc(proto, lo, hi, f"{proto_label(proto)}/{lo}" + (f"-{hi}" if hi != lo else "")))
    return out


def icmp_svc(proto: int, type_: int) -> Svc:
    return Svc(proto, type_, type_, f"{proto_label(proto)}/{type_}")


def mask_bits(mask: str) -> int | None:
    """Prefix length of a contiguous subnet mask (255.255.255.0 -> 24), else None."""
    try:
        v = int(netaddr.IPAddress(mask, 4))
    except (netaddr.AddrFormatError, ValueError):
        return None
    n = bin(v)[2:].zfill(32)
    return n.count("1") if "01" not in n else None


def wildcard_nets(addr: str, wildcard: str, limit: int = 256) -> list[Net] | None:
    """Exact Nets for an IOS address/wildcard pair; None when it needs more than LIMIT ranges.

    A wildcard bit 1 means 'any value'.  The low run of ones gives one block; each
    other one bit doubles the number of blocks.
    """
    a = int(netaddr.IPAddress(addr, 4))
    w = int(netaddr.IPAddress(wildcard, 4))
    low = 0
    while low < 32 and (w >> low) & 1:
        low += 1
    high_bits = [b for b in range(low, 32) if (w >> b) & 1]
    if (1 << len(high_bits)) > limit:
        return None
    base = a & ~w & 0xFFFFFFFF
    out = []
    for k in range(1 << len(high_bits)):
        v = base
        for i, b in enumerate(high_bits):
            if (k >> i) & 1:
                v |= 1 << b
        first, last = v, v | ((1 << low) - 1)
        out.append(Net(first, last, 4, net_text(first, last, 4)))
    return sorted(out, key=lambda n: n.first)


class RangeBudget:
    """The address ranges the non-contiguous masks of each access list have expanded to, against the bound
    FW2NP_MAX_WILDCARD_RANGES (0: no bound), read once per file."""

    def __init__(self):
        self.limit = max_wildcard_ranges()
        self.used: dict[str, int] = {}

    def spend(self, acl: str, nets: list[Net], w: Words, tok) -> None:
        """Count NETS (one mask's expansion) against ACL; an InputError at TOK when they cross the bound."""
        if len(nets) < 2:
            return  # a contiguous mask is one range: never counted
        n = self.used.get(acl, 0) + len(nets)
        self.used[acl] = n
        if self.limit and n > self.limit:
            raise w.fail(
                f"the non-contiguous masks of access list {acl} expand to {n:,} address ranges here, more than "
                f"the bound of {self.limit:,} (convert time grows faster than the ranges); set "
                f"FW2NP_MAX_WILDCARD_RANGES={n} or more (0 for no bound) to convert it anyway",
                tok,
            )


class Words:
    """A cursor over the typed words of one configuration line (tokens of grammars/cisco.lark)."""

    def __init__(self, toks, path: str, line: int, text: str):
        self.toks, self.i = list(toks), 0
        self.path, self.line, self.text = path, line, text

    def loc(self, tok=None) -> Loc:
        tok = tok if tok is not None else self.peek_tok()
        col = tok.column if tok is not None else len(self.text.rstrip()) + 1
        return Loc(self.path, self.line, col)

    def fail(self, msg: str, tok=None) -> InputError:
        return InputError(msg, self.loc(tok), self.text)

    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return str(self.toks[j]) if j < len(self.toks) else None

    def peek_tok(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def take(self, what: str):
        """The next token; an error naming WHAT when the line ends."""
        if self.at_end():
            raise self.fail(f"unexpected end of line; expected {what}")
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, *words: str) -> str | None:
        """Take the next word when it is one of WORDS (case-insensitive)."""
        w = self.peek()
        if w is not None and w.lower() in words:
            self.i += 1
            return w.lower()
        return None

    def rest(self) -> str:
        """The text from the current token to the end of the line."""
        tok = self.peek_tok()
        return self.text[tok.column - 1 :].strip() if tok is not None else ""


# The terminals of grammars/cisco.lark, in their priority order (ADDR and NUMBER before WORD): the
# grammar is the specification, this scanner reads lines with it without building a parser per line
# (tests/test_realworld_cisco.py checks the two agree on the real exports).
_ADDR = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]+)?|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(/[0-9]+)?")
_NUMBER = re.compile(r"[0-9]+")
_WORD = re.compile(r"\S+")


def _kind(word: str) -> str:
    if _ADDR.fullmatch(word):
        return "ADDR"
    return "NUMBER" if is_digits(word) and word.isascii() else "WORD"


def line_words(text: str, path: str, line: int) -> Words:
    """Split one line into the typed words of grammars/cisco.lark (ADDR, NUMBER, WORD)."""
    toks = [
        Token(_kind(m.group()), m.group(), m.start(), line, m.start() + 1, line, m.end() + 1, m.end())
        for m in _WORD.finditer(text)
    ]
    return Words(toks, path, line, text)


def netmask_nets(addr: str, mask: str, limit: int = 256) -> list[Net] | None:
    """Exact Nets for ADDR under a (possibly non-contiguous) subnet MASK: the addresses x with
    x & MASK == ADDR & MASK.  None when that needs more than LIMIT ranges."""
    inverse = str(netaddr.IPAddress(~int(netaddr.IPAddress(mask, 4)) & 0xFFFFFFFF, 4))
    return wildcard_nets(addr, inverse, limit)


# --- telling ASA and IOS apart (their detect functions) ---------------------------

# lines only an ASA / PIX configuration (or its `show access-list`) has
ASA_MARKS = re.compile(
    r"^(access-list \S+ (line [0-9]+ )?(extended|webtype|ethertype) |access-list \S+; [0-9]+ elements"
    r"|access-list cached ACL log flows|access-group \S+ (in|out) interface |access-group \S+ global"
    r"|(ASA|PIX) Version |\s*nameif |object-group (network|service|protocol|icmp-type) |object (network|service) "
    r"|fixup protocol |(nat|static|global) \(|clear config(ure)? |!.*fwb_pix|! Compiled for (pix|asa)|names\s*$)",
    re.M,
)
# lines only IOS has (a running-config, Firewall Builder's iosacl scripts)
IOS_MARKS = re.compile(
    r"^(ip(v6)? access-list |\s+ip access-group \S+ (in|out)\s*$|\s+ipv6 traffic-filter |!.*fwb_iosacl"
    r"|! Compiled for iosacl|version [0-9]+\.[0-9]+\s*$|router (bgp|ospf|eigrp) |line vty )",
    re.M,
)
