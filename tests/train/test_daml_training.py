"""DAML end to end on CPU: a short run lowers the joint objective, every loss trains with and without DAML
through the training loop and the CLI, the collapse warning reaches metrics.jsonl, runs resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from daml_cli.cli.main import main
from daml_cli.config.schema import DamlConfig, LossConfig, OptimConfig, RunConfig
from daml_cli.losses.registry import build_loss
from daml_cli.models.checkpoint import load_checkpoint
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.methods.daml import DamlObjective
from daml_cli.train.loop import train
from tests.conftest import tiny_config

DAML_ON = ["daml.enabled=true", "daml.pretrain_iters=2", "daml.gen_warmup_iters=1", "daml.lambda_adv=5"]


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("update", ["joint", "alternating"])
def test_short_daml_run_lowers_the_joint_objective(update: str) -> None:
    """25 steps on four noisy clusters: J = J_gen + λ·J_m, and the generator's own J_hard + λ1·J_reg (which
    only the generator can lower under detach_real), end well below where they started."""
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 8, generator=gen) * 2
    labels = torch.arange(4).repeat_interleave(4)
    images = centres[labels] + 0.3 * torch.randn(16, 8, generator=gen)
    torch.manual_seed(0)
    model = EmbeddingModel(nn.Sequential(nn.Linear(8, 16), nn.ReLU()), nn.Identity(), nn.Linear(16, 8), 16, 8, True)
    config = RunConfig(
        loss=LossConfig(name="triplet", margin=0.2, triplets="semihard"),
        optim=OptimConfig(lr_trunk=3e-3, lr_embedder=3e-3, lr_generator=3e-3),
        daml=DamlConfig(enabled=True, update=update, adv_margin=0.2),
    )
    objective = DamlObjective(model, build_loss(config.loss), config)
    logged = [objective.train_step(images, labels, step) for step in range(25)]
    values = [terms["j"].item() for terms in logged]
    fit = [terms["j_hard"].item() + terms["j_reg"].item() for terms in logged]
    assert all(torch.isfinite(torch.tensor(values)))
    assert sum(values[-5:]) / 5 < 0.5 * sum(values[:5]) / 5
    assert sum(fit[-5:]) / 5 < 0.7 * sum(fit[:5]) / 5


@pytest.mark.parametrize("loss", ["triplet", "npair", "lifted", "contrastive"])
@pytest.mark.parametrize("daml", [False, True])
def test_every_loss_trains_with_and_without_daml(loss: str, daml: bool, digits_root: Path, tmp_path: Path) -> None:
    overrides = [f"loss.name={loss}", "train.eval_every=0", *(DAML_ON if daml else [])]
    result = train(tiny_config(digits_root, *overrides), tmp_path / "run")
    assert result.steps == 6
    train_records = [r for r in _records(tmp_path / "run") if r["phase"] == "train"]
    assert [r["step"] for r in train_records] == [2, 4, 6]
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt").objective
    if not daml:
        assert not any(key.startswith("j_") for r in train_records for key in r)
        assert "generator" not in state
        return
    pretrain, joint = train_records[0], train_records[1:]  # step 2 is pre-training; steps 4 and 6 are joint
    assert "real" in pretrain and "j_adv" not in pretrain and pretrain["stage"] == "pretrain"
    assert [record["stage"] for record in joint] == ["joint", "joint"]
    for record in joint:
        for key in ("loss", "j", "j_m", "j_gen", "j_hard", "j_reg", "j_adv", "syn_to_anchor", "syn_to_negative", "adv_active"):
            assert key in record and record[key] == record[key]  # present and not NaN
        assert record["j"] == pytest.approx(record["j_gen"] + record["j_m"], rel=1e-5)
        assert record["loss"] == pytest.approx(record["j_m"], rel=1e-5)  # the metric's loss, as pre-training shows it
    assert "generator" in state and "generator_optimizer" in state


def test_collapse_warning_reaches_metrics_jsonl(digits_root: Path, tmp_path: Path) -> None:
    config = tiny_config(digits_root, *DAML_ON, "train.eval_every=0", "daml.collapse_threshold=1000", "daml.on_collapse=warn")
    train(config, tmp_path / "run")
    warnings = [r for r in _records(tmp_path / "run") if r["phase"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["step"] == 3 and "collapsed onto their anchors" in warnings[0]["message"]


def test_daml_run_resumes_with_its_generator(digits_root: Path, tmp_path: Path) -> None:
    first = tmp_path / "first"
    train(tiny_config(digits_root, *DAML_ON, "train.eval_every=0", "train.iterations=4"), first)
    resumed = tmp_path / "resumed"
    shutil.copytree(first, resumed)
    before = load_checkpoint(first / "checkpoints" / "last.pt").objective["generator"]
    result = train(tiny_config(digits_root, *DAML_ON, "train.eval_every=0"), resumed, resume=True)
    assert result.steps == 6
    after = load_checkpoint(resumed / "checkpoints" / "last.pt").objective["generator"]
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())


def test_cli_trains_daml_and_its_baseline(digits_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["train", "--preset", "digits-triplet", "--data-root", str(digits_root), "--device", "cpu"]
    tiny = ["--set", "train.iterations=4", "--set", "train.eval_every=0", "--set", "model.width=8",
            "--set", "data.image_size=16", "--set", "data.resize=16", "--set", "train.log_every=1"]
    for name, extra in (("daml", ["--set", "daml.enabled=true", "--set", "daml.pretrain_iters=1"]), ("base", [])):
        try:
            main([*common, "--out", str(tmp_path / name), *tiny, *extra])
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        assert code == 0, capsys.readouterr().err
    daml_keys = set().union(*(r.keys() for r in _records(tmp_path / "daml") if r["phase"] == "train"))
    base_keys = set().union(*(r.keys() for r in _records(tmp_path / "base") if r["phase"] == "train"))
    assert {"j_gen", "j_m", "j_adv", "adv_active", "syn_to_anchor"} <= daml_keys
    assert not {"j_gen", "j_m", "j_adv"} & base_keys
