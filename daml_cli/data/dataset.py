"""A torch Dataset over manifest rows: (image tensor, label)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from daml_cli.data.manifest import ManifestRow
from daml_cli.data.images import load_rgb_tensor


class ManifestDataset(torch.utils.data.Dataset):
    """Images listed in manifest rows, loaded from `root` and transformed.

    Decoded images (before the transform) are kept in memory until they fill `cache_bytes`: small datasets then
    decode each file once per process, and since the transform still runs on every access with the same seed,
    what the network sees is unchanged.
    """

    def __init__(
        self,
        rows: Sequence[ManifestRow],
        root: Path,
        transform: Callable[[Any], torch.Tensor],
        cache_bytes: int = 0,
    ) -> None:
        self.rows = list(rows)
        self.root = Path(root)
        self.transform = transform
        self.labels = torch.tensor([row.label for row in self.rows], dtype=torch.long)
        self.cache_bytes = cache_bytes
        self._cache: dict[int, torch.Tensor] = {}
        self._cached_bytes = 0

    def _decoded(self, index: int) -> torch.Tensor:
        image = self._cache.get(index)
        if image is not None:
            return image
        image = load_rgb_tensor(self.root / self.rows[index].path)
        size = image.numel() * image.element_size()
        if self._cached_bytes + size <= self.cache_bytes:
            self._cache[index] = image
            self._cached_bytes += size
        return image

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        """`item` is an index, or (index, seed) to make the random transform depend only on that seed."""
        index, seed = item if isinstance(item, tuple) else (item, None)
        row = self.rows[index]
        image = self._decoded(index)
        if seed is None:
            return self.transform(image), row.label
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.transform(image), row.label
