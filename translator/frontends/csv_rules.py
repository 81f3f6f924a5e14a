"""CSV rule exports (Palo Alto / panco, Fortinet, Check Point style, generic).

A header row names the columns (matched case-insensitively against known
aliases, or mapped with `columns="src=Source Address,dst=...,action=Action"`).
Rows are rules in order, a cleanup deny is the default.  Cells may hold several
values separated by `;`, `,` or newlines.  Names that are not addresses or known
services (objects defined elsewhere, FQDNs) become `Unresolved`; users,
applications, URL categories and schedules are rule `Condition`s.
"""

from __future__ import annotations

import csv
import io
import re

from ..errors import InputError, Loc, Warning_, line_of
from ..model.names import is_digits
from ..model.ruleset import (
    ALLOW,
    DENY,
    ICMP,
    ICMPV6,
    PROTO_NAMES,
    TCP,
    UDP,
    AddrExpr,
    AnyAddr,
    Condition,
    Rule,
    Ruleset,
    Skipped,
    Svc,
    Unresolved,
)
from .common.cloud import port_svc, to_net, with_loc

NAME = "csv"
FIELDS = {
    "name": ("name", "rulename", "rule", "id", "ruleid", "policyid", "policy", "no", "number", "#"),
    "action": ("action", "ruleaction"),
    "src": ("source", "sourceaddress", "sourceaddresses", "src", "srcaddr", "sourceip", "srcip"),
    "dst": ("destination", "destinationaddress", "destinationaddresses", "dst", "dstaddr", "destinationip", "dstip"),
    "service": ("service", "services", "port", "ports", "dstport", "destinationport"),
    "protocol": ("protocol", "proto"),
    "application": ("application", "applications", "app", "apps"),
    "from": ("from", "fromzone", "sourcezone", "sourcezones", "srcintf", "srczone"),
    "to": ("to", "tozone", "destinationzone", "destinationzones", "dstintf", "dstzone"),
    "enabled": ("enabled", "enable"),
    "disabled": ("disabled", "disable"),
    "status": ("status", "state"),
    "description": ("description", "comment", "comments", "remark"),
    "negate_src": ("negatesource", "sourcenegate", "srcnegate"),
    "negate_dst": ("negatedestination", "destinationnegate", "dstnegate"),
    "users": ("sourceusers", "sourceuser", "user", "users"),
    "categories": ("categories", "category", "urlcategory"),
    "schedule": ("schedule", "time", "timerange"),
}
# columns of a session/traffic log (PAN-OS, FortiGate, generic): a log is not a rule export
LOG_COLUMNS = {
    "sessionid",
    "sessionendreason",
    "receivetime",
    "timegenerated",
    "timereceived",
    "bytes",
    "bytessent",
    "bytesreceived",
    "packets",
    "packetssent",
    "packetsreceived",
    "elapsed",
    "repeatcount",
    "sequencenumber",
    "natsourceip",
    "natdestinationip",
    "sentbyte",
    "rcvdbyte",
    "sessionstart",
    "sessionend",
}
ALLOWS = {"allow", "permit", "accept", "pass", "allowed"}
DENIES = {"deny", "drop", "reject", "block", "discard", "denied", "reset-client", "reset-server", "reset-both"}
NAMED_SERVICES = {
    "service-http": ((TCP, 80), (TCP, 8080)),
    "service-https": ((TCP, 443),),
    "http": ((TCP, 80),),
    "https": ((TCP, 443),),
    "ssh": ((TCP, 22),),
    "telnet": ((TCP, 23),),
    "smtp": ((TCP, 25),),
    "dns": ((TCP, 53), (UDP, 53)),
    "domain": ((TCP, 53), (UDP, 53)),
    "ntp": ((UDP, 123),),
    "rdp": ((TCP, 3389),),
    "ping": ((ICMP, 8),),
}
WHOLE_SERVICES = {"all_tcp": TCP, "all_udp": UDP, "all_icmp": ICMP, "all_icmp6": ICMPV6}
ANY = {"any", "all", "*", ""}
FALSE = {"false", "no", "0", "n", "off"}
TRUE = {"true", "yes", "1", "y", "on"}


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-./]", "", text.strip().lstrip("#").lower()) or text.strip()


