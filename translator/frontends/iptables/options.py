"""The option and target tables of iptables-save files: what each option is about, port and ICMP names."""

from __future__ import annotations

from ...model.ruleset import ALLOW, DENY
from ..common import icmp

BUILTIN = ("INPUT", "FORWARD", "OUTPUT")
# the built-in chains of each table (iptables(8), TABLES)
TABLE_BUILTINS = {
    "filter": BUILTIN,
    "security": BUILTIN,
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
}


def builtin_chains(table: str) -> tuple[str, ...]:
    return TABLE_BUILTINS.get(table, BUILTIN)


TERMINAL = {"ACCEPT": ALLOW, "DROP": DENY, "REJECT": DENY}
NON_TERMINAL = {
    "LOG",
    "NFLOG",
    "ULOG",
    "MARK",
    "CONNMARK",
    "NOTRACK",
    "CT",
    "TCPMSS",
    "AUDIT",
    "CLASSIFY",
    "DSCP",
    "TOS",
    "TTL",
    "SET",
    "TRACE",
    "CONNSECMARK",
    "SECMARK",
    "CHECKSUM",
    "HMARK",
    "IDLETIMER",
    "LED",
    "RATEEST",
    "SYNPROXY",
}
# modules that only enable options handled below (no condition of their own)
BASIC_OPTS = {
    "-s",
    "--source",
    "--src",
    "-d",
    "--destination",
    "--dst",
    "-p",
    "--protocol",
    "-i",
    "--in-interface",
    "-o",
    "--out-interface",
    "-m",
    "--match",
    "-f",
    "--fragment",
    "-j",
    "--jump",
    "-g",
    "--goto",
}
PLAIN_MODULES = {
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "icmp6",
    "icmpv6",
    "multiport",
    "state",
    "conntrack",
    "iprange",
    "comment",
    "set",
}
# what each matching option is about (see IptablesReader.rule)
OPTIONS = {
    **dict.fromkeys(("-j", "--jump", "-g", "--goto"), "target"),
    **dict.fromkeys(("-m", "--match"), "module"),
    **dict.fromkeys(("-s", "--source", "--src"), "src"),
    **dict.fromkeys(("-d", "--destination", "--dst"), "dst"),
    "--src-range": "src-range",
    "--dst-range": "dst-range",
    **dict.fromkeys(("-p", "--protocol"), "proto"),
    **dict.fromkeys(("--dport", "--destination-port", "--dports", "--destination-ports"), "dport"),
    **dict.fromkeys(("--sport", "--source-port", "--sports", "--source-ports", "--ports"), "sport"),
    **dict.fromkeys(("--icmp-type", "--icmpv6-type"), "icmp"),
    **dict.fromkeys(("--state", "--ctstate"), "state"),
    **dict.fromkeys(("-i", "--in-interface", "-o", "--out-interface"), "iface"),
    "--match-set": "set",
    "--comment": "comment",
    "--syn": "syn",
    "--tcp-flags": "tcpflags",
}
PORT_NAMES = {
    "ftp-data": 20,
    "ftp": 21,
    "ssh": 22,
    "telnet": 23,
    "smtp": 25,
    "domain": 53,
    "bootps": 67,
    "bootpc": 68,
    "tftp": 69,
    "http": 80,
    "www": 80,
    "pop3": 110,
    "sunrpc": 111,
    "ntp": 123,
    "imap": 143,
    "imap2": 143,
    "snmp": 161,
    "bgp": 179,
    "ldap": 389,
    "https": 443,
    "smtps": 465,
    "submission": 587,
    "ldaps": 636,
    "imaps": 993,
    "pop3s": 995,
    "mysql": 3306,
    "postgresql": 5432,
    "mdns": 5353,
    "syslog": 514,
    "isakmp": 500,
    "openvpn": 1194,
    "ms-wbt-server": 3389,
}
ICMP_TYPES = {"any": None, **icmp.ICMP_TYPES, "pong": 0, "ping": 8, "ttl-exceeded": 11}
ICMP_CODES = {
    "network-unreachable": (3, 0),
    "host-unreachable": (3, 1),
    "protocol-unreachable": (3, 2),
    "port-unreachable": (3, 3),
    "fragmentation-needed": (3, 4),
    "source-route-failed": (3, 5),
    "network-prohibited": (3, 9),
    "host-prohibited": (3, 10),
    "communication-prohibited": (3, 13),
    "ttl-zero-during-transit": (11, 0),
    "ttl-zero-during-reassembly": (11, 1),
}
ICMP6_TYPES = {
    "any": None,
    **icmp.ICMP6_TYPES,
    "ttl-exceeded": 3,
    "ping": 128,
    "pong": 129,
    "neighbour-solicitation": 135,
    "neighbour-advertisement": 136,
}
ADDR_OPTS = {"-s": True, "--source": True, "--src": True, "-d": False, "--destination": False, "--dst": False}
