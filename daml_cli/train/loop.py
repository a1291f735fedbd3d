"""The training loop: P×K batches -> objective step -> logs, periodic validation, checkpoints."""

from __future__ import annotations

import dataclasses
import math
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from daml_cli import __version__
from daml_cli.atomic import atomic_write_text
from daml_cli.config.loading import dump_config
from daml_cli.config.schema import RunConfig
from daml_cli.config.validate import to_dict
from daml_cli.data.dataset import ManifestDataset
from daml_cli.data.manifest import Manifest, read_manifest
from daml_cli.data.resized import read_resized_info
from daml_cli.data.sampler import PKBatchSampler, build_sampler
from daml_cli.data.splits import training_splits
from daml_cli.data.transforms import preprocessing_spec, train_transform
from daml_cli.errors import DamlError, TrainingInterrupted
from daml_cli.losses.registry import build_loss
from daml_cli.metrics.evaluate import evaluate_embeddings
from daml_cli.models.checkpoint import Checkpoint, fit_state, load_checkpoint, save_checkpoint
from daml_cli.models.device import resolve_device
from daml_cli.models.embedder import embed_paths
from daml_cli.models.embedding import EmbeddingModel, build_model
from daml_cli.train.context import StepContext
from daml_cli.train.distributed import Distributed, check_batch_covers_ranks, from_environment
from daml_cli.train.init_weights import init_from_checkpoint
from daml_cli.train.objective import Objective, build_objective
from daml_cli.train.precision import resolve_precision
from daml_cli.train.reporting import MetricsLog, SilentReporter, TrainReporter
from daml_cli.train.run_dir import RunDir
from daml_cli.train.schedule import check_schedule, lr_factor


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    best_metric: str
    best_value: float | None
    last_validation: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    is_main: bool = True  # False on the other processes of a distributed run


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def dataset_dir(config: RunConfig) -> Path:
    return Path(config.data.root) / config.data.dataset


def training_image_root(dataset: Path, config: RunConfig) -> Path:
    """The resized copy written by ``prepare --resize N`` when N covers ``data.resize``, else the originals."""
    info = read_resized_info(dataset)
    if info is not None and int(info.get("size", 0)) >= config.data.resize:
        return dataset / str(info["folder"])
    return dataset


class RankShare(torch.utils.data.Sampler):
    """This process's share of every global batch the P×K sampler draws (all of it on one process)."""

    def __init__(self, sampler: PKBatchSampler, dist: Distributed) -> None:
        self.sampler = sampler
        self.dist = dist

    def __iter__(self):  # type: ignore[no-untyped-def]
        for items in self.sampler:
            yield self.dist.rank_share(items)


