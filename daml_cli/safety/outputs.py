"""Checks on a file a command is about to write, run before any long computation starts.

An output must not be a folder, must land in a writable folder, must not be any file the command reads,
and must never be inside a training run's ``checkpoints/`` folder (the trained model lives there).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from daml_cli.errors import ConfigError


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def is_run_checkpoint_path(path: Path) -> bool:
    """True when `path` is (or would be) inside a run folder's ``checkpoints/``."""
    resolved = Path(os.path.realpath(path))
    for folder in resolved.parents:
        if folder.name == "checkpoints" and (
            (folder.parent / "config.yaml").exists() or any(folder.glob("*.pt"))
        ):
            return True
    return False


def nearest_existing(path: Path) -> Path:
    """`path` or its closest existing ancestor (the folder `mkdir -p` would start from)."""
    current = Path(os.path.abspath(path))
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_writable_folder(folder: Path, option: str) -> None:
    """`folder` (existing or to be created) can receive files; a ConfigError naming it otherwise."""
    existing = nearest_existing(folder)
    if not existing.is_dir():
        raise ConfigError(f"{option}: {existing} is a file, not a folder", "choose a path inside a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{option}: cannot write in {existing} (permission denied)", "choose a writable folder")


def refuse_special(out: Path, option: str = "output") -> None:
    """A ConfigError when `out` exists and is a device, FIFO or socket: replacing it (as root, /dev/null)
    would break the system, and writing into it is not writing a file."""
    from daml_cli.safety.files import file_kind

    try:
        mode = out.stat().st_mode
    except OSError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ConfigError(f"{option} {out} is {file_kind(mode)}, not a regular file", "write to a regular file")


def check_output_file(out: Path | str, option: str = "--out", reads: Iterable[Path | str | None] = ()) -> Path:
    """Refuse an output file that is a folder, unwritable, one of the files in `reads`, or a run's checkpoint.

    Returns `out` as a Path. Call it before the work: the user learns about a bad `--out` at once.
    """
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"{option} {out} is a folder", f"pass the file to write, e.g. {option} {out / 'out'}")
    refuse_special(out, option)
    for source in reads:
        if source is not None and _same_file(out, Path(source)):
            raise ConfigError(f"{option} {out} is also an input of this command; it would be overwritten",
                              "write to another file")
    if is_run_checkpoint_path(out):
        raise ConfigError(f"{option} {out} is inside a run's checkpoints folder; it would replace a trained model",
                          "write to another file")
    check_writable_folder(out.parent, option)
    if out.exists() and not os.access(out, os.W_OK) and not os.access(out.parent, os.W_OK):
        raise ConfigError(f"{option}: cannot write {out} (permission denied)", "choose a writable file")
    return out
