"""How the training loop tells the outside world about progress, without knowing about terminals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol


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
    """Appends one JSON object per line to `metrics.jsonl`, flushed at once so a crash loses nothing."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled  # only the main process of a distributed run writes

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=False) + "\n")
