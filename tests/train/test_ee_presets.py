"""Embedding Expansion and Multi-Similarity presets: EE twins differ from their base only in ``synthesis`` and
``ee.*`` (the authors' values), MS twins from the triplet ones only in ``loss.*``, and the paper-protocol
presets carry the recipes (values hard-coded here from the spec, §2.3 and §3.2)."""

from __future__ import annotations

import dataclasses

import pytest

from daml_cli.config.loading import load_config
from daml_cli.config.schema import EeConfig, RunConfig
from daml_cli.train.methods.ee import check_ee_config

EE_TWINS = {
    "omniglot-triplet-ee": "omniglot-triplet",
    "omniglot-ms-ee": "omniglot-ms",
    "digits-triplet-ee": "digits-triplet",
    "digits-ms-ee": "digits-ms",
    "cub-ms-ee": "cub-ms",
    "cars-ms-ee": "cars-ms",
    "sop-ms-ee": "sop-ms",
}
MS_PAPER = ["cub-ms", "cars-ms", "sop-ms"]


def _ms_of(config: RunConfig) -> RunConfig:
    loss = dataclasses.replace(config.loss, name="multi_similarity", ms_alpha=2.0, ms_beta=50.0, ms_base=0.5, ms_epsilon=0.1)
    return dataclasses.replace(config, loss=loss)


@pytest.mark.parametrize("name", list(EE_TWINS))
def test_ee_twins_differ_only_in_the_method(name: str) -> None:
    ee, base = load_config(name), load_config(EE_TWINS[name])
    assert ee.synthesis == "ee" and base.synthesis == "none" and not ee.daml.enabled
    assert ee.ee == EeConfig(n_inner_pts=2, normalize=True, duplicates="keep")  # the authors' settings
    assert ee == dataclasses.replace(base, synthesis="ee", ee=ee.ee)
    check_ee_config(ee)


@pytest.mark.parametrize("name", ["omniglot", "digits"])
def test_ms_presets_are_the_triplet_presets_with_the_ms_loss(name: str) -> None:
    assert load_config(f"{name}-ms") == _ms_of(load_config(f"{name}-triplet"))


@pytest.mark.parametrize("name", MS_PAPER)
def test_paper_ms_presets_follow_the_ms_recipe(name: str) -> None:
    config = load_config(name)
    loss, optim, sampler = config.loss, config.optim, config.sampler
    assert (loss.name, loss.ms_alpha, loss.ms_beta, loss.ms_base, loss.ms_epsilon) == ("multi_similarity", 2.0, 50.0, 0.5, 0.1)
    assert optim.lr_trunk == optim.lr_embedder == pytest.approx(3e-5) and optim.weight_decay == pytest.approx(5e-4)
    assert config.train.iterations == 3000 and config.model.freeze_bn and config.model.embedding_dim == 512
    assert sampler.kind == "pk" and sampler.classes_per_batch * sampler.images_per_class == 80
    assert sampler.images_per_class % 2 == 0  # so the EE twin runs on the same batches
    assert config.data.dataset == name.split("-")[0]


def test_cub_triplet_ee_follows_the_ee_recipe_on_the_baseline_data_and_model() -> None:
    config, baseline = load_config("cub-triplet-ee"), load_config("cub-triplet-baseline")
    assert config.synthesis == "ee" and config.loss.name == "triplet" and config.loss.margin == pytest.approx(1e-5)
    assert (config.sampler.kind, config.sampler.classes_per_batch, config.sampler.images_per_class) == ("pk", 4, 32)
    assert config.optim.lr_trunk == config.optim.lr_embedder == pytest.approx(1e-4)
    assert config.optim.weight_decay == pytest.approx(5e-4)
    assert config.data == baseline.data and config.ee == EeConfig()
    assert dataclasses.replace(config.model, layout="official") == baseline.model
    check_ee_config(config)
