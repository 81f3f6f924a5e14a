"""Check object references and resolve expressions into (lower, upper) sets.

`lower` is what an item surely matches, `upper` what it may match: they
differ only where something is unresolved (an FQDN, an unknown object).
Allow rules use lower, deny rules use upper: the secure side.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError, Loc, line_of
from .ruleset import AddrExpr, AnyAddr, Net, Ref, Ruleset, Svc, Unresolved
from .space import ALL_IP, ALL_V4, ALL_V6, EMPTY, FULL_SVC, IntervalSet, ip_range, svc_range


@dataclass(frozen=True)
class SetBounds:
    """What an expression surely matches (lower) and may match (upper)."""

    lower: IntervalSet
    upper: IntervalSet

    @property
    def exact(self) -> bool:
        return self.lower == self.upper


def _fail(rs: Ruleset, msg: str, loc: Loc | None) -> InputError:
    src = line_of(rs.text, loc.line) if (rs.text and loc and loc.line) else None
    return InputError(msg, loc or Loc(rs.source), src)


def check_references(rs: Ruleset) -> None:
    """Raise InputError for an undefined name or a cyclic group."""

    def refs(items):
        return [i for i in items if isinstance(i, Ref)]

    def addr_refs(expr: AddrExpr):
        return refs(expr.include) + refs(expr.exclude)

    for table, kind, get in (
        (rs.addresses, "address", lambda d: addr_refs(d.expr)),
        (rs.services, "service", lambda d: refs(d.items)),
    ):
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]):
            if state.get(name) == 2:
                return
            state[name] = 1
            for r in get(table[name]):
                if r.name not in table:
                    raise _fail(rs, f"undefined {kind} {r.name!r}", r.loc)
                if state.get(r.name) == 1:
                    cycle = " -> ".join(path[path.index(r.name) :] + [r.name]) if r.name in path else r.name
                    raise _fail(rs, f"{kind} group cycle: {cycle}", r.loc)
                visit(r.name, path + [r.name])
            state[name] = 2

        for name in table:
            visit(name, [name])

    if rs.protects is not None:
        for r in addr_refs(rs.protects):
            if r.name not in rs.addresses:
                raise _fail(rs, f"undefined address {r.name!r}", r.loc)
    for rule in rs.rules:
        for items in (rule.src.include, rule.src.exclude, rule.dst.include, rule.dst.exclude):
            for r in items:
                if isinstance(r, Ref) and r.name not in rs.addresses:
                    hint = " (it is a service)" if r.name in rs.services else ""
                    raise _fail(rs, f"undefined address {r.name!r}{hint}", r.loc)
        for r in rule.services:
            if isinstance(r, Ref) and r.name not in rs.services:
                hint = " (it is an address)" if r.name in rs.addresses else ""
                raise _fail(rs, f"undefined service {r.name!r}{hint}", r.loc)


class Resolver:
    """Resolves a ruleset's expressions, memoising named objects."""

    def __init__(self, rs: Ruleset):
        self.rs = rs
        self._addr: dict[str, SetBounds] = {}
        self._svc: dict[str, SetBounds] = {}
        self.unresolved: dict[str, list[Unresolved]] = {}

    def _addr_item(self, item) -> SetBounds:
        if isinstance(item, Net):
            s = ip_range(item.first, item.last, item.version)
            return SetBounds(s, s)
        if isinstance(item, AnyAddr):
            s = {None: ALL_IP, 4: ALL_V4, 6: ALL_V6}[item.version]
            return SetBounds(s, s)
        if isinstance(item, Ref):
            if item.name not in self._addr:
                self._addr[item.name] = self.address(self.rs.addresses[item.name].expr)
            return self._addr[item.name]
        return SetBounds(EMPTY, ALL_IP)

    def address(self, expr: AddrExpr) -> SetBounds:
        if len(expr.include) == 1 and not expr.exclude:  # the item's own sets (no union to make)
            return self._addr_item(expr.include[0])
        inc = [self._addr_item(i) for i in expr.include]
        exc = [self._addr_item(i) for i in expr.exclude]
        lo_in = IntervalSet(iv for b in inc for iv in b.lower)
        up_in = IntervalSet(iv for b in inc for iv in b.upper)
        lo_ex = IntervalSet(iv for b in exc for iv in b.lower)
        up_ex = IntervalSet(iv for b in exc for iv in b.upper)
        return SetBounds(lo_in - up_ex, up_in - lo_ex)

    def _svc_item(self, item) -> SetBounds:
        if isinstance(item, Svc):
            s = FULL_SVC if item.proto is None else svc_range(item.proto, item.lo, item.hi)
            return SetBounds(s, s)
        if isinstance(item, Ref):
            if item.name not in self._svc:
                self._svc[item.name] = self.services(self.rs.services[item.name].items)
            return self._svc[item.name]
        return SetBounds(EMPTY, FULL_SVC)

    def services(self, items) -> SetBounds:
        if len(items) == 1:
            return self._svc_item(items[0])
        bs = [self._svc_item(i) for i in items]
        return SetBounds(IntervalSet(iv for b in bs for iv in b.lower), IntervalSet(iv for b in bs for iv in b.upper))


def unresolved_items(rs: Ruleset, expr_items, seen=None) -> list[Unresolved]:
    """Unresolved leaves reachable from EXPR_ITEMS (through named objects)."""
    seen = set() if seen is None else seen
    out = []
    for item in expr_items:
        if isinstance(item, Unresolved):
            out.append(item)
        elif isinstance(item, Ref) and item.name not in seen:
            seen.add(item.name)
            if item.name in rs.addresses:
                d = rs.addresses[item.name].expr
                out += unresolved_items(rs, d.include + d.exclude, seen)
            elif item.name in rs.services:
                out += unresolved_items(rs, rs.services[item.name].items, seen)
    return out
