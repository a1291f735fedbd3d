"""The pieces `daml.layout: official` switches on, each on its own: the authors' triplet batches, the
index-wise triples, the generator's input order and optional final ReLU, pre-training on features, and the
joint phase slowing the neck with the trunk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from daml_cli.config.loading import load_config
from daml_cli.config.schema import DamlConfig, LossConfig, OptimConfig, RunConfig
from daml_cli.data.sampler import TripletBatchSampler, build_sampler
from daml_cli.errors import ConfigError
from daml_cli.losses.registry import build_loss
from daml_cli.losses.triplet import official_triplets
from daml_cli.models.embedding import EmbeddingModel, L2Normalize
from daml_cli.models.generator import HardNegativeGenerator
from daml_cli.train.methods.daml import DamlObjective
from daml_cli.train.loop import train
from tests.conftest import tiny_config


def test_triplet_batches_are_anchors_positives_then_negatives_of_distinct_classes() -> None:
    labels = [c for c in range(100) for _ in range(3)]
    sampler = TripletBatchSampler(labels, 40, seed=5)
    for step in (0, 7):
        batch = sampler.batch(step)
        assert len(batch) == 120 == sampler.batch_size
        anchors, positives, negatives = batch[:40], batch[40:80], batch[80:]
        for a, p in zip(anchors, positives):
            assert labels[a] == labels[p] and a != p
        classes = [labels[a] for a in anchors] + [labels[n] for n in negatives]
        assert len(set(classes)) == 80  # 40 anchor classes + 40 negative classes, all distinct
    assert sampler.batch(3) == TripletBatchSampler(labels, 40, seed=5).batch(3)  # reproducible per step


def test_triplet_batches_need_enough_classes() -> None:
    with pytest.raises(ConfigError, match="triplets_per_batch"):
        TripletBatchSampler([c for c in range(10) for _ in range(2)], 6)


@pytest.mark.parametrize(
    "overrides",
    [["sampler.kind=triplets"], ["loss.triplets=official"], ["sampler.kind=triplets", "loss.triplets=official", "loss.name=npair"]],
)
def test_triplet_batches_and_official_triples_go_together(overrides: list[str]) -> None:
    config = load_config("digits-triplet", overrides)
    with pytest.raises(ConfigError, match="go together"):
        build_sampler([c for c in range(10) for _ in range(2)], config)


def test_official_triples_pair_by_index_and_refuse_other_batches() -> None:
    tuples = official_triplets(torch.tensor([4, 7, 4, 7, 1, 2]))
    assert tuples.anchor.tolist() == [0, 1] and tuples.positive.tolist() == [2, 3] and tuples.negative.tolist() == [4, 5]
    with pytest.raises(ConfigError, match="sampler.kind=triplets"):
        official_triplets(torch.tensor([0, 0, 1, 1, 2, 2]))  # a P×K batch


@pytest.mark.parametrize("order", ["nap", "apn"])
def test_generator_input_order_and_final_relu(order: str) -> None:
    torch.manual_seed(0)
    gen = HardNegativeGenerator(3, 5, "official", order, final_relu=False)
    n, a, p = (torch.randn(4, 3) for _ in range(3))
    first, last = gen.net[0], gen.net[2]
    inputs = torch.cat([n, a, p] if order == "nap" else [a, p, n], dim=1)
    expected = torch.relu(inputs @ first.weight.T + first.bias) @ last.weight.T + last.bias
    assert torch.allclose(gen(n, a, p), expected, atol=1e-6)
    features = torch.cat([n, a, p])
    index = torch.arange(4)
    assert torch.allclose(gen.from_batch(features, index, index + 4, index + 8), expected, atol=1e-6)
    assert (expected < 0).any()  # without the final ReLU synthetics reach negative coordinates
    torch.manual_seed(0)
    relu = HardNegativeGenerator(3, 5, "official", order, final_relu=True)
    assert torch.allclose(relu(n, a, p), torch.relu(expected), atol=1e-6)


def _official_objective(**daml: object) -> DamlObjective:
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Linear(5, 6), nn.ReLU())
    neck = nn.Sequential(nn.BatchNorm1d(6), nn.Linear(6, 4), L2Normalize())
    embedder = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    model = EmbeddingModel(trunk, neck, embedder, 4, 4, normalize=False)
    config = RunConfig(
        loss=LossConfig(name="triplet", margin=1.0, triplets="official"),
        optim=OptimConfig(lr_trunk=1e-3, lr_embedder=1e-2, lr_generator=1e-3),
        daml=DamlConfig(enabled=True, generator="official", **daml),  # type: ignore[arg-type]
    )
    return DamlObjective(model, build_loss(config.loss), config)


LABELS = torch.tensor([0, 1, 2, 0, 1, 2, 3, 4, 5])


def test_pretraining_on_features_trains_the_features_and_leaves_the_metric_alone() -> None:
    objective = _official_objective(pretrain_iters=1, pretrain_on="features")
    images = torch.randn(9, 5, generator=torch.Generator().manual_seed(2))
    metric_before = [p.detach().clone() for p in objective.model.embedder.parameters()]
    trunk_before = [p.detach().clone() for p in objective.model.trunk.parameters()]
    with torch.no_grad():
        feats = objective.model.features(images)  # train mode: batch statistics, as in the step
    expected = sum(
        max(float(((feats[i] - feats[3 + i]) ** 2).sum() - ((feats[i] - feats[6 + i]) ** 2).sum()) + 1.0, 0.0) for i in range(3)
    ) / 3
    logged = objective.train_step(images, LABELS, 0)
    assert logged["loss"].item() == pytest.approx(expected, rel=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(objective.model.embedder.parameters(), metric_before))
    assert not all(torch.equal(a, b) for a, b in zip(objective.model.trunk.parameters(), trunk_before))


def test_joint_phase_slows_trunk_and_neck_but_not_the_metric() -> None:
    objective = _official_objective(joint_trunk_lr_scale=0.001)
    objective.train_step(torch.randn(9, 5), LABELS, 0)
    rates = {group["name"]: group["lr"] for group in objective.metric_optimizer.param_groups}
    assert rates == {"trunk": pytest.approx(1e-6), "neck": pytest.approx(1e-5), "embedder": pytest.approx(1e-2)}


def test_official_layout_trains_end_to_end_on_triplet_batches(digits_root: Path, tmp_path: Path) -> None:
    overrides = ["daml.enabled=true", "daml.layout=official", "daml.pretrain_iters=2", "sampler.kind=triplets",
                 "sampler.triplets_per_batch=1", "loss.triplets=official", "train.eval_every=0", "train.log_every=1"]
    result = train(tiny_config(digits_root, *overrides), tmp_path / "run")
    assert result.steps == 6
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    stages = [r["stage"] for r in records if r["phase"] == "train"]
    assert stages == ["pretrain", "pretrain", "joint", "joint", "joint", "joint"]
    saved = load_config(str(tmp_path / "run" / "config.yaml"))
    assert saved.daml.half_hinge and saved.model.layout == "official" and saved.daml.input_order == "apn"
