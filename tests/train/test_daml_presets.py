"""DAML presets: on by default for the paper setups in the authors' layout (values hard-coded here from the
spec, §3 and §5), baseline twins that differ only in the DAML settings, and `daml.layout` filling only the
keys a preset or `--set` leaves unset."""

from __future__ import annotations

import dataclasses

import pytest

from daml_cli.config.loading import load_config
from daml_cli.config.schema import DamlConfig, OptimConfig, RunConfig

PAPER = [f"{dataset}-{loss}" for dataset in ("cub", "cars", "sop") for loss in ("triplet", "npair", "lifted")]
OMNIGLOT = ["omniglot-triplet", "omniglot-npair"]


def _without_daml(config: RunConfig, layout: str = "gedml") -> RunConfig:
    """`config` with every DAML-only setting back at its default (of `layout`) and DAML off."""
    optim = dataclasses.replace(config.optim, lr_generator=OptimConfig().lr_generator)
    daml = DamlConfig(enabled=False) if layout == "gedml" else dataclasses.replace(config.daml, enabled=False, pretrain_iters=0)
    if layout != "gedml":
        daml = dataclasses.replace(daml, adv_margin=DamlConfig().adv_margin, negatives="loss", generator_hidden=0)
    return dataclasses.replace(config, synthesis="none", daml=daml, optim=optim)


@pytest.mark.parametrize("name", PAPER)
def test_paper_presets_run_the_authors_daml(name: str) -> None:
    config = load_config(name)
    daml = config.daml
    assert daml.enabled and daml.layout == "official" and daml.update == "joint" and daml.gen_warmup_iters == 0
    assert (daml.lambda_reg, daml.lambda_adv, daml.lambda_metric, daml.adv_margin) == (1.0, 1.0, 1.0, 1.0)
    assert daml.half_hinge and daml.input_order == "apn" and not daml.generator_relu
    assert config.optim.weight_decay == pytest.approx(1.09216e-3)
    assert daml.joint_trunk_lr_scale == pytest.approx(1e-3) and daml.pretrain_on == "features"
    assert daml.pretrain_iters == config.train.iterations // 5  # the authors' 20 of 100 epochs
    assert daml.generator == "official" and config.model.layout == "official" and config.model.backbone == "googlenet"
    assert config.model.embedding_dim == 512
    assert not daml.detach_real and not daml.keep_real_loss and daml.negatives == "loss"
    assert config.optim.lr_generator == pytest.approx(config.optim.lr_embedder / 10)
    if config.loss.name == "triplet":
        assert config.loss.margin == daml.adv_margin  # J_adv and J_m share one boundary
        assert config.sampler.kind == "triplets" and config.loss.triplets == "official"
        assert 3 * config.sampler.triplets_per_batch == 120  # 40 triplets, as in the authors' code


@pytest.mark.parametrize("name", PAPER)
def test_baseline_twin_differs_only_in_daml(name: str) -> None:
    daml = load_config(name)
    twin = load_config(f"{name}-baseline")
    assert not twin.daml.enabled and twin.model.layout == "official"
    assert twin == _without_daml(daml, "official")
    assert load_config(name, ["daml.enabled=false"]).daml.enabled is False


def test_layout_fills_only_unset_keys_and_every_piece_switches() -> None:
    official = load_config("cub-triplet", ["daml.half_hinge=false", "optim.weight_decay=0", "daml.input_order=nap"])
    assert not official.daml.half_hinge and official.optim.weight_decay == 0 and official.daml.input_order == "nap"
    assert official.daml.lambda_adv == 1.0 and official.model.layout == "official"  # the rest stays official
    gedml = load_config("cub-triplet", ["daml.layout=gedml"])
    assert gedml.daml.lambda_adv == 50.0 and gedml.model.layout == "standard" and gedml.daml.generator == "mlp3"
    assert not gedml.daml.half_hinge and gedml.optim.weight_decay == 0.0 and gedml.daml.joint_trunk_lr_scale == 1.0
    assert gedml.daml.detach_real and gedml.daml.input_order == "nap" and gedml.daml.pretrain_on == "embedding"


@pytest.mark.parametrize("loss", ["triplet", "npair"])
def test_omniglot_official_twins_differ_from_the_baseline_only_in_daml_and_its_layout(loss: str) -> None:
    baseline = load_config(f"omniglot-{loss}")
    official = load_config(f"omniglot-{loss}-daml-official")
    assert official.daml.enabled and official.daml.layout == "official" and official.model.layout == "official"
    assert official.model.backbone == "small_cnn" and official.daml.pretrain_iters == official.train.iterations // 5
    assert official.optim.lr_generator == pytest.approx(official.optim.lr_embedder / 10)
    same_head = dataclasses.replace(
        baseline,
        model=dataclasses.replace(baseline.model, layout="official"),
        optim=dataclasses.replace(baseline.optim, weight_decay=1.09216e-3, lr_generator=official.optim.lr_generator),
        daml=official.daml,
        synthesis="daml",
    )
    assert official == same_head


@pytest.mark.parametrize("name", OMNIGLOT)
def test_omniglot_presets_are_baselines_with_daml_twins(name: str) -> None:
    baseline = load_config(name)
    daml = load_config(f"{name}-daml")
    assert not baseline.daml.enabled and daml.daml.enabled
    assert baseline == _without_daml(daml)
    assert daml.daml.pretrain_iters < daml.train.iterations
    if daml.loss.name == "triplet":
        assert daml.loss.margin == daml.daml.adv_margin
    assert daml.sampler.classes_per_batch * daml.sampler.images_per_class == 128  # same batch for both losses
