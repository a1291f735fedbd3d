"""The training loop on real digits: run folder contents, model selection, reproducibility, guards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from daml_cli.config.loading import load_config
from daml_cli.data.manifest import read_manifest
from daml_cli.errors import ConfigError, DamlError
from daml_cli.models.checkpoint import load_checkpoint
from daml_cli.train import loop as loop_module
from daml_cli.train.loop import Trainer, train
from tests.conftest import tiny_config


def test_run_folder_contents(tiny_run: Path) -> None:
    assert (tiny_run / "config.yaml").is_file()
    assert (tiny_run / "checkpoints" / "last.pt").is_file() and (tiny_run / "checkpoints" / "best.pt").is_file()
    records = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    train_records = [r for r in records if r["phase"] == "train"]
    val_records = [r for r in records if r["phase"] == "val"]
    assert [r["step"] for r in train_records] == [2, 4, 6]
    assert [r["step"] for r in val_records] == [3, 6]
    assert all("loss" in r and "images_per_s" in r and 0.0 <= r["data_wait"] <= 1.0 for r in train_records)
    assert all(0.0 <= r["recall@1"] <= 1.0 for r in val_records)
    best = max(val_records, key=lambda r: r["recall@1"])
    assert load_checkpoint(tiny_run / "checkpoints" / "best.pt").best["value"] == pytest.approx(best["recall@1"])
    assert load_checkpoint(tiny_run / "checkpoints" / "last.pt").step == 6


def test_saved_config_reproduces_the_config(tiny_run: Path, digits_root: Path) -> None:
    saved = load_config(str(tiny_run / "config.yaml"))
    assert saved == tiny_config(digits_root)
    assert yaml.safe_load((tiny_run / "config.yaml").read_text())["train"]["iterations"] == 6


def test_validation_never_uses_test_classes(digits_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Watch what the loop's validation really embeds, and compare its classes with the manifest's own splits.
    embedded: list[Path] = []
    real_embed = loop_module.embed_paths

    def spy(model, paths, *args, **kwargs):  # type: ignore[no-untyped-def]
        embedded.extend(paths)
        return real_embed(model, paths, *args, **kwargs)

    monkeypatch.setattr(loop_module, "embed_paths", spy)
    trainer = Trainer(tiny_config(digits_root, "data.val_classes=2"), tmp_path / "run")
    assert trainer.validate()
    manifest = read_manifest(digits_root / "digits")
    label_of = {manifest.root / row.path: row.label for row in manifest.rows}
    validated = {label_of[path] for path in embedded}
    test_labels = {row.label for row in manifest.rows if row.split == "test"}
    trained = {int(label) for label in trainer.dataset.labels.tolist()}
    assert len(validated) == 2 and len(embedded) == len(trainer.val_rows)
    assert not validated & test_labels
    assert not validated & trained
    assert validated | trained == {row.label for row in manifest.rows if row.split in ("train", "val")}


def test_same_seed_same_weights(digits_root: Path, tmp_path: Path) -> None:
    config = tiny_config(digits_root, "train.iterations=3", "train.eval_every=0")
    train(config, tmp_path / "a")
    train(config, tmp_path / "b")
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt").model
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt").model
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = tiny_config(digits_root, "train.iterations=3", "train.eval_every=0", seed=1)
    train(other, tmp_path / "c")
    c = load_checkpoint(tmp_path / "c" / "checkpoints" / "last.pt").model
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_existing_run_is_never_overwritten(tiny_run: Path, digits_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    before = (copy / "checkpoints" / "last.pt").read_bytes()
    with pytest.raises(ConfigError, match="already holds a training run"):
        train(tiny_config(digits_root), copy)
    assert (copy / "checkpoints" / "last.pt").read_bytes() == before


def test_resume_continues_to_more_iterations(tiny_run: Path, digits_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    result = train(tiny_config(digits_root, "train.iterations=8"), copy, resume=True)
    assert result.steps == 8
    assert load_checkpoint(copy / "checkpoints" / "last.pt").step == 8


def test_resume_without_a_checkpoint(digits_root: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot resume"):
        train(tiny_config(digits_root), tmp_path / "new", resume=True)


def test_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DamlError, match="does not exist.*daml prepare"):
        train(tiny_config(tmp_path / "nowhere"), tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_non_finite_loss_stops_cleanly(digits_root: Path, tmp_path: Path) -> None:
    config = tiny_config(digits_root, "optim.lr_trunk=1e30", "optim.lr_embedder=1e30", "model.normalize=false", "train.iterations=30")
    with pytest.raises(DamlError, match="the loss became"):
        train(config, tmp_path / "run")


def test_resume_equals_an_uninterrupted_run(digits_root: Path, tmp_path: Path) -> None:
    overrides = ("train.eval_every=5", "data.augment=true")
    train(tiny_config(digits_root, "train.iterations=10", *overrides), tmp_path / "split")
    train(tiny_config(digits_root, "train.iterations=20", *overrides), tmp_path / "split", resume=True)
    train(tiny_config(digits_root, "train.iterations=20", *overrides), tmp_path / "whole")
    a = load_checkpoint(tmp_path / "split" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.pt")
    assert a.step == b.step == 20
    assert all(torch.equal(a.model[k], b.model[k]) for k in b.model)
    assert a.best == b.best


def test_sigterm_saves_a_checkpoint_that_resumes(digits_root: Path, tmp_path: Path) -> None:
    import os
    import signal

    from daml_cli.errors import TrainingInterrupted
    from daml_cli.train.reporting import SilentReporter

    class KillAtStepFour(SilentReporter):
        def step(self, step: int, terms: dict[str, float], images_per_second: float, data_wait: float = 0.0, stage: str = "") -> None:
            if step == 4:
                os.kill(os.getpid(), signal.SIGTERM)

    config = tiny_config(digits_root, "train.iterations=12", "train.eval_every=100")
    with pytest.raises(TrainingInterrupted, match="SIGTERM received: stopped at step 4"):
        train(config, tmp_path / "run", reporter=KillAtStepFour())
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt").step == 4
    assert train(config, tmp_path / "run", resume=True).steps == 12


def test_bf16_autocast_on_cpu(digits_root: Path, tmp_path: Path) -> None:
    from daml_cli.train.precision import resolve_precision

    assert resolve_precision("bf16", torch.device("cpu")).dtype == torch.bfloat16
    assert resolve_precision("auto", torch.device("cpu")).dtype is None
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
        resolve_precision("fp16", torch.device("cpu"))
    # Watch every convolution and linear layer of a training-mode forward: under bf16 autocast they compute in
    # bfloat16, whichever objective or loop runs them; without autocast they would return float32.
    seen: list[torch.dtype] = []

    def record(module: torch.nn.Module, inputs: object, output: object) -> None:
        layer = isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))
        if module.training and layer and isinstance(output, torch.Tensor):
            seen.append(output.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        result = train(tiny_config(digits_root, "train.amp=bf16", "train.iterations=4", "train.eval_every=2"),
                       tmp_path / "run")
    finally:
        handle.remove()
    assert seen and set(seen) == {torch.bfloat16}, f"training forward dtypes: {sorted(set(map(str, seen)))}"
    assert result.steps == 4 and 0.0 <= result.best_value <= 1.0
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["loss"] == r["loss"] for r in records if r["phase"] == "train")  # finite, not NaN


def test_training_reads_the_resized_copy_when_it_is_large_enough(tmp_path: Path) -> None:
    from daml_cli.data.preparers.base import PrepareOptions
    from daml_cli.data.preparers.flow import prepare_dataset
    from daml_cli.train.training_data import training_image_root

    prepare_dataset("digits", tmp_path, PrepareOptions(resize=20))
    dataset = tmp_path / "digits"
    assert training_image_root(dataset, tiny_config(tmp_path, "data.resize=16")) == dataset / "resized-20"
    assert training_image_root(dataset, tiny_config(tmp_path, "data.resize=24")) == dataset
    result = train(tiny_config(tmp_path, "train.iterations=2", "train.eval_every=0"), tmp_path / "run")
    assert result.steps == 2
