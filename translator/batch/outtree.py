"""Writing into a batch output tree: never through a link, never onto the report's names.

Every manifest is written relative to the output directory, one directory file descriptor at a
time, each component opened with O_NOFOLLOW: a symlink planted anywhere under the output
directory (a directory link or the target file itself) is refused with an error naming it, so no
file outside the tree is ever written.  The write is atomic (a temporary '.NAME.*.tmp' beside the
target, then a rename in the same directory).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import PurePosixPath

from ..errors import InputError, Loc

REPORT_FILES = ("report.json", "report.html")
RESERVED_SUFFIX = ".d"


def output_rel(rel: str) -> str:
    """REL (a posix path under the output directory) with its first component moved off the
    report's names: 'report.json', 'report.json.d', ... each take one more '.d' (injective, so two
    inputs never share an output and none takes the place of report.json / report.html)."""
    parts = PurePosixPath(rel).parts
    head = parts[0]
    base = head
    while base.endswith(RESERVED_SUFFIX) and base not in REPORT_FILES:
        base = base[: -len(RESERVED_SUFFIX)]
    if base in REPORT_FILES:
        head += RESERVED_SUFFIX
    return PurePosixPath(head, *parts[1:]).as_posix()


def _link_error(outdir: str, rel_parts, k: int) -> InputError:
    where = os.path.join(outdir, *rel_parts[: k + 1])
    return InputError(
        "a symbolic link in the output directory: refusing to write through it (it could lead outside); remove it",
        Loc(where),
    )


def write_in_tree(outdir: str, rel: str, write) -> None:
    """WRITE(text file) into OUTDIR/REL atomically, creating directories, following no link."""
    parts = PurePosixPath(rel).parts
    if not parts or any(p in ("", ".", "..") for p in parts):
        raise InputError(f"output path {rel!r} leaves the output directory", Loc(outdir))
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(outdir, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for k, name in enumerate(parts[:-1]):
            try:
                nxt = os.open(name, flags, dir_fd=fd)
            except FileNotFoundError:
                try:
                    os.mkdir(name, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass  # another worker made it
                nxt = _open_dir(name, flags, fd, outdir, parts, k)
            except OSError:
                nxt = _open_dir(name, flags, fd, outdir, parts, k)
            os.close(fd)
            fd = nxt
        name = parts[-1]
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise _link_error(outdir, parts, len(parts) - 1)
        tmp = f".{name}.{secrets.token_hex(4)}.tmp"
        tfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666, dir_fd=fd)
        try:
            with os.fdopen(tfd, "w", encoding="utf-8", newline="\n") as fh:
                write(fh)
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=fd)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)


def _open_dir(name: str, flags: int, fd: int, outdir: str, parts, k: int) -> int:
    try:
        return os.open(name, flags, dir_fd=fd)
    except OSError:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            raise
        if stat.S_ISLNK(st.st_mode):
            raise _link_error(outdir, parts, k) from None
        raise
