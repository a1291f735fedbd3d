"""Rich progress displays for long engine work (the engine reports through small protocols)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from daml_cli.data.progress import ByteBar

console = Console(stderr=True)  # progress and status: stderr, so stdout stays clean for results
results = Console()  # tables and other results


def make_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=console,
    )


def format_terms(terms: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.4g}" for name, value in terms.items())


class RichTrainReporter:
    """Progress bar with the loss, its terms and images/s; validation results printed above it."""

    def __init__(self) -> None:
        self.progress = make_progress()
        self.task = None

    def start(self, total_steps: int, first_step: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("train", total=total_steps, completed=first_step, status="")

    def step(self, step: int, terms: dict[str, float], images_per_second: float, data_wait: float = 0.0) -> None:
        status = f"{format_terms(terms)} {images_per_second:.0f} img/s, data wait {data_wait:.0%}"
        self.progress.update(self.task, completed=step, status=status)

    def evaluation(self, step: int, metrics: dict[str, float], is_best: bool) -> None:
        marker = " (best)" if is_best else ""
        self.progress.console.print(f"step {step} validation: {format_terms(metrics)}{marker}")

    def warn(self, message: str) -> None:
        self.progress.console.print(f"[yellow]warning:[/] {message}")

    def finish(self) -> None:
        self.progress.stop()


class LazyBar:
    """A progress bar that appears only once the work's size is known, so early errors print alone."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.progress: Progress | None = None
        self.task = None

    def total(self, total: int) -> None:
        self.progress = make_progress()
        self.progress.start()
        self.task = self.progress.add_task(self.description, total=total, status="")

    def advance(self, amount: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, amount)

    def __enter__(self) -> LazyBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


@contextlib.contextmanager
def byte_progress(description: str, total: int | None = None) -> Iterator[ByteBar]:
    """A ByteBar on stderr showing bytes done, speed and time left (the `ByteProgress` the CLI hands the engine)."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with progress:
        yield ByteBar(progress, progress.add_task(description, total=total))
