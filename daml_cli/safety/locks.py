"""Exclusive, non-blocking locks on a run folder or an index, naming who holds them when refused.

The lock is an ``flock`` on a small file; the holder writes its pid, host, command and start time into it
so a second writer can say who is busy. The kernel drops the lock when the holder exits, however it exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from daml_cli.errors import DamlError


class LockedError(DamlError):
    """Another process is writing the same run folder or index."""


def _holder(handle_path: Path) -> str:
    try:
        info = json.loads(handle_path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or not info:
        return "another process"
    from daml_cli.safety.terminal import plain

    return plain(f"pid {info.get('pid', '?')} on {info.get('host', '?')} ({info.get('command', '?')}, "
                 f"since {info.get('started', '?')})")


def _acquire(lock_path: Path, what: str) -> int:
    """An open descriptor holding the flock on the file currently at `lock_path`."""
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(f"{what} is in use by {_holder(lock_path)}",
                              "wait for it to finish, or stop that process") from None
        try:
            current = os.stat(lock_path, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        if current is not None and current.st_ino == os.fstat(fd).st_ino:
            return fd
        os.close(fd)  # the previous holder removed the file between our open and flock: take the new one


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
            "host": socket.gethostname(),
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
