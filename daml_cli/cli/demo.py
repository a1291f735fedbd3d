"""`daml demo`: prepare, train, evaluate and retrieve on the bundled handwritten digits."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    workdir: Path = typer.Option(Path("demo"), "--workdir", help="Folder for the data, the run and its outputs."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """The whole workflow on scikit-learn's digits (train 0-4, test 5-9) in about a minute on a CPU."""
    from daml_cli.cli.progress import RichTrainReporter, console, results
    from daml_cli.cli.tables import metrics_table
    from daml_cli.demo import run_demo

    outcome = run_demo(workdir, device, RichTrainReporter())
    results.print(metrics_table(outcome.metrics, title="test digits 5-9 (never seen in training)"))
    for query in outcome.retrieval.queries:
        hits = ", ".join(f"{hit.label}" + ("" if query.is_correct(hit) is None else ("✓" if query.is_correct(hit) else "✗")) for hit in query.hits)
        results.print(f"retrieve {query.query_path} (label {query.query_label}): top-5 labels {hits}")
    timings = ", ".join(f"{name} {value:.1f} s" for name, value in outcome.seconds.items())
    console.print(f"timings: {timings}")
    console.print(f"run folder: {outcome.run_dir}; retrieval page: {outcome.html}")
