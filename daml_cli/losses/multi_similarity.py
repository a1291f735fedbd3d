"""Multi-Similarity loss and its pair miner (Wang et al., CVPR 2019), in the form of the official code.

``S_ij = cos(x_i, x_j)``. The rows are L2-normalised here, so on the model's unit-norm embeddings S is the
plain dot product the official code takes (same value, same gradient reaching the model); the formulas and the
thresholds λ, ε and 1 − 1e-5 are defined for such embeddings, and the loss assumes them (with unnormalised
ones the normalisation here decides the geometry, not the scale of the rows).

DAML: every kept negative pair (i, k) is one negative slot ``(anchor i, positive = i's hardest kept positive,
negative k)``; a synthetic negative x̃ of slot (i, k) replaces ``S_ik`` by ``cos(x_i, x̃)``.

Embedding Expansion: ``mine(..., real=mask)`` lets only the rows of `mask` be anchors and positives; the other
rows (synthetic points) enter only as negatives of the real anchors, and B is the number of real rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from daml_cli.config.schema import LossConfig
from daml_cli.losses.base import LossOutput, NegativeSlots, TupleLoss
from daml_cli.losses.inputs import check_negatives, empty_loss
from daml_cli.losses.mining import same_label_mask
from daml_cli.losses.settings import finite, positive
from daml_cli.losses.similarity import cosine_matrix, grouped_log1p_sum_exp, row_cosine

# A same-label j is a positive only when S_ij < 1 − SELF_TOLERANCE: drops self and exact duplicates (official).
SELF_TOLERANCE = 1e-5


@dataclass(frozen=True)
class MSPairs:
    """The mined pairs of a batch of `batch_size` items, as LongTensors of batch indices.

    ``(pos_anchor[m], positive[m])`` are the kept positive pairs and ``(neg_anchor[n], negative[n])`` the kept
    negative pairs, anchor-major; ``hardest_positive[n]`` is the kept positive of ``neg_anchor[n]`` with the
    lowest similarity. `num_anchors` anchors survived mining; the loss divides by `divisor` (the batch size B,
    or the number of real rows when only those may be anchors).
    """

    pos_anchor: torch.Tensor
    positive: torch.Tensor
    neg_anchor: torch.Tensor
    negative: torch.Tensor
    hardest_positive: torch.Tensor
    batch_size: int
    num_anchors: int
    divisor: int

    def __len__(self) -> int:
        return self.num_anchors


def ms_mine(similarity: torch.Tensor, labels: torch.Tensor, epsilon: float, real: torch.Tensor | None = None) -> MSPairs:
    """The MS pair miner on a (B, B) similarity matrix S.

    For anchor i: ``P_i = {j ≠ i : y_j = y_i, S_ij < 1 − 1e-5}`` and ``N_i = {k : y_k ≠ y_i}``. Kept:

    - negatives ``Ñ_i = {k ∈ N_i : S_ik + ε > min_{j ∈ P_i} S_ij}``,
    - positives ``P̃_i = {j ∈ P_i : S_ij − ε < max_{k ∈ N_i} S_ik}``,

    both tested against the unmined sets P_i and N_i. An anchor with P̃_i or Ñ_i empty is skipped (no pairs).
    With P_i and N_i non-empty the two mined sets are empty together (``min_P S − ε < max_N S ⟺ max_N S + ε >
    min_P S``), and testing against the mined sets instead would change nothing: the extremes survive mining.

    `real` (bool (B,), default all true) restricts anchors i and positives j to the real rows R; the negatives
    of a real anchor stay every row of another label: ``P_i = {j ∈ R ...}``, ``N_i = {k : y_k ≠ y_i}`` for
    i ∈ R, nothing for i ∉ R. The divisor is then |R|.
    """
    labels = labels.reshape(-1)
    size = int(labels.shape[0])
    empty = torch.zeros(0, dtype=torch.long, device=labels.device)
    if size == 0:
        return MSPairs(empty, empty, empty, empty, empty, 0, 0, 0)
    same = same_label_mask(labels)
    eye = torch.eye(size, dtype=torch.bool, device=labels.device)
    rows = torch.ones(size, dtype=torch.bool, device=labels.device) if real is None else real.reshape(-1).to(labels.device)
    pos = same & ~eye & (similarity < 1.0 - SELF_TOLERANCE) & rows.unsqueeze(1) & rows.unsqueeze(0)
    neg = ~same & rows.unsqueeze(1)
    inf = float("inf")
    min_pos = similarity.masked_fill(~pos, inf).amin(dim=1, keepdim=True)  # +∞ without positives: no negative kept
    max_neg = similarity.masked_fill(~neg, -inf).amax(dim=1, keepdim=True)  # −∞ without negatives: no positive kept
    keep_neg = neg & (similarity + epsilon > min_pos)
    keep_pos = pos & (similarity - epsilon < max_neg)
    anchor = keep_pos.any(dim=1) & keep_neg.any(dim=1)
    keep_pos = keep_pos & anchor.unsqueeze(1)
    keep_neg = keep_neg & anchor.unsqueeze(1)
    hardest = similarity.masked_fill(~keep_pos, inf).argmin(dim=1)
    pos_anchor, positive_index = keep_pos.nonzero(as_tuple=True)
    neg_anchor, negative_index = keep_neg.nonzero(as_tuple=True)
    return MSPairs(
        pos_anchor, positive_index, neg_anchor, negative_index, hardest[neg_anchor], size, int(anchor.sum()), int(rows.sum())
    )


def ms_from_similarities(
    pos_sim: torch.Tensor,
    pos_anchor: torch.Tensor,
    neg_sim: torch.Tensor,
    neg_anchor: torch.Tensor,
    batch_size: int,
    alpha: float,
    beta: float,
    base: float,
    divisor: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of the MS loss from the similarities of the kept pairs, each divided by the full batch size B
    (`divisor` when given, e.g. the number of real rows under Embedding Expansion):

    ``(1/B) Σ_i (1/α) log(1 + Σ_{j ∈ P̃_i} e^{−α(S_ij − λ)})`` and ``(1/B) Σ_i (1/β) log(1 + Σ_{k ∈ Ñ_i} e^{β(S_ik − λ)})``

    (λ = `base`); pair m belongs to anchor ``pos_anchor[m]`` (``neg_anchor[n]``). Skipped anchors have no
    pairs, add 0 and still count in B. Each log is a log-sum-exp with a zero appended, finite for any S.
    """
    pos = grouped_log1p_sum_exp(-alpha * (pos_sim - base), pos_anchor, batch_size).sum() / alpha
    neg = grouped_log1p_sum_exp(beta * (neg_sim - base), neg_anchor, batch_size).sum() / beta
    count = batch_size if divisor is None else divisor
    return pos / count, neg / count


