"""N-pair-mc: mining one pair per class, slot layout, and the formula against a loop."""

from __future__ import annotations

import math

import torch

from daml_cli.losses.npair import NPairLoss, npair_mc


def _slot(i: int, j: int, n: int) -> int:
    """Position of slot (i, j) in the i-major, j ≠ i order."""
    return i * (n - 1) + (j if j < i else j - 1)


def _loop_npair(emb: torch.Tensor, anchor: list[int], positive: list[int], negatives: torch.Tensor, l2_reg: float) -> float:
    n = len(anchor)
    main = 0.0
    for i in range(n):
        s_ap = float(emb[anchor[i]] @ emb[positive[i]])
        inner = sum(math.exp(float(emb[anchor[i]] @ negatives[_slot(i, j, n)]) - s_ap) for j in range(n) if j != i)
        main += math.log(1.0 + inner)
    rows = anchor + positive
    penalty = sum(float(emb[r] @ emb[r]) for r in rows) / len(rows)
    return main / n + l2_reg * penalty


def test_mine_takes_first_two_images_of_each_class() -> None:
    labels = torch.tensor([7, 3, 7, 9, 3, 7, 4, 9, 3])  # class 4 has one image and is skipped
    tuples = NPairLoss().mine(labels)
    pairs = sorted(zip(tuples.anchor.tolist(), tuples.positive.tolist()))
    assert pairs == [(0, 2), (1, 4), (3, 7)]


def test_slots_are_every_ordered_class_pair() -> None:
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    loss = NPairLoss()
    tuples = loss.mine(labels)
    slots = loss.negative_slots(tuples)
    n = len(tuples)
    assert len(slots) == n * (n - 1)
    a, p = tuples.anchor.tolist(), tuples.positive.tolist()
    for i in range(n):
        for j in range(n):
            if i != j:
                s = _slot(i, j, n)
                assert (slots.anchor[s].item(), slots.positive[s].item(), slots.negative[s].item()) == (a[i], p[i], p[j])


def test_compute_matches_loop(make_batch) -> None:
    labels, emb = make_batch(5, 2)
    loss = NPairLoss(l2_reg=0.05)
    tuples = loss.mine(labels)
    out = loss.compute(emb, tuples)
    expected = _loop_npair(emb, tuples.anchor.tolist(), tuples.positive.tolist(), emb[loss.negative_slots(tuples).negative], 0.05)
    assert math.isclose(out.loss.item(), expected, rel_tol=1e-10)
    assert torch.allclose(out.terms["npair"] + out.terms["l2_reg"], out.loss)
    assert out.terms["l2_reg"].item() > 0


def test_given_negatives_follow_slot_order(make_batch) -> None:
    labels, emb = make_batch(4, 2, seed=2)
    loss = NPairLoss(l2_reg=0.0)
    tuples = loss.mine(labels)
    synthetic = torch.randn(len(loss.negative_slots(tuples)), emb.shape[1], dtype=torch.float64)
    out = loss.compute(emb, tuples, synthetic)
    expected = _loop_npair(emb, tuples.anchor.tolist(), tuples.positive.tolist(), synthetic, 0.0)
    assert math.isclose(out.loss.item(), expected, rel_tol=1e-10)


def test_large_similarities_do_not_overflow() -> None:
    anchor = torch.tensor([[100.0, 0.0], [0.0, 100.0]], dtype=torch.float64)
    positive = torch.tensor([[-100.0, 0.0], [0.0, -100.0]], dtype=torch.float64)
    negatives = torch.tensor([[100.0, 0.0], [0.0, 100.0]], dtype=torch.float64)  # z = 2·10⁴
    value = npair_mc(anchor, positive, negatives)
    assert torch.isfinite(value) and math.isclose(value.item(), 2e4, rel_tol=1e-9)


def test_pure_function_matches_loop(make_batch) -> None:
    labels, emb = make_batch(4, 2, seed=3)
    loss = NPairLoss(l2_reg=0.0)
    tuples = loss.mine(labels)
    negatives = emb[loss.negative_slots(tuples).negative]
    value = npair_mc(emb[tuples.anchor], emb[tuples.positive], negatives)
    assert math.isclose(value.item(), _loop_npair(emb, tuples.anchor.tolist(), tuples.positive.tolist(), negatives, 0.0), rel_tol=1e-10)
