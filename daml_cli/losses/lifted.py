"""Lifted structure loss (Song 2016) on non-squared distances, one negative slot per (pair, side, negative).

For a positive pair (i, j) the slots are first side i, ``(anchor i, positive j, negative k)`` for each
negative k of i, then side j, ``(anchor j, positive i, negative l)``. DAML makes one synthetic per slot,
``x̃_ik = G([x_k; x_i; x_j])``: the paper does not spell this construction out for the lifted loss, so it
follows the triplet case with the slot's own anchor and positive as context.

Embedding Expansion: ``mine(..., real=mask)`` keeps only positive pairs of two real rows; their negatives stay
every row of another label, so synthetic points enter only as negatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from daml_cli.config.schema import LossConfig
from daml_cli.errors import ConfigError
from daml_cli.losses.base import LossOutput, NegativeSlots, TupleLoss
from daml_cli.losses.distances import pairwise_squared_euclidean, safe_sqrt
from daml_cli.losses.inputs import empty_loss, slot_squared_distances
from daml_cli.losses.mining import negative_mask, random_subset, same_label_mask, unordered_pairs


def grouped_logsumexp(values: torch.Tensor, group: torch.Tensor, num_groups: int) -> torch.Tensor:
    """``out_g = log Σ_{s: group_s = g} exp(values_s)`` for g < `num_groups`; an empty group gives −∞.

    Stable for any magnitude: each group's maximum is subtracted before ``exp`` and added back after.
    """
    neg_inf = torch.full((num_groups,), float("-inf"), dtype=values.dtype, device=values.device)
    peak = neg_inf.scatter_reduce(0, group, values.detach(), reduce="amax", include_self=True)
    peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
    sums = torch.zeros_like(peak).index_add(0, group, torch.exp(values - peak[group]))
    return torch.log(sums) + peak


def lifted_from_distances(pair_dist: torch.Tensor, slot_dist: torch.Tensor, slot_pair: torch.Tensor, margin: float) -> torch.Tensor:
    """``1/(2|P|) Σ_p [log Σ_{s ∈ p} exp(α − slot_dist_s) + pair_dist_p]_+²`` from plain distances.

    `pair_dist` (P,) holds ``D(x_i, x_j)`` of each positive pair; slot s, with distance `slot_dist_s`
    between its anchor and its negative, belongs to pair ``slot_pair_s``.
    """
    num_pairs = pair_dist.shape[0]
    if num_pairs == 0:
        return empty_loss(pair_dist, slot_dist)
    per_pair = grouped_logsumexp(margin - slot_dist, slot_pair, num_pairs) + pair_dist
    return torch.relu(per_pair).pow(2).sum() / (2 * num_pairs)


@dataclass(frozen=True)
class LiftedTuples:
    """Positive pairs (``pair_i < pair_j``) and their negative slots; ``slot_pair`` indexes into the pairs."""

    pair_i: torch.Tensor
    pair_j: torch.Tensor
    anchor: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor
    slot_pair: torch.Tensor

    def __len__(self) -> int:
        return int(self.pair_i.shape[0])


class LiftedLoss(TupleLoss):
    """Lifted structure loss with margin α = `margin` on plain Euclidean distances.

    The negatives of an item are every batch item with another label; with ``max_negatives > 0`` each item
    keeps at most that many, drawn once per batch, so both sides of all its pairs share them. Positive
    pairs whose two items have no negative at all (a one-class batch) are dropped.
    """

    name: ClassVar[str] = "lifted"

    def __init__(self, margin: float = 1.0, max_negatives: int = 0) -> None:
        if max_negatives < 0:
            raise ConfigError(f"loss.max_negatives must be >= 0 (0 = all), got {max_negatives}")
        self.margin = float(margin)
        self.max_negatives = int(max_negatives)

    @classmethod
    def from_config(cls, cfg: LossConfig) -> LiftedLoss:
        return cls(cfg.lifted_margin, cfg.max_negatives)

    def mine(
        self, labels: torch.Tensor, embeddings: torch.Tensor | None = None, rng: torch.Generator | None = None,
        real: torch.Tensor | None = None,
    ) -> LiftedTuples:
        """Every positive pair with its items' negatives; with `real` (bool per row) only pairs of real rows."""
        labels = labels.reshape(-1)
        chosen = negative_mask(labels)
        if self.max_negatives > 0:
            chosen = random_subset(chosen, self.max_negatives, rng)
        same = same_label_mask(labels)
        if real is not None:
            rows = real.reshape(-1).to(labels.device)
            same = same & rows.unsqueeze(1) & rows.unsqueeze(0)
        pair_i, pair_j = unordered_pairs(same)
        keep = chosen[pair_i].any(dim=1) | chosen[pair_j].any(dim=1)
        pair_i, pair_j = pair_i[keep], pair_j[keep]
        sides = torch.stack([chosen[pair_i], chosen[pair_j]], dim=1)  # (P, 2, B)
        pair, side, negative = sides.nonzero(as_tuple=True)  # pair-major, side i before side j
        first = side == 0
        anchor = torch.where(first, pair_i[pair], pair_j[pair])
        positive = torch.where(first, pair_j[pair], pair_i[pair])
        return LiftedTuples(pair_i, pair_j, anchor, positive, negative, pair)

    def negative_slots(self, tuples: LiftedTuples) -> NegativeSlots:
        return NegativeSlots(anchor=tuples.anchor, positive=tuples.positive, negative=tuples.negative)

    def compute(self, embeddings: torch.Tensor, tuples: LiftedTuples, negatives: torch.Tensor | None = None) -> LossOutput:
        if len(tuples) == 0:
            zero = empty_loss(embeddings, negatives)
            return LossOutput(zero, {"lifted": zero}, 0)
        distances = pairwise_squared_euclidean(embeddings, embeddings)
        pair_dist = safe_sqrt(distances[tuples.pair_i, tuples.pair_j])
        slot_dist = safe_sqrt(slot_squared_distances(embeddings, distances, self.negative_slots(tuples), negatives))
        loss = lifted_from_distances(pair_dist, slot_dist, tuples.slot_pair, self.margin)
        return LossOutput(loss, {"lifted": loss}, len(tuples))
