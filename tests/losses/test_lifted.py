"""Lifted structure: the formula against a loop built from labels, slot layout, cap, stability."""

from __future__ import annotations

import math

import torch

from daml_cli.losses.lifted import LiftedLoss, grouped_logsumexp
from tests.helpers import lifted_structure


def _d(u: torch.Tensor, v: torch.Tensor) -> float:
    return float(((u - v) ** 2).sum()) ** 0.5


def _loop_lifted(emb: torch.Tensor, labels: torch.Tensor, margin: float) -> float:
    b = labels.shape[0]
    total, pairs = 0.0, 0
    for i in range(b):
        for j in range(i + 1, b):
            if labels[i] != labels[j]:
                continue
            inner = sum(math.exp(margin - _d(emb[i], emb[k])) for k in range(b) if labels[k] != labels[i])
            inner += sum(math.exp(margin - _d(emb[j], emb[l])) for l in range(b) if labels[l] != labels[j])
            j_ij = math.log(inner) + _d(emb[i], emb[j])
            total += max(j_ij, 0.0) ** 2
            pairs += 1
    return total / (2 * pairs)


def _loop_from_slots(emb: torch.Tensor, tuples, negatives: torch.Tensor, margin: float) -> float:
    total = 0.0
    for p, (i, j) in enumerate(zip(tuples.pair_i.tolist(), tuples.pair_j.tolist())):
        inner = sum(
            math.exp(margin - _d(emb[tuples.anchor[s]], negatives[s])) for s in range(len(tuples.anchor)) if tuples.slot_pair[s] == p
        )
        total += max(math.log(inner) + _d(emb[i], emb[j]), 0.0) ** 2
    return total / (2 * len(tuples))


def test_compute_matches_loop(make_batch) -> None:
    labels, emb = make_batch(3, 3, scale=0.5)
    loss = LiftedLoss(margin=1.0)
    out = loss.compute(emb, loss.mine(labels))
    expected = _loop_lifted(emb, labels, 1.0)
    assert expected > 0
    assert math.isclose(out.loss.item(), expected, rel_tol=1e-10)


def test_slot_layout_is_pair_then_side_i_then_side_j(make_batch) -> None:
    labels, _ = make_batch(3, 2)
    loss = LiftedLoss()
    tuples = loss.mine(labels)
    assert len(tuples) == 3
    assert (tuples.pair_i < tuples.pair_j).all() and (labels[tuples.pair_i] == labels[tuples.pair_j]).all()
    b = labels.shape[0]
    expected_a, expected_p, expected_n, expected_g = [], [], [], []
    for g, (i, j) in enumerate(zip(tuples.pair_i.tolist(), tuples.pair_j.tolist())):
        for anchor, partner in ((i, j), (j, i)):
            for k in range(b):
                if labels[k] != labels[anchor]:
                    expected_a.append(anchor), expected_p.append(partner), expected_n.append(k), expected_g.append(g)
    slots = loss.negative_slots(tuples)
    assert slots.anchor.tolist() == expected_a and slots.positive.tolist() == expected_p
    assert slots.negative.tolist() == expected_n and tuples.slot_pair.tolist() == expected_g


def test_given_negatives_match_slot_loop(make_batch) -> None:
    labels, emb = make_batch(3, 2, seed=4)
    loss = LiftedLoss(margin=0.7)
    tuples = loss.mine(labels)
    synthetic = torch.randn(len(loss.negative_slots(tuples)), emb.shape[1], dtype=torch.float64) * 0.3
    out = loss.compute(emb, tuples, synthetic)
    assert math.isclose(out.loss.item(), _loop_from_slots(emb, tuples, synthetic, 0.7), rel_tol=1e-10)


def test_max_negatives_caps_each_anchor_consistently(make_batch) -> None:
    labels, emb = make_batch(4, 3)
    loss = LiftedLoss(max_negatives=2)
    tuples = loss.mine(labels, emb, torch.Generator().manual_seed(3))
    seen: dict[int, set[int]] = {}
    for a, n, g in zip(tuples.anchor.tolist(), tuples.negative.tolist(), tuples.slot_pair.tolist()):
        assert labels[a] != labels[n]
        seen.setdefault(a, set()).add(n)
    assert all(len(ns) == 2 for ns in seen.values())  # the same 2 negatives in every pair of the anchor
    assert len(loss.negative_slots(tuples)) == len(tuples) * 2 * 2
    again = loss.mine(labels, emb, torch.Generator().manual_seed(3))
    assert torch.equal(again.negative, tuples.negative)


def test_grouped_logsumexp_is_stable_and_exact() -> None:
    values = torch.tensor([-1000.0, -1001.0, 5.0, 1000.0, 999.0], dtype=torch.float64)
    group = torch.tensor([0, 0, 1, 2, 2])
    out = grouped_logsumexp(values, group, 4)
    assert torch.allclose(out[0], torch.logsumexp(values[:2], 0))
    assert torch.allclose(out[1], values[2])
    assert torch.allclose(out[2], torch.logsumexp(values[3:], 0))
    assert out[3].item() == float("-inf")


def test_far_apart_embeddings_give_a_finite_loss(make_batch) -> None:
    labels, emb = make_batch(3, 2, scale=1e3)
    loss = LiftedLoss()
    out = loss.compute(emb, loss.mine(labels))
    assert torch.isfinite(out.loss)
    assert math.isclose(out.loss.item(), _loop_lifted_stable(emb, labels, 1.0), rel_tol=1e-9)


def _loop_lifted_stable(emb: torch.Tensor, labels: torch.Tensor, margin: float) -> float:
    """The loop reference, with torch.logsumexp per pair so it survives exp underflow."""
    b = labels.shape[0]
    total, pairs = 0.0, 0
    for i in range(b):
        for j in range(i + 1, b):
            if labels[i] != labels[j]:
                continue
            terms = [margin - _d(emb[i], emb[k]) for k in range(b) if labels[k] != labels[i]]
            terms += [margin - _d(emb[j], emb[l]) for l in range(b) if labels[l] != labels[j]]
            j_ij = torch.logsumexp(torch.tensor(terms, dtype=torch.float64), 0).item() + _d(emb[i], emb[j])
            total += max(j_ij, 0.0) ** 2
            pairs += 1
    return total / (2 * pairs)


def test_pure_function_on_rows_matches_loop(make_batch) -> None:
    labels, emb = make_batch(3, 2, seed=6, scale=0.5)
    tuples = LiftedLoss().mine(labels)
    value = lifted_structure(
        emb[tuples.pair_i], emb[tuples.pair_j], emb[tuples.anchor], emb[tuples.negative], tuples.slot_pair, 1.0
    )
    assert math.isclose(value.item(), _loop_lifted(emb, labels, 1.0), rel_tol=1e-10)
