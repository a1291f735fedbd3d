"""HDML end to end on the digits fixture: it trains through the loop and logs its terms and diagnostics, the
classifier covers the training classes the trainer uses, a resumed run equals an uninterrupted one; the HDML
presets are twins of their baselines."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from daml_cli.config.loading import load_config
from daml_cli.config.schema import HdmlConfig, OptimConfig, RunConfig
from daml_cli.models.checkpoint import load_checkpoint
from daml_cli.train.loop import Trainer, train
from tests.conftest import tiny_config

HDML = ["synthesis=hdml", "hdml.average_block=2", "optim.lr_generator=0.01"]
LOGGED = ("loss", "j", "j_m", "j_syn", "j_metric", "j_gen", "j_recon", "j_soft", "ce", "j_avg", "j_gen_avg", "pull",
          "w_m", "lambda0", "syn_to_anchor", "syn_to_negative", "syn_closer", "syn_accuracy", "real_accuracy")


@pytest.mark.parametrize("loss", ["triplet", "npair"])
def test_hdml_trains_and_logs_its_terms(loss: str, digits_root: Path, tmp_path: Path) -> None:
    extra = ["sampler.images_per_class=2", "model.normalize=false"] if loss == "npair" else []
    config = tiny_config(digits_root, *HDML, f"loss.name={loss}", "train.eval_every=0", *extra)
    assert train(config, tmp_path / "run").steps == 6
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train_records = [r for r in records if r["phase"] == "train"]
    for record in train_records:
        assert all(key in record and record[key] == record[key] for key in LOGGED)
        assert record["j"] == pytest.approx(record["j_metric"] + record["j_gen"] + record["ce"], rel=1e-5)
    assert train_records[0]["j_avg"] == 1e6 and train_records[-1]["j_avg"] < 1e6  # blocks of 2 steps refreshed it
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt").objective
    expected = sorted(set(Trainer(config, tmp_path / "other").dataset.labels.tolist()))
    assert state["classifier"]["class_labels"].tolist() == expected  # the training split, validation classes out


def test_resume_equals_an_uninterrupted_hdml_run(digits_root: Path, tmp_path: Path) -> None:
    """Split at step 3, mid-block (blocks of 2): the block means, networks and optimisers carry over."""
    common = (*HDML, "train.eval_every=3", "data.augment=true")
    train(tiny_config(digits_root, *common, "train.iterations=3"), tmp_path / "split")
    train(tiny_config(digits_root, *common), tmp_path / "split", resume=True)
    train(tiny_config(digits_root, *common), tmp_path / "whole")
    a = load_checkpoint(tmp_path / "split" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.pt")
    assert a.step == b.step == 6
    assert all(torch.equal(a.model[k], b.model[k]) for k in b.model)
    for net in ("generator", "classifier"):
        assert all(torch.equal(a.objective[net][k], b.objective[net][k]) for k in b.objective[net])
    assert a.objective["j_avg"] == b.objective["j_avg"] and a.objective["j_gen_avg"] == b.objective["j_gen_avg"]


def _without_hdml(config: RunConfig, normalize: bool) -> RunConfig:
    """`config` with every HDML setting back at its default and synthesis off."""
    optim = dataclasses.replace(config.optim, lr_generator=OptimConfig().lr_generator)
    model = dataclasses.replace(config.model, normalize=normalize)
    return dataclasses.replace(config, synthesis="none", hdml=HdmlConfig(), optim=optim, model=model)


TWINS = {
    "omniglot-triplet-hdml": "omniglot-triplet",
    "omniglot-npair-hdml": "omniglot-npair",
    "digits-triplet-hdml": "digits-triplet",
    "cub-triplet-hdml": "cub-triplet-baseline",
    "cub-npair-hdml": "cub-npair-baseline",
    "cars-npair-hdml": "cars-npair-baseline",
    "sop-npair-hdml": "sop-npair-baseline",
}


@pytest.mark.parametrize("name", TWINS)
def test_hdml_presets_are_twins_of_their_baselines(name: str) -> None:
    hdml, baseline = load_config(name), load_config(TWINS[name])
    assert hdml.synthesis == "hdml" and baseline.synthesis == "none" and not hdml.daml.enabled
    assert hdml.optim.lr_generator == pytest.approx(1e-2)  # the authors' generator rate
    assert (hdml.hdml.alpha, hdml.hdml.lambda_gen, hdml.hdml.softmax_factor, hdml.hdml.lr_classifier) == (90.0, 0.5, 1e4, 1e-3)
    assert _without_hdml(hdml, baseline.model.normalize) == baseline
    paper = not name.startswith(("omniglot", "digits"))
    if paper:  # the paper's raw embeddings; β as the authors' help text gives it per dataset
        assert not hdml.model.normalize and hdml.hdml.average_block == 64
        assert hdml.hdml.beta == (1e4 if name.startswith("cars") else 5e3)
    else:  # identical to the baseline but for the HDML keys
        assert hdml.model.normalize == baseline.model.normalize and hdml.hdml.beta == 1e4


def test_the_classifier_takes_the_classes_the_trainer_puts_in_the_context() -> None:
    import torch
    from torch import nn

    from daml_cli.config.schema import RunConfig
    from daml_cli.losses.registry import build_loss
    from daml_cli.models.embedding import EmbeddingModel
    from daml_cli.train.context import StepContext
    from daml_cli.train.methods.hdml import HdmlObjective

    model = EmbeddingModel(nn.Sequential(nn.Linear(5, 6), nn.ReLU()), nn.Identity(), nn.Linear(6, 4), 6, 4, True)
    config = RunConfig(synthesis="hdml")  # no dataset on disk: the classes can only come from the context
    objective = HdmlObjective(model, build_loss(config.loss), config, StepContext(class_labels=(9, 3, 5)))
    assert objective.state_dict()["classifier"]["class_labels"].tolist() == [3, 5, 9]
    assert objective.classifier.linear.out_features == 3 and isinstance(objective.classifier.linear.weight, torch.Tensor)
