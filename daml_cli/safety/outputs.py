"""Checks on a file a command is about to write, run before any long computation starts: the one place every
command's outputs are checked.

An output must not be a folder or a special file, must land in a writable folder, and must not replace a
file that something depends on. That last rule is checked from the file system, the same for every command:

- a file of a training run: in a folder holding a run (``checkpoints/last.pt`` or ``best.pt``,
  ``config.yaml`` with ``metrics.jsonl``, or the run lock), its ``config.yaml``, ``metrics.jsonl``, ``metrics.csv``,
  ``curves.png``, ``result.json`` and lock, and anything under its ``checkpoints/`` or ``tensorboard/``;
  a ``checkpoints/`` folder holding ``.pt`` files counts alone;
- an existing file of a prepared dataset (any file under a folder holding ``manifest.csv``);
- a lock file (a run's, a comparison's, or ``X.lock`` beside an existing ``X``);
- any file the command reads (`reads`: files, or folders whose existing files are all read).

A new file in a run folder or beside a dataset (``runs/r1/test.npz``) is allowed: it replaces nothing.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from daml_cli.errors import ConfigError
from daml_cli.safety.locks import COMPARE_LOCK_NAME, RUN_LOCK_NAME

RUN_FILES = frozenset({"config.yaml", "metrics.jsonl", "metrics.csv", "curves.png", "result.json", RUN_LOCK_NAME})
RUN_FOLDERS = frozenset({"checkpoints", "tensorboard"})
DATASET_MARKERS = ("manifest.csv", ".daml-prepared.json")

Read = Path | str | tuple[str, Path | str | None] | None  # a path, or (what it is, path) for the message


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return _real(a) == _real(b) or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def holds_run(folder: Path) -> bool:
    """True when `folder` is a training run's folder (see the module docstring)."""
    checkpoints = folder / "checkpoints"
    return (checkpoints / "last.pt").exists() or (checkpoints / "best.pt").exists() or (
        (folder / RUN_LOCK_NAME).exists()
    ) or ((folder / "config.yaml").is_file() and (folder / "metrics.jsonl").is_file())


def is_run_checkpoint_path(path: Path) -> bool:
    """True when `path` is (or would be) inside a run folder's ``checkpoints/``."""
    resolved = _real(path)
    for folder in resolved.parents:
        if folder.name == "checkpoints" and (
            (folder.parent / "config.yaml").exists() or any(folder.glob("*.pt"))
        ):
            return True
    return False


def run_file_reason(path: Path) -> str | None:
    """Why `path` belongs to a training run (``"the config.yaml of run folder R"``), or None."""
    resolved = _real(path)
    if resolved.name in RUN_FILES and holds_run(resolved.parent):
        return f"the {resolved.name} of run folder {resolved.parent}"
    for folder in resolved.parents:
        if folder.name in RUN_FOLDERS and holds_run(folder.parent):
            return f"inside the {folder.name} folder of run folder {folder.parent}"
    if is_run_checkpoint_path(path):
        return "inside a run's checkpoints folder"
    return None


def dataset_file_reason(path: Path) -> str | None:
    """Why `path` belongs to a prepared dataset (an existing file under a folder with ``manifest.csv``), or None."""
    resolved = _real(path)
    if not resolved.exists() and resolved.name not in DATASET_MARKERS:
        return None
    for folder in resolved.parents:
        if any((folder / name).is_file() for name in DATASET_MARKERS):
            return f"a file of the prepared dataset {folder}"
    return None


def lock_file_reason(path: Path) -> str | None:
    """Why `path` is a lock file (of a run, a comparison, or the file it is named after), or None."""
    name = path.name
    if name in (RUN_LOCK_NAME, COMPARE_LOCK_NAME):
        return "a daml lock file"
    if name.endswith(".lock") and len(name) > 5 and path.with_name(name[:-5]).exists():
        return f"the lock file of {path.with_name(name[:-5])}"
    return None


def protected_reason(path: Path) -> str | None:
    """Why no command may write `path` (a run's file, a dataset's file, a lock), or None."""
    return run_file_reason(path) or dataset_file_reason(path) or lock_file_reason(path)


def _read_entries(reads: Iterable[Read]) -> list[tuple[str, Path]]:
    entries = []
    for item in reads:
        what, source = item if isinstance(item, tuple) else ("", item)
        if source is not None:
            entries.append((what, Path(source)))
    return entries


def read_by_command(out: Path, reads: Iterable[Read]) -> str | None:
    """How `out` is read by the command (``"the --index file g.faiss"``), or None when it is not."""
    for what, source in _read_entries(reads):
        named = f"{what} {source}" if what else str(source)
        if source.is_dir():
            if out.exists() and _real(source) in _real(out).parents:
                return f"a file in {named}"
        elif _same_file(out, source):
            return named
    return None


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


def check_output_file(out: Path | str, option: str = "--out", reads: Iterable[Read] = ()) -> Path:
    """Refuse an output file that is a folder, a special file, unwritable, protected (module docstring) or one
    of the files in `reads` (each a path or ``(what, path)``; a folder stands for every file in it).

    Returns `out` as a Path. Call it before the work: the user learns about a bad `--out` at once.
    """
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"{option} {out} is a folder", f"pass the file to write, e.g. {option} {out / 'out'}")
    refuse_special(out, option)
    read = read_by_command(out, reads)
    if read is not None:
        raise ConfigError(f"{option} {out} is also an input of this command ({read}); it would be overwritten",
                          "write to another file")
    reason = protected_reason(out)
    if reason is not None:
        raise ConfigError(f"{option} {out} is {reason}; writing it would destroy it", "write to another file")
    check_writable_folder(out.parent, option)
    if out.exists() and not os.access(out, os.W_OK) and not os.access(out.parent, os.W_OK):
        raise ConfigError(f"{option}: cannot write {out} (permission denied)", "choose a writable file")
    return out


def check_output_folder(folder: Path | str, option: str = "--out") -> Path:
    """Refuse an output folder that is a file, unwritable, or inside a run's ``checkpoints/`` or ``tensorboard/``
    folder (where its files would sit among the run's own)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{option} {folder} is a file", "give a folder")
    resolved = _real(folder)
    for parent in (resolved, *resolved.parents):
        if parent.name in RUN_FOLDERS and holds_run(parent.parent):
            raise ConfigError(f"{option} {folder} is inside the {parent.name} folder of run folder {parent.parent}",
                              "choose a folder outside the run")
    check_writable_folder(folder, option)
    return folder
