"""HDML's pure terms against per-tuple loops and from-scratch formulas (float64), spec §1.7."""

from __future__ import annotations

import math

import pytest
import torch

from daml_cli.losses.hdml_terms import (
    INITIAL_AVERAGE,
    BlockMean,
    j_metric,
    j_recon,
    j_soft,
    lambda_zero,
    metric_weight,
    pull_negatives,
    pull_scale,
)


def _tuples(seed: int, count: int = 40, dim: int = 5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(count, dim, generator=gen, dtype=torch.float64) for _ in range(3))  # type: ignore[return-value]


def _loop_pull(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, alpha: float, j_avg: float) -> torch.Tensor:
    """The authors' Pulling, one tuple at a time: plain distances, pull only where d⁺ < d⁻."""
    rows = []
    for a, p, n in zip(anchor.tolist(), positive.tolist(), negative.tolist()):
        d_pos = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, p)))
        d_neg = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, n)))
        if d_pos < d_neg:
            lam = (d_pos + (d_neg - d_pos) * math.exp(-alpha / j_avg)) / d_neg
            rows.append([x + lam * (y - x) for x, y in zip(a, n)])
        else:
            rows.append(list(n))
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize("j_avg", [0.5, 30.0, 90.0, 400.0])
def test_pulling_matches_a_per_tuple_loop(j_avg: float) -> None:
    anchor, positive, negative = _tuples(0)
    pulled = pull_negatives(anchor, positive, negative, pull_scale(90.0, j_avg))
    assert torch.allclose(pulled, _loop_pull(anchor, positive, negative, 90.0, j_avg), atol=1e-12)


def test_pulled_negative_lies_on_the_segment_at_the_hardness_aware_distance() -> None:
    anchor, positive, negative = _tuples(1)
    d_pos, d_neg = (anchor - positive).norm(dim=1), (anchor - negative).norm(dim=1)
    scale = math.exp(-90.0 / 60.0)
    pulled = pull_negatives(anchor, positive, negative, scale)
    easy = d_pos < d_neg
    assert 5 < int(easy.sum()) < 35  # both branches occur
    target = d_pos + (d_neg - d_pos) * scale
    assert torch.allclose((pulled - anchor).norm(dim=1)[easy], target[easy], atol=1e-12)
    # On the segment [z, z⁻]: ẑ⁻ − z = t·(z⁻ − z) with t in [0, 1].
    t = ((pulled - anchor) * (negative - anchor)).sum(dim=1) / (negative - anchor).pow(2).sum(dim=1)
    assert torch.allclose(anchor + t.unsqueeze(1) * (negative - anchor), pulled, atol=1e-12)
    assert bool(((t >= 0) & (t <= 1 + 1e-12)).all())
    assert torch.equal(pulled[~easy], negative[~easy])  # already hard: unchanged, exactly


def test_limits_of_the_average_loss() -> None:
    anchor, positive, negative = _tuples(2)
    d_pos, d_neg = (anchor - positive).norm(dim=1), (anchor - negative).norm(dim=1)
    easy = d_pos < d_neg
    start = pull_negatives(anchor, positive, negative, pull_scale(90.0, INITIAL_AVERAGE))
    assert torch.allclose(start, negative, atol=1e-3 * float(d_neg.max()))  # J = 1e6: (almost) no pulling
    hardest = pull_negatives(anchor, positive, negative, pull_scale(90.0, 1e-3))
    assert torch.allclose((hardest - anchor).norm(dim=1)[easy], d_pos[easy], atol=1e-12)  # J → 0: at distance d⁺


def test_a_larger_average_loss_pulls_less() -> None:
    anchor, positive, negative = _tuples(3)
    distances = [
        (pull_negatives(anchor, positive, negative, pull_scale(90.0, j)) - anchor).norm(dim=1).sum().item()
        for j in (1.0, 10.0, 50.0, 200.0, 1e4)
    ]
    assert all(near < far for near, far in zip(distances, distances[1:]))
    assert pull_scale(90.0, 45.0) == pytest.approx(math.exp(-2.0), rel=1e-15)


def test_lambda_zero_never_exceeds_one() -> None:
    anchor, positive, negative = _tuples(4, count=200)
    d_pos, d_neg = (anchor - positive).norm(dim=1), (anchor - negative).norm(dim=1)
    assert bool((d_pos > d_neg).any())
    for scale in (0.0, 0.3, 1.0):
        lam = lambda_zero(d_pos, d_neg, scale)
        assert bool((lam <= 1.0 + 1e-12).all())
        assert torch.equal(lam[d_pos >= d_neg], torch.ones_like(lam[d_pos >= d_neg]))
        expected = (d_pos + (d_neg - d_pos) * scale) / d_neg
        assert torch.allclose(lam[d_pos < d_neg], expected[d_pos < d_neg], atol=1e-12)


