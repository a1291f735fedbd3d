"""The random-number generator of tuple mining, one per training step."""

from __future__ import annotations

import torch


def mining_rng(seed: int, step: int) -> torch.Generator:
    """The random-number generator for tuple mining at `step`: derived from (seed, step), so resumed runs
    mine identically."""
    return torch.Generator().manual_seed(seed * 7_919 + step + 1)
