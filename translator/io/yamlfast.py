"""A fast YAML reader for big plain documents: dicts and lists built straight from LibYAML's events.

It keeps no locations and takes only plain YAML: no anchors, aliases, explicit tags, merge keys,
collection keys or duplicate keys, nothing nested deeper than FW2NP_MAX_DEPTH.  For anything else
(a YAML error too) it returns None and the caller uses `yamlio.load_all`, which reads every
document the same way and places every error.  Scalars are resolved and constructed by PyYAML's
own safe resolver and constructors, once per distinct (text, implicit) pair.
"""

from __future__ import annotations

import yaml

from .. import limits

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS = frozenset(
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "timestamp")
)  # immutable values, safe to share
_NOKEY = object()


class _Fallback(Exception):
    """The text needs the full loader."""


class _Scalars:
    """Scalar text to value, as SafeLoader resolves and constructs it (memoised)."""

    def __init__(self):
        self.loader = yaml.SafeLoader("")
        self.memo: dict = {}

    def value(self, text: str, implicit: tuple):
        key = (text, implicit)
        try:
            return self.memo[key]
        except KeyError:
            pass
        ld = self.loader
        tag = ld.resolve(yaml.ScalarNode, text, implicit)
        if tag not in _PLAIN_TAGS:
            raise _Fallback
        v = self.memo[key] = ld.yaml_constructors[tag](ld, yaml.ScalarNode(tag, text))
        return v


def load_all_plain(text: str) -> list | None:
    """Every document of TEXT as plain dicts and lists, or None when TEXT needs `yamlio.load_all`."""
    depth_max = limits.max_depth()
    loader = _LOADER(text)
    try:
        return _build(loader.get_event, depth_max)
    except (_Fallback, yaml.YAMLError, ValueError, TypeError):
        return None
    finally:
        loader.dispose()


def _build(get, depth_max: int) -> list:
    """The documents of the event stream GET (one loop, no recursion: the hot path of a big file)."""
    scalars = _Scalars()
    memo, docs = scalars.memo, []
    stack: list[tuple] = []  # (container, pending key, is a mapping) of each enclosing collection
    cur, key, in_map = None, _NOKEY, False  # the open collection (None: the document level)
    scalar_ev, map_ev, seq_ev = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    while True:
        ev = get()
        t = type(ev)
        if t is scalar_ev:
            if ev.anchor is not None or ev.tag is not None:
                raise _Fallback
            v = memo.get((ev.value, ev.implicit), _NOKEY)
            if v is _NOKEY:
                v = scalars.value(ev.value, ev.implicit)
            if in_map:
                if key is _NOKEY:
                    if v in cur:
                        raise _Fallback  # a duplicate key
                    key = v
                else:
                    cur[key] = v
                    key = _NOKEY
            elif cur is not None:
                cur.append(v)
            else:
                docs.append(v)
        elif t is map_ev or t is seq_ev:
            if ev.anchor is not None or ev.tag is not None or len(stack) >= depth_max:
                raise _Fallback
            c = {} if t is map_ev else []
            if in_map:
                if key is _NOKEY:
                    raise _Fallback  # a collection as a key
                cur[key] = c
            elif cur is not None:
                cur.append(c)
            else:
                docs.append(c)
            stack.append((cur, _NOKEY, in_map))
            cur, key, in_map = c, _NOKEY, t is map_ev
        elif t in ends:
            cur, key, in_map = stack.pop()
        elif t is yaml.AliasEvent:
            raise _Fallback
        elif ev is None or t is yaml.StreamEndEvent:
            return docs
