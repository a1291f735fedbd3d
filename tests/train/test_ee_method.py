"""The Embedding Expansion objective: its loss, its gradient into the model and its diagnostics against
from-scratch oracles, for the HPHN triplet and the real-masked pair losses; the settings it refuses."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from daml_cli.config.schema import EeConfig, LossConfig, ModelConfig, RunConfig, SamplerConfig
from daml_cli.errors import ConfigError
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.methods.ee import EeObjective
from daml_cli.train.registry import build_objective
from tests.losses.test_real_mask import loop_contrastive, loop_lifted, loop_ms
from tests.train.test_ee_expansion import oracle, scratch_points


def _model(seed: int = 0) -> EmbeddingModel:
    torch.manual_seed(seed)
    return EmbeddingModel(nn.Sequential(nn.Linear(6, 12), nn.Tanh()), nn.Identity(), nn.Linear(12, 4), 12, 4, True).double()


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    labels = torch.arange(3).repeat_interleave(4)
    return torch.randn(12, 6, generator=gen, dtype=torch.float64), labels


def _config(loss: str = "triplet", **ee: object) -> RunConfig:
    return RunConfig(
        synthesis="ee",
        loss=LossConfig(name=loss, margin=0.3),  # type: ignore[arg-type]
        sampler=SamplerConfig(classes_per_batch=3, images_per_class=4),
        ee=EeConfig(**ee),  # type: ignore[arg-type]
    )


def _expanded_rows(emb: torch.Tensor, n: int) -> tuple[torch.Tensor, list[int], list[bool]]:
    """[originals; group 1; …; group n] built from scratch, labels and the real mask."""
    size = emb.shape[0]
    groups = [torch.stack([scratch_points(emb, i, n)[k] for i in range(size)]) for k in range(n)]
    labels = [i // 4 for i in range(size)]
    return torch.cat([emb, *groups]), labels * (n + 1), [True] * size + [False] * (n * size)


def _oracle_loss(loss: str, emb: torch.Tensor, n: int) -> torch.Tensor:
    if loss == "triplet":
        return sum(v for v, _ in oracle(emb, [i // 4 for i in range(emb.shape[0])], n, 0.3)) / emb.shape[0]
    rows, labels, real = _expanded_rows(emb, n)
    if loss == "multi_similarity":
        return loop_ms(rows, labels, real)
    if loss == "contrastive":
        return loop_contrastive(rows, labels, real, 0.3)
    return loop_lifted(rows, labels, real, LossConfig().lifted_margin)


@pytest.mark.parametrize("loss", ["triplet", "multi_similarity", "contrastive", "lifted"])
def test_loss_and_its_gradient_into_the_model_match_the_oracle(loss: str) -> None:
    model, (images, labels) = _model(), _batch()
    config = _config(loss)
    objective = build_objective(model, build_loss(config.loss), config)
    assert isinstance(objective, EeObjective)
    step = objective.compute(images, labels, 0, objective.table.at(0))
    params = [p for p in model.parameters()]
    got = torch.autograd.grad(step.terms["loss"], params)
    want_loss = _oracle_loss(loss, model(images), 2)
    want = torch.autograd.grad(want_loss, params)
    # the objective computes the loss in float32 (as on a real run); the oracle runs in float64
    assert step.terms["loss"].item() == pytest.approx(want_loss.item(), rel=1e-5)
    assert all(torch.allclose(g.double(), w, rtol=1e-4, atol=1e-6) for g, w in zip(got, want))
    assert step.logged["loss"].item() == step.logged["j"].item() == pytest.approx(want_loss.item(), rel=1e-5)
    assert step.logged["loss_no_ee"].item() == pytest.approx(_oracle_loss(loss, model(images), 0).item(), rel=1e-5)


def test_diagnostics_are_the_from_scratch_fractions_and_cosines() -> None:
    model, (images, labels) = _model(1), _batch()
    objective = EeObjective(model, build_loss(_config().loss), _config())
    logged = objective.compute(images, labels, 0, objective.table.at(0)).logged
    emb = model(images).detach()
    flags = [s for _, s in oracle(emb, [i // 4 for i in range(12)], 2, 0.3)]
    assert logged["syn_hardest"].item() == pytest.approx(sum(flags) / 12)
    cosines = [float(x @ emb[i]) for i in range(12) for x in scratch_points(emb, i, 2)]
    assert logged["syn_cos_source"].item() == pytest.approx(sum(cosines) / len(cosines), rel=1e-6)
    assert list(logged)[:2] == ["loss", "j"]


def test_pair_losses_count_synthetic_nearest_negatives() -> None:
    model, (images, labels) = _model(2), _batch()
    config = _config("multi_similarity")
    objective = EeObjective(model, build_loss(config.loss), config)
    logged = objective.compute(images, labels, 0, objective.table.at(0)).logged
    rows, row_labels, real = _expanded_rows(model(images).detach(), 2)
    nearest = []
    for i in range(12):
        other = [c for c in range(len(row_labels)) if row_labels[c] != row_labels[i]]
        nearest.append(not real[min(other, key=lambda c: float((rows[i] - rows[c]).norm()))])
    assert logged["syn_hardest"].item() == pytest.approx(sum(nearest) / 12)


def test_n0_equals_the_loss_without_expansion_exactly() -> None:
    model, (images, labels) = _model(), _batch()
    config = _config(n_inner_pts=0)
    objective = EeObjective(model, build_loss(config.loss), config)
    logged = objective.compute(images, labels, 0, objective.table.at(0)).logged
    assert torch.equal(logged["loss"], logged["loss_no_ee"]) and logged["syn_hardest"].item() == 0.0


def test_a_step_moves_the_model_and_only_the_metric_optimiser_exists() -> None:
    model, (images, labels) = _model(), _batch()
    objective = EeObjective(model, build_loss(_config().loss), _config())
    before = [p.detach().clone() for p in model.parameters()]
    objective.train_step(images, labels, 0)
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
    assert list(objective.optimizers) == ["metric"] and objective.networks() == []
    assert [phase.name for phase in objective.table.active()] == ["train"]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"ee": EeConfig(n_inner_pts=-1)}, "ee.n_inner_pts"),
        ({"ee": EeConfig(n_inner_pts=33)}, "ee.n_inner_pts"),
        ({"loss": LossConfig(name="npair")}, "loss.name=npair"),
        ({"loss": LossConfig(name="proxy_anchor")}, "loss.name=proxy_anchor"),
        ({"sampler": SamplerConfig(kind="triplets")}, "sampler.kind=triplets"),
        ({"sampler": SamplerConfig(images_per_class=5)}, "sampler.images_per_class"),
    ],
)
def test_settings_it_cannot_honour_are_refused_by_name(change: dict, key: str) -> None:
    config = dataclasses.replace(_config(), **change)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        EeObjective(_model(), build_loss(LossConfig()), config)


def test_unnormalised_embeddings_and_mixed_class_pairs_are_refused() -> None:
    model = _model()
    model.normalize = False
    with pytest.raises(ConfigError, match="model.normalize=true"):
        EeObjective(model, build_loss(LossConfig()), _config())
    objective = EeObjective(_model(), build_loss(LossConfig()), _config())
    images, _ = _batch()
    with pytest.raises(ConfigError, match="two labels"):
        objective.compute(images, torch.tensor([0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2]), 0, objective.table.at(0))
    assert ModelConfig().normalize  # the default model qualifies
