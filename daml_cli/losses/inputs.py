"""Glue every `TupleLoss.compute` shares: checked slot negatives, slot distances and the empty-batch loss.

Real-negative distances are read off one (B, B) distance matrix, which costs a single matrix product
instead of gathering S rows of size D per side (a dense triplet batch has S ≫ B, so this is the speed of
the baseline losses on CPU). Given negatives (DAML's synthetics) are compared row by row with their anchors.
"""

from __future__ import annotations

import torch

from daml_cli.losses.base import NegativeSlots
from daml_cli.losses.distances import squared_euclidean


def check_negatives(embeddings: torch.Tensor, slots: NegativeSlots, negatives: torch.Tensor) -> torch.Tensor:
    """`negatives` itself, after checking it holds exactly one D-dimensional row per slot.

    Raises ``ValueError`` otherwise, since a silent broadcast would pair synthetics with the wrong anchors.
    """
    expected = (len(slots), embeddings.shape[1])
    if negatives.dim() != 2 or tuple(negatives.shape) != expected:
        raise ValueError(f"negatives must have shape {expected} (one row per slot), got {tuple(negatives.shape)}")
    return negatives


def slot_squared_distances(
    embeddings: torch.Tensor, distances: torch.Tensor, slots: NegativeSlots, negatives: torch.Tensor | None
) -> torch.Tensor:
    """``D(anchor_s, negative_s)²`` per slot (S,): from the batch matrix `distances` for real negatives, else
    row-wise between ``embeddings[slots.anchor]`` and the given `negatives`."""
    if negatives is None:
        return distances[slots.anchor, slots.negative]
    return squared_euclidean(embeddings[slots.anchor], check_negatives(embeddings, slots, negatives))


def empty_loss(*tensors: torch.Tensor | None) -> torch.Tensor:
    """A scalar zero still connected to `tensors`' graphs, for a batch that yields no tuple.

    ``backward()`` then runs (giving zero gradients) instead of failing on a tensor without ``grad_fn``.
    """
    total = sum(t.sum() for t in tensors if t is not None)
    if not isinstance(total, torch.Tensor):
        raise ValueError("empty_loss needs at least one tensor")
    return total * 0.0 + 0.0  # + 0.0 turns −0.0 (from a negative total) into 0.0
