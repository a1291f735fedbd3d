"""Where a command's machine-readable output goes: ``--json PATH`` writes a file, ``--json -`` prints it."""

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
