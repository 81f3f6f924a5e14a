"""Check object references and resolve expressions into (lower, upper) sets.

`lower` is what an item surely matches, `upper` what it may match: they
differ only where something is unresolved (an FQDN, an unknown object).
Allow rules use lower, deny rules use upper: the secure side.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError, Loc, line_of
from ..limits import MAX_GROUP_DEPTH, max_group_depth  # noqa: F401 (MAX_GROUP_DEPTH: for readers)
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


def check_groups(names, refs_of, kind: str, fail) -> dict[str, int]:
    """Check the reference graph of named groups without recursion; return each group's nesting depth.

    NAMES: the defined groups (iterable, in definition order); REFS_OF(name): its references as
    (referenced name, Loc) pairs.  FAIL(message, loc) makes the InputError raised for an undefined
    name, a cycle (named along its path) or a chain of references deeper than MAX_GROUP_DEPTH
    (FW2NP_MAX_GROUP_DEPTH).  Each group is visited once (a shared subgroup is not walked per path),
    so the cost is linear in the number of references."""
    defined = set(names) if not isinstance(names, (dict, set, frozenset)) else names
    limit = max_group_depth()
    depth: dict[str, int] = {}
    on_path: dict[str, int] = {}  # group -> its index on the current path
    for root in defined:
        if root in depth:
            continue
        path = [root]
        on_path[root] = 0
        stack = [(root, iter(refs_of(root)))]
        while stack:
            name, it = stack[-1]
            for ref, loc in it:
                if ref not in defined:
                    raise fail(f"undefined {kind} {ref!r}", loc)
                if ref in on_path:
                    cycle = " -> ".join(path[on_path[ref] :] + [ref])
                    raise fail(f"{kind} group cycle: {cycle}", loc)
                if ref not in depth:
                    if len(path) > limit:
                        raise fail(
                            f"{kind} groups nested deeper than {limit} levels ({' -> '.join(path[:3])} -> ... -> "
                            f"{ref}; bound FW2NP_MAX_GROUP_DEPTH)",
                            loc,
                        )
                    on_path[ref] = len(path)
                    path.append(ref)
                    stack.append((ref, iter(refs_of(ref))))
                    break
            else:
                stack.pop()
                path.pop()
                del on_path[name]
                depth[name] = 1 + max((depth[r] for r, _ in refs_of(name)), default=-1)
                if depth[name] > limit:
                    raise fail(
                        f"{kind} group {name} nests {depth[name]} levels deep, more than the bound of {limit} "
                        f"(FW2NP_MAX_GROUP_DEPTH)",
                        next(iter(refs_of(name)))[1],
                    )
    return depth


def _ref_pairs(items) -> list[tuple[str, Loc | None]]:
    return [(i.name, i.loc) for i in items if isinstance(i, Ref)]


def check_references(rs: Ruleset) -> None:
    """Raise InputError for an undefined name, a cyclic group or groups nested deeper than MAX_GROUP_DEPTH."""

    def refs(items):
        return [i for i in items if isinstance(i, Ref)]

    def addr_refs(expr: AddrExpr):
        return refs(expr.include) + refs(expr.exclude)

    def fail(msg, loc):
        return _fail(rs, msg, loc)

    check_groups(
        rs.addresses, lambda n: _ref_pairs(rs.addresses[n].expr.include + rs.addresses[n].expr.exclude), "address", fail
    )
    check_groups(rs.services, lambda n: _ref_pairs(rs.services[n].items), "service", fail)

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

    def _resolve_named(self, ref: Ref, table: dict, memo: dict, kind: str) -> None:
        """Resolve the object REF names, and every object under it, into MEMO without recursion: each
        object once, after the objects it names (post-order on an explicit stack), so nesting depth
        costs no Python stack and a shared subgroup is resolved once, never per path."""
        rs = self.rs

        def refs_of(name):
            d = table[name]
            items = d.expr.include + d.expr.exclude if kind == "address" else d.items
            return [i for i in items if isinstance(i, Ref)]

        if ref.name not in table:
            raise _fail(rs, f"undefined {kind} {ref.name!r}", ref.loc)
        on_path = {ref.name}
        stack = [(ref.name, iter(refs_of(ref.name)))]
        while stack:
            name, it = stack[-1]
            for r in it:
                if r.name in memo:
                    continue
                if r.name not in table:
                    raise _fail(rs, f"undefined {kind} {r.name!r}", r.loc)
                if r.name in on_path:
                    cycle = " -> ".join([n for n, _ in stack][[n for n, _ in stack].index(r.name) :] + [r.name])
                    raise _fail(rs, f"{kind} group cycle: {cycle}", r.loc)
                on_path.add(r.name)
                stack.append((r.name, iter(refs_of(r.name))))
                break
            else:
                stack.pop()
                on_path.discard(name)
                d = table[name]
                memo[name] = self.address(d.expr) if kind == "address" else self.services(d.items)

    def _addr_item(self, item) -> SetBounds:
        if isinstance(item, Net):
            s = ip_range(item.first, item.last, item.version)
            return SetBounds(s, s)
        if isinstance(item, AnyAddr):
            s = {None: ALL_IP, 4: ALL_V4, 6: ALL_V6}[item.version]
            return SetBounds(s, s)
        if isinstance(item, Ref):
            if item.name not in self._addr:
                self._resolve_named(item, self.rs.addresses, self._addr, "address")
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
                self._resolve_named(item, self.rs.services, self._svc, "service")
            return self._svc[item.name]
        return SetBounds(EMPTY, FULL_SVC)

    def services(self, items) -> SetBounds:
        if len(items) == 1:
            return self._svc_item(items[0])
        bs = [self._svc_item(i) for i in items]
        return SetBounds(IntervalSet(iv for b in bs for iv in b.lower), IntervalSet(iv for b in bs for iv in b.upper))


def fqdns_of(rs: Ruleset, expr: AddrExpr) -> tuple[str, ...]:
    """The DNS names EXPR holds as a plain union: through named objects, never under an except (a name
    there would stand for its addresses less the except, which a DNS name cannot say)."""
    out: list[str] = []
    seen: set[str] = set()
    todo = [expr]
    while todo:
        e = todo.pop()
        if e.exclude:
            continue
        for item in e.include:
            if isinstance(item, Unresolved) and item.fqdn:
                out.append(item.fqdn)
            elif isinstance(item, Ref) and item.name in rs.addresses and item.name not in seen:
                seen.add(item.name)
                todo.append(rs.addresses[item.name].expr)
    return tuple(sorted(set(out)))


def unresolved_items(rs: Ruleset, expr_items, seen=None) -> list[Unresolved]:
    """Unresolved leaves reachable from EXPR_ITEMS (through named objects, each visited once; no recursion)."""
    seen = set() if seen is None else seen
    out = []
    todo = [iter(expr_items)]
    while todo:
        for item in todo[-1]:
            if isinstance(item, Unresolved):
                out.append(item)
            elif isinstance(item, Ref) and item.name not in seen:
                seen.add(item.name)
                if item.name in rs.addresses:
                    d = rs.addresses[item.name].expr
                    todo.append(iter(d.include + d.exclude))
                    break
                if item.name in rs.services:
                    todo.append(iter(rs.services[item.name].items))
                    break
        else:
            todo.pop()
    return out
