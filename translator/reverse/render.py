"""model.Ruleset -> ruleset-language text (the inverse of frontends/rules.py).

`frontends.rules.parse(render(rs))` is equivalent to RS in the secure reading.
What the language cannot say is rewritten to its secure meaning and kept as a
comment: an unresolved item becomes nothing in what allows use and everything
in what denies use (objects holding one get a second `.deny` variant);
conditions become `via NAME`, which the compiler treats the same way.
"""

from __future__ import annotations

import re

import netaddr

from ..io.safe_text import escaped
from ..model.resolve import unresolved_items
from ..model.ruleset import (
    ALLOW,
    PORT_PROTOCOLS,
    PROTO_NAMES,
    TYPE_PROTOCOLS,
    AddrExpr,
    AnyAddr,
    Net,
    Ref,
    Ruleset,
    Svc,
    Unresolved,
    port_domain,
    proto_label,
)

KEYWORDS = {
    "allow",
    "deny",
    "any",
    "any4",
    "any6",
    "except",
    "ruleset",
    "default",
    "address",
    "service",
    "zone",
    "via",
    "scope",
    "protect",
    "ingress",
    "egress",
    "both",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_RULE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
NOTHING = "any except any"


class Names:
    """Maps arbitrary names to unique valid ruleset-language names."""

    def __init__(self, reserved=(), pattern=None, bad_prefixes=()):
        self.used = {r.lower() for r in reserved}
        self.pattern = pattern or _NAME
        self.bad_prefixes = tuple(bad_prefixes)
        self.map: dict[str, str] = {}

    def get(self, name: str) -> str:
        if name not in self.map:
            self.map[name] = self.fresh(name)
        return self.map[name]

    def fresh(self, name: str) -> str:
        """A new unique name for NAME (even when NAME was seen before)."""
        base = word(name)
        if not self.pattern.match(base) or base.startswith(self.bad_prefixes):
            base = "_" + base
        cand, k = base, 1
        while cand.lower() in self.used:
            k += 1
            cand = f"{base}_{k}"
        self.used.add(cand.lower())
        return cand


def word(text: str) -> str:
    """TEXT with every character the language does not allow in a name replaced by '_'."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", str(text)) or "_"


def as_name(text: str) -> str:
    """A valid object or interface name for TEXT (not a keyword)."""
    w = word(text)
    if not _NAME.match(w) or w.lower() in KEYWORDS:
        w = "_" + w
    return w


def net_text(first: int, last: int, version: int) -> str:
    """'10.0.0.1', '10.0.0.0/8' or 'a-b' for the addresses first..last."""
    lo, hi = netaddr.IPAddress(first, version), netaddr.IPAddress(last, version)
    cidrs = netaddr.iprange_to_cidrs(lo, hi)
    if len(cidrs) == 1:
        c = cidrs[0]
        return str(c.ip) if c.size == 1 else str(c)
    return f"{lo}-{hi}"


def svc_text(s: Svc) -> str | None:
    """One service item, or None when it holds no service."""
    if s.proto is None:
        return "any"
    lo_dom, hi_dom = port_domain(s.proto)
    if s.proto not in PORT_PROTOCOLS + TYPE_PROTOCOLS:
        return f"proto/{s.proto}"
    lo, hi = max(s.lo, lo_dom), min(s.hi, hi_dom)
    if lo > hi:
        return None
    name = proto_label(s.proto)
    if (lo, hi) == (lo_dom, hi_dom):
        return f"{name}/any"
    return f"{name}/{lo}" if lo == hi else f"{name}/{lo}-{hi}"


def comment_text(text: str) -> str:
    """TEXT for a comment (`#` to the end of the line): one line, control characters escaped
    (io.safe_text), so no value from the input can end the comment and start a statement."""
    return " ".join(escaped(text).split())


class _Renderer:
    def __init__(self, rs: Ruleset):
        self.rs = rs
        self.addr_names = Names(KEYWORDS)
        # a service name follows the destination, where 'except' may also come
        self.svc_names = Names(KEYWORDS | set(PROTO_NAMES), bad_prefixes=("except",))
        # objects that hold an unresolved item need a secure variant per use
        self.vague_addr = {n for n, d in rs.addresses.items() if unresolved_items(rs, d.expr.include + d.expr.exclude)}
        self.vague_svc = {n for n, d in rs.services.items() if unresolved_items(rs, d.items)}
        self.empty_svc: set[tuple[str, bool]] = set()
        for n in rs.addresses:
            self.addr_names.get(n)
        for n in rs.services:
            self.svc_names.get(n)
        self.notes: list[str] = []

    # addresses: upper=False is the reading allows use, upper=True the one denies use
    def addr_name(self, name: str, upper: bool) -> str:
        if name in self.vague_addr and upper:
            return self.addr_names.get(name + ".deny")
        return self.addr_names.get(name)

    def addr_items(self, items, upper: bool) -> tuple[list[str], bool]:
        """Texts of ITEMS read as lower (or upper) bound; True if an item means 'everything'."""
        out, everything = [], False
        for it in items:
            if isinstance(it, Net):
                out.append(net_text(it.first, it.last, it.version))
            elif isinstance(it, AnyAddr):
                out.append({None: "any", 4: "any4", 6: "any6"}[it.version])
            elif isinstance(it, Ref):
                out.append(self.addr_name(it.name, upper))
            elif isinstance(it, Unresolved):
                everything |= upper
        return out, everything

    def addr_expr(self, e: AddrExpr, upper: bool) -> str:
        inc, inc_all = self.addr_items(e.include, upper)
        exc, exc_all = self.addr_items(e.exclude, not upper)
        if inc_all:
            inc = ["any"]
        if exc_all or not inc:
            return NOTHING
        return ", ".join(inc) + (f" except {', '.join(exc)}" if exc else "")

    # services
    def svc_list(self, items, upper: bool) -> list[str] | None:
        """Texts of ITEMS, None when they hold nothing (in this reading)."""
        out = []
        for it in items:
            if isinstance(it, Svc):
                t = svc_text(it)
                if t:
                    out.append(t)
            elif isinstance(it, Ref):
                if (it.name, upper) in self.empty_svc:
                    continue
                out.append(self.svc_name(it.name, upper))
            elif isinstance(it, Unresolved) and upper:
                return ["any"]
        return out or None

    def svc_name(self, name: str, upper: bool) -> str:
        if name in self.vague_svc and upper:
            return self.svc_names.get(name + ".deny")
        return self.svc_names.get(name)

    # statements
    def definitions(self) -> list[str]:
        lines = []
        for name, d in self.rs.addresses.items():
            variants = (False, True) if name in self.vague_addr else (False,)
            for upper in variants:
                lines.append(
                    f"address {self.addr_name(name, upper)} {self.addr_expr(d.expr, upper)}"
                    + self.vague_note(d.expr.include + d.expr.exclude, upper)
                )
        for name in self.svc_order():
            d = self.rs.services[name]
            variants = (False, True) if name in self.vague_svc else (False,)
            for upper in variants:
                items = self.svc_list(d.items, upper)
                if items is None:
                    self.empty_svc.add((name, upper))
                    lines.append(f"# fw2np: service {comment_text(name)} holds nothing here (unresolved parts)")
                    continue
                lines.append(
                    f"service {self.svc_name(name, upper)} {', '.join(items)}" + self.vague_note(d.items, upper)
                )
        return lines

    def svc_order(self) -> list[str]:
        """Services with the ones they use first (emptiness propagates)."""
        order, seen = [], set()

        def visit(n):
            if n in seen:
                return
            seen.add(n)
            for it in self.rs.services[n].items:
                if isinstance(it, Ref) and it.name in self.rs.services:
                    visit(it.name)
            order.append(n)

        for n in self.rs.services:
            visit(n)
        return order

    def vague_note(self, items, upper: bool) -> str:
        us = [u for u in items if isinstance(u, Unresolved)]
        if not us:
            return ""
        what = "everything" if upper else "nothing"
        return "  # fw2np: unresolved " + comment_text(", ".join(u.text for u in us)) + f" read as {what}"

    def rule(self, r, ids: Names) -> list[str]:
        upper = r.action != ALLOW
        lines = []
        for u in unresolved_items(
            self.rs, r.src.include + r.src.exclude + r.dst.include + r.dst.exclude + tuple(r.services)
        ):
            lines.append(
                f"# fw2np: rule {comment_text(r.id)}: unresolved {comment_text(u.text)} "
                f"({comment_text(u.reason)}) read on the secure side"
            )
        svcs = self.svc_list(r.services, upper)
        head = "" if r.id.startswith("#") else ids.fresh(r.id) + " "
        if svcs is None:
            lines.append(f"# fw2np: rule {comment_text(r.id)} matches nothing (no service): left out")
            return lines
        text = f"{head}{r.action} {self.addr_expr(r.src, upper)} -> {self.addr_expr(r.dst, upper)} {', '.join(svcs)}"
        for kind, value in r.hints:
            if kind == "zone":
                a, _, b = value.partition(" -> ")
                text += f" zone {as_name(a)} -> {as_name(b)}"
        for c in r.conditions:
            name = as_name(c.text[4:] if c.text.startswith("via ") else c.text)
            text += f" via {name}"
            if c.text != f"via {name}":
                lines.append(
                    f"# fw2np: rule {comment_text(r.id)}: condition {comment_text(c.text)} "
                    f"({comment_text(c.reason)}) written as via {name}"
                )
        comment = comment_text(r.comment)
        return lines + [text + (f"  # {comment}" if comment else "")]


def render(rs: Ruleset) -> str:
    """Ruleset-language text for RS; parsing it back gives an equivalent ruleset."""
    r = _Renderer(rs)
    out = []
    name = Names(KEYWORDS).get(rs.name or "ruleset")
    out.append(f"ruleset {name}")
    out.append(f"default {rs.default}")
    if tuple(sorted(rs.directions)) != ("egress", "ingress"):
        out.append(f"scope {rs.directions[0]}")
    defs = r.definitions()
    if defs:
        out.append("")
        out += defs
    if rs.protects is not None:
        # the protected pods are read on the secure side (may be the host: governed)
        out.append(f"protect {r.addr_expr(rs.protects, True)}")
    out.append("")
    # a rule id starts a statement, where these keywords may also come
    ids = Names(KEYWORDS, _RULE_ID, ("allow", "deny", "ruleset", "default", "address", "service", "scope", "protect"))
    for rule in rs.rules:
        out += r.rule(rule, ids)
    return "\n".join(out) + "\n"
