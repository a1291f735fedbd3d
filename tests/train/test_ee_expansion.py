"""Embedding Expansion's maths against from-scratch computations: the geometry of the synthetic points, the
n = 0 identity, the HPHN mining oracle (value, which pair, finite-difference gradients), monotonicity, and a
fixed toy batch whose hardest negatives are synthetic (the one the recorded mutations fail on)."""

from __future__ import annotations

import pytest
import torch

from daml_cli.errors import ConfigError
from daml_cli.losses.embedding_expansion import expand, hardest_pairs, hphn_hinge, partners, synthetic_source_cosine
from daml_cli.losses.lifted import LiftedLoss
from daml_cli.losses.multi_similarity import MultiSimilarityLoss


def unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm()


def batch(seed: int, classes: int = 3, per_class: int = 4, dim: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit rows of `classes` × `per_class`, classes as consecutive rows (a P×K batch), float64."""
    gen = torch.Generator().manual_seed(seed)
    emb = torch.nn.functional.normalize(torch.randn(classes * per_class, dim, generator=gen, dtype=torch.float64), dim=1)
    return emb, torch.arange(classes).repeat_interleave(per_class) * 7 + 3


def dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The authors' distance, sqrt(max(‖a − b‖², 1e-12))."""
    return ((a - b) ** 2).sum().clamp(min=1e-12).sqrt()


def scratch_points(emb: torch.Tensor, i: int, n: int, normalize: bool = True) -> list[torch.Tensor]:
    """x̄_k(i) = [k·e_{p(i)} + (n+1−k)·eᵢ]/(n+1), k = 1..n, with p(i) = i XOR 1 (re-normalised if asked)."""
    p = i + 1 if i % 2 == 0 else i - 1
    points = [(k * emb[p] + (n + 1 - k) * emb[i]) / (n + 1) for k in range(1, n + 1)]
    return [unit(x) for x in points] if normalize else points


def oracle(emb: torch.Tensor, labels: list[int], n: int, margin: float, normalize: bool = True):
    """Per original i: (ℓᵢ, whether the hardest negative pair involves a synthetic point), by brute force over
    i's (n+1) points × every real and synthetic point of another label; the hardest positive among originals."""
    size = len(labels)
    synthetic = {j: scratch_points(emb, j, n, normalize) for j in range(size)}
    out = []
    for i in range(size):
        d_ap = max(dist(emb[i], emb[j]) for j in range(size) if j != i and labels[j] == labels[i])
        mine = [(emb[i], False)] + [(x, True) for x in synthetic[i]]
        others = [(emb[j], False) for j in range(size) if labels[j] != labels[i]]
        others += [(x, True) for j in range(size) if labels[j] != labels[i] for x in synthetic[j]]
        best = None
        for a, a_syn in mine:
            for c, c_syn in others:
                d = dist(a, c)
                if best is None or d < best[0]:
                    best = (d, a_syn or c_syn)
        out.append((torch.relu(d_ap - best[0] + margin), best[1]))
    return out


# -- geometry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3])
def test_points_before_normalising_are_the_chord_points(n: int) -> None:
    emb, labels = batch(0)
    x = expand(emb, labels, n, normalize=False)
    size = emb.shape[0]
    assert x.points.shape == (size * (n + 1), 3) and x.num_real == size
    for k in range(1, n + 1):
        t = k / (n + 1)
        for i in range(size):
            p = i ^ 1
            assert torch.allclose(x.points[k * size + i], (1 - t) * emb[i] + t * emb[p], atol=1e-15)
            assert x.labels[k * size + i] == labels[i] and x.source[k * size + i] == i and x.group[k * size + i] == k
    assert torch.equal(x.points[:size], emb) and torch.equal(x.labels[:size], labels)


@pytest.mark.parametrize("n", [1, 2, 4])
def test_normalised_points_are_unit_on_the_arc_and_move_away_from_their_source(n: int) -> None:
    emb, labels = batch(1)
    x = expand(emb, labels, n)
    size = emb.shape[0]
    for i in range(size):
        basis = torch.stack([emb[i], emb[i ^ 1]], dim=1)  # (D, 2)
        previous = 1.0 + 1e-12
        for k in range(1, n + 1):
            point = x.points[k * size + i]
            assert point.norm().item() == pytest.approx(1.0, abs=1e-12)
            coef = torch.linalg.lstsq(basis, point.unsqueeze(1)).solution.squeeze(1)
            assert torch.allclose(basis @ coef, point, atol=1e-10)  # in span{eᵢ, e_p(i)}
            assert bool((coef >= -1e-10).all())  # with non-negative coefficients
            cosine = float(point @ emb[i])
            assert cosine <= previous + 1e-12  # cos to eᵢ non-increasing in k
            previous = cosine


def test_every_synthetic_point_appears_twice_and_drop_keeps_one_copy() -> None:
    emb, labels = batch(2)
    n, size = 3, emb.shape[0]
    keep = expand(emb, labels, n)
    for i in range(size):
        for k in range(1, n + 1):  # x̄_k(i) = x̄_{n+1−k}(p(i)), bitwise
            assert torch.equal(keep.points[k * size + i], keep.points[(n + 1 - k) * size + (i ^ 1)])
    drop = expand(emb, labels, n, keep_duplicates=False)
    assert drop.points.shape[0] == size + n * size // 2
    assert bool((drop.source[size:] % 2 == 0).all())
    as_set = lambda points: sorted(tuple(row.tolist()) for row in points)  # noqa: E731
    synthetic_keep = as_set(keep.points[size:])
    assert as_set(drop.points[size:]) == synthetic_keep[::2] == synthetic_keep[1::2]
    hinge_keep, hinge_drop = hphn_hinge(keep, 0.1), hphn_hinge(drop, 0.1)
    assert torch.allclose(hinge_keep, hinge_drop, atol=1e-12)  # hardest-pair mining does not care


def test_opposite_partners_give_a_zero_midpoint_not_nan() -> None:
    e = unit(torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64))
    x = expand(torch.stack([e, -e]), torch.tensor([4, 4]), 1)
    assert torch.equal(x.points[2:], torch.zeros(2, 3, dtype=torch.float64))


