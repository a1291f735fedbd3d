"""`daml train --init`: a trained checkpoint of any preset seeds a fresh run (DAML or not)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from daml_cli.config.loading import load_config
from daml_cli.errors import CheckpointError
from daml_cli.models.embedding import build_model
from daml_cli.models.checkpoint import load_checkpoint
from daml_cli.train.init_weights import init_from_checkpoint
from daml_cli.train.loop import train
from tests.cli_runner import run_cli
from tests.conftest import TINY, tiny_config

DAML_ON = ["daml.enabled=true", "daml.pretrain_iters=2", "daml.gen_warmup_iters=1", "daml.lambda_adv=5"]


def _source_model(run: Path) -> torch.nn.Module:
    """The trained model of `run`, rebuilt from its own saved config and state (not through --init)."""
    payload = load_checkpoint(run / "checkpoints" / "last.pt")
    config = load_config(str(run / "config.yaml"))
    model = build_model(config.model, load_weights=False)
    model.load_state_dict(payload.model)
    return model.eval()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_baseline_checkpoint_seeds_a_daml_run_with_the_same_embeddings(tiny_run: Path, digits_root: Path) -> None:
    config = tiny_config(digits_root, *DAML_ON)
    assert config.daml.enabled and not load_config(str(tiny_run / "config.yaml")).daml.enabled
    torch.manual_seed(123)  # a different fresh initialisation than the source run's
    model = build_model(config.model, load_weights=False)
    report = init_from_checkpoint(model, tiny_run / "checkpoints" / "last.pt")
    images = torch.randn(5, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model.eval()(images), _source_model(tiny_run)(images))
    assert report.fresh == [] and report.copied == len(model.state_dict())
    assert report.sha256 == _sha256(tiny_run / "checkpoints" / "last.pt")


def test_train_init_records_the_checkpoint_and_its_hash(tiny_run: Path, digits_root: Path, tmp_path: Path) -> None:
    source = tiny_run / "checkpoints" / "last.pt"
    config = tiny_config(digits_root, *DAML_ON, "train.eval_every=0", f"train.init={source}")
    result = train(config, tmp_path / "run")
    assert result.steps == 6
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["train"]["init"] == str(source.resolve()) and saved["train"]["init_sha256"] == _sha256(source)
    assert "generator" in load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt").objective


def test_a_changed_init_file_is_refused_when_the_run_is_reproduced(tiny_run: Path, digits_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "weights.pt"
    shutil.copy(tiny_run / "checkpoints" / "last.pt", copy)
    model = build_model(tiny_config(digits_root).model, load_weights=False)
    with pytest.raises(CheckpointError, match="SHA-256"):
        init_from_checkpoint(model, copy, expected_sha256="0" * 64)


def test_official_head_takes_only_the_trunk_of_a_standard_checkpoint(tiny_run: Path, digits_root: Path) -> None:
    config = tiny_config(digits_root, "daml.enabled=true", "daml.layout=official")
    model = build_model(config.model, load_weights=False)
    fresh_head = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("trunk.")}
    init_from_checkpoint(model, tiny_run)  # a run folder means its best.pt
    source = load_checkpoint(tiny_run / "checkpoints" / "best.pt").model
    state = model.state_dict()
    assert all(torch.equal(state[k], source[k]) for k in state if k.startswith("trunk."))
    assert all(torch.equal(state[k], v) for k, v in fresh_head.items())


def test_cli_refuses_a_checkpoint_of_another_width_naming_the_tensor(
    tiny_run: Path, digits_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sets = [arg for item in [*TINY, "model.width=4"] for arg in ("--set", item)]
    code, out, err = run_cli(
        ["train", "--preset", "digits-triplet", "--data-root", digits_root, "--device", "cpu", "--out", tmp_path / "run",
         "--init", tiny_run / "checkpoints" / "last.pt", *sets],
        capsys,
    )
    assert code != 0 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "tensor 'trunk." in lines[0], err
