"""The access-list commands of an ASA text, in order: entries, `line N`, remarks, clear/no, show output."""

from __future__ import annotations

import re

from ...errors import InputError, Loc, Warning_
from ...model.names import is_digits
from ...model.ruleset import DENY, Ruleset, Skipped
from ..common.cisco import line_words
from .reader import SHOW_TAIL, AclLine, AsaReader

# commands about every access list (no entry): `access-list alert-interval 300`, `access-list deny-flow-max 4096`
GLOBAL_ACL = ("alert-interval", "deny-flow-max", "compiled")
SHOW_HEADER = re.compile(r"^access-list (cached ACL log flows:|\S+; [0-9]+ elements)")
NAT_ACL = re.compile(r"^(nat|static) \(.*\baccess-list (\S+)")
CLEAR = re.compile(r"^(clear (configure |config )?access-list|no access-list)(\s+(\S+))?\s*(\S.*)?$")


def load(text: str, path: str, **_options) -> list[Ruleset]:
    """One ruleset per access list, read as the device reads its configuration or its `show access-list`.

    * Entries without `extended` (PIX 6 `access-list NAME permit ...`) are extended entries, as the device
      reads them.  `access-list NAME line N ...` puts the entry at line N of the list (remarks hold lines).
    * Lines that are not about access lists (interfaces, NAT, `object`s, `!` comments, `exit`) are
      ignored; `clear configure access-list [NAME]`, `clear access-list [NAME]` and `no access-list NAME`
      remove what came before (skipped entries).  An access list used by `nat`/`static` (a NAT selector)
      or not bound by `access-group` in a file that binds others is read as a filter, with a warning.
    * `show access-list` output: the header lines are not entries, `(hitcnt=N)`, `(inactive)` and the hash
      are dropped, and an address/mask pair is read as the device matches it (non-contiguous masks too).
      An entry that names object groups the text does not define is printed with indented expansion
      lines, the concrete entries the device compiled it into: then those lines are its meaning (its
      rules), and the entry is still one rule line.  When its objects are defined the entry is read and
      the expansion (the same meaning) ignored.
    * `inactive` entries, `webtype` and `ethertype` entries are skipped (`Ruleset.skipped`), with why;
      `Ruleset.lines` counts the entry lines of each list (not remarks, not expansion lines).
    """
    rd = AsaReader(text, path)
    lines = [(i, ln) for i, ln in enumerate(text.splitlines(), 1)]
    rd.shown = any("(hitcnt=" in ln for _, ln in lines[:5000]) or any(SHOW_HEADER.match(ln) for _, ln in lines[:50])
    if not any(ln.startswith("access-list ") for _, ln in lines):
        first = next(((n, ln) for n, ln in lines if ln.strip() and not ln.lstrip().startswith("!")), (1, ""))
        what = " (only object definitions)" if re.match(r"\s*object(-group)? ", first[1]) else ""
        raise InputError(
            f"this file holds no access-list{what}: it is not a ruleset "
            "(expected 'access-list NAME extended permit ...')",
            Loc(path, first[0], 1),
            first[1] or None,
        )
    rd.definitions(lines)
    rd.expand_groups()
    acls: dict[str, list[AclLine]] = {}
    gone: dict[str, list[AclLine]] = {}
    counters: dict[str, int] = {}
    remarks: dict[str, str] = {}
    bindings: list = []
    nat_uses: dict[str, str] = {}
    parent: AclLine | None = None  # the entry indented expansion lines belong to
    for n, raw in lines:
        if raw[:1] in (" ", "\t"):
            if parent is not None and raw.lstrip().startswith("access-list "):
                expansion(rd, parent, raw, n)
            continue
        parent = None
        head = raw.split(None, 2)
        if not head:
            continue
        m = NAT_ACL.match(raw)
        if m:
            nat_uses.setdefault(m.group(2), raw.strip())
            continue
        m = CLEAR.match(raw.strip())
        if m and (m.group(5) is None or not m.group(1).startswith("clear")) and m.group(4) not in GLOBAL_ACL:
            if m.group(5) is not None and m.group(4) in acls:  # `no access-list NAME ...entry`: that entry
                want = " ".join(m.group(5).lower().split())
                hit = next((a for a in acls[m.group(4)] if not a.is_remark and _entry_text(a.text) == want), None)
                targets = [hit] if hit else []
            else:
                targets = [a for nm in ([m.group(4)] if m.group(4) else list(acls)) for a in acls.get(nm, [])]
            for a in targets:
                acls[a.name].remove(a)
                if not a.is_remark:
                    a.skipped, a.rules = f"removed by '{raw.strip()}' (line {n})", []
                    gone.setdefault(a.name, []).append(a)
            continue
        if head[0] == "access-group":
            w = line_words(raw, path, n)
            w.take("")
            name = str(w.take("an ACL name"))
            bindings.append((name, w.rest(), Loc(path, n, 1)))
            continue
        if head[0] != "access-list" or len(head) < 2 or head[1] in GLOBAL_ACL or SHOW_HEADER.match(raw):
            continue
        clean = SHOW_TAIL.sub("", raw) if "(hitcnt=" in raw else raw
        w = line_words(clean, path, n)
        w.take("")
        name = str(w.take("an ACL name"))
        entries = acls.setdefault(name, [])
        pos = None
        if w.accept("line"):
            tok = w.take("a line number")
            if not is_digits(str(tok)) or int(str(tok)) < 1:
                raise w.fail(f"expected a line number, got {str(tok)!r}", tok)
            pos = int(str(tok))
        counters[name] = counters.get(name, 0) + 1
        rid = f"{name}:line {pos if pos is not None else counters[name]}"
        acl = AclLine(name, rid, Loc(path, n, 1), clean)
        if w.accept("remark"):
            acl.is_remark = True
            remarks[name] = (remarks.get(name, "") + " " + w.rest()).strip()
        else:
            acl.remark = remarks.pop(name, "")
            rd.acl_line(w, acl)
            parent = acl
        if pos is not None and pos <= len(entries):
            entries.insert(pos - 1, acl)
        else:
            entries.append(acl)
    rulesets: dict[str, Ruleset] = {}
    for name, entries in acls.items():
        rs = rulesets[name] = Ruleset(name=name, source=path, default=DENY, text=text)
        seen = [a for a in entries if not a.is_remark] + gone.get(name, [])
        rs.rules = [r for a in entries for r in (a.expanded if a.expanded is not None else a.rules)]
        rs.skipped = [Skipped(a.rid, a.skipped, a.loc) for a in sorted(seen, key=lambda a: a.loc.line) if a.skipped]
        rs.lines = len(seen)
    for name, entries in gone.items():
        if name not in rulesets:
            rs = rulesets[name] = Ruleset(name=name, source=path, default=DENY, text=text)
            rs.skipped = [Skipped(a.rid, a.skipped, a.loc) for a in entries]
            rs.lines = len(entries)
    for name, _where, loc in bindings:
        if name not in rulesets:
            rd.warn(f"access-group binds undefined access list {name}", loc)
    bound = {name for name, _, _ in bindings}
    out = []
    for rs in rulesets.values():
        rs.addresses = dict(rd.obj.addresses)
        rs.warnings = [w for w in rd.warnings if w.rule is None or w.rule.startswith(rs.name + ":")]
        rs.warnings += [
            Warning_(
                f"access list {name} is applied with 'access-group {name} {where}': the "
                "interface binding is not translated (its rules apply to every pod)",
                loc,
            )
            for name, where, loc in bindings
            if name == rs.name
        ]
        if rs.name in nat_uses:
            rs.warnings.append(
                Warning_(
                    f"access list {rs.name} selects traffic for address translation ('{nat_uses[rs.name]}'), "
                    "it filters nothing on the device: read as a packet filter",
                    Loc(path),
                )
            )
        elif bound and rs.name not in bound:
            rs.warnings.append(
                Warning_(
                    f"access list {rs.name} is not bound by access-group in this file: read as a packet filter",
                    Loc(path),
                )
            )
        out.append(rs)
    return out


