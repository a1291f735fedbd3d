"""Exclusive, non-blocking locks on a run folder, an index or a comparison folder, naming who holds them when
refused, and taking over a lock whose holder is gone.

The lock is an ``flock`` on a small file; the holder writes its pid, host, command and start time into it
so a second writer can say who is busy. The kernel drops an ``flock`` when every descriptor of it is closed,
but a process killed with SIGKILL may leave children that inherited the descriptor (DataLoader workers, for
seconds or longer) and always leaves the file. So, on finding a lock:

- held (or left) by a live process on this host: refused, naming it;
- left by a process on this host that no longer runs (its pid is gone, or the ``flock`` is free): taken
  over, with a one-line notice (`DamlNotice`) naming the dead holder;
- recorded by a process on another host: refused, since its liveness cannot be checked from here, with the
  lock file to remove once that process is known to be gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from daml_cli.errors import DamlError, DamlNotice

RUN_LOCK_NAME = ".daml-train.lock"  # in a run folder, held by `daml train`
COMPARE_LOCK_NAME = ".daml-compare.lock"  # in a comparison folder, held by `daml compare`
_RECORD_BYTES = 4096
_ATTEMPTS = 50  # files replaced under us (or stale ones removed) before giving up: never loop for ever


class LockedError(DamlError):
    """Another process is writing the same run folder, index or comparison folder."""


def _record_of(fd: int) -> dict[str, Any] | None:
    """The holder record in the open lock file: a dict, None for an empty file, {} for anything else."""
    data = os.pread(fd, _RECORD_BYTES, 0)
    if not data.strip():
        return None
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return record if isinstance(record, dict) and "pid" in record else {}


def _describe(record: dict[str, Any] | None) -> str:
    if not record:
        return "another process"
    from daml_cli.safety.terminal import cut, plain

    return plain(cut(f"pid {record.get('pid', '?')} on {record.get('host', '?')} ({record.get('command', '?')}, "
                     f"since {record.get('started', '?')})", 400))


def pid_is_running(pid: object) -> bool:
    """True when a process `pid` exists on this host and is not a zombie (killed, not yet reaped)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[-1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _this_host() -> str:
    return socket.gethostname()


def _foreign_host_error(lock_path: Path, what: str, record: dict[str, Any]) -> LockedError:
    return LockedError(
        f"{what} is locked by {_describe(record)}, on another host, so daml cannot tell whether it still runs",
        f"if that process is gone, remove {lock_path}",
    )


def _same_inode(fd: int, lock_path: Path) -> bool:
    try:
        current = os.stat(lock_path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (current.st_ino, current.st_dev) == (mine.st_ino, mine.st_dev)


def _unlink_stale(fd: int, lock_path: Path) -> None:
    """Remove the lock file `fd` has open, unless another process replaced it meanwhile.

    Done under an ``flock`` on the folder, so two processes taking over the same stale lock cannot both
    unlink (the second would otherwise remove the fresh lock file of the first).
    """
    folder = os.open(lock_path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        if _same_inode(fd, lock_path):
            os.unlink(lock_path)
    finally:
        os.close(folder)  # releases the folder's flock


def _took_over(what: str, lock_path: Path, record: dict[str, Any]) -> None:
    warnings.warn(f"took over the lock of {what} from {_describe(record)}, which no longer runs ({lock_path})",
                  DamlNotice, stacklevel=4)


def _acquire(lock_path: Path, what: str) -> int:
    """An open descriptor holding the flock on the file currently at `lock_path` (see the module docstring)."""
    for _ in range(_ATTEMPTS):
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            record = _record_of(fd)
            if record and record.get("host") != _this_host():
                os.close(fd)
                raise _foreign_host_error(lock_path, what, record) from None
            if record and not pid_is_running(record.get("pid")):  # its orphaned children keep the flock
                _unlink_stale(fd, lock_path)
                os.close(fd)
                _took_over(what, lock_path, record)
                continue
            os.close(fd)
            raise LockedError(f"{what} is in use by {_describe(record)}",
                              "wait for it to finish, or stop that process") from None
        if not _same_inode(fd, lock_path):
            os.close(fd)  # the previous holder removed the file between our open and flock: take the new one
            continue
        record = _record_of(fd)
        if record == {}:
            os.close(fd)
            raise LockedError(f"{lock_path} exists and is not a daml lock file", "move it away; daml would overwrite it")
        if record and record.get("host") != _this_host():
            os.close(fd)
            raise _foreign_host_error(lock_path, what, record)
        if record and record.get("pid") != os.getpid():
            _took_over(what, lock_path, record)  # the kernel freed its flock: the holder is gone
        return fd
    raise LockedError(f"{what}: its lock file {lock_path} keeps changing or cannot be taken over",
                      "remove it if no daml process is using it")


@contextlib.contextmanager
def exclusive_lock(lock_path: Path | str, what: str) -> Iterator[Path]:
    """Hold an exclusive lock on `lock_path` for the block; a LockedError naming the holder when it is taken.

    The lock file is removed on release (while still locked, so a waiting process notices and retries).
    """
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(lock_path, what)
    try:
        record = {
            "pid": os.getpid(),
            "host": _this_host(),
            "command": " ".join(["daml", *sys.argv[1:]])[:200],
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)
        yield lock_path
    finally:
        try:
            os.unlink(lock_path)
        except OSError:
            pass
        os.close(fd)  # releases the flock
