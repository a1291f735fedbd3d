"""Contrastive loss: the formula against a loop over all pairs, and the positive context of each slot."""

from __future__ import annotations

import math

import pytest
import torch

from daml_cli.losses.contrastive import ContrastiveLoss
from tests.helpers import contrastive


def _loop_contrastive(emb: torch.Tensor, labels: torch.Tensor, margin: float, squared: bool) -> float:
    b = labels.shape[0]
    total, count = 0.0, 0
    for i in range(b):
        for j in range(i + 1, b):
            d = float(((emb[i] - emb[j]) ** 2).sum())
            if not squared:
                d = d**0.5
            total += d if labels[i] == labels[j] else max(margin - d, 0.0)
            count += 1
    return total / count


@pytest.mark.parametrize("squared", [True, False])
def test_compute_matches_loop(make_batch, squared: bool) -> None:
    labels, emb = make_batch(3, 3, scale=0.3)
    loss = ContrastiveLoss(margin=1.0, squared=squared)
    tuples = loss.mine(labels, rng=torch.Generator().manual_seed(0))
    out = loss.compute(emb, tuples)
    assert math.isclose(out.loss.item(), _loop_contrastive(emb, labels, 1.0, squared), rel_tol=1e-10)
    assert out.terms["contrastive_neg"].item() > 0 and out.terms["contrastive_pos"].item() > 0
    assert torch.allclose(out.terms["contrastive_pos"] + out.terms["contrastive_neg"], out.loss)


def test_slots_are_negative_pairs_with_a_same_class_context(make_batch) -> None:
    labels, _ = make_batch(3, 3)
    loss = ContrastiveLoss()
    tuples = loss.mine(labels, rng=torch.Generator().manual_seed(0))
    slots = loss.negative_slots(tuples)
    b = labels.shape[0]
    expected = {(i, j) for i in range(b) for j in range(i + 1, b) if labels[i] != labels[j]}
    assert set(zip(slots.anchor.tolist(), slots.negative.tolist())) == expected and len(slots) == len(expected)
    for a, p in zip(slots.anchor.tolist(), slots.positive.tolist()):
        assert a != p and labels[a] == labels[p]
    assert len(tuples.pos_a) == 3 * 3  # 3 classes × C(3, 2) positive pairs
    other = loss.mine(labels, rng=torch.Generator().manual_seed(1))
    assert not torch.equal(other.positive, tuples.positive)  # the context is drawn at random


def test_anchor_without_partner_is_its_own_context() -> None:
    labels = torch.tensor([0, 1, 1])
    tuples = ContrastiveLoss().mine(labels)
    assert tuples.anchor.tolist() == [0, 0] and tuples.positive.tolist() == [0, 0]


def test_pure_function_matches_loop(make_batch) -> None:
    labels, emb = make_batch(3, 2, scale=0.4)
    b = labels.shape[0]
    pos = [(i, j) for i in range(b) for j in range(i + 1, b) if labels[i] == labels[j]]
    neg = [(i, j) for i in range(b) for j in range(i + 1, b) if labels[i] != labels[j]]
    rows = lambda pairs, side: emb[torch.tensor([p[side] for p in pairs])]  # noqa: E731
    for squared in (True, False):
        value = contrastive(rows(pos, 0), rows(pos, 1), rows(neg, 0), rows(neg, 1), 0.8, squared)
        assert math.isclose(value.item(), _loop_contrastive(emb, labels, 0.8, squared), rel_tol=1e-10)
