"""Proxy-Anchor in training: the proxies' own group at 100× the embedder's rate at every scheduled step, the
warm-up with the trunk frozen (and only the trunk), and the proxies saved in the checkpoint and restored on
resume."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from daml_cli.config.schema import LossConfig, OptimConfig, RunConfig
from daml_cli.losses.registry import build_loss
from daml_cli.models.checkpoint import load_checkpoint
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.loop import train
from daml_cli.train.registry import build_objective
from tests.conftest import tiny_config

LABELS = torch.tensor([3, 7, 3, 9, 7, 9, 3, 7, 9])  # raw label values, as a manifest has them


def _objective(warmup: int, scheduler: str = "none", iterations: int = 10):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    model = EmbeddingModel(nn.Sequential(nn.Linear(5, 6), nn.ReLU()), nn.Identity(), nn.Linear(6, 4), 6, 4, True)
    config = RunConfig(
        loss=LossConfig(name="proxy_anchor", proxy_lr_multiplier=100.0, proxy_warmup_steps=warmup),
        optim=OptimConfig(lr_trunk=1e-3, lr_embedder=2e-3, scheduler=scheduler, warmup_steps=2 if scheduler == "cosine" else 0),
    )
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, iterations=iterations))
    loss = build_loss(config.loss, class_labels=[3, 7, 9, 11], embedding_dim=4)
    return build_objective(model, loss, config), model, loss


def _images(step: int) -> torch.Tensor:
    return torch.randn(9, 5, generator=torch.Generator().manual_seed(step))


def _copy(params) -> list[torch.Tensor]:  # type: ignore[no-untyped-def]
    return [p.detach().clone() for p in params]


def test_warm_up_freezes_the_trunk_alone_then_releases_it() -> None:
    objective, model, loss = _objective(warmup=2)
    for step in range(3):
        trunk, embedder, proxies = _copy(model.trunk.parameters()), _copy(model.embedder.parameters()), _copy(loss.parameters())
        objective.train_step(_images(step), LABELS, step)
        trunk_moved = not all(torch.equal(a, b) for a, b in zip(trunk, model.trunk.parameters()))
        assert trunk_moved == (step >= 2), step  # bit-identical during the two warm-up steps
        assert not all(torch.equal(a, b) for a, b in zip(embedder, model.embedder.parameters()))
        assert not all(torch.equal(a, b) for a, b in zip(proxies, loss.parameters()))
    assert [objective.stage(s) for s in range(3)] == ["warmup", "warmup", "train"]


def test_the_proxies_run_at_100x_the_embedder_rate_at_every_scheduled_step() -> None:
    objective, _, _ = _objective(warmup=0, scheduler="cosine", iterations=6)
    for step in range(6):
        objective.train_step(_images(step), LABELS, step)
        # Linear warm-up over 2 steps, then half a cosine over the remaining 4 (written out here).
        factor = (step + 1) / 2 if step < 2 else 0.5 * (1 + math.cos(math.pi * (step - 2) / 4))
        rates = {g["name"]: g["lr"] for g in objective.metric_optimizer.param_groups}
        assert rates["proxies"] == pytest.approx(100 * 2e-3 * factor)
        assert rates["embedder"] == pytest.approx(2e-3 * factor) and rates["trunk"] == pytest.approx(1e-3 * factor)


def test_checkpoint_holds_the_proxies_and_resume_equals_an_uninterrupted_run(digits_root: Path, tmp_path: Path) -> None:
    overrides = ("loss.name=proxy_anchor", "loss.proxy_warmup_steps=2", "train.eval_every=3")
    train(tiny_config(digits_root, "train.iterations=3", *overrides), tmp_path / "split")
    train(tiny_config(digits_root, "train.iterations=6", *overrides), tmp_path / "split", resume=True)
    train(tiny_config(digits_root, "train.iterations=6", *overrides), tmp_path / "whole")
    a = load_checkpoint(tmp_path / "split" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.pt")
    proxies = b.objective["loss"]["proxies"]
    assert proxies.shape[1] == tiny_config(digits_root).model.embedding_dim and proxies.shape[0] >= 2
    assert torch.equal(a.objective["loss"]["proxies"], proxies)
    assert all(torch.equal(a.model[k], b.model[k]) for k in b.model)
    fresh = load_checkpoint(tmp_path / "split" / "checkpoints" / "last.pt")
    assert not torch.equal(fresh.objective["loss"]["proxies"], torch.zeros_like(proxies))
