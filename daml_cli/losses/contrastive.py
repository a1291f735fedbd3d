"""Contrastive loss (Hadsell et al. 2006) over every pair of a batch; the negative pairs are the slots.

DAML's generator needs an (anchor, positive, negative) context per synthetic, but a contrastive negative
pair has no positive, and the paper does not say which one to use. Our choice: for a negative pair (i, j), i < j,
the anchor is i, the negative is j, and the positive context is a same-class partner of i drawn at random
(seeded); if i has no partner in the batch, i itself stands in, so ``D(x⁺, x) = 0`` in J_adv.

Embedding Expansion: ``mine(..., real=mask)`` keeps only positive pairs of two real rows, and the negative
pairs with at least one real end, anchored at a real end (synthetic points are negatives only).
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
from daml_cli.losses.mining import negative_mask, positive_mask, random_pick, same_label_mask, unordered_pairs


def contrastive_sums(d_pos_sq: torch.Tensor, d_neg_sq: torch.Tensor, margin: float, squared: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Σ_pos d, Σ_neg [α − d]_+)`` from squared pair distances; d = D² if `squared` else D (safe sqrt)."""
    if not squared:
        d_pos_sq, d_neg_sq = safe_sqrt(d_pos_sq), safe_sqrt(d_neg_sq)
    return d_pos_sq.sum(), torch.relu(margin - d_neg_sq).sum()


@dataclass(frozen=True)
class ContrastiveTuples:
    """Positive pairs (``pos_a < pos_b``) and negative pairs with their positive context (the slots)."""

    pos_a: torch.Tensor
    pos_b: torch.Tensor
    anchor: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor

    def __len__(self) -> int:
        return int(self.pos_a.shape[0] + self.anchor.shape[0])


class ContrastiveLoss(TupleLoss):
    """Contrastive loss on all same-label and all different-label unordered pairs of the batch.

    Terms ``contrastive_pos`` and ``contrastive_neg`` are each sum over the total pair count; they add up
    to the loss.
    """

    name: ClassVar[str] = "contrastive"

    def __init__(self, margin: float = 0.2, squared: bool = True) -> None:
        if margin < 0:
            raise ConfigError(f"loss.margin must be >= 0, got {margin}")
        self.margin = float(margin)
        self.squared = bool(squared)

    @classmethod
    def from_config(cls, cfg: LossConfig) -> ContrastiveLoss:
        return cls(cfg.margin, cfg.squared)

    def mine(
        self, labels: torch.Tensor, embeddings: torch.Tensor | None = None, rng: torch.Generator | None = None,
        real: torch.Tensor | None = None,
    ) -> ContrastiveTuples:
        """Every pair; with `real` (bool per row), positives are pairs of two real rows and a negative pair
        (a, n) needs a real anchor a and either a synthetic n or a < n (each pair once, anchored at a real end).
        A slot's positive context is a real partner of its anchor."""
        labels = labels.reshape(-1)
        rows = torch.ones_like(labels, dtype=torch.bool) if real is None else real.reshape(-1).to(labels.device)
        both_real = rows.unsqueeze(1) & rows.unsqueeze(0)
        pos_a, pos_b = unordered_pairs(same_label_mask(labels) & both_real)
        upper = torch.ones_like(both_real).triu(diagonal=1)
        anchored = negative_mask(labels) & rows.unsqueeze(1) & (upper | ~rows.unsqueeze(0))
        anchor, negative = anchored.nonzero(as_tuple=True)
        partner, has_partner = random_pick((positive_mask(labels) & both_real)[anchor], rng)
        positive = torch.where(has_partner, partner, anchor)
        return ContrastiveTuples(pos_a, pos_b, anchor, positive, negative)

    def negative_slots(self, tuples: ContrastiveTuples) -> NegativeSlots:
        return NegativeSlots(anchor=tuples.anchor, positive=tuples.positive, negative=tuples.negative)

    def compute(self, embeddings: torch.Tensor, tuples: ContrastiveTuples, negatives: torch.Tensor | None = None) -> LossOutput:
        if len(tuples) == 0:
            zero = empty_loss(embeddings, negatives)
            return LossOutput(zero, {"contrastive_pos": zero, "contrastive_neg": zero}, 0)
        distances = pairwise_squared_euclidean(embeddings, embeddings)
        d_neg_sq = slot_squared_distances(embeddings, distances, self.negative_slots(tuples), negatives)
        pos_sum, neg_sum = contrastive_sums(distances[tuples.pos_a, tuples.pos_b], d_neg_sq, self.margin, self.squared)
        total = len(tuples)
        terms = {"contrastive_pos": pos_sum / total, "contrastive_neg": neg_sum / total}
        return LossOutput((pos_sum + neg_sum) / total, terms, total)
