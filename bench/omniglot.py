"""Omniglot benchmark: baseline vs DAML, triplet and N-pair, several seeds, same budget; plus DAML's step-time
overhead. Writes one JSON per run and the Markdown tables (OUT/table.md) that docs/results/omniglot.md quotes.

Protocol (see ../shared/datasets/omniglot/README.md): train on images_background_small1 (136 characters),
select best.pt on validation characters carved from those training classes, and report on the characters of
images_background_small2 whose alphabets are not in small1 (106 characters). Every run uses the preset
``omniglot-{loss}`` (baseline) or ``omniglot-{loss}-daml`` with the same ``--set`` overrides, iterations and
seeds. Runs already finished in --out are reused, so an interrupted benchmark continues where it stopped.

    python bench/omniglot.py --data-root /tmp/omni --out /tmp/omni-bench --iterations 400 --seeds 0 1 2

The training images are decoded once and kept in memory (the presets turn augmentation off, so every
epoch sees the same tensors); this changes no number, only the wall time.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from daml_cli.atomic import atomic_write_text  # noqa: E402
from daml_cli.config.loading import dump_config, load_config  # noqa: E402
from daml_cli.config.schema import RunConfig  # noqa: E402
from daml_cli.data.preparers.base import PrepareOptions  # noqa: E402
from daml_cli.data.preparers.flow import prepare_dataset  # noqa: E402
from daml_cli.inference.evaluation import evaluate_source  # noqa: E402
from daml_cli.train.loop import Trainer  # noqa: E402
from daml_cli.train.run_dir import RunDir  # noqa: E402

METRIC_COLUMNS = ["recall@1", "recall@2", "recall@4", "recall@8", "nmi", "f1", "map@r"]
_DECODED: dict[str, tuple[torch.Tensor, int]] = {}


class InMemory(torch.utils.data.Dataset):
    """A ManifestDataset whose (deterministic) transformed images are decoded once, keyed by path."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.labels = inner.labels

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        index = item[0] if isinstance(item, tuple) else item
        key = self.inner.rows[index].path
        if key not in _DECODED:
            _DECODED[key] = self.inner[index]
        return _DECODED[key]


# Variants: the baseline preset, its DAML twin, and the twin run with the paper's own objective (one summed
# backward, the metric trained on synthetic negatives only, the generator fed the loss's own negatives).
VARIANTS = {
    "baseline": [],
    "daml": [],
    "daml-paper": ["daml.update=joint", "daml.keep_real_loss=false", "daml.negatives=loss", "daml.lambda_metric=1.0"],
}


def run_config(loss: str, variant: str, seed: int, args: argparse.Namespace) -> tuple[str, RunConfig]:
    preset = f"omniglot-{loss}" + ("" if variant == "baseline" else "-daml")
    overrides = [f"train.iterations={args.iterations}", f"train.eval_every={args.eval_every}", *args.set]
    if variant != "baseline":
        overrides.extend(VARIANTS[variant])
        overrides.append(f"daml.pretrain_iters={round(args.pretrain_fraction * args.iterations)}")
        overrides.extend(args.daml_set)
    config = load_config(preset, overrides, {"data.root": str(args.data_root), "seed": seed, "device": "cpu"})
    if config.data.augment:
        raise SystemExit(f"{preset}: the in-memory cache needs data.augment=false")
    return preset, config


def train_one(preset: str, config: RunConfig, run_dir: Path) -> float:
    """`daml.train.loop.train` for a fresh run, with the decoded-image cache; returns training seconds."""
    run = RunDir(run_dir)
    run.check_fresh()
    trainer = Trainer(config, run.root)
    trainer.dataset = InMemory(trainer.dataset)
    run.checkpoints.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run.config, dump_config(config, preset))
    return trainer.run().seconds


