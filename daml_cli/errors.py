"""The one exception type the engine raises for bad input; the CLI turns it into a one-line message."""

from __future__ import annotations


class DamlError(Exception):
    """A user-facing error: says what is wrong and, in `hint`, what to do about it.

    The CLI prints ``error: <message>`` (plus `` (<hint>)`` when given) on one line and exits with
    `exit_code`; no traceback is shown.
    """

    exit_code: int = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        message = _without_worker_traceback(message)
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())


def _without_worker_traceback(message: str) -> str:
    """The worker's own message when torch's DataLoader re-raises a worker's error in the main process.

    torch rebuilds the exception as ``type(text)`` where text is "Caught X in DataLoader worker process N.
    Original Traceback ..." ending in the line ``module.X: <one_line()>``: keep that last part only, so the
    user still gets one line and no traceback.
    """
    if "in DataLoader worker process" not in message or "Original Traceback" not in message:
        return message
    last = [line for line in message.splitlines() if line.strip()][-1]
    _, sep, own = last.partition(": ")
    return own if sep else last


class ConfigError(DamlError):
    """A preset, YAML file or `--set` override is invalid."""


class DataError(DamlError):
    """A dataset, manifest, archive or image is missing or malformed."""


class CheckpointError(DamlError):
    """A checkpoint is missing, corrupt or incompatible."""


class IndexFileError(DamlError):
    """A FAISS index or its metadata is missing, corrupt or does not match the model."""


class TrainingInterrupted(DamlError):
    """SIGINT/SIGTERM stopped training after a checkpoint was written."""

    exit_code = 130


class DamlNotice(UserWarning):
    """Something the user should know that is not an error (e.g. a dead process's lock was taken over).

    Issued with `warnings.warn`: the CLI prints it as one ``note: <message>`` line on stderr, a library user
    sees an ordinary Python warning.
    """
