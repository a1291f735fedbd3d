"""The resized copy of a prepared dataset as training reads it: ``resized.json`` and its ``resized-N/`` folder.

`daml prepare --resize N` writes the copy (``data/preparers/resize.py``); training only reads it, so the
format's names and the reader live here, in the layer both use.
"""

from __future__ import annotations

import json
from pathlib import Path

from daml_cli.errors import DataError

RESIZED_INFO_NAME = "resized.json"


def resized_folder_name(size: int) -> str:
    return f"resized-{size}"


def read_resized_info(dataset_dir: Path | str) -> dict | None:
    """The ``resized.json`` of a prepared dataset, or None when it has no resized copy."""
    path = Path(dataset_dir) / RESIZED_INFO_NAME
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise DataError(f"{path} is not valid JSON", "prepare the dataset again with --force") from None
    if not isinstance(info, dict) or not (Path(dataset_dir) / str(info.get("folder", ""))).is_dir():
        raise DataError(f"{path} does not describe an existing resized folder", "prepare again with --force")
    return info
