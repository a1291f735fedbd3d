"""Open and copy only regular files: a FIFO, a device or a socket given as an image must never block or
stream without end, and a copy never gets wider permissions than its source had."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from daml_cli.errors import DamlError, DataError


def file_kind(mode: int) -> str:
    """A word for what a non-regular file is, for error messages."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def require_regular_file(
    path: Path | str, what: str = "file", error: type[DamlError] = DataError, hint: str | None = None
) -> os.stat_result:
    """The stat of `path` (links followed) when it is a regular file, else an `error` naming it.

    The one wording for every file a command reads: ``<what> <path> does not exist`` (with `hint`),
    ``<what> <path> is a FIFO, not a regular file`` (a folder, a device, a socket alike), or ``cannot read
    <what> <path>: <reason>``. Checked before anything opens the file, so a FIFO or a device is refused
    instead of blocking.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist", hint) from None
    except OSError as problem:
        raise error(f"cannot read {what} {path}: {problem.strerror or problem}") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{what} {path} is {file_kind(info.st_mode)}, not a regular file", "pass a regular file")
    return info


def copy_regular(source: Path, target: Path) -> None:
    """Copy regular file `source` to `target` without following a link at `source` itself and without
    widening permissions: the copy's mode is the source's, further narrowed by the umask.

    `source` is opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat`` on the open descriptor, so
    a file swapped for a link or a FIFO between scan and copy is refused rather than followed or waited on.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(source, flags)
    except OSError as error:
        raise DataError(f"cannot copy {source}: {error.strerror or error}") from None
    with os.fdopen(fd, "rb") as reader:
        info = os.fstat(reader.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"cannot copy {source}: it is {file_kind(info.st_mode)}, not a regular file")
        umask = os.umask(0)
        os.umask(umask)
        mode = stat.S_IMODE(info.st_mode) & 0o666 & ~umask
        out_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
        with os.fdopen(out_fd, "wb") as writer:
            os.fchmod(writer.fileno(), mode)  # an existing target keeps no wider mode either
            shutil.copyfileobj(reader, writer, 1 << 20)
