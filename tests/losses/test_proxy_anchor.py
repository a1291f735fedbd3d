"""Proxy-Anchor: the official formula as a per-proxy loop (value, gradients for embeddings and proxies), its
invariances, the label → proxy-row table and its state, low precision, and pytorch-metric-learning."""

from __future__ import annotations

import math

import pytest
import torch

from daml_cli.config.schema import LossConfig
from daml_cli.errors import CheckpointError, ConfigError, DataError
from daml_cli.losses.proxy_anchor import ProxyAnchorLoss, proxy_anchor_loss
from daml_cli.losses.registry import build_loss

ALPHA, DELTA = 32.0, 0.1


def _cos(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u @ v) / (u.norm() * v.norm())


def _loop_terms(emb: torch.Tensor, rows: list[int], proxies: torch.Tensor, alpha: float = ALPHA, delta: float = DELTA):
    """(1/|P⁺|) Σ_{p∈P⁺} log(1 + Σ_{x∈X_p⁺} e^{−α(s−δ)}) and (1/C) Σ_{p=1..C} log(1 + Σ_{x∈X_p⁻} e^{α(s+δ)}), per proxy."""
    pos_total, neg_total, present = emb.sum() * 0.0, emb.sum() * 0.0, 0
    for c in range(proxies.shape[0]):
        members = [b for b in range(len(rows)) if rows[b] == c]
        others = [b for b in range(len(rows)) if rows[b] != c]
        if members:
            present += 1
            pos_total = pos_total + torch.log(1 + sum(torch.exp(-alpha * (_cos(emb[b], proxies[c]) - delta)) for b in members))
        neg_total = neg_total + torch.log(1 + sum(torch.exp(alpha * (_cos(emb[b], proxies[c]) + delta)) for b in others))
    return pos_total / present, neg_total / proxies.shape[0]


def _setup(seed: int = 0, classes: int = 6, batch: int = 12, dim: int = 8, absent: tuple[int, ...] = (1, 4)):
    """Embeddings, proxy rows (classes in `absent` missing from the batch) and float64 proxies, all leaves."""
    gen = torch.Generator().manual_seed(seed)
    present = [c for c in range(classes) if c not in absent]
    rows = torch.tensor([present[b % len(present)] for b in range(batch)])[torch.randperm(batch, generator=gen)]
    emb = (torch.randn(batch, dim, generator=gen, dtype=torch.float64) * 0.5).requires_grad_(True)
    proxies = torch.randn(classes, dim, generator=gen, dtype=torch.float64).requires_grad_(True)
    return emb, rows, proxies


def test_value_and_gradients_match_the_loop_with_absent_classes() -> None:
    emb, rows, proxies = _setup()
    loss = proxy_anchor_loss(emb, rows, proxies, ALPHA, DELTA)
    pos, neg = _loop_terms(emb, rows.tolist(), proxies)
    expected = pos + neg
    assert math.isclose(loss.item(), expected.item(), rel_tol=1e-10)
    grads = torch.autograd.grad(loss, (emb, proxies))
    expected_grads = torch.autograd.grad(expected, (emb, proxies))
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got, want, rtol=1e-8, atol=1e-12)


def test_absent_class_proxies_get_gradient_only_from_the_negative_term() -> None:
    emb, rows, proxies = _setup(seed=3)
    (grad,) = torch.autograd.grad(proxy_anchor_loss(emb, rows, proxies), proxies)
    pos, neg = _loop_terms(emb, rows.tolist(), proxies)
    (pos_grad,) = torch.autograd.grad(pos, proxies, retain_graph=True)
    (neg_grad,) = torch.autograd.grad(neg, proxies)
    for c in (1, 4):
        assert torch.equal(pos_grad[c], torch.zeros_like(pos_grad[c])) and neg_grad[c].abs().max() > 0
        assert torch.allclose(grad[c], neg_grad[c], rtol=1e-8, atol=1e-14)


def test_scaling_proxies_and_embeddings_leaves_the_loss_unchanged() -> None:
    emb, rows, proxies = _setup(seed=5)
    base = proxy_anchor_loss(emb, rows, proxies)
    gen = torch.Generator().manual_seed(1)
    emb_scale = torch.rand(emb.shape[0], 1, generator=gen, dtype=torch.float64) * 10 + 0.1
    proxy_scale = torch.rand(proxies.shape[0], 1, generator=gen, dtype=torch.float64) * 10 + 0.1
    scaled = proxy_anchor_loss(emb * emb_scale, rows, proxies * proxy_scale)
    assert math.isclose(scaled.item(), base.item(), rel_tol=1e-12)


def test_permuting_classes_with_their_proxy_rows_leaves_the_loss_unchanged() -> None:
    emb, rows, proxies = _setup(seed=6)
    perm = torch.randperm(proxies.shape[0], generator=torch.Generator().manual_seed(2))  # new row r holds old perm[r]
    inverse = torch.argsort(perm)
    permuted = proxy_anchor_loss(emb, inverse[rows], proxies[perm])
    assert math.isclose(permuted.item(), proxy_anchor_loss(emb, rows, proxies).item(), rel_tol=1e-12)


