"""What one training step optimises. The baseline objective is the plain base loss on real tuples.

An objective owns its optimisers and performs the whole update, so variants with several networks and
update schemes (DAML's generator, `joint` or `alternating`) plug into the same loop.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import torch

from daml_cli.config.schema import RunConfig
from daml_cli.losses.base import TupleLoss
from daml_cli.models.embedding import EmbeddingModel, freeze_batchnorm
from daml_cli.train.context import StepContext


class Objective(Protocol):
    def train_step(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """One update; returns detached scalar terms (``loss`` first) for logging."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    def drain_warnings(self) -> list[str]:
        """Warnings raised since the last call (e.g. DAML's collapse warning), for the loop to report."""

    def stage(self, step: int) -> str:
        """The training phase of the 0-based `step` to report (DAML: pretrain, gen_warmup, joint; else "")."""


def mining_generator(seed: int, step: int) -> torch.Generator:
    """The RNG for tuple mining at `step`: derived from (seed, step) so resumed runs mine identically."""
    return torch.Generator().manual_seed(seed * 7_919 + step + 1)


def metric_optimizer(model: EmbeddingModel, config: RunConfig) -> torch.optim.Optimizer:
    """Adam (L2 `optim.weight_decay` added to the gradients) with one rate for the trunk, one for the rest.

    The neck (official layout: BN → Linear → L2-normalise, the authors' "fc") has its own group at the
    embedder's rate, so that DAML's joint phase can slow it with the trunk, as the authors' code does.
    """
    groups = [
        {"params": list(model.trunk.parameters()), "lr": config.optim.lr_trunk, "name": "trunk"},
        {"params": list(model.neck.parameters()), "lr": config.optim.lr_embedder, "name": "neck"},
        {"params": list(model.embedder.parameters()), "lr": config.optim.lr_embedder, "name": "embedder"},
    ]
    return torch.optim.Adam([group for group in groups if group["params"]], weight_decay=config.optim.weight_decay)


class BaselineObjective:
    """Minimise the base loss (triplet, N-pair, lifted, contrastive) on real negatives."""

    def __init__(
        self,
        model: EmbeddingModel,
        loss: TupleLoss,
        config: RunConfig,
        context: StepContext | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        embed: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.model = model
        self.embed = embed or model  # DAML's `pretrain_on: features` trains on model.features instead
        self.loss = loss
        self.config = config
        self.context = context or StepContext()
        self.optimizer = optimizer or metric_optimizer(model, config)  # DAML's pre-training shares its own

    def train_step(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """Embed this rank's images, gather the global batch, and step on the base loss."""
        precision, distributed, timer = self.context.precision, self.context.distributed, self.context.timer
        self.model.train()
        if self.config.model.freeze_bn:
            freeze_batchnorm(self.model.trunk)
        with timer.section("forward"), precision.autocast():
            local = self.embed(images)
        with timer.section("loss"):
            embeddings = distributed.gather(local.float())
            labels = distributed.gather_labels(labels)
            output = self.loss(embeddings, labels, mining_generator(self.config.seed, step))
        with timer.section("backward"):
            self.optimizer.zero_grad(set_to_none=True)
            precision.backward(output.loss)
            distributed.average_gradients(self.model.parameters())
        with timer.section("optimizer"):
            precision.step(self.optimizer)
            precision.update()
        terms = {"loss": output.loss.detach()}
        terms.update({name: value.detach() for name, value in output.terms.items() if name != "loss"})
        return terms

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict()}

    def drain_warnings(self) -> list[str]:
        return []

    def stage(self, step: int) -> str:
        return ""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])


def build_objective(
    model: EmbeddingModel, loss: TupleLoss, config: RunConfig, context: StepContext | None = None
) -> Objective:
    """The baseline objective, or DAML's when `daml.enabled` is set."""
    if config.daml.enabled:
        from daml_cli.train.daml_objective import DamlObjective

        return DamlObjective(model, loss, config, context)
    return BaselineObjective(model, loss, config, context)
