"""DAML presets: on by default for the paper setups with the spec's weights, and baseline twins that differ
only in the DAML settings."""

from __future__ import annotations

import dataclasses

import pytest

from daml_cli.config.loading import load_config
from daml_cli.config.schema import DamlConfig, OptimConfig, RunConfig

PAPER = [f"{dataset}-{loss}" for dataset in ("cub", "cars", "sop") for loss in ("triplet", "npair", "lifted")]
OMNIGLOT = ["omniglot-triplet", "omniglot-npair"]


def _without_daml(config: RunConfig) -> RunConfig:
    """`config` with every DAML-only setting back at its default and DAML off."""
    optim = dataclasses.replace(config.optim, lr_generator=OptimConfig().lr_generator)
    return dataclasses.replace(config, daml=DamlConfig(enabled=False), optim=optim)


@pytest.mark.parametrize("name", PAPER)
def test_paper_presets_run_daml_with_the_spec_weights(name: str) -> None:
    config = load_config(name)
    daml = config.daml
    assert daml.enabled and daml.update == "joint" and daml.gen_warmup_iters == 0
    assert (daml.lambda_reg, daml.lambda_adv, daml.lambda_metric, daml.adv_margin) == (1.0, 50.0, 1.0, 1.0)
    assert daml.pretrain_iters == config.train.iterations // 5  # the authors' 20 of 100 epochs
    assert daml.generator == "mlp3" and config.model.layout == "standard" and config.model.backbone == "googlenet"
    assert daml.detach_real and not daml.keep_real_loss and daml.negatives == "loss"
    assert config.optim.lr_generator == pytest.approx(config.optim.lr_embedder / 10)
    if config.loss.name == "triplet":
        assert config.loss.margin == daml.adv_margin  # J_adv and J_m share one boundary


@pytest.mark.parametrize("name", PAPER)
def test_baseline_twin_differs_only_in_daml(name: str) -> None:
    daml = load_config(name)
    twin = load_config(f"{name}-baseline")
    assert not twin.daml.enabled
    assert twin == _without_daml(daml)
    assert load_config(name, ["daml.enabled=false"]).daml.enabled is False


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
