"""Multi-Similarity: the official formula as a per-anchor loop (value and gradient), the miner's properties,
the slot path, low precision, and pytorch-metric-learning as an outside oracle."""

from __future__ import annotations

import math

import pytest
import torch

from daml_cli.config.schema import LossConfig
from daml_cli.errors import ConfigError
from daml_cli.losses.multi_similarity import MultiSimilarityLoss, multi_similarity_loss
from daml_cli.losses.registry import build_loss

ALPHA, BETA, BASE, EPS = 2.0, 50.0, 0.5, 0.1


def _cos(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u @ v) / (u.norm() * v.norm())


def _loop_sets(emb: torch.Tensor, labels: list[int], i: int, eps: float) -> tuple[list[int], list[int]]:
    """(P̃_i, Ñ_i) of anchor i, transcribed from the official code; two empty lists when i is skipped."""
    s = [float(_cos(emb[i], emb[j])) for j in range(len(labels))]
    pos = [j for j in range(len(labels)) if labels[j] == labels[i] and s[j] < 1 - 1e-5]
    neg = [k for k in range(len(labels)) if labels[k] != labels[i]]
    if not pos or not neg:
        return [], []
    kept_neg = [k for k in neg if s[k] + eps > min(s[j] for j in pos)]
    kept_pos = [j for j in pos if s[j] - eps < max(s[k] for k in neg)]
    return (kept_pos, kept_neg) if kept_pos and kept_neg else ([], [])


def _loop_ms(emb: torch.Tensor, labels: list[int], eps: float = EPS, replace: dict | None = None,
             alpha: float = ALPHA, beta: float = BETA) -> torch.Tensor:
    """L = (1/B) Σ_i [(1/α) log(1 + Σ_P̃ e^{−α(S−λ)}) + (1/β) log(1 + Σ_Ñ e^{β(S−λ)})], one anchor at a time;
    `replace[(i, k)]` is a vector that stands in for x_k in S_ik (a synthetic negative)."""
    replace = replace or {}
    total = emb.sum() * 0.0
    for i in range(len(labels)):
        kept_pos, kept_neg = _loop_sets(emb.detach(), labels, i, eps)
        if not kept_pos:
            continue
        pos = sum(torch.exp(-alpha * (_cos(emb[i], emb[j]) - BASE)) for j in kept_pos)
        neg = sum(torch.exp(beta * (_cos(emb[i], replace.get((i, k), emb[k])) - BASE)) for k in kept_neg)
        total = total + torch.log(1 + pos) / alpha + torch.log(1 + neg) / beta
    return total / len(labels)


def _kept_anchors(emb: torch.Tensor, labels: list[int], eps: float = EPS) -> int:
    return sum(1 for i in range(len(labels)) if _loop_sets(emb, labels, i, eps)[0])


def _mined_sets(pairs) -> tuple[set, set]:
    return set(zip(pairs.pos_anchor.tolist(), pairs.positive.tolist())), set(zip(pairs.neg_anchor.tolist(), pairs.negative.tolist()))


