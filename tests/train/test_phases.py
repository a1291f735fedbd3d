"""The phase table: which phase a step falls in, where phases begin, the routes grouped for backward passes."""

from __future__ import annotations

import pytest

from daml_cli.errors import ConfigError
from daml_cli.train.phases import Phase, PhaseTable


def _table() -> PhaseTable:
    return PhaseTable((
        Phase("pretrain", {"metric": {"real": 1.0}}, steps=2),
        Phase("gen_warmup", {"generator": {"j_gen": 1.0}}, steps=0),
        Phase("warm", {"generator": {"j_gen": 1.0}}, steps=1),
        Phase("joint", {"metric": {"j_m": 0.5}, "generator": {"j_gen": 1.0}}),
    ))


def test_steps_fall_in_consecutive_phases_and_empty_phases_take_none() -> None:
    names = [_table().at(step).name for step in range(6)]
    assert names == ["pretrain", "pretrain", "warm", "joint", "joint", "joint"]
    assert [step for step in range(6) if _table().begins(step)] == [0, 2, 3]
    assert _table().boundaries() == [("pretrain", 0), ("warm", 2), ("joint", 3)]


def test_a_single_phase_reports_no_stage() -> None:
    single = PhaseTable((Phase("train", {"metric": {"loss": 1.0}}),))
    assert single.stage(0) == "" and _table().stage(2) == "warm"


def test_equal_routes_share_one_backward_pass_and_terms_merge() -> None:
    joint = Phase("joint", {"metric": {"j_gen": 1.0, "j_m": 0.5}, "generator": {"j_gen": 1.0, "j_m": 0.5}, "cls": {"ce": 1.0}})
    assert joint.backward_groups() == [({"j_gen": 1.0, "j_m": 0.5}, ["metric", "generator"]), ({"ce": 1.0}, ["cls"])]
    assert joint.terms() == {"j_gen": 1.0, "j_m": 0.5, "ce": 1.0}


def test_only_the_last_phase_may_be_open_ended() -> None:
    with pytest.raises(ConfigError, match="no length"):
        PhaseTable((Phase("a", {}), Phase("b", {})))
    with pytest.raises(ConfigError, match="at least one phase"):
        PhaseTable(())
