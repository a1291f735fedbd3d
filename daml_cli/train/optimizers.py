"""The metric's optimiser: Adam with one parameter group per part of the network (and per loss parameter set).

Groups carry a ``name`` (``trunk``, ``neck``, ``embedder``, and e.g. ``proxies`` for Proxy-Anchor) so a phase
can scale or freeze one part (train/phases.py) and `LearningRates` can find it (train/learning_rates.py).
"""

from __future__ import annotations

from typing import Any

import torch

from daml_cli.config.schema import RunConfig
from daml_cli.models.embedding import EmbeddingModel


def metric_optimizer(
    model: EmbeddingModel, config: RunConfig, extra_groups: list[dict[str, Any]] | None = None
) -> torch.optim.Optimizer:
    """Adam (L2 `optim.weight_decay` added to the gradients) with one rate for the trunk, one for the rest.

    The neck (official layout: BN → Linear → L2-normalise, the authors' "fc") has its own group at the
    embedder's rate, so that DAML's joint phase can slow it with the trunk, as the authors' code does.
    `extra_groups` (each with ``params``, ``lr`` and ``name``) join the same optimiser, e.g. a loss's proxies.
    """
    groups = [
        {"params": list(model.trunk.parameters()), "lr": config.optim.lr_trunk, "name": "trunk"},
        {"params": list(model.neck.parameters()), "lr": config.optim.lr_embedder, "name": "neck"},
        {"params": list(model.embedder.parameters()), "lr": config.optim.lr_embedder, "name": "embedder"},
        *(extra_groups or []),
    ]
    return torch.optim.Adam([group for group in groups if group["params"]], weight_decay=config.optim.weight_decay)