def _with_easy_class(make_batch, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three mixed classes plus a tight fourth one whose anchors mine no negative (skipped, still in B)."""
    labels, emb = make_batch(3, 4, dim=8, seed=seed)
    tight = torch.zeros(3, 8, dtype=torch.float64)
    tight[:, 0] = 10.0
    tight[:, 1] = torch.tensor([0.0, 0.3, -0.3], dtype=torch.float64)  # cos ≈ 0.9996 < 1 − 1e-5: real positives
    return torch.cat([labels, torch.full((3,), 99)]), torch.cat([emb, tight])


def test_value_and_gradient_match_the_loop(make_batch) -> None:
    labels, emb = make_batch(4, 4, dim=8, seed=3)
    emb = emb.clone().requires_grad_(True)
    out = MultiSimilarityLoss().compute(emb, MultiSimilarityLoss().mine(labels, emb))
    expected = _loop_ms(emb, labels.tolist())
    assert expected.item() > 0 and math.isclose(out.loss.item(), expected.item(), rel_tol=1e-10)
    (grad,) = torch.autograd.grad(out.loss, emb)
    (expected_grad,) = torch.autograd.grad(expected, emb)
    assert torch.allclose(grad, expected_grad, rtol=1e-8, atol=1e-12)


def test_skipped_anchors_count_in_the_divisor(make_batch) -> None:
    labels, emb = _with_easy_class(make_batch)
    emb = emb.clone().requires_grad_(True)
    kept = _kept_anchors(emb.detach(), labels.tolist())
    assert 0 < kept <= labels.shape[0] - 3  # the tight class is skipped
    loss = MultiSimilarityLoss()
    pairs = loss.mine(labels, emb)
    assert len(pairs) == kept
    out = loss.compute(emb, pairs)
    expected = _loop_ms(emb, labels.tolist())
    assert math.isclose(out.loss.item(), expected.item(), rel_tol=1e-10)
    assert math.isclose(out.terms["kept_anchors"].item(), kept / labels.shape[0])
    (grad,) = torch.autograd.grad(out.loss, emb)
    (expected_grad,) = torch.autograd.grad(expected, emb)
    assert torch.allclose(grad, expected_grad, rtol=1e-8, atol=1e-12)


def test_mined_pairs_are_the_loops_sets_and_obey_the_margin(make_batch) -> None:
    labels, emb = _with_easy_class(make_batch, seed=5)
    pairs = MultiSimilarityLoss().mine(labels, emb)
    positives, negatives = _mined_sets(pairs)
    lab = labels.tolist()
    expected_pos = {(i, j) for i in range(len(lab)) for j in _loop_sets(emb, lab, i, EPS)[0]}
    expected_neg = {(i, k) for i in range(len(lab)) for k in _loop_sets(emb, lab, i, EPS)[1]}
    assert positives == expected_pos and negatives == expected_neg and negatives
    assert {i for i, _ in positives} == {i for i, _ in negatives}  # P̃_i and Ñ_i are empty together
    for i, k in negatives:  # every kept negative is within ε of the anchor's least similar positive
        min_pos = min(float(_cos(emb[i], emb[j])) for j in range(len(lab)) if j != i and lab[j] == lab[i])
        assert float(_cos(emb[i], emb[k])) + EPS > min_pos and lab[k] != lab[i]
    for i, j in positives:
        max_neg = max(float(_cos(emb[i], emb[k])) for k in range(len(lab)) if lab[k] != lab[i])
        assert float(_cos(emb[i], emb[j])) - EPS < max_neg and lab[j] == lab[i] and j != i


def test_raising_epsilon_never_removes_a_pair(make_batch) -> None:
    labels, emb = make_batch(4, 4, dim=8, seed=7)
    previous: tuple[set, set] = (set(), set())
    for eps in (-0.5, -0.1, 0.0, 0.05, 0.1, 0.3, 1.0, 3.0):
        current = _mined_sets(MultiSimilarityLoss(epsilon=eps).mine(labels, emb))
        assert previous[0] <= current[0] and previous[1] <= current[1]
        previous = current
    assert len(previous[0]) == sum(1 for a in labels for b in labels if a == b) - labels.shape[0]  # ε = 3: all pairs


def test_a_very_negative_epsilon_keeps_nothing(make_batch) -> None:
    labels, emb = make_batch(4, 4, dim=8, seed=7)
    emb = emb.clone().requires_grad_(True)
    loss = MultiSimilarityLoss(epsilon=-2.5)
    pairs = loss.mine(labels, emb)
    assert len(pairs) == 0 and pairs.positive.numel() == 0 and pairs.negative.numel() == 0
    out = loss.compute(emb, pairs)
    assert out.loss.item() == 0.0 and out.loss.grad_fn is not None


def test_self_and_exact_duplicates_are_not_positives() -> None:
    gen = torch.Generator().manual_seed(2)
    emb = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    emb[3] = emb[0] * 2.0  # an exact duplicate (same direction) of item 0, same label
    labels = torch.tensor([1, 2, 1, 1, 2, 3])
    pairs = MultiSimilarityLoss(epsilon=5.0).mine(labels, emb)  # ε = 5 keeps every valid pair
    positives, _ = _mined_sets(pairs)
    assert (0, 3) not in positives and (3, 0) not in positives
    assert all(i != j for i, j in positives) and {(0, 2), (2, 0), (2, 3), (3, 2)} <= positives
    out = MultiSimilarityLoss(epsilon=5.0).compute(emb, pairs)
    assert math.isclose(out.loss.item(), _loop_ms(emb, labels.tolist(), eps=5.0).item(), rel_tol=1e-10)


def test_slots_pair_each_kept_negative_with_the_hardest_kept_positive(make_batch) -> None:
    labels, emb = _with_easy_class(make_batch, seed=1)
    loss = MultiSimilarityLoss()
    pairs = loss.mine(labels, emb)
    slots = loss.negative_slots(pairs)
    lab = labels.tolist()
    expected = []
    for i in range(len(lab)):
        kept_pos, kept_neg = _loop_sets(emb, lab, i, EPS)
        if kept_pos:
            hardest = min(kept_pos, key=lambda j: float(_cos(emb[i], emb[j])))
            expected += [(i, hardest, k) for k in kept_neg]
    got = list(zip(slots.anchor.tolist(), slots.positive.tolist(), slots.negative.tolist()))
    assert sorted(got) == sorted(expected) and len(got) == len(expected) > 0


def test_given_negatives_replace_only_their_own_pair(make_batch) -> None:
    labels, emb = make_batch(4, 4, dim=8, seed=3)
    loss = MultiSimilarityLoss()
    pairs = loss.mine(labels, emb)
    slots = loss.negative_slots(pairs)
    plain = loss.compute(emb, pairs)
    real = loss.compute(emb, pairs, emb[slots.negative])
    assert torch.allclose(plain.loss, real.loss, rtol=1e-12) and torch.allclose(plain.terms["ms_negative"], real.terms["ms_negative"])
    changed = emb[slots.negative].clone()
    s = len(slots) // 2
    changed[s] = emb[slots.anchor[s]] + 0.1 * torch.randn(8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = loss.compute(emb, pairs, changed)
    key = (int(slots.anchor[s]), int(slots.negative[s]))
    expected = _loop_ms(emb, labels.tolist(), replace={key: changed[s]})
    assert math.isclose(out.loss.item(), expected.item(), rel_tol=1e-10) and out.loss.item() > plain.loss.item()
    assert torch.equal(out.terms["ms_positive"], plain.terms["ms_positive"])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs_with_a_negative_at_cos_one_stay_finite(dtype: torch.dtype) -> None:
    emb = torch.tensor([[1.0, 0.0, 0.0], [0.9, 0.4, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.3]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])  # item 2 is a negative of item 0 at cos = 1
    reference = _loop_ms(emb, labels.tolist(), beta=80.0)  # β(1 − λ) = 40: e^40 overflows fp16 (and bf16's sum)
    low = emb.to(dtype).requires_grad_(True)
    loss = MultiSimilarityLoss(beta=80.0)
    out = loss.compute(low, loss.mine(labels, low))
    out.loss.backward()
    assert torch.isfinite(out.loss) and torch.isfinite(low.grad).all()
    assert math.isclose(out.loss.item(), reference.item(), rel_tol=2e-2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        autocast = multi_similarity_loss(emb.float(), labels, beta=80.0)
    assert math.isclose(autocast.item(), reference.item(), rel_tol=1e-5)  # similarities run in float32


def test_settings_come_from_the_config_and_bad_ones_name_their_key() -> None:
    built = build_loss(LossConfig(name="multi_similarity", ms_alpha=3.0, ms_beta=40.0, ms_base=0.4, ms_epsilon=0.2))
    assert isinstance(built, MultiSimilarityLoss)
    assert (built.alpha, built.beta, built.base, built.epsilon) == (3.0, 40.0, 0.4, 0.2)
    for key, value in (("ms_alpha", 0.0), ("ms_beta", -1.0), ("ms_base", math.nan), ("ms_epsilon", math.inf)):
        with pytest.raises(ConfigError, match=f"loss.{key}"):
            build_loss(LossConfig(name="multi_similarity", **{key: value}))


def test_matches_pytorch_metric_learning(make_batch) -> None:
    """PML's MultiSimilarityLoss with its MultiSimilarityMiner, on a batch where PML's two known differences
    from the official form cannot show: PML keeps exact duplicates as positives (the batch has none), and it
    keeps an anchor's positive term when its mined negatives are empty (with P_i and N_i non-empty, as here,
    ``min_P S − ε < max_N S ⟺ max_N S + ε > min_P S``, so P̃_i and Ñ_i are empty together)."""
    pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
    pml_miners = pytest.importorskip("pytorch_metric_learning.miners")
    labels, emb = make_batch(5, 4, dim=16, seed=9)
    labels = (labels - 5) // 3  # 0..4
    emb = emb.clone().requires_grad_(True)
    ours = MultiSimilarityLoss(ALPHA, BETA, BASE, EPS)
    out = ours(emb, labels)
    mined = pml_miners.MultiSimilarityMiner(epsilon=EPS)(emb, labels)
    theirs = pml_losses.MultiSimilarityLoss(alpha=ALPHA, beta=BETA, base=BASE)(emb, labels, mined)
    assert 0 < len(out.terms) and out.num_tuples > 0
    assert math.isclose(out.loss.item(), theirs.item(), rel_tol=1e-9)
    (grad,) = torch.autograd.grad(out.loss, emb)
    (their_grad,) = torch.autograd.grad(theirs, emb)
    assert torch.allclose(grad, their_grad, rtol=1e-7, atol=1e-12)
