"""Embed images with a model in eval mode, batch by batch, with an optional progress callback."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from daml_cli.data.images import load_rgb_tensor
from daml_cli.data.transforms import eval_transform


class _PathDataset(torch.utils.data.Dataset):
    def __init__(self, paths: Sequence[Path], transform: Any) -> None:
        self.paths = list(paths)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(load_rgb_tensor(self.paths[index]))


@torch.no_grad()
def embed_paths(
    model: torch.nn.Module,
    paths: Sequence[Path],
    preprocessing: dict[str, Any],
    device: torch.device,
    batch_size: int = 256,
    workers: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """N×D float32 embeddings of the images at `paths`, in order, with the evaluation preprocessing."""
    loader = torch.utils.data.DataLoader(
        _PathDataset(paths, eval_transform(preprocessing)), batch_size=batch_size, num_workers=workers, shuffle=False
    )
    was_training = model.training
    model.eval()
    chunks = []
    for images in loader:
        chunks.append(model(images.to(device)).float().cpu())
        if on_batch is not None:
            on_batch(len(images))
    model.train(was_training)
    if not chunks:
        return np.zeros((0, getattr(model, "embedding_dim", 0)), dtype=np.float32)
    return torch.cat(chunks).numpy().astype(np.float32, copy=False)
