"""`--resize N`: a smaller copy of every image (shorter side N px) so training decodes fewer pixels.

The copy lives in ``resized-N/`` inside the dataset folder with the same relative paths as the manifest, and
``resized.json`` describes it; the originals and the manifest are untouched, so the copy is optional.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from daml_cli.atomic import atomic_write_text
from daml_cli.data.images import load_rgb
from daml_cli.data.manifest import ManifestRow
from daml_cli.data.resized import RESIZED_INFO_NAME, resized_folder_name
from daml_cli.errors import DataError

def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(w, h) scaled so that min(w, h) == size, keeping the aspect ratio (each side at least 1 px)."""
    scale = size / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize_one(source: Path, target: Path, size: int) -> None:
    image = load_rgb(source)
    image = image.resize(resized_size(*image.size, size), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        image.save(target, format="JPEG", quality=95)
    elif suffix == ".webp":
        image.save(target, format="WEBP", quality=95)
    else:
        image.save(target)  # format from the extension (png, bmp, gif)


def write_resized_copy(
    dataset_dir: Path, rows: Sequence[ManifestRow], size: int, workers: int | None = None
) -> Path:
    """Write ``dataset_dir/resized-SIZE/<row.path>`` for every row plus ``resized.json``; returns the folder."""
    if size < 1:
        raise DataError(f"--resize must be a positive number of pixels, got {size}")
    folder = dataset_dir / resized_folder_name(size)
    paths = sorted({row.path for row in rows})
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda p: _resize_one(dataset_dir / p, folder / p, size), paths))
    info = {"size": size, "rule": "shorter side", "folder": folder.name, "images": len(paths)}
    atomic_write_text(dataset_dir / RESIZED_INFO_NAME, json.dumps(info, indent=2) + "\n")
    return folder

