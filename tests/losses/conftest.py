"""Shared fixtures for the loss tests: small labelled float64 batches, shuffled so order is not assumed."""

from __future__ import annotations

from typing import Callable

import pytest
import torch


def _batch(classes: int, per_class: int, dim: int = 6, seed: int = 0, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat_interleave(per_class) * 3 + 5  # non-contiguous label values
    order = torch.randperm(labels.shape[0], generator=gen)
    embeddings = torch.randn(labels.shape[0], dim, generator=gen, dtype=torch.float64) * scale
    return labels[order], embeddings


@pytest.fixture
def make_batch() -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """``make_batch(P, K, dim=6, seed=0, scale=1.0) -> (labels (P·K,), embeddings (P·K, dim) float64)``."""
    return _batch


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