def _entry_text(text: str) -> str:
    """An entry's words after `access-list NAME`, lower case, single spaces."""
    return " ".join(text.lower().split()[2:])


def expansion(rd: AsaReader, parent: AclLine, raw: str, n: int) -> None:
    """An indented `show access-list` line under PARENT: a concrete entry the device compiled it into."""
    clean = SHOW_TAIL.sub("", raw) if "(hitcnt=" in raw else raw
    w = line_words(clean, rd.path, n)
    w.take("")
    name = str(w.take("an ACL name"))
    if name != parent.name:
        raise w.fail(f"an expansion line of access list {parent.name} names {name}", w.toks[1])
    if w.accept("line"):
        w.take("a line number")
    part = AclLine(name, parent.rid, Loc(rd.path, n, 1), clean, remark=parent.remark)
    rd.acl_line(w, part)
    if not parent.undefined:
        return  # the entry's own objects say the same
    if parent.expanded is None:
        parent.expanded = []
        for warning in parent.notes:  # its undefined objects are not what the device matches: the expansion is
            rd.warnings.remove(warning)
        rd.warn(
            "the entry names object groups this text does not define: read from the expansion lines "
            "`show access-list` prints under it",
            parent.loc,
            parent.rid,
        )
    if part.skipped and not parent.skipped:
        parent.skipped = part.skipped
    parent.expanded.extend(part.rules)
