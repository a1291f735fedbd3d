"""`daml embed`: write a split's embeddings (EMB.npz) and optionally a FAISS gallery index."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def embed(
    run: Path = typer.Argument(..., help="Run folder (uses checkpoints/best.pt) or checkpoint file."),
    out: Path = typer.Option(..., "--out", "-o", help="EMB.npz to write (embeddings, labels, paths)."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="Folder holding prepared datasets (default: the run's)."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset name (default: the run's)."),
    split: str = typer.Option("test", "--split", help="Manifest split to embed."),
    index: Optional[Path] = typer.Option(None, "--index", help="Also write a FAISS gallery index (+ INDEX.json metadata)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
) -> None:
    """Embed every image of a split with a trained model."""
    from daml_cli.cli.progress import LazyBar, console
    from daml_cli.inference.embedding_job import embed_to_file

    with LazyBar("embed") as bar:
        summary = embed_to_file(
            run, out, data_root, split, dataset, index, device, on_batch=bar.advance, on_total=bar.total
        )
    if not summary.is_main:
        return  # torchrun: rank 0 writes and reports
    from daml_cli.safety.terminal import for_rich

    where = ""
    if len(summary.shares) > 1:
        where = f" on {len(summary.shares)} processes ({' + '.join(str(n) for n in summary.shares)} rows)"
    console.print(f"wrote {summary.count} embeddings of dimension {summary.dimension} to {for_rich(summary.out)}{where}")
    if summary.index is not None:
        console.print(f"wrote index {for_rich(summary.index)} (+ {for_rich(summary.index.name)}.json)")
