"""build_loss: each name gives its class with the config's settings; bad names and settings fail cleanly."""

from __future__ import annotations

from typing import get_args

import pytest

from daml_cli.config.schema import LossConfig, LossName
from daml_cli.errors import ConfigError
from daml_cli.losses.base import TupleLoss
from daml_cli.losses.contrastive import ContrastiveLoss
from daml_cli.losses.lifted import LiftedLoss
from daml_cli.losses.npair import NPairLoss
from daml_cli.losses.registry import LOSSES, build_loss
from daml_cli.losses.triplet import TripletLoss


def test_every_schema_loss_is_registered() -> None:
    assert set(LOSSES) == set(get_args(LossName))
    for name, cls in LOSSES.items():
        built = build_loss(LossConfig(name=name), class_labels=[2, 7], embedding_dim=4)
        assert isinstance(built, cls) and isinstance(built, TupleLoss) and built.name == name


def test_settings_are_passed_through() -> None:
    tri = build_loss(LossConfig(name="triplet", margin=0.7, squared=False, triplets="easy", negatives_per_pair=3))
    assert isinstance(tri, TripletLoss)
    assert (tri.margin, tri.squared, tri.strategy, tri.negatives_per_pair) == (0.7, False, "easy", 3)
    npair = build_loss(LossConfig(name="npair", l2_reg=0.01))
    assert isinstance(npair, NPairLoss) and npair.l2_reg == 0.01
    lifted = build_loss(LossConfig(name="lifted", lifted_margin=2.0, margin=0.1, max_negatives=5))
    assert isinstance(lifted, LiftedLoss) and (lifted.margin, lifted.max_negatives) == (2.0, 5)
    cont = build_loss(LossConfig(name="contrastive", margin=0.9, squared=False))
    assert isinstance(cont, ContrastiveLoss) and (cont.margin, cont.squared) == (0.9, False)


def test_unknown_name_and_bad_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError):
        build_loss(LossConfig(name="arcface"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        build_loss(LossConfig(name="lifted", max_negatives=-1))
