"""What one training step optimises, and the one place where every method's update is carried out.

A method (the plain base loss, DAML, HDML, Embedding Expansion; one module each under train/methods/)
subclasses `PhasedObjective` and supplies three things: its optimisers, its schedule as a `PhaseTable`
(train/phases.py), and `compute`, which returns the step's terms. `PhasedObjective.train_step` then does
the rest, the same for every method: training mode, the phase of the step, fresh optimiser state where a
phase asks for it, the learning rates (train/learning_rates.py), one backward pass per distinct route,
gradient averaging under data parallelism, and the optimiser steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from daml_cli.config.schema import RunConfig
from daml_cli.models.embedding import EmbeddingModel, freeze_batchnorm
from daml_cli.train.context import StepContext
from daml_cli.train.learning_rates import LearningRates
from daml_cli.train.phases import Phase, PhaseTable
from daml_cli.train.schedule import lr_factor


class Objective(Protocol):
    def train_step(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """One update; returns detached scalar terms (``loss`` first) for logging."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    def drain_warnings(self) -> list[str]:
        """Warnings raised since the last call (e.g. DAML's collapse warning), for the loop to report."""

    def stage(self, step: int) -> str:
        """The phase name of the 0-based `step` to report ("" when the schedule has a single phase)."""

    def validation_model(self, step: int) -> nn.Module:
        """What validation after the 0-based `step` embeds with (the model, unless a method says otherwise)."""


@dataclass
class StepTerms:
    """What `compute` returns: the terms the routes name (attached to the graph), what to log (detached),
    and whether the step may update (False: a guard rejected the batch, nothing steps)."""

    terms: dict[str, torch.Tensor]
    logged: dict[str, torch.Tensor] = field(default_factory=dict)
    update: bool = True


class PhasedObjective:
    """The shared update of every method; subclasses call `setup` at the end of their ``__init__``."""

    model: EmbeddingModel
    config: RunConfig
    context: StepContext
    optimizer_attributes: dict[str, str]
    table: PhaseTable
    rates: LearningRates

    def setup(self, optimizer_attributes: dict[str, str], table: PhaseTable) -> None:
        """Register the optimisers (route name → the attribute holding it) and the schedule; the learning
        rates follow from both."""
        self.optimizer_attributes = optimizer_attributes
        self.table = table
        optim, total = self.config.optim, self.config.train.iterations
        self.rates = LearningRates(lambda: self.optimizers, lambda step: lr_factor(step, total, optim.scheduler, optim.warmup_steps))
        self.warnings: list[str] = []

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimisers by route name (read from their attributes, so a replaced one is the one used)."""
        return {route: getattr(self, attribute) for route, attribute in self.optimizer_attributes.items()}

    # -- what a method supplies ---------------------------------------------------------------------
    def compute(self, images: torch.Tensor, labels: torch.Tensor, step: int, phase: Phase) -> StepTerms:
        raise NotImplementedError

    def networks(self) -> list[nn.Module]:
        """The networks that train in this objective besides the model (DAML's generator, ...)."""
        return []

    # -- the shared update ----------------------------------------------------------------------------
    def stage(self, step: int) -> str:
        return self.table.stage(step)

    def validation_model(self, step: int) -> nn.Module:
        return self.model

    def set_train_mode(self) -> None:
        self.model.train()
        for network in self.networks():
            network.train()
        if self.config.model.freeze_bn:
            freeze_batchnorm(self.model.trunk)

    def train_step(self, images: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """One update of the phase `step` falls in; returns the detached terms and diagnostics to log."""
        phase, start = self.table.locate(step)
        self.set_train_mode()
        if step == start:
            for name in phase.fresh_optimizers:
                self.optimizers[name].state.clear()
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        result = self.compute(images, labels, step, phase)
        if result.update:
            self.update(phase, step, result.terms)
        return result.logged

    def trainable(self, optimizer: str, phase: Phase) -> list[torch.Tensor]:
        """The parameters `optimizer` may move in `phase`: its groups' less the frozen ones."""
        return [
            param
            for group in self.optimizers[optimizer].param_groups
            if group.get("name") not in phase.frozen
            for param in group["params"]
            if param.requires_grad
        ]

    def update(self, phase: Phase, step: int, terms: dict[str, torch.Tensor]) -> None:
        """Back-propagate each route into its optimisers' parameters, then step those optimisers."""
        precision, timer = self.context.precision, self.context.timer
        groups = phase.backward_groups()
        stepped: list[torch.Tensor] = []
        with timer.section("backward"):
            for index, (route, names) in enumerate(groups):
                params = [param for name in names for param in self.trainable(name, phase)]
                objective = sum(weight * terms[term] for term, weight in route.items())
                precision.backward(objective, inputs=params, retain_graph=index < len(groups) - 1)
                stepped.extend(params)
            self.context.distributed.average_gradients(stepped)
        with timer.section("optimizer"):
            self.rates.apply(phase, step)
            for name in phase.routes:
                precision.step(self.optimizers[name])
            precision.update()

    def phase_total(self, phase: Phase, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """The phase's whole objective ``Σ weight·term`` (detached), for logging."""
        return sum(weight * terms[term].detach() for term, weight in phase.terms().items())

    def drain_warnings(self) -> list[str]:
        pending, self.warnings = self.warnings, []
        return pending
