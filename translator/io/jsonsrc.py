"""JSON with line numbers, for the cloud exports.

`json.loads` keeps no positions, so `parse_json` is a small recursive-descent
reader (strings via the json module's own scanner) whose objects and arrays
are `yamlio.LDict` / `LList`: they carry the location of themselves and of
each key, for `file:line:col` messages.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right

from .. import limits
from ..errors import InputError, Loc, line_of
from .yamlio import LDict, LList

_WS = re.compile(r"[ \t\n\r]*")
MAX_NUMBER_DIGITS = 4000  # no export holds a longer number
_NUM = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_WORDS = {"true": True, "false": False, "null": None}


class JsonReader:
    """Reads one JSON document, keeping where each value is (file:line:col)."""

    def __init__(self, text: str, path: str):
        self.s, self.path = text, path
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.depth, self.max_depth = 0, limits.max_depth()

    def loc(self, pos: int) -> Loc:
        line = bisect_right(self.starts, pos)
        return Loc(self.path, line, pos - self.starts[line - 1] + 1)

    def fail(self, msg: str, pos: int) -> InputError:
        loc = self.loc(pos)
        return InputError(f"invalid JSON: {msg}", loc, line_of(self.s, loc.line))

    def ws(self, i: int) -> int:
        return _WS.match(self.s, i).end()

    def string(self, i: int) -> tuple[str, int]:
        try:
            return json.decoder.scanstring(self.s, i + 1)
        except json.JSONDecodeError as exc:
            raise self.fail(exc.msg.lower(), exc.pos) from None

    def value(self, i: int):
        i = self.ws(i)
        c = self.s[i : i + 1]
        if c in ("{", "["):
            self.depth += 1
            if self.depth > self.max_depth:
                loc = self.loc(i)
                raise limits.too_deep(loc, line_of(self.s, loc.line))
            out = self.obj(i) if c == "{" else self.arr(i)
            self.depth -= 1
            return out
        if c == '"':
            return self.string(i)
        m = _NUM.match(self.s, i)
        if m and m.end() > i:
            num = m.group(0)
            if len(num) > MAX_NUMBER_DIGITS:  # Python refuses longer ints (sys.get_int_max_str_digits)
                raise self.fail(
                    f"a number too long to read ({len(num):,} characters, at most {MAX_NUMBER_DIGITS:,})", i
                )
            return (float(num) if m.group(1) or m.group(2) else int(num)), m.end()
        for word, val in _WORDS.items():
            if self.s.startswith(word, i):
                return val, i + len(word)
        what = "end of input" if not c else repr(c)
        raise self.fail(f"unexpected {what}; expected a value", i)

    def obj(self, i: int):
        out = LDict()
        out.loc, out.key_locs = self.loc(i), {}
        i = self.ws(i + 1)
        if self.s.startswith("}", i):
            return out, i + 1
        while True:
            if not self.s.startswith('"', i):
                raise self.fail("expected a quoted key", i)
            kpos = i
            key, i = self.string(i)
            i = self.ws(i)
            if not self.s.startswith(":", i):
                raise self.fail("expected ':' after the key", i)
            if key in out:
                raise self.fail(f"duplicate key {key!r}", kpos)
            out[key], i = self.value(i + 1)
            out.key_locs[key] = self.loc(kpos)
            i = self.ws(i)
            if self.s.startswith(",", i):
                i = self.ws(i + 1)
            elif self.s.startswith("}", i):
                return out, i + 1
            else:
                raise self.fail("expected ',' or '}'", i)

    def arr(self, i: int):
        out = LList()
        out.loc = self.loc(i)
        i = self.ws(i + 1)
        if self.s.startswith("]", i):
            return out, i + 1
        while True:
            val, i = self.value(i)
            out.append(val)
            i = self.ws(i)
            if self.s.startswith(",", i):
                i += 1
            elif self.s.startswith("]", i):
                return out, i + 1
            else:
                raise self.fail("expected ',' or ']'", i)


def parse_json(text: str, path: str):
    """TEXT as JSON, objects and arrays remembering their locations (InputError if bad)."""
    r = JsonReader(text, path)
    val, i = r.value(0)
    i = r.ws(i)
    if i < len(text):
        raise r.fail("extra data after the JSON value", i)
    return val


def looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


class Doc:
    """A parsed export: its text and path, for locations and errors."""

    def __init__(self, text: str, path: str):
        self.text, self.path = text, path
        self.data = parse_json(text, path)

    def loc(self, obj, key=None) -> Loc:
        if key is not None and isinstance(obj, LDict) and key in obj.key_locs:
            return obj.key_locs[key]
        return getattr(obj, "loc", None) or Loc(self.path)

    def fail(self, msg: str, obj=None, key=None) -> InputError:
        loc = self.loc(obj, key)
        return InputError(msg, loc, line_of(self.text, loc.line) if loc.line else None)

    def get(self, obj, key, kind, default=None, required=False):
        """OBJ[KEY] checked to be of KIND (a type or tuple of types)."""
        if not isinstance(obj, dict) or key not in obj or obj[key] is None:
            if required:
                raise self.fail(f"missing {key!r}", obj)
            return default
        val = obj[key]
        if not isinstance(val, kind) or (isinstance(val, bool) and kind in (int, (int, str))):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            names = (
                names.replace("str", "a string")
                .replace("int", "a number")
                .replace("list", "a list")
                .replace("dict", "an object")
                .replace("bool", "true/false")
            )
            raise self.fail(f"{key!r} must be {names}, got {json.dumps(val)[:40]}", obj, key)
        return val
