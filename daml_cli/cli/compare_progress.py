"""The progress display of `daml compare`: one overall bar (runs done / total) above a bar per active run."""

from __future__ import annotations

from typing import Any

from rich.progress import Progress, TaskID

from daml_cli.cli.progress import make_progress


class CompareDisplay:
    """Consumes the engine's progress events (see `daml_cli.compare.jobs`)."""

    def __init__(self) -> None:
        self.progress: Progress = make_progress()
        self.overall: TaskID | None = None
        self.runs: dict[str, TaskID] = {}

    def plan(self, total: int, reused: int) -> None:
        self.progress.start()
        status = f"{reused} reused" if reused else ""
        self.overall = self.progress.add_task("runs", total=total, completed=reused, status=status)

    def __call__(self, event: tuple[Any, ...]) -> None:
        kind, name = event[0], event[1]
        if kind == "start":
            self.runs[name] = self.progress.add_task(name, total=event[2], completed=event[3], status="")
        elif kind == "step" and name in self.runs:
            self.progress.update(self.runs[name], completed=event[2], status=event[3])
        elif kind == "print":
            self.progress.console.print(f"{name}: {event[2]}")
        elif kind == "finish" and name in self.runs:
            self.progress.remove_task(self.runs.pop(name))
        elif kind == "run-done" and self.overall is not None:
            self.progress.advance(self.overall)

    def close(self) -> None:
        self.progress.stop()
