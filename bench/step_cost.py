"""What each synthesis method costs per training step against its base loss (CPU by default).

Every method runs its real objective (`build_objective`, the same code `daml train` runs) on the Omniglot
study's model and batch (small CNN, 28 px, 32 classes × 4 images), on a fixed in-memory batch, so only the
step itself is timed (no data loading). Methods run interleaved, in a fresh random order each round; each
round times `--steps` steps of every method after `--warmup` untimed ones. Reported per method: median
milliseconds per step over rounds, and the ratio to its base loss measured in the same round (median and
min–max over rounds).

    python bench/step_cost.py                         # 5 rounds × 10 steps, one thread
    python bench/step_cost.py --rounds 3 --threads 2 --json docs/results/step-cost.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from pathlib import Path

import torch

from daml_cli.config.loading import available_presets, load_config
from daml_cli.losses.registry import build_loss
from daml_cli.models.embedding import build_model
from daml_cli.train.context import StepContext
from daml_cli.train.registry import build_objective

# (row name, preset, the row it is compared with)
METHODS = [
    ("triplet", "omniglot-triplet", "triplet"),
    ("triplet + DAML (tuned)", "omniglot-triplet-daml", "triplet"),
    ("triplet + DAML (official)", "omniglot-triplet-daml-official", "triplet"),
    ("triplet + HDML", "omniglot-triplet-hdml", "triplet"),
    ("triplet + EE", "omniglot-triplet-ee", "triplet"),
    ("MS", "omniglot-ms", "MS"),
    ("MS + DAML (tuned)", "omniglot-ms-daml", "MS"),
    ("MS + DAML (official)", "omniglot-ms-daml-official", "MS"),
    ("MS + HDML", "omniglot-ms-hdml", "MS"),
    ("MS + EE", "omniglot-ms-ee", "MS"),
    ("Proxy-Anchor", "omniglot-proxy-anchor", "triplet"),
]
CLASSES = 100  # training classes the proxies (and any classifier) are sized for


def joint_step(config) -> int:  # type: ignore[no-untyped-def]
    """The first step of the method's last phase, so the timed steps are its full (joint) steps."""
    return config.daml.pretrain_iters + config.daml.gen_warmup_iters if config.daml.enabled else 0


def build(preset: str, device: torch.device):  # type: ignore[no-untyped-def]
    config = load_config(preset, ["device=cpu"])
    torch.manual_seed(0)
    model = build_model(config.model).to(device)
    loss = build_loss(config.loss, class_labels=list(range(CLASSES)), embedding_dim=model.embedding_dim)
    if hasattr(loss, "to"):
        loss.to(device)
    return config, build_objective(model, loss, config, StepContext(class_labels=tuple(range(CLASSES))))


def batch(config, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[no-untyped-def]
    p, k, size = config.sampler.classes_per_batch, config.sampler.images_per_class, config.data.image_size
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(p * k, 3, size, size, generator=generator).to(device)
    labels = torch.arange(p).repeat_interleave(k).to(device)
    return images, labels


def time_steps(objective, images, labels, first: int, steps: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for step in range(first, first + steps):
        objective.train_step(images, labels, step)
    return (time.perf_counter() - started) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    present = set(available_presets())
    rows = [row for row in METHODS if row[1] in present]
    missing = [row[1] for row in METHODS if row[1] not in present]
    built = {name: build(preset, device) for name, preset, _ in rows}
    inputs = {name: batch(config, device) for name, (config, _) in built.items()}
    step_of = {name: joint_step(config) for name, (config, _) in built.items()}
    for name, (_, objective) in built.items():
        time_steps(objective, *inputs[name], step_of[name], args.warmup)
        step_of[name] += args.warmup
    times: dict[str, list[float]] = {name: [] for name, _, _ in rows}
    order = [name for name, _, _ in rows]
    shuffle = random.Random(0)
    for _ in range(args.rounds):
        shuffle.shuffle(order)
        for name in order:
            times[name].append(time_steps(built[name][1], *inputs[name], step_of[name], args.steps))
            step_of[name] += args.steps
    report = {"machine": platform.processor() or platform.machine(), "threads": args.threads, "device": args.device,
              "rounds": args.rounds, "steps": args.steps, "missing_presets": missing, "methods": {}}
    print(f"{'method':28} {'ms/step':>9} {'x base (median, min-max)':>28}")
    for name, preset, base in rows:
        ratios = [a / b for a, b in zip(times[name], times[base])]
        entry = {"preset": preset, "base": base, "ms_per_step": times[name], "median_ms": statistics.median(times[name]),
                 "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios)}
        report["methods"][name] = entry
        print(f"{name:28} {entry['median_ms']:9.1f} {entry['ratio_median']:10.2f} ({entry['ratio_min']:.2f}-{entry['ratio_max']:.2f})")
    if missing:
        print(f"not measured (preset missing): {', '.join(missing)}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
