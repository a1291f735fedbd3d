"""Data parallelism on CPU with gloo: two or three processes, even or uneven shares, give the single-process
loss, gradients and trained checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from daml_cli.config.loading import load_config
from daml_cli.data.sampler import PKBatchSampler
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import build_model
from daml_cli.train.context import StepContext
from daml_cli.train.distributed import Distributed
from daml_cli.train.registry import build_objective
from tests.conftest import TINY

BATCH_CLASSES, PER_CLASS = 4, 3


def _config(daml: bool, classes: int = BATCH_CLASSES, per_class: int = PER_CLASS):
    overrides = [
        "model.width=8", "model.embedding_dim=8", "model.freeze_bn=true", "train.channels_last=false",
        f"sampler.classes_per_batch={classes}", f"sampler.images_per_class={per_class}", "loss.triplets=all",
        f"daml.enabled={'true' if daml else 'false'}",
    ]
    return load_config("digits-triplet", overrides)


def _batch(classes: int = BATCH_CLASSES, per_class: int = PER_CLASS) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    images = torch.randn(classes * per_class, 3, 16, 16, generator=generator)
    labels = torch.arange(classes).repeat_interleave(per_class)
    return images, labels


def _step(
    context: StepContext, images: torch.Tensor, labels: torch.Tensor, daml: bool,
    classes: int = BATCH_CLASSES, per_class: int = PER_CLASS,
) -> dict[str, object]:
    config = _config(daml, classes, per_class)
    torch.manual_seed(0)
    model = build_model(config.model)
    objective = build_objective(model, build_loss(config.loss), config, context)
    terms = objective.train_step(images, labels, step=0)
    params = dict(model.named_parameters())
    if daml:
        params.update({f"generator.{k}": v for k, v in objective.generator.named_parameters()})
    return {"loss": float(terms["loss"]), "grads": {k: p.grad.clone() for k, p in params.items() if p.grad is not None}}


def _worker(rank: int, world: int, init_file: str, out_dir: str, daml: bool, classes: int, per_class: int) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        images, labels = _batch(classes, per_class)
        share = Distributed(rank=rank, world_size=world)
        result = _step(
            StepContext(distributed=share), share.rank_share(images), share.rank_share(labels), daml, classes, per_class
        )
        torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
        # Leave together: a rank that tears down its gloo connections while the other is still finishing its
        # last collective makes that rank fail ("connection closed by peer"), at random under a loaded machine.
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize(
    ("daml", "world", "classes", "per_class"),
    [(False, 2, BATCH_CLASSES, PER_CLASS), (True, 2, BATCH_CLASSES, PER_CLASS), (True, 3, 5, 2)],
    ids=["baseline-2", "daml-2", "daml-3-uneven"],  # 3 processes: 5 classes x 2 = 10 rows -> shares 4, 3, 3
)
def test_gloo_processes_match_one_process(tmp_path: Path, daml: bool, world: int, classes: int, per_class: int) -> None:
    images, labels = _batch(classes, per_class)
    single = _step(StepContext(), images, labels, daml, classes, per_class)
    mp.spawn(_worker, args=(world, str(tmp_path / "init"), str(tmp_path), daml, classes, per_class), nprocs=world, join=True)
    for rank in range(world):
        result = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert result["loss"] == pytest.approx(single["loss"], rel=1e-5, abs=1e-7)
        assert set(result["grads"]) == set(single["grads"])
        for name, grad in single["grads"].items():
            torch.testing.assert_close(result["grads"][name], grad, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("world", [2, 3, 4, 8])
def test_rank_shares_split_any_batch_in_order(world: int) -> None:
    labels = [c for c in range(20) for _ in range(6)]
    sampler = PKBatchSampler(labels, classes_per_batch=3, images_per_class=5, seed=2)  # 15 rows
    items = sampler.batch_items(0)
    shares = [Distributed(rank=r, world_size=world).rank_share(items) for r in range(world)]
    assert [item for share in shares for item in share] == items
    expected = [15 // world + (1 if r < 15 % world else 0) for r in range(world)]  # numpy.array_split's sizes
    assert [len(share) for share in shares] == expected


def _torchrun(nproc: int, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "daml_cli", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("nproc", [2, 3])
def test_torchrun_checkpoint_equals_one_process(nproc: int, digits_root: Path, tmp_path: Path) -> None:
    """The digits preset's 3 classes x 4 images over 2 processes (6 rows each) or 3 (4 rows each): classes
    are split across ranks."""
    from daml_cli.train.loop import train

    overrides = [*TINY, "model.freeze_bn=true", "train.channels_last=false", "data.workers=0"]
    run = tmp_path / "dist"
    sets = [arg for item in overrides for arg in ("--set", item)]
    done = _torchrun(nproc, "train", "--preset", "digits-triplet", "--data-root", str(digits_root), "--out",
                     str(run), "--device", "cpu", *sets)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["phase"] == "train"] == [2, 4, 6]  # written once, by rank 0
    assert done.stderr.count("trained 6 steps") == 1  # only rank 0 reports
    single = tmp_path / "single"
    train(load_config("digits-triplet", overrides, {"data.root": str(digits_root), "device": "cpu"}), single)
    ours = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]
    theirs = torch.load(single / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert set(ours) == set(theirs)
    worst = max(float((ours[k].double() - theirs[k].double()).abs().max()) for k in theirs if theirs[k].numel())
    print(f"max abs diff torchrun({nproc}) vs one process: {worst:.3g}")
    assert worst <= 1e-5


def test_torchrun_bad_input_prints_one_error(digits_root: Path, tmp_path: Path) -> None:
    done = _torchrun(2, "train", "--preset", "digits-triplet", "--data-root", str(digits_root), "--out",
                     str(tmp_path / "run"), "--device", "cpu", "--set", "sampler.images_per_class=1")
    assert done.returncode != 0
    assert done.stderr.count("error: ") == 1, done.stderr
    assert "images_per_class" in done.stderr
