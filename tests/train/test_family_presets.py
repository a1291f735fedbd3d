"""The family presets: Proxy-Anchor and Multi-Similarity twins of the triplet baselines that differ only in the
loss (and, for the paper protocol, in the authors' recipe keys listed here), and DAML twins of MS that differ
from it only in the DAML settings."""

from __future__ import annotations

import pytest

from daml_cli.compare.runs import flatten
from daml_cli.config.loading import load_config
from daml_cli.config.validate import to_dict

RECIPE_KEYS = {"sampler.classes_per_batch", "sampler.images_per_class", "sampler.kind", "loss.triplets", "loss.margin",
               "optim.lr_trunk", "optim.lr_embedder", "optim.weight_decay", "model.freeze_bn", "model.layout", "daml.layout",
               "daml.joint_fresh_optimizer", "daml.pretrain_validate_on", "daml.pretrain_on", "daml.generator", "daml.input_order",
               "daml.half_hinge", "daml.lambda_adv", "daml.detach_real", "daml.joint_trunk_lr_scale"}


def _differing(a: str, b: str) -> set[str]:
    x, y = (flatten(to_dict(load_config(name))) for name in (a, b))
    return {key for key in x if x[key] != y[key]}


@pytest.mark.parametrize("twin", ["omniglot", "digits"])
def test_small_twins_differ_from_the_triplet_baseline_only_in_the_loss(twin: str) -> None:
    differing = _differing(f"{twin}-triplet", f"{twin}-proxy-anchor")
    assert differing and all(key.startswith("loss.") for key in differing), differing
    config = load_config(f"{twin}-proxy-anchor")
    assert (config.loss.pa_alpha, config.loss.pa_delta, config.loss.proxy_lr_multiplier) == (32.0, 0.1, 100.0)
    assert config.synthesis == "none" and config.loss.proxy_warmup_steps == 0


@pytest.mark.parametrize("dataset", ["cub", "cars", "sop"])
def test_paper_twins_follow_the_authors_recipe(dataset: str) -> None:
    differing = _differing(f"{dataset}-triplet-baseline", f"{dataset}-proxy-anchor")
    assert all(key.startswith("loss.") or key in RECIPE_KEYS for key in differing), differing - RECIPE_KEYS
    config = load_config(f"{dataset}-proxy-anchor")
    assert config.loss.name == "proxy_anchor" and config.loss.proxy_lr_multiplier == 100.0
    assert config.sampler.classes_per_batch * config.sampler.images_per_class == 180
    assert config.optim.lr_embedder == (6e-4 if dataset == "sop" else 1e-4) and config.optim.weight_decay == 1e-4
    assert config.model.freeze_bn == (dataset != "sop") and config.loss.proxy_warmup_steps > 0


@pytest.mark.parametrize("twin", ["omniglot", "digits"])
def test_multi_similarity_twins_differ_only_in_the_loss_then_only_in_daml(twin: str) -> None:
    assert all(key.startswith("loss.") for key in _differing(f"{twin}-triplet", f"{twin}-ms"))
    config = load_config(f"{twin}-ms")
    assert (config.loss.ms_alpha, config.loss.ms_beta, config.loss.ms_base, config.loss.ms_epsilon) == (2.0, 50.0, 0.5, 0.1)
    tuned = _differing(f"{twin}-ms", f"{twin}-ms-daml")
    assert tuned and all(key.startswith("daml.") or key in ("synthesis", "optim.lr_generator") for key in tuned), tuned
    assert load_config(f"{twin}-ms-daml").daml.negatives == "loss"
    # the DAML settings are those of the triplet twin but for the negatives MS mines itself
    daml_keys = _differing(f"{twin}-triplet-daml", f"{twin}-ms-daml")
    assert daml_keys == {key for key in daml_keys if key.startswith("loss.")} | {"daml.negatives"}, daml_keys


def test_the_official_multi_similarity_daml_twin_differs_only_in_daml_and_its_layout() -> None:
    official = _differing("omniglot-ms", "omniglot-ms-daml-official")
    layout = {"synthesis", "optim.lr_generator", "optim.weight_decay", "model.layout"}
    assert all(key.startswith("daml.") or key in layout for key in official), official
    assert load_config("omniglot-ms-daml-official").daml.layout == "official"


@pytest.mark.parametrize("twin", ["omniglot", "digits"])
def test_multi_similarity_hdml_twin_differs_only_in_hdml(twin: str) -> None:
    differing = _differing(f"{twin}-ms", f"{twin}-ms-hdml")
    assert differing and all(key.startswith("hdml.") or key in ("synthesis", "optim.lr_generator") for key in differing)
    assert load_config(f"{twin}-ms-hdml").hdml == load_config(f"{twin}-triplet-hdml").hdml
