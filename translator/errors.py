"""Errors about input, with file:line:column and a caret under the spot."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    """A place in an input file (line and column count from 1)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.file}:{self.line}:{self.column}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


SHOWN = 160  # characters of a source line shown under an error


class InputError(Exception):
    """Bad input: reported as 'file:line:col: error: message', exit code 2."""

    def __init__(self, message: str, loc: Loc | None = None, source_line: str | None = None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.source_line = source_line

    def render(self) -> str:
        head = f"{self.loc}: error: {self.message}" if self.loc else f"error: {self.message}"
        if self.source_line is not None and self.loc and self.loc.column:
            line = self.source_line.rstrip("\r\n").expandtabs(1)
            col = self.loc.column - 1
            if len(line) > SHOWN:  # a minified line: show the part around the column
                start = max(0, min(col - SHOWN // 2, len(line) - SHOWN))
                line = (
                    ("..." if start else "")
                    + line[start : start + SHOWN]
                    + ("..." if start + SHOWN < len(line) else "")
                )
                col = col - start + (3 if start else 0)
            line = "".join(ch if ch.isprintable() else "?" for ch in line)
            return f"{head}\n    {line}\n    {' ' * col}^"
        return head

    def __str__(self) -> str:
        return self.render()


def line_of(text: str, line: int) -> str | None:
    """The text of line LINE (from 1), or None."""
    lines = text.splitlines()
    if 1 <= line <= len(lines):
        return lines[line - 1]
    return None


@dataclass(frozen=True)
class Warning_:
    """A warning tied to a place and, where there is one, a rule id."""

    message: str
    loc: Loc | None = None
    rule: str | None = None

    def __str__(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        rule = f"rule {self.rule}: " if self.rule else ""
        return f"{where}warning: {rule}{self.message}"
