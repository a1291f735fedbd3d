"""Cosine similarities for the similarity-scaled losses (Multi-Similarity, Proxy-Anchor) and their soft-plus sums.

Both losses multiply a cosine by up to 50 before ``exp``, so the cosines are computed in float32 (float64 stays
float64) with autocast off whatever the input dtype: fp16 rounding of a cosine near 1 (≈ 5e-4) would become
0.025 in the exponent, and fp16 ``exp(35)`` overflows. The matrices are B×B or B×C, cheap next to the network.
Each sum ``log(1 + Σ exp z)`` is a log-sum-exp over ``[0, z…]``: finite for any z, 0 for an empty sum.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from daml_cli.losses.lifted import grouped_logsumexp

# Floor of a row's norm before dividing by it, so a zero row gives a zero cosine instead of NaN.
NORM_EPS = 1e-12


def unit_rows(x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``x_i / max(‖x_i‖, 1e-12)`` row by row, in `dtype` (default: x's dtype widened to at least float32)."""
    return F.normalize(x.to(dtype or torch.promote_types(x.dtype, torch.float32)), dim=1, eps=NORM_EPS)


def _common(x: torch.Tensor, y: torch.Tensor) -> torch.dtype:
    return torch.promote_types(torch.promote_types(x.dtype, y.dtype), torch.float32)


def cosine_matrix(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """All cosines ``S_nm = x_nᵀy_m / (‖x_n‖‖y_m‖)`` for x (N, D), y (M, D): (N, M), float32 or wider, no autocast."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        dtype = _common(x, y)
        return unit_rows(x, dtype) @ unit_rows(y, dtype).T


def row_cosine(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine ``s_i = cos(x_i, y_i)`` for x, y (N, D): (N,), float32 or wider, no autocast."""
    with torch.autocast(device_type=x.device.type, enabled=False):
        dtype = _common(x, y)
        return (unit_rows(x, dtype) * unit_rows(y, dtype)).sum(dim=1)


def log1p_sum_exp(logits: torch.Tensor, dim: int) -> torch.Tensor:
    """``log(1 + Σ_k exp(z_k))`` along `dim`, as a log-sum-exp over z with one zero appended.

    Entries at −∞ drop out of the sum (an all-−∞ slice gives log 1 = 0) with zero gradient, never NaN.
    """
    shape = list(logits.shape)
    shape[dim] = 1
    return torch.logsumexp(torch.cat([logits, logits.new_zeros(shape)], dim=dim), dim=dim)


def grouped_log1p_sum_exp(values: torch.Tensor, group: torch.Tensor, num_groups: int) -> torch.Tensor:
    """``out_g = log(1 + Σ_{s: group_s = g} exp(values_s))`` for g < `num_groups` (0 for an empty group)."""
    zeros = values.new_zeros(num_groups)
    every = torch.arange(num_groups, device=group.device)
    return grouped_logsumexp(torch.cat([values, zeros]), torch.cat([group, every]), num_groups)
