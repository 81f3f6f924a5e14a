"""Safe YAML loading that remembers where each mapping and key came from."""

from __future__ import annotations

import re

import yaml

from .. import limits
from ..errors import InputError, Loc, line_of


class LDict(dict):
    """A dict with the location of itself and of each key."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loc: Loc | None = None
        self.key_locs: dict = {}


class LList(list):
    def __init__(self, *args):
        super().__init__(*args)
        self.loc: Loc | None = None


def _loader(path: str):
    # LibYAML's scanner and parser when present (marks included); the constructors stay ours
    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    def mapping(loader, node):
        loader.flatten_mapping(node)
        out = LDict()
        out.loc = Loc(path, node.start_mark.line + 1, node.start_mark.column + 1)
        out.key_locs = {}
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            try:
                hash(key)
            except TypeError:
                raise InputError(
                    "a mapping key must be a plain value",
                    Loc(path, knode.start_mark.line + 1, knode.start_mark.column + 1),
                ) from None
            if key in out:
                raise InputError(
                    f"duplicate key {key!r}", Loc(path, knode.start_mark.line + 1, knode.start_mark.column + 1)
                )
            out[key] = loader.construct_object(vnode, deep=True)
            out.key_locs[key] = Loc(path, knode.start_mark.line + 1, knode.start_mark.column + 1)
        return out

    def sequence(loader, node):
        out = LList(loader.construct_object(n, deep=True) for n in node.value)
        out.loc = Loc(path, node.start_mark.line + 1, node.start_mark.column + 1)
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    return Loader


def _events(text: str, path: str):
    """YAML events (LibYAML's parser when present; its own nesting limit reads as ours)."""
    try:
        yield from yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" not in str(exc):
            raise
        mark = exc.problem_mark or exc.context_mark
        loc = Loc(path, mark.line + 1, mark.column + 1) if mark else Loc(path)
        raise limits.too_deep(loc, line_of(text, loc.line)) from None


def _check_bounds(text: str, path: str) -> None:
    """Reject nesting deeper than the bound and alias bombs, from the event stream (no recursion).

    Only what aliases add counts against FW2NP_MAX_YAML_NODES: plain documents are bounded by
    their size (FW2NP_MAX_INPUT_BYTES), however many nodes they hold."""
    depth_max, nodes_max = limits.max_depth(), limits.max_yaml_nodes()
    stack: list[list] = []  # [anchor, expanded size] of each open collection
    sizes: dict[str, int] = {}
    added = 0  # nodes that alias expansion adds

    def grow(n: int) -> None:
        if stack:
            stack[-1][1] += n

    for ev in _events(text, path):
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append([ev.anchor, 1])
            if len(stack) > depth_max:
                loc = Loc(path, ev.start_mark.line + 1, ev.start_mark.column + 1)
                raise limits.too_deep(loc, line_of(text, loc.line))
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
            grow(size)
        elif isinstance(ev, yaml.ScalarEvent):
            if ev.anchor:
                sizes[ev.anchor] = 1
            grow(1)
        elif isinstance(ev, yaml.AliasEvent):
            n = sizes.get(ev.anchor, 1)
            added += n
            grow(n)
            if nodes_max and added > nodes_max:
                loc = Loc(path, ev.start_mark.line + 1, ev.start_mark.column + 1)
                raise InputError(
                    f"more than {nodes_max} YAML nodes once aliases are expanded "
                    f"(bound FW2NP_MAX_YAML_NODES; 0 removes it)",
                    loc,
                    line_of(text, loc.line),
                )


def load_all(text: str, path: str) -> list:
    """All documents of TEXT (safe loader); InputError with line:column on bad YAML."""
    try:
        _check_bounds(text, path)
        return list(yaml.load_all(text, Loader=_loader(path)))  # SafeLoader subclass
    except InputError as exc:
        raise InputError(exc.message, exc.loc, line_of(text, exc.loc.line) if exc.loc else None) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Loc(path, mark.line + 1, mark.column + 1) if mark else Loc(path)
        msg = " ".join(x for x in (exc.context, exc.problem) if x) or "bad YAML"
        raise InputError(f"invalid YAML: {msg}", loc, line_of(text, loc.line)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", Loc(path)) from None
    except ValueError as exc:  # an int longer than Python converts (sys.get_int_max_str_digits)
        m = re.search(r"[0-9]{4000,}", text)
        at = text.count("\n", 0, m.start()) + 1 if m else 0
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1 if m else 0
        loc = Loc(path, at, col) if m else Loc(path)
        raise InputError(f"a number too long to read ({exc})", loc, line_of(text, at) if m else None) from None


def loc_of(obj, key=None, default: Loc | None = None) -> Loc | None:
    """Location of KEY in mapping OBJ, or of OBJ itself."""
    if key is not None and isinstance(obj, LDict) and key in obj.key_locs:
        return obj.key_locs[key]
    return getattr(obj, "loc", default)