def test_labels_map_to_rows_of_the_sorted_label_table() -> None:
    loss = ProxyAnchorLoss([14, 5, 11, 8, 5], embedding_dim=4)  # any order, repeats collapse
    assert loss.num_classes == 4 and loss.module.class_labels.tolist() == [5, 8, 11, 14]
    assert loss.mine(torch.tensor([11, 5, 14, 8, 11])).tolist() == [2, 0, 3, 1, 2]
    for unknown in (6, 2, 20):
        with pytest.raises(DataError, match=f"label {unknown} has no proxy"):
            loss.mine(torch.tensor([5, unknown]))
    emb = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([11, 5, 14, 8, 11])
    proxies = loss.module.proxies.detach().double()
    out = loss.compute(emb, loss.mine(labels))
    pos, neg = _loop_terms(emb, [2, 0, 3, 1, 2], proxies)
    assert math.isclose(out.loss.item(), (pos + neg).item(), rel_tol=1e-6)
    assert math.isclose(out.terms["pa_positive"].item(), pos.item(), rel_tol=1e-6)


def test_proxies_are_kaiming_fan_out_parameters_with_their_own_state() -> None:
    torch.manual_seed(0)
    loss = ProxyAnchorLoss(400, embedding_dim=256)
    (param,) = list(loss.parameters())
    assert param is loss.module.proxies and param.shape == (400, 256) and param.requires_grad
    assert abs(param.detach().std().item() / math.sqrt(2 / 400) - 1) < 0.02 and abs(param.detach().mean().item()) < 1e-3
    state = loss.state_dict()
    assert set(state) == {"proxies", "class_labels"}
    other = ProxyAnchorLoss(400, embedding_dim=256)
    other.load_state_dict({k: v.clone() for k, v in state.items()})
    assert torch.equal(other.module.proxies, loss.module.proxies)
    with pytest.raises(CheckpointError):
        ProxyAnchorLoss(list(range(1, 401)), embedding_dim=256).load_state_dict(state)
    optimiser = torch.optim.SGD(loss.parameters(), lr=1.0)
    before = param.detach().clone()
    emb = torch.randn(8, 256)
    loss(emb, torch.arange(8)).loss.backward()
    optimiser.step()
    assert not torch.equal(param.detach(), before)


def test_no_negative_slots_and_no_synthetic_negatives() -> None:
    loss = ProxyAnchorLoss(3, embedding_dim=4)
    rows = loss.mine(torch.tensor([0, 1, 2]))
    with pytest.raises(ConfigError, match="proxy_anchor has no negative slots; it takes no synthesis"):
        loss.negative_slots(rows)
    with pytest.raises(ConfigError):
        loss.compute(torch.randn(3, 4), rows, torch.randn(3, 4))


def test_empty_batch_gives_a_connected_zero() -> None:
    loss = ProxyAnchorLoss(3, embedding_dim=4)
    emb = torch.zeros(0, 4, requires_grad=True)
    out = loss.compute(emb, loss.mine(torch.zeros(0, dtype=torch.long)))
    assert out.loss.item() == 0.0 and out.loss.grad_fn is not None


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_with_cos_one_stays_finite(dtype: torch.dtype) -> None:
    proxies = torch.eye(3, 4, dtype=torch.float64)
    emb = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    rows = torch.tensor([0, 1, 2])  # item 2 sits on proxy 0, not its own: e^{α(1+δ)} = e^35.2 overflows fp16
    pos, neg = _loop_terms(emb, rows.tolist(), proxies)
    low_emb, low_proxies = emb.to(dtype).requires_grad_(True), proxies.to(dtype).requires_grad_(True)
    loss = proxy_anchor_loss(low_emb, rows, low_proxies)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(low_emb.grad).all() and torch.isfinite(low_proxies.grad).all()
    assert math.isclose(loss.item(), (pos + neg).item(), rel_tol=1e-3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        autocast = proxy_anchor_loss(emb.float(), rows, proxies.float())
    assert math.isclose(autocast.item(), (pos + neg).item(), rel_tol=1e-5)  # cosines run in float32


def test_settings_come_from_the_config_and_bad_ones_name_their_key() -> None:
    cfg = LossConfig(name="proxy_anchor", pa_alpha=16.0, pa_delta=0.2, proxy_lr_multiplier=50.0, proxy_warmup_steps=7)
    built = build_loss(cfg, class_labels=[3, 9], embedding_dim=5)
    assert isinstance(built, ProxyAnchorLoss) and built.module.proxies.shape == (2, 5)
    assert (built.alpha, built.delta, built.lr_multiplier, built.warmup_steps) == (16.0, 0.2, 50.0, 7)
    with pytest.raises(ConfigError, match="class_labels"):
        build_loss(LossConfig(name="proxy_anchor"))
    for key, value in (("pa_alpha", 0.0), ("pa_delta", -0.1), ("proxy_lr_multiplier", -1.0), ("proxy_warmup_steps", -1)):
        with pytest.raises(ConfigError, match=f"loss.{key}"):
            build_loss(LossConfig(name="proxy_anchor", **{key: value}), class_labels=[0, 1], embedding_dim=4)
    with pytest.raises(ConfigError):
        ProxyAnchorLoss([], embedding_dim=4)


def test_matches_pytorch_metric_learning() -> None:
    pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
    emb, rows, proxies = _setup(seed=8, classes=7, batch=15, dim=16, absent=(0, 5))
    theirs_loss = pml_losses.ProxyAnchorLoss(num_classes=7, embedding_size=16, margin=DELTA, alpha=ALPHA)
    theirs_loss.proxies.data = proxies.detach().clone()
    ours = proxy_anchor_loss(emb, rows, proxies, ALPHA, DELTA)
    theirs = theirs_loss(emb, rows)
    assert math.isclose(ours.item(), theirs.item(), rel_tol=1e-9)
    grads = torch.autograd.grad(ours, (emb, proxies))
    their_grads = torch.autograd.grad(theirs, (emb, theirs_loss.proxies))
    for got, want in zip(grads, their_grads):
        assert torch.allclose(got, want, rtol=1e-7, atol=1e-12)
