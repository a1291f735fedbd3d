"""Euclidean distances shared by every loss and the DAML terms.

The row-wise function compares row ``i`` of one tensor with row ``i`` of the other (the form the losses use
on gathered tuples); the pairwise function compares every row of one tensor with every row of the other (the
form the miners use). The square root is made safe at zero, where ``d sqrt(u)/du`` is infinite.
"""

from __future__ import annotations

import torch

# Below this squared distance the square root is evaluated at the floor itself (gradient 0, not ∞).
SQRT_FLOOR = 1e-12


def squared_euclidean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise squared distance ``d²_i = Σ_k (a_ik − b_ik)²`` for ``a, b`` of shape (N, D); returns (N,)."""
    return (a - b).pow(2).sum(dim=-1)


def safe_sqrt(squared: torch.Tensor) -> torch.Tensor:
    """``sqrt(max(u, ε))`` with ε = ``SQRT_FLOOR``: equal to ``sqrt(u)`` above ε, finite gradient everywhere."""
    return squared.clamp(min=SQRT_FLOOR).sqrt()


def euclidean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise distance ``d_i = ||a_i − b_i||_2`` (N,), with a finite (zero) gradient where ``a_i = b_i``."""
    return safe_sqrt(squared_euclidean(a, b))


def pairwise_squared_euclidean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """All squared distances ``d²_nm = ||x_n||² + ||y_m||² − 2·x_nᵀy_m`` for x (N, D), y (M, D); returns (N, M).

    The expansion can go slightly negative through rounding, so the result is clamped to ``≥ 0``.
    """
    x_sq = x.pow(2).sum(dim=1, keepdim=True)
    y_sq = y.pow(2).sum(dim=1).unsqueeze(0)
    return (x_sq + y_sq - 2.0 * (x @ y.T)).clamp(min=0.0)