def test_partners_are_adjacent_rows_of_one_class() -> None:
    assert partners(torch.tensor([1, 1, 1, 1, 2, 2])).tolist() == [1, 0, 3, 2, 5, 4]
    with pytest.raises(ConfigError, match="two labels"):
        partners(torch.tensor([1, 1, 1, 2, 2, 2]))  # K = 3: rows 2 and 3 differ
    with pytest.raises(ConfigError, match="5 rows"):
        partners(torch.tensor([1, 1, 2, 2, 2]))


def test_source_cosine_is_the_mean_cosine_to_the_source() -> None:
    emb, labels = batch(3)
    x = expand(emb, labels, 2)
    size = emb.shape[0]
    want = sum(float(x.points[k * size + i] @ emb[i]) for k in (1, 2) for i in range(size)) / (2 * size)
    assert synthetic_source_cosine(x).item() == pytest.approx(want, rel=1e-12)


# -- HPHN --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 4, 5])
def test_n0_is_plain_hphn(seed: int) -> None:
    emb, labels = batch(seed)
    x = expand(emb, labels, 0)
    assert torch.equal(x.points, emb) and not bool((~x.real).any())
    got = hphn_hinge(x, 0.2)
    size = emb.shape[0]
    for i in range(size):
        same = [j for j in range(size) if j != i and labels[j] == labels[i]]
        other = [j for j in range(size) if labels[j] != labels[i]]
        want = torch.relu(max(dist(emb[i], emb[j]) for j in same) - min(dist(emb[i], emb[j]) for j in other) + 0.2)
        assert got[i].item() == pytest.approx(want.item(), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 6])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_mining_matches_the_brute_force_oracle(seed: int, n: int) -> None:
    emb, labels = batch(seed)
    want = oracle(emb, labels.tolist(), n, 0.3)
    pairs = hardest_pairs(expand(emb, labels, n))
    hinge = hphn_hinge(expand(emb, labels, n), 0.3)
    assert hinge.tolist() == pytest.approx([float(v) for v, _ in want], abs=1e-10)
    assert pairs.synthetic.tolist() == [s for _, s in want]


def test_gradients_match_finite_differences_on_six_points() -> None:
    emb, labels = batch(7, classes=3, per_class=2)
    emb = emb.clone().requires_grad_(True)
    for normalize in (True, False):
        assert torch.autograd.gradcheck(lambda e: hphn_hinge(expand(e, labels, 2, normalize), 0.5).mean(), (emb,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_expansion_never_lowers_the_loss(seed: int) -> None:
    """The hardest negative ranges over a superset, the hardest positive is unchanged: ℓᵢ(EE) ≥ ℓᵢ(plain) per anchor.
    MS and lifted (real rows as anchors) only gain negatives and positives to mine, so they never drop either."""
    emb, labels = batch(seed, classes=4, per_class=4, dim=4)
    plain = expand(emb, labels, 0)
    for n in (1, 2, 5):
        for normalize in (True, False):
            x = expand(emb, labels, n, normalize)
            assert bool((hphn_hinge(x, 0.2) >= hphn_hinge(plain, 0.2) - 1e-12).all())  # equal up to matmul rounding
            for loss in (MultiSimilarityLoss(), LiftedLoss(1.0)):
                with_ee = loss.compute(x.points, loss.mine(x.labels, x.points, real=x.real)).loss
                assert with_ee.item() >= loss(emb, labels).loss.item() - 1e-12


# -- the toy batch of the recorded mutations ---------------------------------------------------------


def test_toy_batch_with_synthetic_hardest_negatives_matches_the_oracle() -> None:
    """Seed 0, 3 classes × 4 in 3-d: every anchor's hardest negative pair involves a synthetic point, and a
    synthetic classmate lies farther than the hardest real positive (so using synthetic points on the positive
    side shows). Value per anchor and the loss's gradient must match the brute-force oracle."""
    emb, labels = batch(0)
    want = oracle(emb, labels.tolist(), 2, 0.2)
    assert all(s for _, s in want)
    x = expand(emb, labels, 2)
    same = (labels.unsqueeze(1) == x.labels.unsqueeze(0)) & ~torch.eye(12, 36, dtype=torch.bool)
    far = torch.cdist(emb, x.points).masked_fill(~same, -1.0).amax(dim=1)
    assert bool((far > hardest_pairs(x).d_ap + 1e-6).any())
    leaf = emb.clone().requires_grad_(True)
    got = hphn_hinge(expand(leaf, labels, 2), 0.2)
    assert got.tolist() == pytest.approx([float(v) for v, _ in want], abs=1e-10)
    (grad,) = torch.autograd.grad(got.mean(), leaf)
    oracle_leaf = emb.clone().requires_grad_(True)
    (want_grad,) = torch.autograd.grad(sum(v for v, _ in oracle(oracle_leaf, labels.tolist(), 2, 0.2)) / 12, oracle_leaf)
    assert torch.allclose(grad, want_grad, atol=1e-9)
