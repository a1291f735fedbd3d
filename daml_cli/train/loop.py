"""The training loop: P×K batches -> objective step -> logs, periodic validation, checkpoints."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from daml_cli import __version__
from daml_cli.atomic import atomic_write_text
from daml_cli.config.loading import dump_config
from daml_cli.config.ranges import check_ranges
from daml_cli.config.schema import RunConfig
from daml_cli.config.synthesis import method_label
from daml_cli.config.validate import to_dict
from daml_cli.data.dataset import ManifestDataset
from daml_cli.data.manifest import Manifest, read_manifest
from daml_cli.data.sampler import build_sampler
from daml_cli.data.splits import training_splits
from daml_cli.data.workers import loader_workers
from daml_cli.data.transforms import preprocessing_spec, train_transform
from daml_cli.errors import DamlError, TrainingInterrupted
from daml_cli.losses.registry import build_loss
from daml_cli.metrics.evaluate import evaluate_embeddings
from daml_cli.models.checkpoint import Checkpoint, fit_state, load_checkpoint, save_checkpoint
from daml_cli.models.device import resolve_device
from daml_cli.models.embedder import embed_paths
from daml_cli.models.embedding import EmbeddingModel
from daml_cli.train.context import StepContext
from daml_cli.train.distributed import Distributed, check_batch_covers_ranks, from_environment
from daml_cli.train.init_weights import init_from_checkpoint
from daml_cli.train.objective import Objective
from daml_cli.train.precision import resolve_precision
from daml_cli.train.registry import build_objective
from daml_cli.train.reporting import MetricsLog, SilentReporter, TrainReporter
from daml_cli.train.run_dir import RunDir
from daml_cli.train.run_guard import guarded_run
from daml_cli.train.schedule import check_schedule
from daml_cli.train.stopping import StopSignals, check_finite
from daml_cli.train.throughput import ThroughputWindow
from daml_cli.train.training_model import seed_everything, training_model
from daml_cli.train.training_data import RankShare, dataset_dir, training_image_root


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    best_value: float | None  # the best validation value of `train.select_metric` (None: no validation)
    last_validation: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    is_main: bool = True  # False on the other processes of a distributed run
    first_step: int = 0  # the step training started from (the checkpoint's step when resumed)

    @property
    def new_steps(self) -> int:
        """Steps trained by this call (fewer than `steps` when a run was resumed)."""
        return self.steps - self.first_step


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
        self.model: EmbeddingModel = training_model(config, self.device, self.dist)
        self.preprocessing = preprocessing_spec(config.data)
        self.dataset = ManifestDataset(
            self.train_rows,
            training_image_root(self.manifest.root, config),
            train_transform(config.data),
            cache_bytes=config.data.cache_mb * 2**20,
        )
        # Proxy-Anchor keeps one proxy per training class: the loss is built knowing the classes.
        self.loss = build_loss(config.loss, class_labels=self.dataset.labels.tolist(), embedding_dim=self.model.embedding_dim)
        if hasattr(self.loss, "to"):
            self.loss.to(self.device)
        self.context = StepContext(resolve_precision(config.train.amp, self.device), self.dist,
                                   class_labels=tuple(self.dataset.labels.tolist()))
        self.objective: Objective = build_objective(self.model, self.loss, config, self.context)
        self.sampler = build_sampler(self.dataset.labels.tolist(), config)
        check_batch_covers_ranks(self.sampler.batch_size, self.dist.world_size)
        if config.sampler.kind != "triplets":
            self._warn_if_fewer_classes(config.sampler.classes_per_batch)
        self.step = 0
        self.best_value: float | None = None
        self.last_validation: dict[str, float] = {}
        self.stop = StopSignals()

    def _warn_if_fewer_classes(self, asked: int) -> None:
        used = self.sampler.classes_per_batch
        if used < asked:
            self.reporter.warn(
                f"sampler.classes_per_batch is {asked} but the training split has only {used} classes with 2 or "
                f"more images: batches hold {used} classes"
            )

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
        paths = [self.manifest.absolute(row) for row in self.val_rows]
        embeddings = embed_paths(
            self.objective.validation_model(max(self.step - 1, 0)), paths, self.preprocessing, self.device, self.config.train.batch_size_eval,
            loader_workers(self.config.data.workers),
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
        log.write_curves(f"{self.run_dir.root.name}: {method_label(self.config)} on {self.config.data.dataset}, step {self.step}")

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        """Train to `train.iterations`; SIGINT/SIGTERM stop it after writing last.pt at the current step."""
        with self.stop.installed():
            return self._run()

    def _loader(self) -> torch.utils.data.DataLoader:
        self.sampler.step = self.step
        workers = loader_workers(self.config.data.workers)
        return torch.utils.data.DataLoader(
            self.dataset,
            batch_sampler=RankShare(self.sampler, self.dist),
            generator=torch.Generator(),  # keeps the global RNG untouched, so resumed runs match
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=workers > 0,
        )

    def _stop_if_signalled(self) -> None:
        if not self.dist.any_flag(self.stop.received is not None):
            return
        if self.dist.is_main:
            save_checkpoint(self.run_dir.last, self.checkpoint())
        self.dist.barrier()
        raise TrainingInterrupted(
            f"{self.stop.name()} received: stopped at step {self.step} and saved {self.run_dir.last}",
            f"continue with `daml train --out {self.run_dir.root} --resume`",
        )

    def _run(self) -> TrainResult:
        config = self.config
        log = MetricsLog(self.run_dir.metrics, enabled=self.dist.is_main)
        if not self.val_rows:
            self.reporter.warn("no validation classes (data.val_classes=0): best.pt is the last checkpoint")
        first_step, started = self.step, time.perf_counter()
        window = ThroughputWindow()
        batches = iter(self._loader())
        self.reporter.start(config.train.iterations, self.step)
        try:
            while self.step < config.train.iterations:
                self._train_one(batches, window, log)
        except BaseException:
            abort = getattr(self.reporter, "abort", None)  # optional: clear the display before the error
            (abort if callable(abort) else self.reporter.finish)()
            raise
        else:
            self.reporter.finish()
        finally:
            log.close()
        return TrainResult(
            run_dir=self.run_dir.root,
            steps=self.step,
            best_value=self.best_value,
            last_validation=self.last_validation,
            seconds=time.perf_counter() - started,
            is_main=self.dist.is_main,
            first_step=first_step,
        )

    def _next_batch(self, batches: object, window: ThroughputWindow) -> tuple[torch.Tensor, torch.Tensor]:
        """The next global batch's share of this process, on the device, timing the wait for it."""
        waiting = time.perf_counter()
        images, labels = next(batches)  # type: ignore[call-overload]
        window.add_wait(time.perf_counter() - waiting)
        images = images.to(self.device, non_blocking=True)
        if self.config.train.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images, labels.to(self.device, non_blocking=True)

    def _train_one(self, batches: object, window: ThroughputWindow, log: MetricsLog) -> None:
        """One step: update, report, log, and validate or checkpoint when one is due."""
        train_config = self.config.train
        images, labels = self._next_batch(batches, window)
        stage = self.objective.stage(self.step)
        terms = self.objective.train_step(images, labels, self.step)
        self.step += 1
        window.add_images(self.sampler.batch_size)  # the global batch, however it is shared
        values = {name: float(value) for name, value in terms.items()}
        check_finite(values, self.step, self.run_dir.last)
        rate, wait_share = window.rates()
        self.reporter.step(self.step, values, rate, wait_share, stage=stage)
        for message in self.objective.drain_warnings():
            self.reporter.warn(message)
            log.write({"step": self.step, "phase": "warning", "message": message})
        last = self.step == train_config.iterations
        if self.step % train_config.log_every == 0 or last:
            log.write(
                {"step": self.step, "phase": "train", **({"stage": stage} if stage else {}), **values,
                 "images_per_s": round(rate, 2), "data_wait": round(wait_share, 4)}
            )
            window.reset()
        if (train_config.eval_every and self.step % train_config.eval_every == 0) or last:
            self.evaluate_and_checkpoint(log)
        self._stop_if_signalled()

def train(
    config: RunConfig, run_dir: Path, resume: bool = False, preset: str | None = None, reporter: TrainReporter | None = None
) -> TrainResult:
    """Train a model into `run_dir` (new, or continued from its last.pt with `resume`).

    Settings are range-checked and the folder is checked and locked before any work; a fresh run that fails
    before its first checkpoint leaves no run folder behind (see `run_guard`).
    """
    check_ranges(config)
    run = RunDir(Path(run_dir))
    with guarded_run(run, resume, config):
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
