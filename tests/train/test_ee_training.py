"""Embedding Expansion end to end on the digits fixture: the presets train through the loop with their
diagnostics logged, and a run resumed from a mid-run checkpoint ends with the weights of an uninterrupted one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from daml_cli.models.checkpoint import load_checkpoint
from daml_cli.train.loop import train
from tests.conftest import tiny_config

DIAGNOSTICS = ("loss", "j", "loss_no_ee", "syn_hardest", "syn_cos_source")


@pytest.mark.parametrize(("preset", "loss"), [("digits-triplet-ee", "hphn"), ("digits-ms-ee", "multi_similarity")])
def test_presets_train_and_log_what_ee_adds(preset: str, loss: str, digits_root: Path, tmp_path: Path) -> None:
    result = train(tiny_config(digits_root, "train.eval_every=0", preset=preset), tmp_path / "run")
    assert result.steps == 6
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if r["phase"] == "train"]
    assert [r["step"] for r in steps] == [2, 4, 6]
    for record in steps:
        assert all(key in record and record[key] == record[key] for key in (*DIAGNOSTICS, loss))
        assert record["loss"] == pytest.approx(record["j"]) == pytest.approx(record[loss])
        assert 0.0 <= record["syn_hardest"] <= 1.0 and 0.0 < record["syn_cos_source"] <= 1.0
        assert record["loss"] >= record["loss_no_ee"] - 1e-6  # the negatives' superset never lowers HPHN or MS
    assert set(load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt").objective) == {"optimizer"}


def test_resume_equals_an_uninterrupted_run(digits_root: Path, tmp_path: Path) -> None:
    common = ("train.eval_every=0", "data.augment=true")
    train(tiny_config(digits_root, "train.iterations=4", *common, preset="digits-triplet-ee"), tmp_path / "split")
    train(tiny_config(digits_root, "train.iterations=8", *common, preset="digits-triplet-ee"), tmp_path / "split", resume=True)
    train(tiny_config(digits_root, "train.iterations=8", *common, preset="digits-triplet-ee"), tmp_path / "whole")
    a = load_checkpoint(tmp_path / "split" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.pt")
    assert a.step == b.step == 8
    assert all(torch.equal(a.model[k], b.model[k]) for k in b.model)
