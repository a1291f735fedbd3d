"""How the training loop tells the outside world about progress, without knowing about terminals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from daml_cli.train.metrics_files import MetricsCsv, tensorboard_log


class TrainReporter(Protocol):
    def start(self, total_steps: int, first_step: int) -> None: ...

    def step(
        self, step: int, terms: dict[str, float], images_per_second: float, data_wait: float = 0.0, stage: str = ""
    ) -> None:
        """`data_wait`: the share of step time spent waiting for the input pipeline; `stage`: the training
        phase (DAML: pretrain, gen_warmup, joint; "" for a single-phase run)."""

    def evaluation(self, step: int, metrics: dict[str, float], is_best: bool) -> None: ...

    def warn(self, message: str) -> None: ...

    def finish(self) -> None: ...


class SilentReporter:
    """Reports nothing (library use and tests)."""

    def start(self, total_steps: int, first_step: int) -> None: ...

    def step(
        self, step: int, terms: dict[str, float], images_per_second: float, data_wait: float = 0.0, stage: str = ""
    ) -> None: ...

    def evaluation(self, step: int, metrics: dict[str, float], is_best: bool) -> None: ...

    def warn(self, message: str) -> None: ...

    def finish(self) -> None: ...


class MetricsLog:
    """Appends one JSON object per line to `metrics.jsonl`, flushed at once so a crash loses nothing.

    The same records go to ``metrics.csv`` beside it, and to TensorBoard event files under ``tensorboard/``
    when that package is installed; `write_curves` draws ``curves.png`` from the whole JSONL file.
    """

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled  # only the main process of a distributed run writes
        self.csv = MetricsCsv(path.with_suffix(".csv")) if enabled else None
        self.tensorboard = tensorboard_log(path.parent / "tensorboard") if enabled else None

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=False) + "\n")
        if self.csv is not None:
            self.csv.write(record)
        if self.tensorboard is not None:
            self.tensorboard.write(record)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def write_curves(self, title: str) -> Path | None:
        """``curves.png`` beside the log: loss terms and validation metrics against the step."""
        if not self.enabled:
            return None
        from daml_cli.report.curves import write_curves

        return write_curves(self.records(), self.path.parent / "curves.png", title)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
