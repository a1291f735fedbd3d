"""The guard around a training run's folder: checked up front, locked while training, and removed again when
a run fails before its first checkpoint (so a failed start never leaves a folder that blocks the next run)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

from daml_cli.safety.locks import RUN_LOCK_NAME, exclusive_lock
from daml_cli.safety.outputs import check_output_folder
from daml_cli.train.run_dir import RunDir

LOCK_NAME = RUN_LOCK_NAME  # the lock file in a run folder (named in daml_cli.safety so output checks know it)


def is_main_process() -> bool:
    """Rank 0 of a `torchrun` launch, or a plain single process."""
    return os.environ.get("RANK", "0") in ("", "0")


def saved_config(run: RunDir) -> Any | None:
    """The configuration the run in `run` was trained with: its config.yaml, else its last checkpoint's."""
    from daml_cli.config.loading import saved_config

    if run.config.is_file():
        from daml_cli.config.loading import read_yaml

        data = read_yaml(run.config)
        data.pop("preset", None)
        return saved_config(data)
    if run.last.is_file():
        from daml_cli.models.checkpoint import load_checkpoint

        return saved_config(load_checkpoint(run.last).config)
    return None


def preflight(run: RunDir, resume: bool, config: Any) -> None:
    """Every check that needs no lock: the folder can be written, holds (or not) a run, resume changes allowed."""
    check_output_folder(run.root, "--out")
    if resume:
        run.check_resumable()
        saved = saved_config(run)
        if saved is not None:
            from daml_cli.train.resume_rules import check_resume_changes

            check_resume_changes(saved, config, run.root)
    else:
        run.check_fresh()


def _remove_failed_start(run: RunDir, created_root: bool) -> None:
    """Undo a fresh run that never wrote a checkpoint: its config, log and (empty) folders."""
    if run.last.exists() or run.best.exists():
        return
    for path in (run.config, run.metrics, run.metrics.with_suffix(".csv"), run.root / "curves.png"):
        path.unlink(missing_ok=True)
    shutil.rmtree(run.root / "tensorboard", ignore_errors=True)
    if run.checkpoints.is_dir() and not any(p for p in run.checkpoints.iterdir() if not p.name.startswith(".")):
        shutil.rmtree(run.checkpoints, ignore_errors=True)
    (run.root / LOCK_NAME).unlink(missing_ok=True)
    if created_root:
        with contextlib.suppress(OSError):
            run.root.rmdir()  # only when empty


@contextlib.contextmanager
def guarded_run(run: RunDir, resume: bool, config: Any) -> Iterator[None]:
    """Check, lock (rank 0 only) and, for a fresh run that fails before its first checkpoint, clean up."""
    preflight(run, resume, config)
    if not is_main_process():
        yield
        return
    created_root = not run.root.exists()
    run.root.mkdir(parents=True, exist_ok=True)
    try:
        lock = exclusive_lock(run.root / LOCK_NAME, f"run folder {run.root}")
        lock.__enter__()
    except BaseException:
        if created_root:
            with contextlib.suppress(OSError):
                run.root.rmdir()
        raise
    try:
        preflight(run, resume, config)  # again under the lock: another process may have finished a start meanwhile
    except BaseException:
        lock.__exit__(None, None, None)
        raise
    try:
        yield
    except BaseException:
        if not resume:
            _remove_failed_start(run, created_root)
        raise
    finally:
        lock.__exit__(None, None, None)
