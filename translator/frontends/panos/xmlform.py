"""A PAN-OS XML configuration (`<config>`, as exported or `show config running`) as the `set` lines the
set form gives: each leaf's path of tags and entry names, then its value; `<member>` lists are one
line a member.  Read with the standard library's expat, a document type (and so any entity) refused."""

from __future__ import annotations

from xml.parsers import expat

from ...errors import InputError, Loc, line_of
from ..common.setlines import Line


class _Node:
    __slots__ = ("tag", "attrs", "kids", "text", "loc")

    def __init__(self, tag, attrs, loc):
        self.tag, self.attrs, self.kids, self.text, self.loc = tag, attrs, [], "", loc


def _tree(text: str, path: str) -> _Node:
    p = expat.ParserCreate()
    root = _Node("#root", {}, Loc(path, 1, 1))
    stack = [root]

    def start(tag, attrs):
        n = _Node(tag, attrs, Loc(path, p.CurrentLineNumber, p.CurrentColumnNumber + 1))
        stack[-1].kids.append(n)
        stack.append(n)

    def end(tag):
        stack.pop()

    def chars(data):
        stack[-1].text += data

    def doctype(*_args):
        at = text.find("<!DOCTYPE")
        line = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1
        msg = "an XML document type (DOCTYPE) is not read: a configuration has none"
        raise InputError(msg, Loc(path, line, col), line_of(text, line))

    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, chars
    p.StartDoctypeDeclHandler = doctype
    try:
        p.Parse(text, True)
    except expat.ExpatError as exc:
        loc = Loc(path, exc.lineno, exc.offset + 1)
        raise InputError(
            f"not well-formed XML: {expat.ErrorString(exc.code)}", loc, line_of(text, exc.lineno)
        ) from None
    return root


def set_lines(text: str, path: str) -> list[tuple[str, Line]]:
    """The configuration's leaves as ("set", words) lines, scoped as the set form scopes them:
    `vsys NAME ...`, `device-group NAME ...`, `shared ...`."""
    root = _tree(text, path)
    config = next((k for k in root.kids if k.tag == "config"), None)
    if config is None:
        raise InputError("expected a <config> document (a PAN-OS configuration)", Loc(path, 1, 1))
    out: list[tuple[str, Line]] = []

    def walk(n: _Node, words: tuple, locs: tuple) -> None:
        kids = n.kids
        if not kids:
            value = n.text.strip()
            if value:  # the tag is in WORDS already (a member's is not: it is the list's)
                out.append(("set", Line(words + (value,), locs + (n.loc,))))
            return
        for k in kids:
            if k.tag == "entry" and "name" in k.attrs:
                walk(k, words + (k.attrs["name"],), locs + (k.loc,))
            elif k.tag == "member":
                walk(k, words, locs)
            else:
                walk(k, words + (k.tag,), locs + (k.loc,))

    for top in config.kids:
        if top.tag == "devices":
            for dev in (k for k in top.kids if k.tag == "entry"):
                for part in dev.kids:
                    if part.tag in ("vsys", "device-group"):
                        for e in (k for k in part.kids if k.tag == "entry"):
                            walk(e, (part.tag, e.attrs.get("name", "")), (e.loc, e.loc))
        elif top.tag == "shared":
            walk(top, ("shared",), (top.loc,))
    return out
