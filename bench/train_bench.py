"""Training step-time breakdown, baseline vs DAML, small CNN and GoogLeNet (CPU by default).

For each backbone it runs the real training loop (daml_cli.train.loop.Trainer) for a few steps with the
section timer on, and reports per step: data wait, forward, DAML generator, loss, backward, optimiser
step; training images/s; and the bare backbone's forward+backward rate on the same batch (model(x).sum()
backward + Adam step, no loss, no mining, no data loading), whose ratio to training images/s is the
efficiency figure (goal >= 0.85 on a GPU).

    python bench/train_bench.py                      # both backbones, 8 measured steps each
    python bench/train_bench.py --backbones small_cnn --steps 20
    python bench/train_bench.py --device cuda --amp auto   # on a GPU machine
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from daml_cli.config.loading import load_config
from daml_cli.data.preparers.base import PrepareOptions
from daml_cli.data.preparers.flow import prepare_dataset
from daml_cli.train.loop import Trainer
from daml_cli.train.timing import SectionTimer

SETUPS = {
    # backbone: (preset, overrides, dataset builder)
    "small_cnn": ("omniglot-triplet", ["data.dataset=digits", "data.image_size=28", "data.resize=32", "sampler.classes_per_batch=5",
                                       "sampler.images_per_class=16"]),
    "googlenet": ("cub-triplet", ["model.pretrained=false", "data.dataset=jpegs", "sampler.classes_per_batch=8",
                                  "sampler.images_per_class=4", "data.workers=0"]),
    "resnet50": ("cub-triplet", ["model.backbone=resnet50", "model.pretrained=false", "data.dataset=jpegs",
                                 "sampler.classes_per_batch=8", "sampler.images_per_class=4", "data.workers=0"]),
}
SECTIONS = ("data", "forward", "generator", "loss", "backward", "optimizer")


def make_jpeg_dataset(root: Path, classes: int = 16, per_class: int = 8) -> None:
    """A tiny folder dataset of random 300×250 JPEGs (GoogLeNet needs real-size images, not digits)."""
    source = root / "source"
    rng = np.random.default_rng(0)
    for c in range(classes):
        (source / f"class{c:02d}").mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 255, (250, 300, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(source / f"class{c:02d}" / f"{i}.jpg", quality=90)
    prepare_dataset("folder", root, PrepareOptions(source=source, test_fraction=0.25))
    (root / "folder").rename(root / "jpegs")


def measure_training(
    backbone: str, daml: bool, data_root: Path, steps: int, warmup: int, device: str, amp: str, batch_classes: int | None
) -> dict:
    preset, overrides = SETUPS[backbone]
    if batch_classes:
        overrides = [*overrides, f"sampler.classes_per_batch={batch_classes}"]
    config = load_config(
        preset,
        [*overrides, f"daml.enabled={str(daml).lower()}", "daml.pretrain_iters=0", "daml.gen_warmup_iters=0", f"train.iterations={warmup + steps}", "train.eval_every=0",
         "data.val_classes=0", f"train.amp={amp}", f"train.log_every={warmup + steps}"],
        {"data.root": str(data_root), "device": device},
    )
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(config, Path(run_dir))
        sync = torch.cuda.synchronize if trainer.device.type == "cuda" else None
        trainer.validate = lambda: {}  # type: ignore[method-assign]  # measure training only
        config.train.iterations = warmup
        trainer.run()  # warm-up steps (allocator, cudnn autotuning, first-batch costs)
        timer = SectionTimer(enabled=True, synchronize=sync)
        trainer.context.timer = timer
        trainer.objective.context = trainer.context
        config.train.iterations = warmup + steps
        loader_wait = _patch_loader_wait(trainer)
        started = time.perf_counter()
        trainer.run()
        seconds = time.perf_counter() - started
        batch = trainer.sampler.batch_size
    per_step = {name: timer.totals.get(name, 0.0) / steps for name in SECTIONS if name != "data"}
    per_step["data"] = loader_wait[0] / steps
    return {"per_step": per_step, "step_seconds": seconds / steps, "images_per_s": batch * steps / seconds, "batch": batch, "config": config}


def _patch_loader_wait(trainer: Trainer) -> list[float]:
    """Wrap the trainer's loader so the time spent in next() is added up."""
    total = [0.0]
    make_loader = trainer._loader

    def loader():  # type: ignore[no-untyped-def]
        inner = make_loader()

        class Timed:
            def __iter__(self):  # type: ignore[no-untyped-def]
                iterator = iter(inner)
                while True:
                    started = time.perf_counter()
                    item = next(iterator)
                    total[0] += time.perf_counter() - started
                    yield item

        return Timed()

    trainer._loader = loader  # type: ignore[method-assign]
    return total


def bare_backbone_rate(config, device: str, steps: int, warmup: int) -> float:  # type: ignore[no-untyped-def]
    """Images/s of model(x).sum().backward() + Adam on a fixed batch of the same shape."""
    from daml_cli.models.device import resolve_device
    from daml_cli.models.embedding import build_model
    from daml_cli.train.precision import resolve_precision

    target = resolve_device(device)
    model = build_model(config.model).to(target)
    if config.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    precision = resolve_precision(config.train.amp, target)
    batch = config.sampler.classes_per_batch * config.sampler.images_per_class
    images = torch.randn(batch, 3, config.data.image_size, config.data.image_size, device=target)
    if config.train.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
    sync = torch.cuda.synchronize if target.type == "cuda" else (lambda: None)
    for step in range(warmup + steps):
        if step == warmup:
            sync()
            started = time.perf_counter()
        with precision.autocast():
            out = model(images)
        optimizer.zero_grad(set_to_none=True)
        out.float().sum().backward()
        optimizer.step()
    sync()
    return batch * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["small_cnn", "googlenet"], choices=list(SETUPS))
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", default="auto")
    parser.add_argument("--batch-classes", type=int, help="classes per batch for every backbone (P; K stays)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="train_bench_"))
    prepare_dataset("digits", work, PrepareOptions())
    if {"googlenet", "resnet50"} & set(args.backbones):
        make_jpeg_dataset(work, classes=max(16, 2 * (args.batch_classes or 8)))
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads"
    if args.device != "cpu" and torch.cuda.is_available():
        machine += f", {torch.cuda.get_device_name()}"
    print(f"machine: {machine}")
    header = f"| backbone | variant | batch | {' | '.join(s + ' ms' for s in SECTIONS)} | step ms | img/s | bare fwd+bwd img/s | train/bare |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    results = []
    for backbone in args.backbones:
        rows = {}
        for daml in (False, True):
            rows[daml] = measure_training(backbone, daml, work, args.steps, args.warmup, args.device, args.amp, args.batch_classes)
        bare = bare_backbone_rate(rows[False]["config"], args.device, args.steps, args.warmup)
        for daml, row in rows.items():
            cells = " | ".join(f"{row['per_step'][s] * 1000:.1f}" for s in SECTIONS)
            ratio = row["images_per_s"] / bare
            print(f"| {backbone} | {'DAML' if daml else 'baseline'} | {row['batch']} | {cells} | {row['step_seconds'] * 1000:.1f} | "
                  f"{row['images_per_s']:.1f} | {bare:.1f} | {ratio:.2f} |")
            results.append({"backbone": backbone, "daml": daml, "batch": row["batch"], "per_step_s": row["per_step"],
                            "step_s": row["step_seconds"], "images_per_s": row["images_per_s"], "bare_images_per_s": bare})
        overhead = rows[True]["step_seconds"] / rows[False]["step_seconds"] - 1
        print(f"DAML step-time overhead on {backbone}: {overhead:+.1%}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
