"""Name → objective: one line per synthesis method (``synthesis`` in the config), and the trainer's factory.

Adding a method is a module under train/methods/ (a `PhasedObjective` subclass), a line here and presets.
"""

from __future__ import annotations

from collections.abc import Callable

from daml_cli.config.schema import RunConfig
from daml_cli.config.synthesis import synthesis_of
from daml_cli.losses.base import TupleLoss
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.context import StepContext
from daml_cli.train.methods.daml import DamlObjective
from daml_cli.train.methods.ee import EeObjective
from daml_cli.train.methods.hdml import HdmlObjective
from daml_cli.train.methods.plain import BaselineObjective
from daml_cli.train.objective import Objective

METHODS: dict[str, Callable[..., Objective]] = {
    "none": BaselineObjective,
    "daml": DamlObjective,
    "ee": EeObjective,
    "hdml": HdmlObjective,
}


def build_objective(
    model: EmbeddingModel, loss: TupleLoss, config: RunConfig, context: StepContext | None = None
) -> Objective:
    """The objective of the configured synthesis method (the plain base loss for ``none``)."""
    return METHODS[synthesis_of(config)](model, loss, config, context)
