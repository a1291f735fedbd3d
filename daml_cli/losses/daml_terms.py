"""The generator objectives of DAML (Duan et al. 2018, eqs. for J_hard, J_reg, J_adv, J_gen) as pure functions.

Each is a per-tuple mean.

Row i of every argument belongs to generator tuple i: synthetic x̃_i, anchor x_i, positive x⁺_i and the
real negative x⁻_i it was made from. J_hard and J_reg live in the generator's (feature) space; J_adv lives
in the metric's (embedding) space, so it is given embeddings ``f(·)``. Whether the real features are
detached inside J_hard/J_reg is the caller's choice (the training objective detaches them so the generator
never moves the real features it learns from); these functions do not detach.
"""

from __future__ import annotations

import torch

from daml_cli.losses.distances import squared_euclidean
from daml_cli.losses.inputs import empty_loss


def _mean(values: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
    """Mean of `values`, or a graph-connected zero when there is no tuple."""
    return values.mean() if values.shape[0] > 0 else empty_loss(*inputs)


def j_hard(synthetic: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    """``J_hard = (1/N) Σ_i ||x̃_i − x_i||²``: keeps each synthetic negative near its anchor (feature space)."""
    return _mean(squared_euclidean(synthetic, anchor), synthetic, anchor)


def j_reg(synthetic: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """``J_reg = (1/N) Σ_i ||x̃_i − x⁻_i||²``: keeps each synthetic near the real negative it came from."""
    return _mean(squared_euclidean(synthetic, negative), synthetic, negative)


def adv_hinge(synthetic_emb: torch.Tensor, anchor_emb: torch.Tensor, positive_emb: torch.Tensor, margin: float) -> torch.Tensor:
    """Per-tuple ``[D(x̃_i, x_i)² − D(x⁺_i, x_i)² − α]_+`` (N,), on embeddings; α is subtracted."""
    d_syn = squared_euclidean(synthetic_emb, anchor_emb)
    d_pos = squared_euclidean(positive_emb, anchor_emb)
    return torch.relu(d_syn - d_pos - margin)


def j_adv(synthetic_emb: torch.Tensor, anchor_emb: torch.Tensor, positive_emb: torch.Tensor, margin: float) -> torch.Tensor:
    """``J_adv = (1/N) Σ_i [D(x̃_i, x_i)² − D(x⁺_i, x_i)² − α]_+`` in metric space.

    Positive only when a synthetic is farther from the anchor than the positive by more than α, i.e. too
    easy; minimising it (over the generator) makes synthetics hard. The margin is *subtracted* here and
    added in the triplet loss: flipping it would train the generator towards easy negatives.
    """
    hinge = adv_hinge(synthetic_emb, anchor_emb, positive_emb, margin)
    return _mean(hinge, synthetic_emb, anchor_emb, positive_emb)


def j_gen(j_hard: torch.Tensor, j_reg: torch.Tensor, j_adv: torch.Tensor, lambda_reg: float, lambda_adv: float) -> torch.Tensor:
    """``J_gen = J_hard + λ1·J_reg + λ2·J_adv`` with λ1 = `lambda_reg`, λ2 = `lambda_adv`."""
    return j_hard + lambda_reg * j_reg + lambda_adv * j_adv
