"""No synthesis: the base loss (triplet, N-pair, lifted, contrastive, MS, Proxy-Anchor) on real tuples.

One phase, ``metric ← loss``. A loss with parameters of its own (Proxy-Anchor's proxies) adds them to the
metric optimiser as a group at ``lr_embedder × loss.proxy_lr_multiplier`` and may ask for a warm-up phase
of ``loss.proxy_warmup_steps`` steps with the trunk frozen (the Proxy-Anchor authors' recipe).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from daml_cli.config.schema import RunConfig
from daml_cli.losses.base import LossOutput, TupleLoss
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.context import StepContext
from daml_cli.train.mining_rng import mining_rng
from daml_cli.train.objective import PhasedObjective, StepTerms
from daml_cli.train.optimizers import metric_optimizer
from daml_cli.train.phases import Phase, PhaseTable

METRIC_ROUTE = {"metric": {"loss": 1.0}}


def loss_parameter_groups(loss: TupleLoss, config: RunConfig) -> list[dict[str, Any]]:
    """The optimiser group of a loss's own parameters (Proxy-Anchor's proxies; none for the other losses),
    at ``optim.lr_embedder ×`` the loss's ``lr_multiplier`` (``loss.proxy_lr_multiplier``)."""
    params = list(loss.parameters()) if hasattr(loss, "parameters") else []
    if not params:
        return []
    return [{"params": params, "lr": config.optim.lr_embedder * float(getattr(loss, "lr_multiplier", 1.0)), "name": "proxies"}]


def plain_phases(loss: TupleLoss, config: RunConfig) -> PhaseTable:
    """``warmup`` (only for a loss with parameters: its ``warmup_steps`` with the trunk frozen, the
    Proxy-Anchor authors' recipe), then ``train``."""
    warmup = int(getattr(loss, "warmup_steps", 0)) if loss_parameter_groups(loss, config) else 0
    train = Phase("train", METRIC_ROUTE)
    return PhaseTable((Phase("warmup", METRIC_ROUTE, steps=warmup, frozen=("trunk",)), train) if warmup else (train,))


def real_loss_step(
    objective: PhasedObjective, loss: TupleLoss, embed: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor, labels: torch.Tensor, step: int,
) -> LossOutput:
    """Embed this rank's images with `embed`, gather the global batch, and evaluate `loss` on real tuples."""
    precision, distributed, timer = objective.context.precision, objective.context.distributed, objective.context.timer
    with timer.section("forward"), precision.autocast():
        local = embed(images)
    with timer.section("loss"):
        embeddings = distributed.gather(local.float())
        labels = distributed.gather_labels(labels)
        return loss(embeddings, labels, mining_rng(objective.config.seed, step))


def gathered_features(
    objective: PhasedObjective, images: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The global batch's features (float32) and labels: each rank runs the trunk on its share, then all gather.

    Every rank then computes the same global-batch terms as one process would (see train/distributed.py).
    """
    precision, distributed, timer = objective.context.precision, objective.context.distributed, objective.context.timer
    with timer.section("forward"), precision.autocast():
        local_features = objective.model.features(images)
    with timer.section("loss"):
        return distributed.gather(local_features.float()), distributed.gather_labels(labels)


def logged_output(output: LossOutput) -> dict[str, torch.Tensor]:
    """``loss`` first, then the base loss's own named terms, all detached."""
    logged = {"loss": output.loss.detach()}
    logged.update({name: value.detach() for name, value in output.terms.items() if name != "loss"})
    return logged


class BaselineObjective(PhasedObjective):
    """Minimise the base loss on real negatives."""

    name: ClassVar[str] = "none"

    def __init__(
        self, model: EmbeddingModel, loss: TupleLoss, config: RunConfig, context: StepContext | None = None
    ) -> None:
        self.model, self.loss, self.config = model, loss, config
        self.context = context or StepContext()
        self.metric_optimizer = metric_optimizer(model, config, loss_parameter_groups(loss, config))
        self.setup({"metric": "metric_optimizer"}, plain_phases(loss, config))

    def networks(self) -> list[torch.nn.Module]:
        module = getattr(self.loss, "module", None)
        return [module] if isinstance(module, torch.nn.Module) else []

    def compute(self, images: torch.Tensor, labels: torch.Tensor, step: int, phase: Phase) -> StepTerms:
        output = real_loss_step(self, self.loss, self.model, images, labels, step)
        return StepTerms({"loss": output.loss}, logged_output(output))

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"optimizer": self.metric_optimizer.state_dict()}
        if self.networks():
            state["loss"] = self.loss.state_dict()  # type: ignore[attr-defined]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.metric_optimizer.load_state_dict(state["optimizer"])
        if self.networks():
            self.loss.load_state_dict(state["loss"])  # type: ignore[attr-defined]
