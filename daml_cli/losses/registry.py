"""Name → class table of the base losses, and the factory the trainer calls with `LossConfig`."""

from __future__ import annotations

from collections.abc import Sequence

from daml_cli.config.schema import LossConfig
from daml_cli.errors import ConfigError
from daml_cli.losses.base import TupleLoss
from daml_cli.losses.contrastive import ContrastiveLoss
from daml_cli.losses.lifted import LiftedLoss
from daml_cli.losses.multi_similarity import MultiSimilarityLoss
from daml_cli.losses.npair import NPairLoss
from daml_cli.losses.proxy_anchor import ProxyAnchorLoss
from daml_cli.losses.triplet import TripletLoss

LOSSES: dict[str, type] = {
    TripletLoss.name: TripletLoss,
    NPairLoss.name: NPairLoss,
    LiftedLoss.name: LiftedLoss,
    ContrastiveLoss.name: ContrastiveLoss,
    MultiSimilarityLoss.name: MultiSimilarityLoss,
    ProxyAnchorLoss.name: ProxyAnchorLoss,
}

# Losses with one parameter per training class: built from the training labels and the embedding size.
CLASS_LOSSES: frozenset[str] = frozenset({ProxyAnchorLoss.name})


def build_loss(
    cfg: LossConfig, class_labels: Sequence[int] | None = None, embedding_dim: int | None = None
) -> TupleLoss:
    """The `TupleLoss` named by ``cfg.name``, built from the fields of `cfg` it uses.

    A loss in `CLASS_LOSSES` also needs `class_labels` (the training split's label values) and `embedding_dim`
    (the model's embedding size); the others ignore them. Raises ``ConfigError`` for an unknown name, a
    missing class loss argument or an invalid setting of that loss.
    """
    cls = LOSSES.get(cfg.name)
    if cls is None:
        raise ConfigError(f"unknown loss {cfg.name!r}", f"use one of {', '.join(LOSSES)}")
    if cfg.name in CLASS_LOSSES:
        if class_labels is None or embedding_dim is None:
            raise ConfigError(
                f"loss {cfg.name!r} has one proxy per training class", "build it with class_labels and embedding_dim"
            )
        return cls.from_config(cfg, class_labels, embedding_dim)
    return cls.from_config(cfg)
