"""Glue every `TupleLoss.compute` shares: resolving the negative of each slot and the empty-batch loss."""

from __future__ import annotations

import torch

from daml_cli.losses.base import NegativeSlots


def resolve_negatives(embeddings: torch.Tensor, slots: NegativeSlots, negatives: torch.Tensor | None) -> torch.Tensor:
    """The (S, D) negative embedding of each slot: the given `negatives`, else the real ``embeddings[slots.negative]``.

    Raises ``ValueError`` when `negatives` does not hold exactly one D-dimensional row per slot, since a
    silent broadcast would pair synthetic negatives with the wrong anchors.
    """
    if negatives is None:
        return embeddings[slots.negative]
    expected = (len(slots), embeddings.shape[1])
    if negatives.dim() != 2 or tuple(negatives.shape) != expected:
        raise ValueError(f"negatives must have shape {expected} (one row per slot), got {tuple(negatives.shape)}")
    return negatives


def empty_loss(*tensors: torch.Tensor | None) -> torch.Tensor:
    """A scalar zero still connected to `tensors`' graphs, for a batch that yields no tuple.

    ``backward()`` then runs (giving zero gradients) instead of failing on a tensor without ``grad_fn``.
    """
    total = sum(t.sum() for t in tensors if t is not None)
    if not isinstance(total, torch.Tensor):
        raise ValueError("empty_loss needs at least one tensor")
    return total * 0.0
