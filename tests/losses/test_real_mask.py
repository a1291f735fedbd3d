"""`mine(..., real=mask)` of Multi-Similarity, contrastive and lifted (Embedding Expansion's synthetic points as
negatives only): value and gradient against plain per-pair loops written here, and ``real=None`` unchanged."""

from __future__ import annotations

import math

import pytest
import torch

from daml_cli.losses.contrastive import ContrastiveLoss
from daml_cli.losses.lifted import LiftedLoss
from daml_cli.losses.multi_similarity import MultiSimilarityLoss

ALPHA, BETA, BASE, EPS = 2.0, 50.0, 0.5, 0.1


def _d(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b) ** 2).sum()


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a @ b) / (a.norm() * b.norm())


def loop_ms(emb: torch.Tensor, labels: list[int], real: list[bool], eps: float = EPS) -> torch.Tensor:
    """MS (official form) with anchors and positives among the real rows, negatives among all rows of another
    label, divided by the number of real rows."""
    n = len(labels)
    total = emb.sum() * 0.0
    for i in range(n):
        if not real[i]:
            continue
        s = [float(_cos(emb[i].detach(), emb[j].detach())) for j in range(n)]
        pos = [j for j in range(n) if real[j] and j != i and labels[j] == labels[i] and s[j] < 1 - 1e-5]
        neg = [k for k in range(n) if labels[k] != labels[i]]
        if not pos or not neg:
            continue
        kept_neg = [k for k in neg if s[k] + eps > min(s[j] for j in pos)]
        kept_pos = [j for j in pos if s[j] - eps < max(s[k] for k in neg)]
        if not kept_pos or not kept_neg:
            continue
        p = sum(torch.exp(-ALPHA * (_cos(emb[i], emb[j]) - BASE)) for j in kept_pos)
        q = sum(torch.exp(BETA * (_cos(emb[i], emb[k]) - BASE)) for k in kept_neg)
        total = total + torch.log(1 + p) / ALPHA + torch.log(1 + q) / BETA
    return total / sum(real)


def loop_contrastive(emb: torch.Tensor, labels: list[int], real: list[bool], margin: float) -> torch.Tensor:
    """Mean over pairs of ``D²`` (same label, both real) and ``[m − D²]_+`` (other label, at least one real),
    each unordered pair once (squared distances)."""
    n = len(labels)
    terms = []
    for a in range(n):
        for b in range(a + 1, n):
            if labels[a] == labels[b] and real[a] and real[b]:
                terms.append(_d(emb[a], emb[b]))
            elif labels[a] != labels[b] and (real[a] or real[b]):
                terms.append(torch.relu(margin - _d(emb[a], emb[b])))
    return sum(terms) / len(terms)


def loop_lifted(emb: torch.Tensor, labels: list[int], real: list[bool], margin: float) -> torch.Tensor:
    """``1/(2|P|) Σ_(i,j) [log(Σ_k e^{m − D_ik} + Σ_l e^{m − D_jl}) + D_ij]_+²`` over pairs of real rows, k and l
    over every row of another label (plain distances)."""
    n = len(labels)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if labels[i] == labels[j] and real[i] and real[j]]
    total = emb.sum() * 0.0
    for i, j in pairs:
        s = sum(torch.exp(margin - _d(emb[a], emb[k]).sqrt()) for a in (i, j) for k in range(n) if labels[k] != labels[a])
        total = total + torch.relu(torch.log(s) + _d(emb[i], emb[j]).sqrt()) ** 2
    return total / (2 * len(pairs))


def masked_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """12 unit rows of 3 classes; the real rows are interleaved with the others (order must not matter)."""
    gen = torch.Generator().manual_seed(seed)
    emb = torch.nn.functional.normalize(torch.randn(12, 5, generator=gen, dtype=torch.float64), dim=1)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    real = torch.tensor([True, True, False, True, False, True, True, False, False, True, True, True])
    return emb, labels, real


LOSSES = {
    "multi_similarity": (MultiSimilarityLoss(ALPHA, BETA, BASE, EPS), lambda e, y, r: loop_ms(e, y, r)),
    "contrastive": (ContrastiveLoss(0.8, True), lambda e, y, r: loop_contrastive(e, y, r, 0.8)),
    "lifted": (LiftedLoss(1.0), lambda e, y, r: loop_lifted(e, y, r, 1.0)),
}


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_loss_matches_the_loop_value_and_gradient(name: str, seed: int) -> None:
    loss, loop = LOSSES[name]
    emb, labels, real = masked_batch(seed)
    emb = emb.requires_grad_(True)
    tuples = loss.mine(labels, emb.detach(), torch.Generator().manual_seed(0), real=real)
    got = loss.compute(emb, tuples).loss
    want = loop(emb, labels.tolist(), real.tolist())
    assert got.item() == pytest.approx(want.item(), rel=1e-9, abs=1e-12)
    (g_got,) = torch.autograd.grad(got, emb)
    (g_want,) = torch.autograd.grad(want, emb)
    assert torch.allclose(g_got, g_want, atol=1e-9)


@pytest.mark.parametrize("name", list(LOSSES))
def test_slots_anchor_and_position_only_real_rows(name: str) -> None:
    loss, _ = LOSSES[name]
    emb, labels, real = masked_batch()
    slots = loss.negative_slots(loss.mine(labels, emb, torch.Generator().manual_seed(0), real=real))
    assert len(slots) > 0
    assert bool(real[slots.anchor].all()) and bool(real[slots.positive].all())
    assert bool((~real[slots.negative]).any())  # the other rows do enter, as negatives
    assert bool((labels[slots.anchor] != labels[slots.negative]).all())


@pytest.mark.parametrize("name", list(LOSSES))
def test_an_all_true_mask_is_the_unmasked_loss(name: str) -> None:
    loss, loop = LOSSES[name]
    emb, labels, _ = masked_batch()
    everything = torch.ones(12, dtype=torch.bool)
    plain = loss.compute(emb, loss.mine(labels, emb, torch.Generator().manual_seed(0))).loss
    masked = loss.compute(emb, loss.mine(labels, emb, torch.Generator().manual_seed(0), real=everything)).loss
    assert torch.equal(plain, masked)
    assert plain.item() == pytest.approx(loop(emb, labels.tolist(), [True] * 12).item(), rel=1e-9)


def test_ms_skipped_real_anchors_still_count_and_the_others_do_not() -> None:
    """Divisor = number of real rows: an extra non-real row (a far negative) leaves the divisor alone."""
    emb, labels, real = masked_batch()
    loss = MultiSimilarityLoss(ALPHA, BETA, BASE, EPS)
    pairs = loss.mine(labels, emb, real=real)
    assert pairs.divisor == int(real.sum()) and pairs.batch_size == 12
    terms = loss.compute(emb, pairs).terms
    assert terms["kept_anchors"].item() == pytest.approx(pairs.num_anchors / int(real.sum()))
    assert math.isfinite(terms["multi_similarity"].item())
