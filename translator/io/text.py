"""Reading an input file as text, within the size bound."""

from __future__ import annotations

import os
import stat

from ..errors import InputError, Loc

CHUNK = 1 << 20  # bytes read at a time


def read_text(path: str) -> str:
    """Read an input file as text, with a clear error if it is not.

    At most FW2NP_MAX_INPUT_BYTES + 1 bytes are ever read, whatever the file is (a regular file,
    a FIFO, a device such as /dev/zero, /dev/stdin): the size a stat reports is not trusted."""
    from ..limits import bound

    limit = bound("MAX_INPUT_BYTES", 1 << 30)
    too_big = InputError(f"input is larger than {limit} bytes (bound FW2NP_MAX_INPUT_BYTES)", Loc(path))
    chunks: list[bytes] = []
    got = 0
    try:
        with open(path, "rb", buffering=0) as fh:
            st = os.fstat(fh.fileno())
            if stat.S_ISREG(st.st_mode) and st.st_size > limit:
                raise too_big
            while got <= limit:
                chunk = fh.read(min(CHUNK, limit + 1 - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
    except OSError as exc:
        raise InputError(f"cannot read input: {exc.strerror or exc}", Loc(path)) from None
    if got > limit:
        raise too_big
    data = b"".join(chunks)
    del chunks
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("input is not UTF-8 text", Loc(path, line)) from None
