"""The TupleLoss contract, checked on every base loss: the slot path, gradients, empty batches."""

from __future__ import annotations

import pytest
import torch

from daml_cli.config.schema import LossConfig
from daml_cli.losses.registry import build_loss

CONFIGS = {
    "triplet-all": LossConfig(name="triplet", triplets="all", margin=0.5),
    "triplet-random": LossConfig(name="triplet", triplets="random", negatives_per_pair=2, margin=0.5),
    "triplet-semihard": LossConfig(name="triplet", triplets="semihard", margin=0.5),
    "triplet-easy": LossConfig(name="triplet", triplets="easy", margin=0.5, squared=False),
    "npair": LossConfig(name="npair"),
    "lifted": LossConfig(name="lifted", max_negatives=3),
    "contrastive": LossConfig(name="contrastive", margin=1.0),
    "multi_similarity": LossConfig(name="multi_similarity"),
}


@pytest.fixture(params=list(CONFIGS))
def loss(request):
    return build_loss(CONFIGS[request.param])


def _mined(loss, make_batch):
    labels, emb = make_batch(4, 2, seed=11, scale=0.4)
    tuples = loss.mine(labels, emb.detach(), torch.Generator().manual_seed(0))
    return emb, tuples, loss.negative_slots(tuples)


def test_explicit_real_negatives_equal_the_default_path(loss, make_batch) -> None:
    emb, tuples, slots = _mined(loss, make_batch)
    assert len(slots) > 0
    default = loss.compute(emb, tuples)
    explicit = loss.compute(emb, tuples, emb[slots.negative])
    assert torch.allclose(default.loss, explicit.loss)
    for key in default.terms:
        assert torch.allclose(default.terms[key], explicit.terms[key])


def test_float32_paths_agree_on_unit_embeddings(loss, make_batch) -> None:
    labels, emb = make_batch(6, 3, dim=32, seed=5)
    emb = torch.nn.functional.normalize(emb.float(), dim=1)
    tuples = loss.mine(labels, emb, torch.Generator().manual_seed(0))
    slots = loss.negative_slots(tuples)
    default, explicit = loss.compute(emb, tuples), loss.compute(emb, tuples, emb[slots.negative])
    assert torch.allclose(default.loss, explicit.loss, rtol=1e-5, atol=1e-6)


def test_a_harder_negative_raises_the_loss(loss, make_batch) -> None:
    emb, tuples, slots = _mined(loss, make_batch)
    real = loss.compute(emb, tuples).loss
    at_anchor = emb[slots.anchor] + 1e-3  # the hardest possible synthetic: on top of its anchor
    assert loss.compute(emb, tuples, at_anchor).loss.item() > real.item()


def test_gradients_reach_embeddings_and_negatives(loss, make_batch) -> None:
    emb, tuples, slots = _mined(loss, make_batch)
    emb = emb.clone().requires_grad_(True)
    negatives = (emb.detach()[slots.anchor] + 0.05).requires_grad_(True)  # keep every hinge active
    loss.compute(emb, tuples, negatives).loss.backward()
    for grad in (emb.grad, negatives.grad):
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_call_mines_and_computes_on_real_negatives(loss, make_batch) -> None:
    labels, emb = make_batch(4, 2, seed=11, scale=0.4)
    emb = emb.clone().requires_grad_(True)
    out = loss(emb, labels, torch.Generator().manual_seed(0))
    out.loss.backward()
    assert torch.isfinite(emb.grad).all() and out.num_tuples > 0


def test_wrong_number_of_negatives_is_rejected(loss, make_batch) -> None:
    emb, tuples, slots = _mined(loss, make_batch)
    with pytest.raises(ValueError):
        loss.compute(emb, tuples, emb[slots.negative][:-1])


@pytest.mark.parametrize("labels", [[0, 1, 2, 3], [4, 4, 4], [9], []], ids=["distinct", "one-class", "single", "no-items"])
def test_empty_tuple_set_gives_a_connected_zero(loss, labels: list[int]) -> None:
    labels_t = torch.tensor(labels, dtype=torch.long)
    emb = torch.randn(len(labels), 5, dtype=torch.float64, requires_grad=True)
    tuples = loss.mine(labels_t, emb.detach(), torch.Generator().manual_seed(0))
    slots = loss.negative_slots(tuples)
    if len(tuples) > 0:  # contrastive still has pairs in a one-class or all-distinct batch
        assert loss.name == "contrastive" and len(labels) > 1
        return
    assert len(slots) == 0
    for negatives in (None, torch.zeros(0, 5, dtype=torch.float64)):
        out = loss.compute(emb, tuples, negatives)
        assert out.loss.item() == 0.0 and out.loss.grad_fn is not None and out.num_tuples == 0
        out.loss.backward()
        assert torch.equal(emb.grad, torch.zeros_like(emb))
        emb.grad = None
