"""The terms of HDML (Zheng et al., CVPR 2019) as pure functions, in the authors' TF code's form (wzzheng/HDML).

Notation: z = embeddings, y = features (the generator's output space), ẑ⁻ = a pulled negative, y′ = the
generator's reconstruction of a real feature, ỹ = a synthetic feature, z̃ = its re-embedding. Nothing here
detaches: J_avg and J_gen enter as Python floats (block means of earlier steps), so no gradient flows
through them, and the caller decides which parameters each term trains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch.nn import functional as F

from daml_cli.losses.distances import euclidean

INITIAL_AVERAGE = 1e6  # J_avg and J_gen before their first block completes (the authors' value): no pulling, w ≈ 1


def pull_scale(alpha: float, j_avg: float) -> float:
    """``e^(−α/J_avg)``: 1 leaves negatives where they are, 0 pulls them all the way to distance d⁺.

    A large average loss (the metric is still poor) pulls little, a small one pulls hard. `j_avg` must be > 0.
    """
    return math.exp(-alpha / j_avg)


def lambda_zero(d_pos: torch.Tensor, d_neg: torch.Tensor, scale: float) -> torch.Tensor:
    """``λ₀ = [d⁺ + (d⁻ − d⁺)·e^(−α/J_avg)] / d⁻`` where ``d⁺ < d⁻``, else 1 (the negative is already hard).

    `d_pos`, `d_neg` (S,) are plain Euclidean distances anchor–positive and anchor–negative; `scale` is
    `pull_scale`. λ₀ ∈ [d⁺/d⁻, 1]: without the keep branch it would exceed 1 where d⁺ > d⁻ and push the
    negative farther away (easier).
    """
    pulled = (d_pos + (d_neg - d_pos) * scale) / d_neg
    return torch.where(d_pos < d_neg, pulled, torch.ones_like(pulled))


def pull_negatives(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, scale: float) -> torch.Tensor:
    """``ẑ⁻ = z + λ₀·(z⁻ − z)`` per row (the authors' ``Pulling``): on the segment from the anchor z to its
    negative z⁻, at distance ``d⁺ + (d⁻ − d⁺)·e^(−α/J_avg)`` from z; rows with ``d⁺ ≥ d⁻`` return z⁻ itself.

    Rows i of the (S, D) `anchor`, `positive`, `negative` form one tuple. Distances are plain (not squared)
    Euclidean with a floor at 1e-6 (so a duplicate point, d⁻ = 0, stays finite and is kept). Gradients flow
    into all three inputs, through λ₀ too.
    """
    d_pos, d_neg = euclidean(anchor, positive), euclidean(anchor, negative)
    lam = lambda_zero(d_pos, d_neg, scale)
    moved = anchor + lam.unsqueeze(1) * (negative - anchor)
    return torch.where((d_pos < d_neg).unsqueeze(1), moved, negative)


def metric_weight(beta: float, j_gen: float) -> float:
    """``w = e^(−β/J_gen)``, the weight of the real-tuple loss in J_metric (1 − w goes to the synthetic one).

    While the generator is poor (J_gen large) w ≈ 1 and the metric trains on real tuples; as J_gen falls the
    weight moves to the synthetics. `j_gen` must be > 0.
    """
    return math.exp(-beta / j_gen)


def j_metric(j_m: torch.Tensor, j_syn: torch.Tensor, beta: float, j_gen: float) -> torch.Tensor:
    """``J_metric = e^(−β/J_gen)·J_m + (1 − e^(−β/J_gen))·J_syn``."""
    weight = metric_weight(beta, j_gen)
    return weight * j_m + (1.0 - weight) * j_syn


def j_recon(reconstruction: torch.Tensor, features: torch.Tensor, lambda_gen: float) -> torch.Tensor:
    """``J_recon = (1 − λ)·Σ_i ||y′_i − y_i||²``: a sum over the batch and the dimensions, as the authors' code."""
    return (1.0 - lambda_gen) * (reconstruction - features).pow(2).sum()


def j_soft(
    logits: Sequence[torch.Tensor], targets: Sequence[torch.Tensor], lambda_gen: float, softmax_factor: float
) -> torch.Tensor:
    """``J_soft = S·λ·Σ_g (1/|g|) Σ_{i∈g} CE(W·ỹ_i + b, c_i)`` over groups g of synthetic features.

    Group g's (n_g, C) `logits` are scored against its (n_g,) class rows `targets`; S = `softmax_factor`.
    The authors' triplet code has one group (the synthetic tuples), their N-pair code two (the synthetic
    anchors; the N²/4 pulled candidates). An empty group adds 0.
    """
    total = sum(
        F.cross_entropy(group, target) if group.shape[0] else group.sum() * 0.0 for group, target in zip(logits, targets)
    )
    if not isinstance(total, torch.Tensor):
        raise ValueError("j_soft needs at least one group")
    return softmax_factor * lambda_gen * total


class BlockMean:
    """The mean of the last complete block of `size` values (`initial` before the first one completes).

    The authors' ``data_collector``: values are collected and, every `size` of them, their mean becomes the
    value read by the next steps; non-finite values are skipped. The state (value and the pending values of the
    current block) is plain data, so a resumed run continues the block where it stopped.
    """

    def __init__(self, size: int, initial: float = INITIAL_AVERAGE) -> None:
        self.size = int(size)
        self.value = float(initial)
        self.pending: list[float] = []

    def update(self, value: float) -> None:
        if not math.isfinite(value):
            return
        self.pending.append(float(value))
        if len(self.pending) >= self.size:
            self.value = math.fsum(self.pending) / len(self.pending)
            self.pending = []

    def state_dict(self) -> dict[str, float | list[float]]:
        return {"value": self.value, "pending": list(self.pending)}

    def load_state_dict(self, state: dict[str, float | list[float]]) -> None:
        self.value = float(state["value"])  # type: ignore[arg-type]
        self.pending = [float(v) for v in state["pending"]]  # type: ignore[union-attr]
