"""Input-derived text made safe to print: control characters shown as escapes.

A value read from input (a label, a name, an annotation, a rule id or comment) may hold
a newline, an ESC sequence or a bidi override; printed raw it can end a comment and
start a statement in the ruleset language, or forge, hide and reorder rows on a
terminal.  `escaped` shows each such character as a visible escape (`\\n`, `\\x1b`,
`\\u202e`), so the escaped text holds none of them.  A backslash is left as it is (the
text is for reading, not for decoding: a comment without control characters survives a
round trip unchanged).  Every output that prints input-derived values uses this function.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls; the line and paragraph separators (str.splitlines
# breaks on them); the bidi embeddings, overrides, isolates and marks; zero-width
# space and BOM (they hide text)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match) -> str:
    ch = m.group()
    if ch in _NAMED:
        return _NAMED[ch]
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def escaped(text: object) -> str:
    """TEXT (made a str) with control characters and bidi controls as visible escapes."""
    s = str(text)
    return _UNSAFE.sub(_escape, s) if _UNSAFE.search(s) else s


def unsafe(text: str) -> bool:
    """True when TEXT holds a character `escaped` rewrites."""
    return _UNSAFE.search(text) is not None
