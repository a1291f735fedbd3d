"""Label structure of a batch, shared by the miners: class masks, pair lists and seeded random draws.

Every random choice goes through `random_scores`, which draws from the caller's ``torch.Generator`` so that
mining is reproducible from a seed.
"""

from __future__ import annotations

import torch


def same_label_mask(labels: torch.Tensor) -> torch.Tensor:
    """(B, B) bool: ``[i, j]`` is true when items i and j share a label (the diagonal included)."""
    return labels.unsqueeze(0) == labels.unsqueeze(1)


def positive_mask(labels: torch.Tensor) -> torch.Tensor:
    """(B, B) bool: ``[i, j]`` true when j is a valid positive for anchor i (same label, j ≠ i)."""
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same_label_mask(labels) & ~eye


def negative_mask(labels: torch.Tensor) -> torch.Tensor:
    """(B, B) bool: ``[i, j]`` true when j is a valid negative for anchor i (different label)."""
    return ~same_label_mask(labels)


def ordered_positive_pairs(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ordered (anchor, positive) pair with a != p and the same label, anchor-major order."""
    anchor, positive = positive_mask(labels).nonzero(as_tuple=True)
    return anchor, positive


def unordered_pairs(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The pairs (i, j) with i < j where the (B, B) `mask` is true, in row-major order."""
    first, second = torch.triu(mask, diagonal=1).nonzero(as_tuple=True)
    return first, second


def random_scores(shape: tuple[int, ...], rng: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) scores of `shape` on `device`, drawn from `rng` (on whatever device `rng` lives)."""
    rng_device = rng.device if rng is not None else device
    return torch.rand(shape, generator=rng, device=rng_device).to(device)


def random_pick(mask: torch.Tensor, rng: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One column chosen uniformly at random among each row's true entries of the (M, B) `mask`.

    Returns ``(column, has_any)``: ``column[m]`` is meaningless where ``has_any[m]`` is false.
    """
    if mask.shape[1] == 0:
        return torch.zeros(mask.shape[0], dtype=torch.long, device=mask.device), mask.any(dim=1)
    scores = random_scores(tuple(mask.shape), rng, mask.device).masked_fill(~mask, -1.0)
    return scores.argmax(dim=1), mask.any(dim=1)


def random_subset(mask: torch.Tensor, k: int, rng: torch.Generator | None) -> torch.Tensor:
    """(M, B) bool keeping at most `k` of each row's true entries of `mask`, chosen uniformly at random."""
    if mask.numel() == 0 or k >= mask.shape[1]:
        return mask.clone()
    scores = random_scores(tuple(mask.shape), rng, mask.device).masked_fill(~mask, -1.0)
    values, columns = scores.topk(k, dim=1)
    keep = torch.zeros_like(mask)
    keep.scatter_(1, columns, values >= 0.0)
    return keep
