"""Multi-class N-pair loss (Sohn 2016), with one negative slot per ordered pair of classes.

A batch gives one (anchor, positive) pair per class. The negatives of anchor i are the positives of every
other class, so slot (i, j), j ≠ i, is (anchor a_i, positive p_i, negative p_j): N(N−1) slots, i-major.
DAML replaces each p_j seen by anchor i with its own synthetic x̃_ij: the paper does not spell this
construction out, and one synthetic per slot keeps each negative's context (a_i, p_i) its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from daml_cli.config.schema import LossConfig
from daml_cli.errors import ConfigError
from daml_cli.losses.base import LossOutput, NegativeSlots, TupleLoss
from daml_cli.losses.inputs import check_negatives, empty_loss


def npair_from_similarities(s_ap: torch.Tensor, s_an: torch.Tensor) -> torch.Tensor:
    """``(1/N) Σ_i log(1 + Σ_j exp(s_an[i, j] − s_ap[i]))`` for s_ap (N,) and s_an (N, N−1).

    Evaluated as a log-sum-exp over ``[0, z_i1, …]`` so large similarities do not overflow.
    """
    logits = torch.cat([torch.zeros_like(s_ap).unsqueeze(1), s_an - s_ap.unsqueeze(1)], dim=1)
    return torch.logsumexp(logits, dim=1).mean()


def npair_mc(anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """``(1/N) Σ_i log(1 + Σ_{j≠i} exp(s(a_i, n_ij) − s(a_i, p_i)))`` with ``s(u, v) = uᵀv``.

    `anchor` and `positive` are (N, D); `negatives` is (N(N−1), D) in slot order (i-major, j ≠ i
    ascending).
    """
    n = anchor.shape[0]
    if n < 2:
        return empty_loss(anchor, positive, negatives)
    s_ap = (anchor * positive).sum(dim=1)
    s_an = (anchor.repeat_interleave(n - 1, dim=0) * negatives).sum(dim=1).view(n, n - 1)
    return npair_from_similarities(s_ap, s_an)


def embedding_l2(anchor: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Mean squared norm over the anchor and positive rows: ``(1/2N) Σ_i (||a_i||² + ||p_i||²)``."""
    if anchor.shape[0] == 0:
        return empty_loss(anchor, positive)
    return torch.cat([anchor, positive], dim=0).pow(2).sum(dim=1).mean()


@dataclass(frozen=True)
class NPairTuples:
    """Batch indices of the (anchor, positive) pair of each class, as equal-length LongTensors."""

    anchor: torch.Tensor
    positive: torch.Tensor

    def __len__(self) -> int:
        return int(self.anchor.shape[0])


class NPairLoss(TupleLoss):
    """N-pair-mc loss plus ``l2_reg`` times the mean squared embedding norm of the anchors and positives.

    Mining takes the first two images (in batch order) of every class with at least two; with fewer than
    two such classes there is no negative and the batch yields no tuple. Terms ``npair`` and ``l2_reg``
    (the weighted penalty) add up to the loss.
    """

    name: ClassVar[str] = "npair"

    def __init__(self, l2_reg: float = 3e-3) -> None:
        if l2_reg < 0:
            raise ConfigError(f"loss.l2_reg must be >= 0, got {l2_reg}")
        self.l2_reg = float(l2_reg)

    @classmethod
    def from_config(cls, cfg: LossConfig) -> NPairLoss:
        return cls(cfg.l2_reg)

    def mine(self, labels: torch.Tensor, embeddings: torch.Tensor | None = None, rng: torch.Generator | None = None) -> NPairTuples:
        labels = labels.reshape(-1)
        sorted_labels, order = torch.sort(labels, stable=True)
        _, counts = torch.unique_consecutive(sorted_labels, return_counts=True)
        starts = counts.cumsum(0) - counts
        starts = starts[counts >= 2]
        if starts.shape[0] < 2:
            empty = labels.new_zeros(0, dtype=torch.long)
            return NPairTuples(empty, empty.clone())
        return NPairTuples(order[starts], order[starts + 1])

    def negative_slots(self, tuples: NPairTuples) -> NegativeSlots:
        n = len(tuples)
        off_diagonal = ~torch.eye(n, dtype=torch.bool, device=tuples.anchor.device)
        i, j = off_diagonal.nonzero(as_tuple=True)
        return NegativeSlots(anchor=tuples.anchor[i], positive=tuples.positive[i], negative=tuples.positive[j])

    def compute(self, embeddings: torch.Tensor, tuples: NPairTuples, negatives: torch.Tensor | None = None) -> LossOutput:
        if len(tuples) < 2:
            zero = empty_loss(embeddings, negatives)
            return LossOutput(zero, {"npair": zero, "l2_reg": zero}, 0)
        n = len(tuples)
        anchor, positive = embeddings[tuples.anchor], embeddings[tuples.positive]
        if negatives is None:  # the real negatives are the other classes' positives: one N×N product
            similarity = anchor @ positive.T
            off_diagonal = ~torch.eye(n, dtype=torch.bool, device=similarity.device)
            main = npair_from_similarities(similarity.diagonal(), similarity[off_diagonal].view(n, n - 1))
        else:
            main = npair_mc(anchor, positive, check_negatives(embeddings, self.negative_slots(tuples), negatives))
        penalty = self.l2_reg * embedding_l2(anchor, positive)
        return LossOutput(main + penalty, {"npair": main, "l2_reg": penalty}, n)
