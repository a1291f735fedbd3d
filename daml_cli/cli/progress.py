"""Rich progress displays for long engine work (the engine reports through small protocols).

The training display is two lines per run: the bar line (description, bar, step/total, elapsed, ETA) that
always fits, even at 80 columns, and a status line below it with whatever the trainer reports (loss terms,
phase, images/s, the data-wait share). The bar line's columns never give way to the status text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from daml_cli.data.progress import ByteBar

console = Console(stderr=True)  # progress and status: stderr, so stdout stays clean for results
results = Console()  # tables and other results

DATA_WAIT_HINT = 0.3  # above this share of step time spent waiting for images, suggest more loader workers


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    whole = int(max(0.0, seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class ElapsedEtaColumn(ProgressColumn):
    """``0:01:05 elapsed, ETA 0:03:10``: the two times a user looks for, labelled, in one fixed-width cell."""

    def render(self, task: Task) -> Text:
        remaining = 0.0 if task.finished else task.time_remaining
        return Text(f"{_clock(task.elapsed)} elapsed, ETA {_clock(remaining)}", style="progress.elapsed", no_wrap=True)


class RunProgress(Progress):
    """A progress display whose tasks may carry a ``status`` field, rendered on its own line under the bars.

    A reusable piece: `daml compare` can add its overall task to the same display, above a run's task.
    """

    def get_renderables(self) -> Iterable[RenderableType]:
        table = self.make_tasks_table(self.tasks)
        lines = [Text.from_markup(str(task.fields["status"]), overflow="fold")
                 for task in self.tasks if task.visible and task.fields.get("status")]
        yield Group(table, *lines) if lines else table


def make_progress(target: Console | None = None, get_time: Callable[[], float] | None = None) -> RunProgress:
    return RunProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=None),
        MofNCompleteColumn(),
        ElapsedEtaColumn(),
        console=target or console,
        expand=True,
        get_time=get_time,
    )


def format_terms(terms: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.4g}" for name, value in terms.items())


def compact_terms(terms: dict[str, object]) -> str:
    """``loss 0.412 · j_m 0.3 · phase joint``: numbers with 3 significant digits, other fields as given."""
    parts = []
    for name, value in terms.items():
        shown = f"{value:.3g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        parts.append(f"{name} {shown}")
    return " · ".join(parts)


def train_status(terms: dict[str, object], images_per_second: float, data_wait: float) -> str:
    """The status line (rich markup): loss terms, speed, data-wait share, with a hint when input-bound."""
    from rich.markup import escape

    text = f"{escape(compact_terms(terms))}  |  {images_per_second:.0f} img/s, data wait {data_wait:.0%}"
    if data_wait >= DATA_WAIT_HINT:
        text += " [yellow](input-bound: raise data.workers, e.g. --set data.workers=4)[/]"
    return text


class RichTrainReporter:
    """Training progress: the bar line plus a status line; validation results printed above the display.

    `progress` lets a caller (e.g. a comparison of several runs) share one display; the reporter then adds
    its task to it and leaves starting and stopping the display to the caller.
    """

    def __init__(self, progress: RunProgress | None = None, description: str = "train") -> None:
        self.owns_display = progress is None
        self.progress = progress or make_progress()
        self.description = description
        self.task = None

    def start(self, total_steps: int, first_step: int) -> None:
        if self.owns_display:
            self.progress.start()
        self.task = self.progress.add_task(self.description, total=total_steps, completed=first_step, status="")

    def step(
        self, step: int, terms: dict[str, float], images_per_second: float, data_wait: float = 0.0, **fields: object
    ) -> None:
        """`fields`: anything else the trainer reports (e.g. ``stage``, the DAML phase), shown before the terms.

        An empty field (``stage=""`` outside DAML) is left out of the status line.
        """
        shown: dict[str, object] = {**{k: v for k, v in fields.items() if v != ""}, **terms}
        self.progress.update(self.task, completed=step, status=train_status(shown, images_per_second, data_wait))

    def evaluation(self, step: int, metrics: dict[str, float], is_best: bool) -> None:
        marker = " (best)" if is_best else ""
        self.progress.console.print(f"step {step} validation: {format_terms(metrics)}{marker}", highlight=False)

    def warn(self, message: str) -> None:
        self.progress.console.print(warning_markup(message), highlight=False, soft_wrap=True)

    def finish(self) -> None:
        if self.owns_display:
            self.progress.stop()

    def abort(self) -> None:
        """Stop and clear the bar, so the error that follows is the only line left."""
        self.progress.live.transient = True
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

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.progress is not None:
            if exc_type is not None:  # clear the bar: the error line is all that should remain
                self.progress.live.transient = True
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


def warning_markup(message: str) -> str:
    """``warning: MESSAGE`` for a rich console, the message's markup and control characters escaped."""
    from daml_cli.safety.terminal import for_rich

    return f"[yellow]warning:[/yellow] {for_rich(message)}"


def print_warning(message: str) -> None:
    """A warning from the engine as one line on stderr (the `Warn` callback the CLI hands the engine)."""
    console.print(warning_markup(message), highlight=False, soft_wrap=True)