def benchmark_run(loss: str, variant: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Train (unless already done) and evaluate on the test characters; the result is cached as JSON."""
    name = f"{loss}-{variant}-s{seed}"
    result_path = args.out / f"{name}.json"
    if result_path.is_file():
        record = json.loads(result_path.read_text())
        record.setdefault("best_step", best_step(args.out / name))
        return record
    run_dir = args.out / name
    if run_dir.exists():  # an interrupted run: start it again
        import shutil

        shutil.rmtree(run_dir)
    preset, config = run_config(loss, variant, seed, args)
    started = time.perf_counter()
    train_seconds = train_one(preset, config, run_dir)
    outcome = evaluate_source(
        run_dir, None, args.data_root, None, "test", [1, 2, 4, 8], ["recall", "nmi", "f1", "map@r"], "cpu", 0
    )
    record = {
        "loss": loss,
        "variant": variant,
        "seed": seed,
        "preset": preset,
        "iterations": config.train.iterations,
        "pretrain_iters": config.daml.pretrain_iters if config.daml.enabled else None,
        "train_s": round(train_seconds, 1),
        "wall_s": round(time.perf_counter() - started, 1),
        "best_step": best_step(run_dir),
        "test": outcome.result.metrics,
        "test_images": outcome.count,
    }
    atomic_write_text(result_path, json.dumps(record, indent=2))
    print(f"{name}: R@1 {record['test']['recall@1']:.4f} in {record['wall_s']:.0f} s", flush=True)
    return record


def best_step(run_dir: Path) -> int | None:
    """The step of the checkpoint that validation chose (the last validation record marked best)."""
    steps = [
        record["step"]
        for record in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
        if record.get("phase") == "val" and record.get("best")
    ]
    return steps[-1] if steps else None


# -- step-time overhead --------------------------------------------------------------------------------------
def step_times(loss: str, args: argparse.Namespace) -> dict[str, float]:
    """Median seconds per training step of the baseline and of DAML's joint phase, interleaved in one process.

    Same backbone, same initial weights, same real batches; blocks of steps alternate between the two so
    that load from other processes hits both alike.
    """
    import copy

    from daml_cli.losses.registry import build_loss
    from daml_cli.models.embedding import build_model
    from daml_cli.train.registry import build_objective

    _, base_config = run_config(loss, "baseline", 0, args)
    configs = {"baseline": base_config}
    for variant in dict.fromkeys([*args.variants, *args.extra]):
        if variant != "baseline":
            _, configs[variant] = run_config(loss, variant, 0, args)
            configs[variant].daml.pretrain_iters = 0  # time the joint phase, the one that costs more
            configs[variant].daml.gen_warmup_iters = 0
    trainer = Trainer(base_config, args.out / "overhead-unused")
    dataset = InMemory(trainer.dataset)
    batches = []
    for step, indices in zip(range(4), iter(trainer.sampler)):
        items = [dataset[i] for i in indices]
        batches.append((torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])))
    torch.manual_seed(0)
    model = build_model(base_config.model)
    objectives = {
        name: build_objective(copy.deepcopy(model), build_loss(config.loss), config) for name, config in configs.items()
    }
    samples: dict[str, list[float]] = {name: [] for name in objectives}
    step = 0
    for block in range(args.overhead_blocks + 1):
        for name, objective in objectives.items():
            for _ in range(args.overhead_steps):
                images, labels = batches[step % len(batches)]
                started = time.perf_counter()
                objective.train_step(images, labels, step)
                if block > 0:  # the first block warms up both
                    samples[name].append(time.perf_counter() - started)
                step += 1
    medians: dict[str, float] = {name: statistics.median(values) for name, values in samples.items()}
    for name in configs:
        if name != "baseline":
            medians[f"{name}/baseline"] = medians[name] / medians["baseline"]
    medians["batch"] = int(batches[0][1].shape[0])
    return medians


# -- the table -----------------------------------------------------------------------------------------------
def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def table(records: list[dict[str, Any]], overhead: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    header = "| loss | variant | runs | " + " | ".join(c.replace("recall", "R") for c in METRIC_COLUMNS)
    header += " | wall s/run | best.pt steps |"
    lines = [header, "|" + "---|" * (len(METRIC_COLUMNS) + 5)]
    for loss in args.losses:
        for variant in dict.fromkeys([*args.variants, *args.extra]):
            group = [r for r in records if r["loss"] == loss and r["variant"] == variant]
            if not group:
                continue
            cells = [mean_std([r["test"][c] for r in group]) for c in METRIC_COLUMNS]
            wall = statistics.mean(r["wall_s"] for r in group)
            steps = ", ".join(str(r["best_step"]) for r in group)
            lines.append(f"| {loss} | {variant} | {len(group)} | " + " | ".join(cells) + f" | {wall:.0f} | {steps} |")
    out = ["\n".join(lines)]
    if overhead:
        rows = ["| loss | batch | variant | s/step (median) | / baseline |", "|---|---|---|---|---|"]
        for loss, o in overhead.items():
            rows.append(f"| {loss} | {o['batch']} | baseline | {o['baseline']:.3f} | 1.000 |")
            for name in (k for k in o if k.endswith("/baseline")):
                variant = name.split("/")[0]
                rows.append(f"| {loss} | {o['batch']} | {variant} | {o[variant]:.3f} | {o[name]:.3f} |")
        out.append("\n".join(rows))
    return "\n\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True, help="prepared here first if missing")
    parser.add_argument("--out", type=Path, required=True, help="run folders and per-run JSON results")
    parser.add_argument("--losses", nargs="+", default=["triplet", "npair"])
    parser.add_argument("--variants", nargs="+", default=["baseline", "daml"], choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--extra", nargs="*", default=["daml-paper"], choices=list(VARIANTS), help="variants run on the first seed only")
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--pretrain-fraction", type=float, default=0.25, help="DAML's metric pre-training share")
    parser.add_argument("--set", nargs="*", default=[], help="overrides for every run (key=value)")
    parser.add_argument("--daml-set", nargs="*", default=[], help="overrides for the DAML runs only")
    parser.add_argument("--overhead-steps", type=int, default=3, help="steps per timing block (0 = skip timing)")
    parser.add_argument("--overhead-blocks", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a busy 2-core box)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    prepare_dataset("omniglot", args.data_root, PrepareOptions())
    torch.set_num_threads(args.threads)
    overhead = {}
    if args.overhead_steps > 0:
        overhead_path = args.out / "overhead.json"
        if overhead_path.is_file():
            overhead = json.loads(overhead_path.read_text())
        else:
            overhead = {loss: step_times(loss, args) for loss in args.losses}
            atomic_write_text(overhead_path, json.dumps(overhead, indent=2))
        for loss, o in overhead.items():
            ratios = ", ".join(f"{k} = {v:.3f}" for k, v in o.items() if k.endswith("/baseline"))
            print(f"overhead {loss}: step time {ratios}", flush=True)
    records = [
        benchmark_run(loss, variant, seed, args)
        for loss in args.losses
        for seed in args.seeds
        for variant in args.variants
    ]
    records += [benchmark_run(loss, variant, args.seeds[0], args) for loss in args.losses for variant in args.extra]
    text = table(records, overhead, args)
    print(text)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    atomic_write_text(args.out / "table.md", text + "\n")
    print(f"tables written to {args.out / 'table.md'}")


if __name__ == "__main__":
    main()
