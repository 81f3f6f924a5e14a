"""Writing into a batch output tree: never through a link; manifests and reports apart.

Every manifest is written relative to the output directory, one directory file descriptor at a
time, each component opened with O_NOFOLLOW: a symlink planted anywhere under the output
directory (a directory link or the target file itself) is refused with an error naming it, so no
file outside the tree is ever written.  The write is atomic (a temporary '.NAME.*.tmp' beside the
target, then a rename in the same directory), but for a device or FIFO found at the target, which
is written through.  Manifests go under manifests/, the report under report/.
"""

from __future__ import annotations

import os
import stat
from pathlib import PurePosixPath

from ..errors import InputError, Loc
from ..io.target import replace_file

MANIFESTS = "manifests"  # the manifests, mirroring the input tree, and their Kustomization
REPORT_DIR = "report"  # report.json and report.html, kept out of what `kubectl apply -R -f` reads
REPORT_FILES = ("report.json", "report.html")


KUSTOMIZE_NAMES = ("Kustomization", "kustomization.yaml", "kustomization.yml")  # kustomize reads one
ESCAPE = "_"


def manifest_rel(rel: str) -> str:
    """The path under the output directory of the manifest REL (a posix path under manifests/):
    its first component kept off kustomize's file names ('kustomization.yaml', ... each take one
    more leading '_'; injective, so two inputs never share an output)."""
    parts = PurePosixPath(rel).parts
    head = parts[0]
    if head.lstrip(ESCAPE) in KUSTOMIZE_NAMES:
        head = ESCAPE + head
    return PurePosixPath(MANIFESTS, head, *parts[1:]).as_posix()


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
        if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            _write_through(name, fd, write)  # a device or FIFO placed there on purpose
        else:
            replace_file(None, name, write, None if st is None else stat.S_IMODE(st.st_mode), dir_fd=fd)
    finally:
        os.close(fd)


def remove_in_tree(outdir: str, rel: str) -> None:
    """Remove the regular file OUTDIR/REL if it is there (a device, FIFO or link is left), through no
    directory link (refused)."""
    parts = PurePosixPath(rel).parts
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(outdir, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for k, name in enumerate(parts[:-1]):
            try:
                nxt = _open_dir(name, flags, fd, outdir, parts, k)
            except FileNotFoundError:
                return
            os.close(fd)
            fd = nxt
        try:
            st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            where = os.path.join(outdir, *parts)
            raise InputError(f"{where} is a directory where fw2np writes a file; move it away", Loc(where))
        if stat.S_ISREG(st.st_mode):
            os.unlink(parts[-1], dir_fd=fd)
    finally:
        os.close(fd)


def _write_through(name: str, dir_fd: int, write) -> None:
    flags = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    with os.fdopen(os.open(name, flags, dir_fd=dir_fd), "w", encoding="utf-8", newline="\n") as fh:
        write(fh)


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
