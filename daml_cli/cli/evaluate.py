"""`daml evaluate`: Recall@K, NMI, F1, MAP@R and R-precision of a model or an embeddings file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from daml_cli.errors import ConfigError


def parse_int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated integers, got '{text}'", f"e.g. {option} 1,2,4,8") from None
    if not values or min(values) < 1:
        raise ConfigError(f"{option} needs integers of at least 1, got '{text}'")
    return values


def evaluate(
    run: Optional[Path] = typer.Argument(None, help="Run folder or checkpoint to embed the split with."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Folder holding prepared datasets."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset name (default: the run's)."),
    split: str = typer.Option("test", "--split", help="Manifest split to evaluate."),
    embeddings: Optional[Path] = typer.Option(None, "--embeddings", help="EMB.npz from `daml embed` instead of a model."),
    k: Optional[str] = typer.Option(None, "--k", help="Recall@K values, e.g. 1,2,4,8 (default: the run's)."),
    metrics: str = typer.Option("recall,nmi,f1,map@r,r_precision", "--metrics", help="Metrics to compute."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the metrics as a flat JSON object."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    seed: int = typer.Option(0, "--seed", help="k-means seed."),
) -> None:
    """Evaluate retrieval and clustering quality on a class-disjoint split."""
    from daml_cli.atomic import atomic_write_text
    from daml_cli.cli.tables import metrics_table
    from daml_cli.cli.progress import LazyBar, console, results
    from daml_cli.inference.evaluation import evaluate_source

    if (run is None) == (embeddings is None):
        raise ConfigError("give either a run folder/checkpoint or --embeddings EMB.npz", "e.g. daml evaluate runs/demo --data-root data")
    ks = parse_int_list(k, "--k") if k else None
    wanted = [name.strip() for name in metrics.split(",") if name.strip()]
    with LazyBar("embed") as bar:
        outcome = evaluate_source(
            run=run, embeddings=embeddings, data_root=data_root, dataset=dataset, split=split, ks=ks,
            metrics=wanted, device=device, seed=seed, on_batch=bar.advance, on_total=bar.total,
        )
    results.print(metrics_table(outcome.result.metrics, title=outcome.title))
    console.print(f"k-NN backend: {outcome.result.backend}; {outcome.count} items" + (
        f"; {outcome.result.excluded_queries} queries without another item of their class were left out"
        if outcome.result.excluded_queries else ""))
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(outcome.result.metrics, indent=2) + "\n")
