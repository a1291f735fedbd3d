"""`daml demo`: prepare, train, evaluate and retrieve on the bundled handwritten digits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from daml_cli.report.results import QueryResult


def demo(
    workdir: Path = typer.Option(Path("demo"), "--workdir", help="Folder for the data, the run and its outputs."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """The whole workflow on scikit-learn's digits (train 0-4, test 5-9) in about a minute on a CPU."""
    from daml_cli.cli.progress import RichTrainReporter, console, results
    from daml_cli.cli.tables import metrics_table
    from daml_cli.demo import run_demo
    from daml_cli.safety.terminal import for_rich

    outcome = run_demo(workdir, device, RichTrainReporter())
    results.print("test digits 5-9, never seen in training:")  # a title this long would wrap over the narrow table
    results.print(metrics_table(outcome.metrics, title=""))
    for query in outcome.retrieval.queries:
        for line in retrieval_lines(query):
            results.print(for_rich(line))
    timings = ", ".join(f"{name} {value:.1f} s" for name, value in outcome.seconds.items())
    console.print(f"timings: {timings}")
    console.print(f"run folder: {for_rich(outcome.run_dir)}; retrieval page: {for_rich(outcome.html)}")


def retrieval_lines(query: QueryResult) -> list[str]:
    """Two lines per query: the query file (which may wrap, being a path), then its hits, each written
    LABEL✓ or LABEL✗ with no space inside, so a terminal wraps the list, if ever, only between hits (the
    five of the demo fit one 80-column line)."""
    marks = {True: "✓", False: "✗", None: ""}
    hits = "  ".join(f"{hit.label}{marks[query.is_correct(hit)]}" for hit in query.hits)
    return [f"retrieve {query.query_path} (label {query.query_label})", f"  top-{len(query.hits)} labels: {hits}"]
