"""DAML generator terms: J_adv's sign, each term against a loop, the J_gen weighting."""

from __future__ import annotations

import math

import torch

from daml_cli.losses.daml_terms import j_adv, j_gen, j_hard, j_reg
from tests.helpers import adv_active_fraction, triplet_margin


def _rows(seed: int, n: int = 6, d: int = 4) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=gen, dtype=torch.float64) for _ in range(3)]


def _sq(u: torch.Tensor, v: torch.Tensor) -> float:
    return float(((u - v) ** 2).sum())


def test_adv_is_positive_for_an_easy_real_negative() -> None:
    anchor = torch.zeros(1, 2, dtype=torch.float64)
    positive = torch.tensor([[1.0, 0.0]], dtype=torch.float64)  # d_ap² = 1
    negative = torch.tensor([[0.0, 2.0]], dtype=torch.float64)  # d_an² = 4 > 1 + α
    value = j_adv(negative, anchor, positive, margin=1.0)  # generator frozen to output the real negative
    assert math.isclose(value.item(), 4.0 - 1.0 - 1.0)
    assert adv_active_fraction(negative, anchor, positive, 1.0) == 1.0


def test_adv_is_zero_for_a_synthetic_nearer_than_the_positive() -> None:
    anchor = torch.zeros(1, 2, dtype=torch.float64)
    positive = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    synthetic = torch.tensor([[0.0, 0.5]], dtype=torch.float64, requires_grad=True)
    value = j_adv(synthetic, anchor, positive, margin=0.2)
    assert value.item() == 0.0
    value.backward()
    assert torch.equal(synthetic.grad, torch.zeros_like(synthetic))
    assert adv_active_fraction(synthetic, anchor, positive, 0.2) == 0.0


def test_terms_match_loops() -> None:
    synthetic, anchor, negative = _rows(0)
    _, _, positive = _rows(1)
    n = synthetic.shape[0]
    assert math.isclose(j_hard(synthetic, anchor).item(), sum(_sq(synthetic[i], anchor[i]) for i in range(n)) / n)
    assert math.isclose(j_reg(synthetic, negative).item(), sum(_sq(synthetic[i], negative[i]) for i in range(n)) / n)
    margin = 0.5
    hinges = [_sq(synthetic[i], anchor[i]) - _sq(positive[i], anchor[i]) - margin for i in range(n)]
    assert math.isclose(j_adv(synthetic, anchor, positive, margin).item(), sum(max(h, 0.0) for h in hinges) / n)
    active = sum(h > 0 for h in hinges) / n
    assert 0 < active < 1
    assert math.isclose(adv_active_fraction(synthetic, anchor, positive, margin), active)


def test_adv_and_triplet_are_complementary() -> None:
    """Per tuple, J_adv + J_m = |d_ap² − d_an² + α| for the triplet loss with the same α."""
    synthetic, anchor, positive = _rows(2)
    margin = 0.8
    for i in range(synthetic.shape[0]):
        s, a, p = synthetic[i : i + 1], anchor[i : i + 1], positive[i : i + 1]
        total = j_adv(s, a, p, margin) + triplet_margin(a, p, s, margin)
        assert math.isclose(total.item(), abs(_sq(a[0], p[0]) - _sq(a[0], s[0]) + margin), rel_tol=1e-12)


def test_gen_weights_each_term() -> None:
    hard, reg, adv = (torch.tensor(v, dtype=torch.float64) for v in (1.5, 2.0, 3.0))
    assert math.isclose(j_gen(hard, reg, adv, lambda_reg=0.5, lambda_adv=10.0).item(), 1.5 + 1.0 + 30.0)
    assert math.isclose(j_gen(hard, reg, adv, lambda_reg=10.0, lambda_adv=0.5).item(), 1.5 + 20.0 + 1.5)


def test_empty_tuples_give_connected_zeros() -> None:
    empty = torch.zeros(0, 3, dtype=torch.float64, requires_grad=True)
    for value in (j_hard(empty, empty), j_reg(empty, empty), j_adv(empty, empty, empty, 1.0)):
        assert value.item() == 0.0 and value.grad_fn is not None
    assert adv_active_fraction(empty, empty, empty, 1.0) == 0.0
