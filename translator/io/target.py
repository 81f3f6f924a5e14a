"""Where an output goes: stdout, through a device, FIFO or link, or into a regular file atomically.

`-o PATH` must never replace what PATH is: a device (`/dev/null`), a FIFO or an open file
descriptor (`/dev/stdout`) is opened and written to; a symbolic link is followed and its target
written the same way; only a
regular file (or a new path) is written through a temporary file beside it and a rename, so a
reader never sees half of it.  New files get the user's umask (0644 under umask 022); a replaced
file keeps its permission bits.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

from ..errors import InputError, Loc

STDOUT = "-"


def write_to(path: str | Path, write) -> None:
    """WRITE(text stream) into the output PATH ('-': stdout); see the module docstring."""
    if str(path) == STDOUT:
        write(sys.stdout)
        sys.stdout.flush()
        return
    try:
        st = os.stat(path)  # through every link, /dev/stdout's (/proc/self/fd/1) too
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise InputError("the output is a directory (-o takes a file; -d a directory)", Loc(str(path)))
    real = Path(os.path.realpath(path))  # a dangling link's target is created
    if st is not None and (not stat.S_ISREG(st.st_mode) or real.parts[1:2] == ("proc",)):
        with open(path, "w", encoding="utf-8", newline="\n") as fh:  # a device, a FIFO, an open fd
            write(fh)
        return
    real.parent.mkdir(parents=True, exist_ok=True)
    replace_file(real.parent, real.name, write, None if st is None else stat.S_IMODE(st.st_mode))


def temp_name(name: str) -> str:
    """The temporary file beside NAME ('.NAME.XXXXXXXX.tmp'; batch's cleanup removes these)."""
    return f".{name}.{secrets.token_hex(4)}.tmp"


def replace_file(directory, name: str, write, mode: int | None = None, dir_fd: int | None = None) -> None:
    """WRITE(text stream) into a new temporary file in DIRECTORY (or the directory DIR_FD), then
    rename it onto NAME.  Created 0666 less the umask, or given MODE (the file it replaces)."""
    base = None if dir_fd is not None else os.fspath(directory)
    tmp = temp_name(name)
    where = tmp if base is None else os.path.join(base, tmp)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(where, flags, 0o666, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            write(fh)
        target = name if base is None else os.path.join(base, name)
        os.replace(where, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(where, dir_fd=dir_fd)
        except OSError:
            pass
        raise
