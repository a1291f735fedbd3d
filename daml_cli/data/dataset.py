"""A torch Dataset over manifest rows: (image tensor, label)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError

from daml_cli.data.manifest import ManifestRow
from daml_cli.errors import DataError


def open_rgb(path: Path) -> Image.Image:
    """Open any image as RGB (grayscale, CMYK, palette and alpha included); a DataError naming the path."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError:
        raise DataError(f"image {path} does not exist", "prepare the dataset again") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DataError(f"cannot read image {path}: {error}") from None


class ManifestDataset(torch.utils.data.Dataset):
    """Images listed in manifest rows, loaded from `root` and transformed."""

    def __init__(self, rows: Sequence[ManifestRow], root: Path, transform: Callable[[Any], torch.Tensor]) -> None:
        self.rows = list(rows)
        self.root = Path(root)
        self.transform = transform
        self.labels = torch.tensor([row.label for row in self.rows], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        row = self.rows[index]
        return self.transform(open_rgb(self.root / row.path)), row.label
