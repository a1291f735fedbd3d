"""Distances: values against direct formulas, finite gradients at zero distance, clamping."""

from __future__ import annotations

import math

import torch

from daml_cli.losses.distances import pairwise_squared_euclidean, squared_euclidean
from daml_cli.losses.distances import euclidean


def test_row_wise_distances_match_a_loop() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    b = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    expected_sq = torch.tensor([sum((a[i, k] - b[i, k]).item() ** 2 for k in range(3)) for i in range(5)], dtype=torch.float64)
    assert torch.allclose(squared_euclidean(a, b), expected_sq)
    assert torch.allclose(euclidean(a, b), expected_sq.sqrt())


def test_euclidean_gradient_is_finite_at_zero_distance() -> None:
    a = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b = a.detach().clone()
    b[2] += 0.5  # one row at a real distance, the others at exactly zero
    euclidean(a, b).sum().backward()
    assert torch.isfinite(a.grad).all()
    assert a.grad[2].abs().sum() > 0
    assert torch.allclose(a.grad[2].norm(), torch.tensor(1.0, dtype=torch.float64))  # |∇ ||a−b|| | = 1
    assert euclidean(a, a).max().item() <= 1e-5


def test_pairwise_matches_cdist_and_is_non_negative() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(7, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    assert torch.allclose(pairwise_squared_euclidean(x, y), torch.cdist(x, y).pow(2))
    big = torch.randn(6, 4, generator=gen) * 1e3  # float32, where the expansion rounds below zero
    assert (pairwise_squared_euclidean(big, big) >= 0).all()
    assert pairwise_squared_euclidean(x, y).shape == (7, 3)
    assert math.isclose(pairwise_squared_euclidean(x[:1], x[:1]).item(), 0.0, abs_tol=1e-12)
