"""Run the trainings of a comparison one after another in this process, or N at once in spawned processes.

Progress travels as small event tuples to one `sink` in the calling process (``("start", label, total,
first)``, ``("step", label, step, status)``, ``("print", label, text)``, ``("finish", label)``); worker
processes send them through a queue. A failed run fails the whole batch once the runs already going have
finished; runs not yet started are not started. Errors cross the process boundary as text, never as a
traceback.
"""

from __future__ import annotations

import os
import queue as queue_module
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from daml_cli.compare.plan import RunSpec
from daml_cli.compare.runs import train_and_test
from daml_cli.errors import DamlError, TrainingInterrupted

Event = tuple[Any, ...]
Sink = Callable[[Event], None]


class RunFailed(DamlError):
    """One or more runs of a comparison failed."""


def label(spec: RunSpec) -> str:
    return f"{spec.name} seed {spec.seed}"


class EventReporter:
    """A TrainReporter that turns the loop's callbacks into events for `sink`."""

    def __init__(self, name: str, sink: Sink) -> None:
        self.name = name
        self.sink = sink

    def start(self, total_steps: int, first_step: int) -> None:
        self.sink(("start", self.name, total_steps, first_step))

    def step(
        self, step: int, terms: dict[str, float], images_per_second: float, data_wait: float = 0.0, stage: str = ""
    ) -> None:
        shown = f"{stage} " if stage else ""
        self.sink(("step", self.name, step, f"{shown}loss={terms.get('loss', float('nan')):.4g} {images_per_second:.0f} img/s"))

    def evaluation(self, step: int, metrics: dict[str, float], is_best: bool) -> None:
        shown = " ".join(f"{k}={v:.4f}" for k, v in metrics.items() if k in ("recall@1", "map@r"))
        self.sink(("print", self.name, f"step {step} validation: {shown}{' (best)' if is_best else ''}"))

    def warn(self, message: str) -> None:
        self.sink(("print", self.name, f"warning: {message}"))

    def finish(self) -> None:
        self.sink(("finish", self.name))


def failure_text(spec: RunSpec, error: BaseException) -> str:
    detail = error.one_line() if isinstance(error, DamlError) else f"{type(error).__name__}: {error}"
    return f"{label(spec)} ({spec.run_dir}): {detail}"


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_all(specs: list[RunSpec], jobs: int, sink: Sink, on_done: Callable[[RunSpec, dict[str, Any]], None]) -> None:
    """Train and test every spec; `on_done` receives each finished record in the calling process."""
    if jobs <= 1 or len(specs) <= 1:
        for spec in specs:
            try:
                record = train_and_test(spec, EventReporter(label(spec), sink))
            except TrainingInterrupted as error:
                raise TrainingInterrupted(error.message, "run the same `daml compare` command again to resume") from None
            except DamlError as error:
                raise RunFailed(f"run {failure_text(spec, error)}") from None
            on_done(spec, record)
        return
    _run_in_processes(specs, jobs, sink, on_done)


# -- worker processes ----------------------------------------------------------------------------------------
_QUEUE: Any = None


def _init_worker(threads: int, events: Any) -> None:
    import torch

    global _QUEUE
    _QUEUE = events
    torch.set_num_threads(threads)


def _work(spec: RunSpec) -> tuple[str, Any]:
    try:
        return "ok", train_and_test(spec, EventReporter(label(spec), _QUEUE.put))
    except (TrainingInterrupted, KeyboardInterrupt):  # Ctrl-C reaches every process of the group
        return "interrupted", label(spec)
    except BaseException as error:  # noqa: BLE001 - reported by the parent as one line
        return "error", failure_text(spec, error)


def _run_in_processes(
    specs: list[RunSpec], jobs: int, sink: Sink, on_done: Callable[[RunSpec, dict[str, Any]], None]
) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    threads = max(1, available_cores() // jobs)
    failures: list[str] = []
    interrupted: list[str] = []
    with context.Manager() as manager:
        events = manager.Queue()
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(threads, events)) as pool:
            pending: dict[Future, RunSpec] = {pool.submit(_work, spec): spec for spec in specs}
            try:
                while pending:
                    done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    _drain(events, sink)
                    for future in done:
                        spec = pending.pop(future)
                        if future.cancelled():
                            continue
                        try:
                            status, value = future.result()
                        except Exception as error:  # noqa: BLE001 - a worker that died (killed, out of memory)
                            status, value = "error", failure_text(spec, error)
                        if status == "ok":
                            on_done(spec, value)
                        elif status == "interrupted":
                            interrupted.append(value)
                        else:
                            failures.append(value)
                            for other in pending:
                                other.cancel()  # not started yet: never start it
                _drain(events, sink)
            except KeyboardInterrupt:
                for other in pending:
                    other.cancel()
                raise TrainingInterrupted(
                    "interrupted: the runs going saved their last checkpoint", "run the same `daml compare` command again to resume"
                ) from None
    if interrupted and not failures:
        raise TrainingInterrupted(
            f"interrupted: {', '.join(interrupted)} stopped and saved their last checkpoint",
            "run the same `daml compare` command again to resume",
        )
    if failures:
        more = f" (and {len(failures) - 1} more failed run(s))" if len(failures) > 1 else ""
        raise RunFailed(f"run {failures[0]}{more}")


def _drain(events: Any, sink: Sink) -> None:
    while True:
        try:
            sink(events.get_nowait())
        except (queue_module.Empty, EOFError, OSError):
            return
