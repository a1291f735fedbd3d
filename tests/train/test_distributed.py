"""Data parallelism on CPU with gloo: two processes give the single-process loss and gradients."""

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
from daml_cli.train.objective import build_objective
from tests.conftest import TINY

BATCH_CLASSES, PER_CLASS = 4, 3


def _config(daml: bool):
    overrides = [
        "model.width=8", "model.embedding_dim=8", "model.freeze_bn=true", "train.channels_last=false",
        f"sampler.classes_per_batch={BATCH_CLASSES}", f"sampler.images_per_class={PER_CLASS}", "loss.triplets=all",
        f"daml.enabled={'true' if daml else 'false'}",
    ]
    return load_config("digits-triplet", overrides)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    images = torch.randn(BATCH_CLASSES * PER_CLASS, 3, 16, 16, generator=generator)
    labels = torch.arange(BATCH_CLASSES).repeat_interleave(PER_CLASS)
    return images, labels


def _step(context: StepContext, images: torch.Tensor, labels: torch.Tensor, daml: bool) -> dict[str, object]:
    config = _config(daml)
    torch.manual_seed(0)
    model = build_model(config.model)
    objective = build_objective(model, build_loss(config.loss), config, context)
    terms = objective.train_step(images, labels, step=0)
    params = dict(model.named_parameters())
    if daml:
        params.update({f"generator.{k}": v for k, v in objective.generator.named_parameters()})
    return {"loss": float(terms["loss"]), "grads": {k: p.grad.clone() for k, p in params.items() if p.grad is not None}}


def _worker(rank: int, world: int, init_file: str, out_dir: str, daml: bool) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        images, labels = _batch()
        share = Distributed(rank=rank, world_size=world)
        result = _step(StepContext(distributed=share), share.rank_share(images), share.rank_share(labels), daml)
        torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
        # Leave together: a rank that tears down its gloo connections while the other is still finishing its
        # last collective makes that rank fail ("connection closed by peer"), at random under a loaded machine.
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("daml", [False, True], ids=["baseline", "daml"])
def test_two_gloo_processes_match_one_process(tmp_path: Path, daml: bool) -> None:
    images, labels = _batch()
    single = _step(StepContext(), images, labels, daml)
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path), daml), nprocs=2, join=True)
    for rank in range(2):
        result = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert result["loss"] == pytest.approx(single["loss"], rel=1e-5, abs=1e-7)
        assert set(result["grads"]) == set(single["grads"])
        for name, grad in single["grads"].items():
            torch.testing.assert_close(result["grads"][name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_rank_shares_hold_distinct_whole_classes() -> None:
    labels = [c for c in range(20) for _ in range(6)]
    sampler = PKBatchSampler(labels, classes_per_batch=8, images_per_class=3, seed=2)
    for step in range(5):
        items = sampler.batch_items(step)
        shares = [Distributed(rank=r, world_size=2).rank_share(items) for r in range(2)]
        classes = [{labels[i] for i, _ in share} for share in shares]
        assert len(classes[0]) == len(classes[1]) == 4 and not classes[0] & classes[1]
        assert shares[0] + shares[1] == items


def test_torchrun_trains_from_the_cli(digits_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    sets = [arg for item in [*TINY, "sampler.classes_per_batch=2"] for arg in ("--set", item)]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "daml_cli",
        "train", "--preset", "digits-triplet", "--data-root", str(digits_root), "--out", str(run), "--device", "cpu", *sets,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["phase"] == "train"] == [2, 4, 6]  # written once, by rank 0
    assert (run / "checkpoints" / "best.pt").is_file()
    assert done.stderr.count("trained 6 steps") == 1  # only rank 0 reports
