"""`daml evaluate`: Recall@K, NMI, F1, MAP@R and R-precision of a model or an embeddings file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from daml_cli.errors import ConfigError
from daml_cli.safety.terminal import quote


def parse_int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated integers, got {quote(text)}", f"e.g. {option} 1,2,4,8") from None
    if not values or min(values) < 1:
        raise ConfigError(f"{option} needs integers of at least 1, got {quote(text)}")
    return values


def evaluate(
    run: Optional[Path] = typer.Argument(None, metavar="[RUN]", help="Run folder or checkpoint to embed the split with."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", metavar="PATH", help="Folder holding prepared datasets."),
    dataset: Optional[str] = typer.Option(None, "--dataset", metavar="NAME", help="Dataset name (default: the run's)."),
    split: str = typer.Option("test", "--split", metavar="SPLIT", help="Manifest split to evaluate."),
    embeddings: Optional[Path] = typer.Option(None, "--embeddings", metavar="PATH", help="EMB.npz from `daml embed` instead of a model."),
    recall_at: Optional[str] = typer.Option(None, "--recall-at", metavar="K,...", help="Recall@K values, e.g. 1,2,4,8 (default: the run's)."),
    old_k: Optional[str] = typer.Option(None, "--k", hidden=True, help="Old spelling of --recall-at."),
    metrics: str = typer.Option("recall,nmi,f1,map@r,r_precision", "--metrics", metavar="NAME,...", help="Metrics to compute."),
    json_out: Optional[str] = typer.Option(None, "--json", metavar="PATH", help="Also write the metrics as a flat JSON object to PATH (`-`: print it)."),
    device: str = typer.Option("auto", "--device", metavar="DEVICE", help="auto, cpu or cuda."),
    seed: int = typer.Option(0, "--seed", min=0, metavar="N", help="k-means seed."),
    index: Optional[Path] = typer.Option(
        None, "--index", metavar="PATH", help="Gallery index built from these embeddings: compare its neighbours with exact k-NN "
        "(ann_recall@k) and report Recall@K through it (index_recall@K)."
    ),
) -> None:
    """Evaluate retrieval and clustering quality on a class-disjoint split."""
    from daml_cli.cli.outputs import STDOUT, emit_json
    from daml_cli.cli.tables import metrics_table
    from daml_cli.cli.progress import LazyBar, console, results
    from daml_cli.inference.evaluation import evaluate_source

    if (run is None) == (embeddings is None):
        raise ConfigError("give either a run folder/checkpoint or --embeddings EMB.npz", "e.g. daml evaluate runs/demo --data-root data")
    if json_out is not None and json_out != STDOUT:
        from daml_cli.cli.outputs import index_files, run_checkpoint
        from daml_cli.safety.outputs import check_output_file

        reads = [("--embeddings", embeddings), ("the checkpoint", run_checkpoint(run)), *index_files(index)]
        check_output_file(Path(json_out), "--json", reads=reads)
    spelled, k = ("--k", old_k) if old_k is not None else ("--recall-at", recall_at)
    ks = parse_int_list(k, spelled) if k else None
    wanted = [name.strip() for name in metrics.split(",") if name.strip()]
    with LazyBar("embed") as bar:
        outcome = evaluate_source(
            run=run, embeddings=embeddings, data_root=data_root, dataset=dataset, split=split, ks=ks,
            metrics=wanted, device=device, seed=seed, on_batch=bar.advance, on_total=bar.total, index=index,
        )
    from daml_cli.safety.terminal import for_rich

    if json_out != STDOUT:  # with `--json -` stdout holds the JSON alone
        results.print(metrics_table(outcome.result.metrics, title=for_rich(outcome.title)))
        if outcome.index_metrics:
            results.print(metrics_table(outcome.index_metrics, title=for_rich(f"{index.name} vs exact search")))
    console.print(f"k-NN backend: {outcome.result.backend}; {outcome.count} items" + (
        f"; {outcome.result.excluded_queries} queries without another item of their class were left out"
        if outcome.result.excluded_queries else ""))
    if json_out is not None:
        written = emit_json(json_out, outcome.flat_metrics())
        if written is not None:
            console.print(f"wrote {for_rich(written)}", highlight=False, soft_wrap=True)
