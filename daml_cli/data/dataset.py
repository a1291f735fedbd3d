"""A torch Dataset over manifest rows: (image tensor, label)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from daml_cli.data.manifest import ManifestRow
from daml_cli.data.images import load_rgb_tensor


class ManifestDataset(torch.utils.data.Dataset):
    """Images listed in manifest rows, loaded from `root` and transformed."""

    def __init__(self, rows: Sequence[ManifestRow], root: Path, transform: Callable[[Any], torch.Tensor]) -> None:
        self.rows = list(rows)
        self.root = Path(root)
        self.transform = transform
        self.labels = torch.tensor([row.label for row in self.rows], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        """`item` is an index, or (index, seed) to make the random transform depend only on that seed."""
        index, seed = item if isinstance(item, tuple) else (item, None)
        row = self.rows[index]
        image = load_rgb_tensor(self.root / row.path)
        if seed is None:
            return self.transform(image), row.label
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.transform(image), row.label
