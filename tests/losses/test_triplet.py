"""Triplet loss: the formula against a loop, and each mining strategy's validity and defining property."""

from __future__ import annotations

import pytest
import torch

from daml_cli.errors import ConfigError
from daml_cli.losses.triplet import TripletLoss
from tests.helpers import triplet_margin


def _loop_triplet(emb: torch.Tensor, a: list[int], p: list[int], negs: torch.Tensor, margin: float, squared: bool) -> torch.Tensor:
    total = torch.zeros((), dtype=emb.dtype)
    for t in range(len(a)):
        d_ap = ((emb[a[t]] - emb[p[t]]) ** 2).sum()
        d_an = ((emb[a[t]] - negs[t]) ** 2).sum()
        if not squared:
            d_ap, d_an = d_ap.sqrt(), d_an.sqrt()
        total = total + max(d_ap - d_an + margin, torch.zeros((), dtype=emb.dtype))
    return total / len(a)


def _dist(emb: torch.Tensor, i: int, j: int, squared: bool) -> float:
    d = float(((emb[i] - emb[j]) ** 2).sum())
    return d if squared else d**0.5


def _assert_valid(labels: torch.Tensor, tuples) -> None:
    for a, p, n in zip(tuples.anchor.tolist(), tuples.positive.tolist(), tuples.negative.tolist()):
        assert a != p
        assert labels[a] == labels[p]
        assert labels[n] != labels[a]


def _ordered_pairs(labels: torch.Tensor) -> set[tuple[int, int]]:
    b = labels.shape[0]
    return {(i, j) for i in range(b) for j in range(b) if i != j and labels[i] == labels[j]}


@pytest.mark.parametrize("squared", [True, False])
def test_compute_matches_loop(make_batch, squared: bool) -> None:
    labels, emb = make_batch(3, 3, scale=0.3)
    loss = TripletLoss(margin=0.5, squared=squared, strategy="all")
    tuples = loss.mine(labels)
    out = loss.compute(emb, tuples)
    expected = _loop_triplet(emb, tuples.anchor.tolist(), tuples.positive.tolist(), emb[tuples.negative], 0.5, squared)
    assert 0 < out.loss.item()
    assert torch.allclose(out.loss, expected)
    assert out.num_tuples == len(tuples)
    assert 0.0 < out.terms["active_fraction"].item() <= 1.0


def test_pure_function_uses_margin_and_mean() -> None:
    a = torch.zeros(2, 2, dtype=torch.float64)
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)  # d_ap² = 1
    n = torch.tensor([[2.0, 0.0], [0.0, 0.5]], dtype=torch.float64)  # d_an² = 4, 0.25
    # tuple 0: [1 − 4 + 0.5]_+ = 0; tuple 1: [1 − 0.25 + 0.5]_+ = 1.25 → mean 0.625
    assert torch.isclose(triplet_margin(a, p, n, 0.5), torch.tensor(0.625, dtype=torch.float64))
    # non-squared: [1 − 2 + 0.5]_+ = 0 and [1 − 0.5 + 0.5]_+ = 1 → mean 0.5
    assert torch.isclose(triplet_margin(a, p, n, 0.5, squared=False), torch.tensor(0.5, dtype=torch.float64))


def test_all_gives_every_valid_triple(make_batch) -> None:
    p_classes, k = 4, 3
    labels, _ = make_batch(p_classes, k)
    tuples = TripletLoss(strategy="all").mine(labels)
    assert len(tuples) == p_classes * k * (k - 1) * (p_classes - 1) * k
    _assert_valid(labels, tuples)
    triples = set(zip(tuples.anchor.tolist(), tuples.positive.tolist(), tuples.negative.tolist()))
    assert len(triples) == len(tuples)


@pytest.mark.parametrize("per_pair", [1, 3])
def test_random_gives_distinct_negatives_per_pair_reproducibly(make_batch, per_pair: int) -> None:
    labels, _ = make_batch(4, 3)
    loss = TripletLoss(strategy="random", negatives_per_pair=per_pair)
    tuples = loss.mine(labels, rng=torch.Generator().manual_seed(7))
    _assert_valid(labels, tuples)
    by_pair: dict[tuple[int, int], list[int]] = {}
    for a, p, n in zip(tuples.anchor.tolist(), tuples.positive.tolist(), tuples.negative.tolist()):
        by_pair.setdefault((a, p), []).append(n)
    assert set(by_pair) == _ordered_pairs(labels)
    assert all(len(ns) == per_pair and len(set(ns)) == per_pair for ns in by_pair.values())
    again = loss.mine(labels, rng=torch.Generator().manual_seed(7))
    assert torch.equal(again.negative, tuples.negative)
    other = loss.mine(labels, rng=torch.Generator().manual_seed(8))
    assert not torch.equal(other.negative, tuples.negative)


