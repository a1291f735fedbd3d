"""A byte-counting rich progress bar on stderr for downloads, checksums and extraction (or a silent stand-in)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class ByteBar:
    """One task of a rich Progress; every method is a no-op when the bar is disabled."""

    def __init__(self, progress, task) -> None:
        self._progress = progress
        self._task = task

    def reset(self, total: int | None, description: str | None = None) -> None:
        if self._progress is not None:
            fields = {"description": description} if description else {}
            self._progress.reset(self._task, total=total, **fields)

    def set(self, completed: int, total: int | None = None) -> None:
        if self._progress is not None:
            if total is not None:
                self._progress.update(self._task, completed=completed, total=total)
            else:
                self._progress.update(self._task, completed=completed)

    def advance(self, amount: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, amount)


@contextlib.contextmanager
def byte_progress(enabled: bool, description: str, total: int | None = None) -> Iterator[ByteBar]:
    """Yield a ByteBar showing bytes done, speed and time left; nothing is drawn unless `enabled`."""
    if not enabled:
        yield ByteBar(None, None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        yield ByteBar(progress, progress.add_task(description, total=total))