def _preamble(row: list[str]) -> bool:
    """A line before the header that starts with '#' and is one cell (`# exported by ...`): the only
    comment a CSV export has. A '#'-prefixed header (panco's `#DeviceGroup,...`) has many cells."""
    return row[0].lstrip().startswith("#") and sum(bool(c.strip()) for c in row) == 1


def detect(text: str, path: str) -> int:
    first = next(
        (ln for ln in text.splitlines() if ln.strip() and not (ln.lstrip().startswith("#") and "," not in ln)), ""
    )
    if "," not in first and ";" not in first and "\t" not in first:
        return 0
    cells = {_norm(c) for c in re.split(r"[,;\t]", first)}
    known = cells & set(FIELDS["action"] + FIELDS["src"] + FIELDS["dst"] + FIELDS["service"])
    if path.lower().endswith(".csv"):
        return 80 if known else 40
    return 50 if len(known) >= 2 else 0


class _Csv:
    def __init__(self, text: str, path: str, columns: str | None):
        self.text, self.path = text, path
        self.lines = text.splitlines()
        self.mapping = self.parse_columns(columns)
        self.rs = Ruleset(
            name=re.sub(r"\.[^.]*$", "", path.replace("\\", "/").rsplit("/", 1)[-1]) or "csv",
            source=path,
            default=DENY,
            text=text,
        )

    def fail(self, msg: str, line: int, col: int = 1) -> InputError:
        return InputError(msg, Loc(self.path, line, col), line_of(self.text, line))

    def parse_columns(self, columns: str | None) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in (columns or "").split(","):
            if not part.strip():
                continue
            key, sep, val = part.partition("=")
            key = key.strip().lower()
            if not sep or key not in FIELDS or not val.strip():
                raise InputError(
                    f"--columns: bad entry {part.strip()!r} (expected FIELD=Header, FIELD one of {', '.join(FIELDS)})"
                )
            out[key] = val.strip()
        return out

    def col_of(self, line: int, value: str) -> int:
        src = line_of(self.text, line) or ""
        i = src.find(value) if value else -1
        return i + 1 if i >= 0 else 1

    # --- header ------------------------------------------------------------

    def header(self, row: list[str], line: int) -> dict[str, int]:
        names = [c.strip().lstrip("#").strip() for c in row]
        logged = [n for n in names if _norm(n) in LOG_COLUMNS]
        if len(logged) >= 3:
            raise self.fail(
                f"this is a traffic log, not a rule export: its columns {', '.join(logged[:5])} describe "
                "sessions (one row a connection seen), not rules; export the security rules instead",
                line,
            )
        idx: dict[str, int] = {}
        for field, header in self.mapping.items():
            hits = [i for i, n in enumerate(names) if n.lower() == header.lower()]
            if not hits:
                raise self.fail(f"--columns: no column {header!r} in the header (have: {', '.join(names)})", line)
            idx[field] = hits[0]
        for i, n in enumerate(names):
            for field, aliases in FIELDS.items():
                if field not in idx and _norm(n) in aliases and i not in idx.values():
                    idx[field] = i
        missing = [f for f in ("action", "src", "dst") if f not in idx]
        if missing:
            hint = (
                " (this looks like an object export, not a rule export)"
                if {"type", "value"} <= {n.lower() for n in names}
                else ""
            )
            raise self.fail(
                f"the header has no {', '.join(repr(m) for m in missing)} column{hint}; have: "
                f"{', '.join(names)}; map them with --columns "
                "'src=...,dst=...,service=...,action=...'",
                line,
            )
        if "service" not in idx:
            self.rs.warnings.append(Warning_("no service column: every rule matches any service", Loc(self.path, line)))
        return idx

    # --- cells -------------------------------------------------------------

    @staticmethod
    def values(cell: str) -> list[str]:
        return [v.strip() for v in re.split(r"[;,\n]", cell or "") if v.strip()]

    def addresses(self, cell: str, negate: bool, loc: Loc) -> AddrExpr:
        items = []
        for v in self.values(cell):
            net = to_net(v)
            if v.lower() in ANY:
                items.append(AnyAddr(None, loc))
            elif net is not None:
                items.append(with_loc(net, loc))
            elif re.fullmatch(r"(\*\.)?([a-z0-9-]+\.)+[a-z]{2,}", v.lower()):
                items.append(Unresolved(v, f"FQDN {v!r}: its addresses are not known", loc, v.lower()))
            else:
                items.append(Unresolved(v, f"address object {v!r} is defined elsewhere (not in this export)", loc))
        if not items:
            items = [AnyAddr(None, loc)]
        if negate:
            return AddrExpr((AnyAddr(None, loc),), tuple(items))
        return AddrExpr(tuple(items))

    def service(self, v: str, loc: Loc) -> list:
        low = v.lower()
        if low in ANY:
            return [Svc(None, 0, 0, "any", loc)]
        if low in NAMED_SERVICES:
            return [Svc(p, n, n, v, loc) for p, n in NAMED_SERVICES[low]]
        if low in WHOLE_SERVICES:
            return [Svc.whole(WHOLE_SERVICES[low])]
        if low == "application-default":
            return [Unresolved(v, "application-default: the ports depend on the application", loc)]
        m = re.fullmatch(  # ASCII digits only: '٣' is no port
            r"(?a)(tcp|udp|sctp|icmp|icmpv6|icmp6)(?:[/_\-: ]([0-9]+(?:-[0-9]+)?|any))?", low
        ) or re.fullmatch(r"(?P<p2>(?a:[0-9])+(?:-(?a:[0-9])+)?)/(tcp|udp|sctp)", low)
        if m and m.re.pattern.startswith("(?P<p2>"):
            proto, spec = PROTO_NAMES[m.group(2)], m.group(1)
        elif m:
            proto, spec = PROTO_NAMES[m.group(1)], m.group(2) or "*"
        elif is_digits(low) or re.fullmatch(r"[0-9]+-[0-9]+", low):
            raise self.fail(f"service {v!r} names no protocol (write tcp/{v} or udp/{v})", loc.line, loc.column)
        else:
            return [Unresolved(v, f"service object {v!r} is defined elsewhere (not in this export)", loc)]
        if proto in (ICMP, ICMPV6):
            if spec in ("*", "any"):
                return [Svc.whole(proto)]
            if not is_digits(spec) or int(spec) > 255:
                raise self.fail(f"bad ICMP type in {v!r} (0-255)", loc.line, loc.column)
            return [Svc(proto, int(spec), int(spec), v, loc)]
        svc = port_svc(proto, spec, loc)
        if svc is None:
            raise self.fail(f"bad port in service {v!r} (1-65535, or a range such as 8000-8100)", loc.line, loc.column)
        return [svc]

    # --- rows --------------------------------------------------------------

    def rows(self):
        reader = csv.reader(io.StringIO(self.text))
        start = 1
        try:
            for row in reader:
                yield start, row
                start = reader.line_num + 1
        except csv.Error as exc:
            raise self.fail(f"bad CSV: {exc}", reader.line_num) from None

    def cell(self, row, idx, field) -> str:
        i = idx.get(field)
        return row[i].strip() if i is not None else ""

    def load(self) -> list[Ruleset]:
        idx = None
        width = 0
        for line, row in self.rows():
            if not any(c.strip() for c in row):
                continue
            if idx is None:
                if _preamble(row):
                    continue
                idx, width = self.header(row, line), len(row)
                continue
            # a data row is never a comment, whatever its first cell holds ("#1", "#1 block scanner"):
            # CSV has no comments, and skipping a deny row would allow what the firewall blocks
            if len(row) != width:
                raise self.fail(f"row has {len(row)} cells but the header has {width}", line)
            self.row(row, idx, line)
        if idx is None:
            raise self.fail("empty CSV: expected a header row naming the columns", 1)
        return [self.rs]

    def row(self, row, idx, line: int) -> None:
        rid = self.cell(row, idx, "name") or f"line-{line}"
        loc = Loc(self.path, line, 1)
        action_text = self.cell(row, idx, "action")
        action = action_text.lower()
        if not action:
            raise self.fail(f"rule {rid}: no action (expected allow/permit/accept or deny/drop/reject/block)", line)
        if action not in ALLOWS | DENIES:
            raise self.fail(
                f"rule {rid}: unknown action {action_text!r} (expected allow/permit/accept or deny/drop/reject/block)",
                line,
                self.col_of(line, action_text),
            )
        if self.disabled(row, idx):
            self.rs.skipped.append(Skipped(rid, "disabled: the firewall does not apply it", loc))
            return

        def cloc(field):
            return Loc(self.path, line, self.col_of(line, self.cell(row, idx, field)))

        src = self.addresses(self.cell(row, idx, "src"), self.cell(row, idx, "negate_src").lower() in TRUE, cloc("src"))
        dst = self.addresses(self.cell(row, idx, "dst"), self.cell(row, idx, "negate_dst").lower() in TRUE, cloc("dst"))
        services = self.services(row, idx, cloc("service"))
        conditions, hints = [], []
        for field, what in (
            ("application", "application"),
            ("users", "source user"),
            ("categories", "URL category"),
            ("schedule", "schedule"),
        ):
            vals = [v for v in self.values(self.cell(row, idx, field)) if v.lower() not in ANY]
            if vals:
                conditions.append(Condition(f"{what} {', '.join(vals)}", f"{what} match"))
        zf, zt = self.cell(row, idx, "from"), self.cell(row, idx, "to")
        if (zf or zt) and not (zf.lower() in ANY and zt.lower() in ANY):
            hints.append(("zone", f"{zf or 'any'} -> {zt or 'any'}"))
        self.rs.rules.append(
            Rule(
                id=rid,
                action=ALLOW if action in ALLOWS else DENY,
                src=src,
                dst=dst,
                services=tuple(services),
                loc=loc,
                comment=self.cell(row, idx, "description"),
                conditions=tuple(conditions),
                hints=tuple(hints),
            )
        )

    def services(self, row, idx, loc: Loc) -> list:
        proto = self.cell(row, idx, "protocol").lower()
        vals = self.values(self.cell(row, idx, "service"))
        if proto and proto not in ANY:
            if proto not in PROTO_NAMES and not is_digits(proto):
                raise self.fail(f"unknown protocol {proto!r}", loc.line, self.col_of(loc.line, proto))
            if proto not in ("tcp", "udp", "sctp", "icmp", "icmpv6", "icmp6"):
                return [Svc.whole(int(proto) if is_digits(proto) else PROTO_NAMES[proto])]
            vals = [f"{proto}/{v}" if v.lower() not in ANY else proto for v in vals] or [proto]
        out = []
        for v in vals:
            out += self.service(v, loc)
        return out or [Svc(None, 0, 0, "any", loc)]

    def disabled(self, row, idx) -> bool:
        en, dis, st = (self.cell(row, idx, f).lower() for f in ("enabled", "disabled", "status"))
        return en in FALSE or dis in TRUE or st in ("disabled", "disable", "inactive", "off")


def load(text: str, path: str, columns: str | None = None, **_options) -> list[Ruleset]:
    return _Csv(text, path, columns).load()
