"""A torch Dataset over manifest rows: (image tensor, label)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from daml_cli.data.manifest import ManifestRow
from daml_cli.data.images import load_rgb


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
        return self.transform(load_rgb(self.root / row.path)), row.label
