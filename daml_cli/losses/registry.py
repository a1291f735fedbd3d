"""Name → class table of the base losses, and the factory the trainer calls with `LossConfig`."""

from __future__ import annotations

from daml_cli.config.schema import LossConfig
from daml_cli.errors import ConfigError
from daml_cli.losses.base import TupleLoss
from daml_cli.losses.contrastive import ContrastiveLoss
from daml_cli.losses.lifted import LiftedLoss
from daml_cli.losses.npair import NPairLoss
from daml_cli.losses.triplet import TripletLoss

LOSSES: dict[str, type] = {
    TripletLoss.name: TripletLoss,
    NPairLoss.name: NPairLoss,
    LiftedLoss.name: LiftedLoss,
    ContrastiveLoss.name: ContrastiveLoss,
}


def build_loss(cfg: LossConfig) -> TupleLoss:
    """The `TupleLoss` named by ``cfg.name``, built from the fields of `cfg` it uses.

    Raises ``ConfigError`` for an unknown name or an invalid setting of that loss.
    """
    cls = LOSSES.get(cfg.name)
    if cls is None:
        raise ConfigError(f"unknown loss {cfg.name!r}", f"use one of {', '.join(LOSSES)}")
    return cls.from_config(cfg)
