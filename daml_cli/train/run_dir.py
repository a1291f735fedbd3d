"""The run folder: config.yaml, checkpoints/{last,best}.pt, metrics.jsonl; guarded against overwrites."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daml_cli.errors import ConfigError


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def last(self) -> Path:
        return self.checkpoints / "last.pt"

    @property
    def best(self) -> Path:
        return self.checkpoints / "best.pt"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    def has_run(self) -> bool:
        """True once a checkpoint exists; a config.yaml alone is a start that failed (or was killed) before
        its first checkpoint, and a new run may replace it (a live one is protected by the run lock)."""
        return self.last.exists() or self.best.exists()

    def check_fresh(self) -> None:
        """A new run may not reuse a folder that already holds a run (its checkpoints would be lost)."""
        if self.has_run():
            raise ConfigError(
                f"{self.root} already holds a training run",
                "pass --resume to continue it, or choose another --out folder",
            )

    def check_resumable(self) -> None:
        if not self.last.is_file():
            raise ConfigError(f"cannot resume: {self.last} does not exist", "start a new run without --resume")
