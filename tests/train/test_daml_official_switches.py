"""The four pieces of the authors' DAML that had no test: the generator optimiser's weight decay, the identity
initialisation of the metric head, a fresh metric optimiser when the joint phase starts, and validation of the
raw features during pre-training. Each is a switch, on in ``daml.layout: official`` and off in ``gedml``."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from daml_cli.config.daml_layout import OFFICIAL_WEIGHT_DECAY
from daml_cli.config.loading import load_config
from daml_cli.config.schema import DamlConfig, LossConfig, ModelConfig, OptimConfig, RunConfig
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import EmbeddingModel, FeatureView, build_model
from daml_cli.train.methods.daml import DamlObjective

LABELS = torch.tensor([0, 1, 0, 2, 1, 2, 0, 1, 2])


def _objective(weight_decay: float = 0.0, **daml: object) -> DamlObjective:
    torch.manual_seed(0)
    model = EmbeddingModel(nn.Sequential(nn.Linear(5, 6), nn.ReLU()), nn.Identity(), nn.Linear(6, 4), 6, 4, True)
    config = RunConfig(
        loss=LossConfig(name="triplet", margin=0.5, triplets="all"),
        optim=OptimConfig(lr_trunk=1e-2, lr_embedder=1e-2, lr_generator=1e-2, weight_decay=weight_decay),
        daml=DamlConfig(enabled=True, **daml),  # type: ignore[arg-type]
    )
    return DamlObjective(model, build_loss(config.loss), config)


def _images(seed: int = 1) -> torch.Tensor:
    return torch.randn(9, 5, generator=torch.Generator().manual_seed(seed))


def test_official_layout_turns_the_switches_on_and_gedml_off() -> None:
    official = load_config("cub-triplet")
    gedml = load_config("cub-triplet", ["daml.layout=gedml"])
    assert official.daml.joint_fresh_optimizer and official.daml.pretrain_validate_on == "features"
    assert not gedml.daml.joint_fresh_optimizer and gedml.daml.pretrain_validate_on == "embedding"
    assert official.optim.weight_decay == OFFICIAL_WEIGHT_DECAY and gedml.optim.weight_decay == 0.0


@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
def test_generator_first_adam_step_includes_the_l2_decay(weight_decay: float) -> None:
    # One generator-only step (warm-up). Adam's first step moves each weight by lr·ĝ/(|ĝ| + 1e-8) with
    # ĝ = g + wd·θ (L2 decay added to the gradient), written out here from the Adam update rule.
    objective = _objective(weight_decay, gen_warmup_iters=1)
    before = [p.detach().clone() for p in objective.generator.parameters()]
    objective.train_step(_images(), LABELS, 0)
    for start, param in zip(before, objective.generator.parameters()):
        grad = param.grad + weight_decay * start
        expected = start - 1e-2 * grad / (grad.abs() + 1e-8)
        assert torch.allclose(param.detach(), expected, atol=1e-7)


def test_official_metric_head_starts_as_the_identity_through_a_relu() -> None:
    model = build_model(ModelConfig(backbone="small_cnn", width=8, embedding_dim=6, layout="official"))
    features = torch.randn(10, 6)
    assert torch.equal(model.embed_features(features), torch.relu(features))
    standard = build_model(ModelConfig(backbone="small_cnn", width=8, embedding_dim=6))
    assert not isinstance(standard.embedder, nn.Sequential)


@pytest.mark.parametrize("fresh", [True, False])
def test_joint_phase_starts_the_metric_optimiser_afresh_when_asked(fresh: bool) -> None:
    objective = _objective(pretrain_iters=2, joint_fresh_optimizer=fresh)
    for step in range(3):
        objective.train_step(_images(step), LABELS, step)
    steps = {int(state["step"]) for state in objective.metric_optimizer.state.values()}
    assert steps == ({1} if fresh else {3})  # Adam's count: one joint step, or two pre-training steps more


def test_validation_during_pretraining_embeds_the_raw_features_when_asked() -> None:
    objective = _objective(pretrain_iters=2, pretrain_validate_on="features")
    images = _images()
    for step, pretraining in ((0, True), (1, True), (2, False)):
        model = objective.validation_model(step)
        model.eval()
        with torch.no_grad():
            expected = objective.model.features(images) if pretraining else objective.model(images)
            assert isinstance(model, FeatureView) == pretraining
            assert torch.equal(model(images), expected)
    default = _objective(pretrain_iters=2)
    assert default.validation_model(0) is default.model


def test_validation_in_a_run_scores_features_during_pretraining(digits_root, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from daml_cli.train import loop as loop_module
    from tests.conftest import tiny_config

    widths: list[int] = []
    real = loop_module.embed_paths

    def spy(model, paths, *args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(model, paths, *args, **kwargs)
        widths.append(out.shape[1])
        return out

    config = tiny_config(digits_root, "daml.enabled=true", "daml.pretrain_iters=2", "daml.pretrain_validate_on=features",
                         "train.iterations=4", "train.eval_every=2", "model.embedding_dim=16")
    trainer = loop_module.Trainer(config, tmp_path / "run")
    feature_dim = trainer.model.feature_dim
    loop_module.embed_paths = spy
    try:
        trainer.run()
    finally:
        loop_module.embed_paths = real
    assert feature_dim != 16 and widths == [feature_dim, 16]
    assert dataclasses.replace(config.daml, pretrain_validate_on="embedding") != config.daml