class Trainer:
    """Holds everything a run needs; `run()` trains from the current step to `train.iterations`."""

    def __init__(self, config: RunConfig, run_dir: Path, reporter: TrainReporter | None = None) -> None:
        self.config = config
        self.run_dir = RunDir(Path(run_dir))
        self.device = resolve_device(config.device)
        self.dist: Distributed = from_environment(self.device.type)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        # Any process count works: each rank takes a contiguous share and the gather restores the batch order,
        # so the triplet sampler's [anchors; positives; negatives] layout survives uneven shares too.
        check_schedule(config.optim.scheduler, config.optim.warmup_steps, config.train.iterations)
        self.reporter = (reporter or SilentReporter()) if self.dist.is_main else SilentReporter()
        self.manifest: Manifest = read_manifest(dataset_dir(config))
        self.train_rows, self.val_rows = training_splits(self.manifest, config.data.val_classes, config.seed)
        seed_everything(config.seed)
        self.model: EmbeddingModel = self._build_model()
        self.loss = build_loss(config.loss)
        self.context = StepContext(resolve_precision(config.train.amp, self.device), self.dist)
        self.objective: Objective = build_objective(self.model, self.loss, config, self.context)
        self.preprocessing = preprocessing_spec(config.data)
        self.dataset = ManifestDataset(
            self.train_rows,
            training_image_root(self.manifest.root, config),
            train_transform(config.data),
            cache_bytes=config.data.cache_mb * 2**20,
        )
        self.sampler = build_sampler(self.dataset.labels.tolist(), config)
        check_batch_covers_ranks(self.sampler.batch_size, self.dist.world_size)
        self.step = 0
        self.best_value: float | None = None
        self.last_validation: dict[str, float] = {}
        self.stop_signal: int | None = None

    def _build_model(self) -> EmbeddingModel:
        model = build_model(self.config.model)
        if self.dist.enabled and self.device.type == "cuda":
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = model.to(self.device)
        if self.config.train.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.dist.broadcast_parameters(model)
        if self.config.train.compile:
            model.trunk.compile()  # in place: state-dict keys stay those of the plain module
        return model

    # -- checkpoints -------------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(
            config=to_dict(self.config),
            preprocessing=self.preprocessing,
            step=self.step,
            model=self.model.state_dict(),
            objective=self.objective.state_dict(),
            best={"metric": self.config.train.select_metric, "value": self.best_value},
            rng={"torch": torch.get_rng_state()},
            daml_version=__version__,
        )

    def restore(self, path: Path) -> None:
        checkpoint = load_checkpoint(path)
        fit_state(self.model, checkpoint.model, path)
        fit_state(self.objective, checkpoint.objective, path)
        self.step = checkpoint.step
        self.best_value = checkpoint.best.get("value")
        if checkpoint.rng is not None:
            torch.set_rng_state(checkpoint.rng["torch"])

    def start_from(self, checkpoint: str) -> RunConfig:
        """Copy trained trunk/neck/embedder weights into this fresh run; the config records file and hash."""
        report = init_from_checkpoint(self.model, checkpoint, self.config.train.init_sha256)
        train_config = dataclasses.replace(self.config.train, init=report.path, init_sha256=report.sha256)
        self.config = dataclasses.replace(self.config, train=train_config)
        return self.config

    # -- validation --------------------------------------------------------------------------------
    def validate(self) -> dict[str, float]:
        if not self.val_rows:
            return {}
        paths = [self.manifest.root / row.path for row in self.val_rows]
        embeddings = embed_paths(
            self.model, paths, self.preprocessing, self.device, self.config.train.batch_size_eval, self.config.data.workers
        )
        labels = np.array([row.label for row in self.val_rows])
        result = evaluate_embeddings(embeddings, labels, ks=self.config.eval.k, seed=self.config.seed)
        return dict(result.metrics)

    def evaluate_and_checkpoint(self, log: MetricsLog) -> None:
        """Validate and write checkpoints on the main process; the others wait for it."""
        if not self.dist.is_main:
            self.dist.barrier()
            return
        self._evaluate_and_checkpoint(log)
        self.dist.barrier()

    def _evaluate_and_checkpoint(self, log: MetricsLog) -> None:
        metrics = self.validate()
        key = self.config.train.select_metric
        is_best = False
        if metrics:
            if key not in metrics:
                raise DamlError(f"'train.select_metric' is '{key}' but validation reports {', '.join(metrics)}")
            value = metrics[key]
            is_best = self.best_value is None or value > self.best_value
            if is_best:
                self.best_value = value
            self.last_validation = metrics
            log.write({"step": self.step, "phase": "val", **metrics, "best": is_best})
            self.reporter.evaluation(self.step, metrics, is_best)
        checkpoint = self.checkpoint()
        save_checkpoint(self.run_dir.last, checkpoint)
        if is_best or not self.val_rows:
            save_checkpoint(self.run_dir.best, checkpoint)
        method = ("DAML + " if self.config.daml.enabled else "") + self.config.loss.name
        log.write_curves(f"{self.run_dir.root.name}: {method} on {self.config.data.dataset}, step {self.step}")

    # -- the loop ----------------------------------------------------------------------------------
    def _request_stop(self, signum: int, frame: object) -> None:
        self.stop_signal = signum

    def run(self) -> TrainResult:
        """Train to `train.iterations`; SIGINT/SIGTERM stop it after writing last.pt at the current step."""
        handled = (signal.SIGINT, signal.SIGTERM)
        if threading.current_thread() is not threading.main_thread():
            return self._run()
        previous = {signum: signal.signal(signum, self._request_stop) for signum in handled}
        try:
            return self._run()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _loader(self) -> torch.utils.data.DataLoader:
        self.sampler.step = self.step
        workers = self.config.data.workers
        return torch.utils.data.DataLoader(
            self.dataset,
            batch_sampler=RankShare(self.sampler, self.dist),
            generator=torch.Generator(),  # keeps the global RNG untouched, so resumed runs match
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=workers > 0,
        )

    def _check_finite(self, values: dict[str, float]) -> None:
        bad = next((name for name in ("loss", "j") if name in values and not math.isfinite(values[name])), None)
        if bad is None:
            return
        kept = f"the last good checkpoint is {self.run_dir.last}" if self.run_dir.last.exists() else "no checkpoint was written"
        what = "the loss" if bad == "loss" else "DAML's objective J"
        raise DamlError(f"{what} became {values[bad]} at step {self.step}; training stopped", f"lower the learning rates; {kept}")

    def _stop_if_signalled(self) -> None:
        if not self.dist.any_flag(self.stop_signal is not None):
            return
        if self.dist.is_main:
            save_checkpoint(self.run_dir.last, self.checkpoint())
        self.dist.barrier()
        name = signal.Signals(self.stop_signal).name if self.stop_signal is not None else "a stop signal"
        raise TrainingInterrupted(
            f"{name} received: stopped at step {self.step} and saved {self.run_dir.last}",
            f"continue with `daml train --out {self.run_dir.root} --resume`",
        )

    def _run(self) -> TrainResult:
        config = self.config
        total, eval_every, log_every = config.train.iterations, config.train.eval_every, config.train.log_every
        log = MetricsLog(self.run_dir.metrics, enabled=self.dist.is_main)
        if not self.val_rows:
            self.reporter.warn("no validation classes (data.val_classes=0): best.pt is the last checkpoint")
        started = window_start = time.perf_counter()
        window_images, window_wait = 0, 0.0
        batches = iter(self._loader())
        self.reporter.start(total, self.step)
        try:
            while self.step < total:
                waiting = time.perf_counter()
                images, labels = next(batches)
                window_wait += time.perf_counter() - waiting
                images = images.to(self.device, non_blocking=True)
                if config.train.channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
                labels = labels.to(self.device, non_blocking=True)
                self.context.precision.lr_factor = lr_factor(
                    self.step, total, config.optim.scheduler, config.optim.warmup_steps
                )
                stage = self.objective.stage(self.step)
                terms = self.objective.train_step(images, labels, self.step)
                self.step += 1
                window_images += self.sampler.batch_size  # the global batch, however it is shared
                values = {name: float(value) for name, value in terms.items()}
                self._check_finite(values)
                elapsed = time.perf_counter() - window_start
                rate = window_images / elapsed if elapsed > 0 else 0.0
                wait_share = window_wait / elapsed if elapsed > 0 else 0.0
                self.reporter.step(self.step, values, rate, wait_share, stage=stage)
                for message in self.objective.drain_warnings():
                    self.reporter.warn(message)
                    log.write({"step": self.step, "phase": "warning", "message": message})
                if self.step % log_every == 0 or self.step == total:
                    log.write(
                        {"step": self.step, "phase": "train", **({"stage": stage} if stage else {}), **values,
                         "images_per_s": round(rate, 2),
                         "data_wait": round(wait_share, 4)}
                    )
                    window_start, window_images, window_wait = time.perf_counter(), 0, 0.0
                if (eval_every and self.step % eval_every == 0) or self.step == total:
                    self.evaluate_and_checkpoint(log)
                self._stop_if_signalled()
        finally:
            self.reporter.finish()
            log.close()
        return TrainResult(
            run_dir=self.run_dir.root,
            steps=self.step,
            best_metric=config.train.select_metric,
            best_value=self.best_value,
            last_validation=self.last_validation,
            seconds=time.perf_counter() - started,
            is_main=self.dist.is_main,
        )

def train(
    config: RunConfig, run_dir: Path, resume: bool = False, preset: str | None = None, reporter: TrainReporter | None = None
) -> TrainResult:
    """Train a model into `run_dir` (new, or continued from its last.pt with `resume`)."""
    run = RunDir(Path(run_dir))
    if resume:
        run.check_resumable()
    else:
        run.check_fresh()
    trainer = Trainer(config, run.root, reporter)
    if trainer.dist.is_main:
        run.checkpoints.mkdir(parents=True, exist_ok=True)
    trainer.dist.barrier()
    if resume:
        trainer.restore(run.last)
    elif config.train.init:
        config = trainer.start_from(config.train.init)
    if trainer.dist.is_main:
        atomic_write_text(run.config, dump_config(config, preset))
    return trainer.run()
