"""Where a command's machine-readable output goes (``--json PATH`` writes a file, ``--json -`` prints it), and the
inputs the output checks of several commands protect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

STDOUT = "-"


def emit_json(target: str, payload: Any) -> Path | None:
    """Print `payload` as JSON when `target` is ``-``, else write it atomically to `target` and return the path."""
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    if target == STDOUT:
        typer.echo(text, nl=False)
        return None
    from daml_cli.atomic import atomic_write_text

    path = Path(target)
    atomic_write_text(path, text)
    return path


def run_checkpoint(run: Path | None) -> Path | None:
    """The checkpoint file a run folder or checkpoint argument names (what the output checks protect), or None."""
    if run is None:
        return None
    from daml_cli.models.checkpoint import resolve_checkpoint

    return resolve_checkpoint(run)


def index_files(index: Path | None) -> list[tuple[str, Path]]:
    """An index and its metadata sidecar, as ``(what, path)`` inputs for `check_output_file`."""
    if index is None:
        return []
    from daml_cli.index.metadata import sidecar_path

    return [("the --index file", Path(index)), ("the index's metadata", sidecar_path(index))]