def test_random_caps_at_available_negatives() -> None:
    labels = torch.tensor([0, 0, 1])
    tuples = TripletLoss(strategy="random", negatives_per_pair=5).mine(labels, rng=torch.Generator().manual_seed(0))
    assert len(tuples) == 2 and tuples.negative.tolist() == [2, 2]


@pytest.mark.parametrize("squared", [True, False])
def test_semihard_picks_from_window_else_falls_back(make_batch, squared: bool) -> None:
    labels, emb = make_batch(4, 3, dim=3, seed=3, scale=0.3)
    margin = 0.3
    loss = TripletLoss(margin=margin, squared=squared, strategy="semihard")
    tuples = loss.mine(labels, emb, torch.Generator().manual_seed(0))
    _assert_valid(labels, tuples)
    pairs = list(zip(tuples.anchor.tolist(), tuples.positive.tolist()))
    assert sorted(pairs) == sorted(_ordered_pairs(labels))  # one negative per ordered pair
    kinds = {"window": 0, "farther": 0, "hardest": 0}
    b = labels.shape[0]
    for (a, p), n in zip(pairs, tuples.negative.tolist()):
        d_ap = _dist(emb, a, p, squared)
        negs = [k for k in range(b) if labels[k] != labels[a]]
        d = {k: _dist(emb, a, k, squared) for k in negs}
        window = [k for k in negs if d_ap < d[k] < d_ap + margin]
        farther = [k for k in negs if d[k] > d_ap]
        if window:
            kinds["window"] += 1
            assert n in window
        elif farther:
            kinds["farther"] += 1
            assert n == min(farther, key=d.get)
        else:
            kinds["hardest"] += 1
            assert n == min(negs, key=d.get)
    assert kinds["window"] > 0 and kinds["farther"] + kinds["hardest"] > 0  # both branches exercised


def test_semihard_window_choice_is_random_but_seeded(make_batch) -> None:
    labels, emb = make_batch(3, 2, dim=2, seed=0, scale=0.01)
    loss = TripletLoss(margin=10.0, strategy="semihard")  # every farther negative is in the window
    picks = {tuple(loss.mine(labels, emb, torch.Generator().manual_seed(s)).negative.tolist()) for s in range(6)}
    assert len(picks) > 1
    first = loss.mine(labels, emb, torch.Generator().manual_seed(0)).negative
    assert torch.equal(first, loss.mine(labels, emb, torch.Generator().manual_seed(0)).negative)


@pytest.mark.parametrize("per_pair", [1, 2])
def test_easy_picks_the_farthest_negatives(make_batch, per_pair: int) -> None:
    labels, emb = make_batch(4, 3, seed=5)
    tuples = TripletLoss(strategy="easy", negatives_per_pair=per_pair).mine(labels, emb)
    _assert_valid(labels, tuples)
    by_pair: dict[tuple[int, int], set[int]] = {}
    for a, p, n in zip(tuples.anchor.tolist(), tuples.positive.tolist(), tuples.negative.tolist()):
        by_pair.setdefault((a, p), set()).add(n)
    assert set(by_pair) == _ordered_pairs(labels)
    for (a, _), chosen in by_pair.items():
        negs = [k for k in range(labels.shape[0]) if labels[k] != labels[a]]
        farthest = sorted(negs, key=lambda k: -_dist(emb, a, k, True))[:per_pair]
        assert chosen == set(farthest)


def test_distance_strategies_need_embeddings() -> None:
    with pytest.raises(ValueError):
        TripletLoss(strategy="semihard").mine(torch.tensor([0, 0, 1, 1]))


def test_invalid_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError):
        TripletLoss(strategy="hardest")
    with pytest.raises(ConfigError):
        TripletLoss(negatives_per_pair=0)
