"""Reading an input file as text, within the size bound."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError, Loc


def read_text(path: str) -> str:
    """Read an input file as text, with a clear error if it is not."""
    from ..limits import bound

    limit = bound("MAX_INPUT_BYTES", 1 << 30)
    try:
        p = Path(path)
        if p.is_file() and p.stat().st_size > limit:
            raise InputError(f"input is larger than {limit} bytes (bound FW2NP_MAX_INPUT_BYTES)", Loc(path))
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read input: {exc.strerror}", Loc(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("input is not UTF-8 text", Loc(path, line)) from None
