"""Collapse gets a remedy: a generator that returns the anchor is rolled back (or the run stops)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from daml_cli.config.schema import DamlConfig, LossConfig, OptimConfig, RunConfig
from daml_cli.errors import DamlError
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.collapse import MAX_CONSECUTIVE_RESTORES
from daml_cli.train.methods.daml import DamlObjective

LABELS = torch.tensor([0, 1, 0, 2, 1, 2, 0, 1, 2])


class Blend(nn.Module):
    """x̃ = x + t·(x⁻ − x) with a trainable t: t = 0 returns the anchor (collapse)."""

    def __init__(self, t: float) -> None:
        super().__init__()
        self.t = nn.Parameter(torch.tensor(t))

    def from_batch(self, features, negative, anchor, positive):  # type: ignore[no-untyped-def]
        x, n = features[anchor], features[negative]
        return x + self.t * (n - x)


def _objective(action: str, t: float) -> DamlObjective:
    torch.manual_seed(0)
    model = EmbeddingModel(nn.Sequential(nn.Linear(5, 6), nn.ReLU()), nn.Identity(), nn.Linear(6, 4), 6, 4, True)
    config = RunConfig(
        loss=LossConfig(name="triplet", margin=0.5, triplets="all"),
        optim=OptimConfig(lr_trunk=1e-2, lr_embedder=1e-2, lr_generator=1e-2),
        daml=DamlConfig(enabled=True, on_collapse=action, collapse_threshold=0.05),  # type: ignore[arg-type]
    )
    objective = DamlObjective(model, build_loss(config.loss), config)
    objective.generator = Blend(t)
    objective.generator_optimizer = torch.optim.Adam(objective.generator.parameters(), lr=1e-2)
    return objective


def _images() -> torch.Tensor:
    return torch.randn(9, 5, generator=torch.Generator().manual_seed(1))


def _snapshot(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def test_restore_rolls_the_generator_back_and_skips_the_collapsed_update() -> None:
    objective = _objective("restore", 0.5)
    good_t = objective.generator.t.item()
    objective.train_step(_images(), LABELS, 0)  # healthy: t = 0.5 is kept as the last good state
    assert objective.drain_warnings() == []
    assert objective.generator.t.item() != good_t  # the healthy step updated the generator
    with torch.no_grad():
        objective.generator.t.zero_()  # the generator now returns the anchor
    metric_before = _snapshot(objective.model)
    logged = objective.train_step(_images(), LABELS, 1)
    assert logged["syn_to_anchor"].item() == pytest.approx(0.0, abs=1e-6) and logged["collapsed"].item() == 1.0
    assert objective.generator.t.item() == pytest.approx(good_t)  # the state before step 1's update
    assert all(torch.equal(a, b) for a, b in zip(_snapshot(objective.model), metric_before))  # no update on noise
    warnings = objective.drain_warnings()
    assert len(warnings) == 1 and "collapsed onto their anchors" in warnings[0] and "restored the generator of step 1" in warnings[0]


def test_restore_stops_when_collapse_comes_back_every_time() -> None:
    objective = _objective("restore", 0.5)
    objective.train_step(_images(), LABELS, 0)
    for step in range(1, MAX_CONSECUTIVE_RESTORES + 1):
        with torch.no_grad():
            objective.generator.t.zero_()
        objective.train_step(_images(), LABELS, step)
    with torch.no_grad():
        objective.generator.t.zero_()
    with pytest.raises(DamlError, match="training stopped"):
        objective.train_step(_images(), LABELS, MAX_CONSECUTIVE_RESTORES + 1)


@pytest.mark.parametrize("action", ["restore", "stop"])
def test_a_generator_returning_the_anchor_stops_the_run_with_a_clear_message(action: str) -> None:
    """`stop` always; `restore` when no step before was healthy (nothing to restore)."""
    objective = _objective(action, 0.0)
    with pytest.raises(DamlError) as raised:
        objective.train_step(_images(), LABELS, 0)
    line = raised.value.one_line()
    assert "collapsed onto their anchors" in line and "training stopped" in line and "daml.lambda_reg" in line


@pytest.mark.parametrize("loss", ["triplet", "multi_similarity"])
def test_a_batch_with_no_tuple_is_not_called_a_collapse(loss: str) -> None:
    """Every label alone: the base loss mines no tuple, so there is no synthetic to judge (found on digits,
    where MS keeps no pair on an easy batch and the empty diagnostics read 0 used to stop the run)."""
    objective = _objective("stop", 0.5)
    if loss == "multi_similarity":
        objective.config.loss.name = "multi_similarity"
        objective.config.daml.negatives = "loss"
        objective = DamlObjective(objective.model, build_loss(objective.config.loss), objective.config)
        objective.generator = Blend(0.5)
        objective.generator_optimizer = torch.optim.Adam(objective.generator.parameters(), lr=1e-2)
    logged = objective.train_step(_images(), torch.arange(9), 0)  # raised DamlError ("collapsed") before the fix
    assert "collapsed" not in logged and objective.drain_warnings() == []