def multi_similarity_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
    epsilon: float = 0.1,
) -> torch.Tensor:
    """``L = (1/B) Σ_i [(1/α) log(1 + Σ_{P̃_i} e^{−α(S_ij − λ)}) + (1/β) log(1 + Σ_{Ñ_i} e^{β(S_ik − λ)})]``.

    S = cosine similarity of the (B, D) `embeddings`, P̃_i and Ñ_i mined by `ms_mine` with ε = `epsilon` on S
    (detached); B is the full batch size. Zero, still attached to `embeddings`, when no anchor survives.
    """
    loss = MultiSimilarityLoss(alpha, beta, base, epsilon)
    return loss(embeddings, labels).loss


class MultiSimilarityLoss(TupleLoss):
    """Multi-Similarity loss on cosine similarities with the official pair miner (see `ms_mine`).

    α = `alpha` scales the positive term, β = `beta` the negative one, λ = `base` centres both, ε = `epsilon`
    is the mining margin. Defaults α=2, β=50, λ=0.5, ε=0.1 are pytorch-metric-learning's and the Proxy-Anchor
    authors' copy of MS; the official MS config uses β=40.
    """

    name: ClassVar[str] = "multi_similarity"

    def __init__(self, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5, epsilon: float = 0.1) -> None:
        self.alpha = positive("ms_alpha", alpha)
        self.beta = positive("ms_beta", beta)
        self.base = finite("ms_base", base)
        self.epsilon = finite("ms_epsilon", epsilon)

    @classmethod
    def from_config(cls, cfg: LossConfig) -> MultiSimilarityLoss:
        return cls(cfg.ms_alpha, cfg.ms_beta, cfg.ms_base, cfg.ms_epsilon)

    def mine(
        self, labels: torch.Tensor, embeddings: torch.Tensor | None = None, rng: torch.Generator | None = None,
        real: torch.Tensor | None = None,
    ) -> MSPairs:
        """The official pairs (`ms_mine`); `real` (bool per row) limits anchors and positives to those rows."""
        if embeddings is None:
            raise ValueError("multi_similarity mines on similarities: pass the batch embeddings")
        return ms_mine(cosine_matrix(embeddings.detach(), embeddings.detach()), labels, self.epsilon, real)

    def negative_slots(self, tuples: MSPairs) -> NegativeSlots:
        return NegativeSlots(anchor=tuples.neg_anchor, positive=tuples.hardest_positive, negative=tuples.negative)

    def compute(self, embeddings: torch.Tensor, tuples: MSPairs, negatives: torch.Tensor | None = None) -> LossOutput:
        if tuples.batch_size != embeddings.shape[0]:
            raise ValueError(f"pairs were mined on a batch of {tuples.batch_size}, got {embeddings.shape[0]} embeddings")
        if len(tuples) == 0:
            if negatives is not None:
                check_negatives(embeddings, self.negative_slots(tuples), negatives)
            zero = empty_loss(embeddings, negatives)
            return LossOutput(zero, {self.name: zero, "ms_positive": zero, "ms_negative": zero, "kept_anchors": zero.detach()}, 0)
        similarity = cosine_matrix(embeddings, embeddings)
        pos_sim = similarity[tuples.pos_anchor, tuples.positive]
        if negatives is None:
            neg_sim = similarity[tuples.neg_anchor, tuples.negative]
        else:
            slots = self.negative_slots(tuples)
            neg_sim = row_cosine(embeddings[slots.anchor], check_negatives(embeddings, slots, negatives))
        pos, neg = ms_from_similarities(
            pos_sim, tuples.pos_anchor, neg_sim, tuples.neg_anchor, tuples.batch_size, self.alpha, self.beta, self.base,
            tuples.divisor,
        )
        loss = pos + neg
        kept = torch.tensor(len(tuples) / tuples.divisor, dtype=loss.dtype, device=loss.device)
        terms = {self.name: loss, "ms_positive": pos, "ms_negative": neg, "kept_anchors": kept}
        return LossOutput(loss, terms, len(tuples))