def test_duplicate_points_stay_finite_with_finite_gradients() -> None:
    anchor = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    negative = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)  # d⁻ = 0
    positive = torch.ones(2, 3, dtype=torch.float64)
    pulled = pull_negatives(anchor, positive, negative, 0.5)
    pulled.sum().backward()
    assert torch.isfinite(pulled).all() and torch.isfinite(anchor.grad).all() and torch.isfinite(negative.grad).all()


def test_weighting_moves_from_the_real_to_the_synthetic_loss() -> None:
    j_m, j_syn = torch.tensor(2.0, dtype=torch.float64), torch.tensor(10.0, dtype=torch.float64)
    start = j_metric(j_m, j_syn, 1e4, INITIAL_AVERAGE)
    assert start.item() == pytest.approx(math.exp(-0.01) * 2.0 + (1 - math.exp(-0.01)) * 10.0, rel=1e-12)
    assert start.item() == pytest.approx(0.99 * 2.0 + 0.01 * 10.0, rel=1e-3)
    assert j_metric(j_m, j_syn, 1e4, 1.0).item() == pytest.approx(10.0, rel=1e-12)  # J_gen small: all synthetic
    for j_gen in (1.0, 5e3, 1e4, 1e6):
        weight = metric_weight(1e4, j_gen)
        ones = j_metric(torch.tensor(1.0), torch.tensor(1.0), 1e4, j_gen)
        assert 0.0 <= weight <= 1.0 and ones.item() == pytest.approx(1.0, rel=1e-6)  # the two weights sum to 1


def test_reconstruction_is_a_sum_over_batch_and_dimensions() -> None:
    recon, real = torch.tensor([[1.0, 2.0], [0.0, -1.0]]), torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    expected = 0.3 * (1 + 4 + 1 + 4)  # (1 − λ)·Σ||y′ − y||² with λ = 0.7
    assert j_recon(recon, real, 0.7).item() == pytest.approx(expected, rel=1e-6)


def test_softmax_term_is_factor_times_lambda_times_the_group_means() -> None:
    gen = torch.Generator().manual_seed(5)
    first, second = torch.randn(3, 4, generator=gen, dtype=torch.float64), torch.randn(5, 4, generator=gen, dtype=torch.float64)
    t1, t2 = torch.tensor([0, 3, 1]), torch.tensor([2, 2, 0, 1, 3])

    def mean_ce(logits: torch.Tensor, targets: torch.Tensor) -> float:
        total = 0.0
        for row, target in zip(logits.tolist(), targets.tolist()):
            total += math.log(sum(math.exp(v) for v in row)) - row[target]
        return total / len(targets)

    expected = 1e4 * 0.5 * (mean_ce(first, t1) + mean_ce(second, t2))
    assert j_soft([first, second], [t1, t2], 0.5, 1e4).item() == pytest.approx(expected, rel=1e-10)
    empty = j_soft([first[:0]], [t1[:0]], 0.5, 1e4)
    assert empty.item() == 0.0


def test_block_mean_is_the_mean_of_the_last_complete_block() -> None:
    values = [3.0, 1.0, float("nan"), 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]
    block = BlockMean(3)
    seen: list[float] = []
    for value in values:
        block.update(value)
        seen.append(block.value)
    # A plain loop over the finite values: after every 3rd one the mean of those 3 becomes the value.
    finite, expected, current = [], [], INITIAL_AVERAGE
    for value in values:
        if math.isfinite(value):
            finite.append(value)
            if len(finite) % 3 == 0:
                current = sum(finite[-3:]) / 3
        expected.append(current)
    assert seen == pytest.approx(expected, rel=1e-15)
    assert expected[:4] == [INITIAL_AVERAGE] * 3 + [8.0 / 3]


def test_block_mean_state_resumes_mid_block() -> None:
    values = [0.5, 2.0, 7.0, 1.5, 3.0]
    whole = BlockMean(4)
    for value in values:
        whole.update(value)
    first = BlockMean(4)
    for value in values[:2]:
        first.update(value)
    second = BlockMean(4)
    second.load_state_dict(first.state_dict())
    for value in values[2:]:
        second.update(value)
    assert second.state_dict() == whole.state_dict() and second.value == pytest.approx((0.5 + 2 + 7 + 1.5) / 4)
