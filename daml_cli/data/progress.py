"""Byte progress for downloads, checksums and extraction: the callback the engine calls and a silent default."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager


class ByteBar:
    """One bar: a task of a rich Progress (drawn by the CLI), or nothing at all when `progress` is None."""

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


Warn = Callable[[str], None]
"""How the engine reports a warning (one line, no "warning:" prefix); the CLI prints it, the default below
hands it to Python's `warnings` so that library users see it too."""


def python_warning(message: str) -> None:
    import warnings

    warnings.warn(message, UserWarning, stacklevel=3)


ByteProgress = Callable[[str, "int | None"], AbstractContextManager[ByteBar]]
"""How the engine reports byte progress: ``progress(description, total)`` opens a bar for one file.

The caller (the CLI) decides how, or whether, progress is drawn, as `TrainReporter` does for training and the
``on_batch`` callbacks do for embedding; the data layer never prints.
"""


@contextlib.contextmanager
def silent_progress(description: str, total: int | None = None) -> Iterator[ByteBar]:
    """A bar that draws nothing: the default wherever no caller asked for progress."""
    yield ByteBar(None, None)
