"""`daml visualize`: a 2-D t-SNE map of an embeddings file, coloured by class (a PNG)."""

from __future__ import annotations

from pathlib import Path

import typer


def visualize(
    embeddings: Path = typer.Argument(..., help="EMB.npz written by `daml embed`."),
    out: Path = typer.Option(..., "--out", "-o", help="PNG file to write."),
    max_points: int = typer.Option(5000, "--max-points", help="Plot a seeded random sample of at most this many points."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the sample and of t-SNE."),
    size: int = typer.Option(800, "--size", help="Width and height of the image in pixels."),
    iterations: int = typer.Option(1000, "--iterations", help="t-SNE optimisation steps (at least 250)."),
) -> None:
    """Draw the t-SNE map of embeddings; an unlabelled file is drawn in one colour."""
    from daml_cli.cli.progress import console, results
    from daml_cli.report.embedding_map import plot_embeddings_file
    from daml_cli.safety.outputs import check_output_file

    check_output_file(out, "--out", reads=[("the embeddings file", embeddings)])

    with console.status("t-SNE"):
        summary = plot_embeddings_file(embeddings, out, max_points=max_points, seed=seed, size=size, iterations=iterations)
    classes = "unlabelled, one colour" if summary.classes is None else f"{summary.classes} classes"
    sample = f"{summary.plotted} of {summary.total}" if summary.plotted < summary.total else f"{summary.total}"
    from daml_cli.safety.terminal import for_rich

    results.print(f"wrote {for_rich(summary.out)}: t-SNE of {sample} embeddings ({classes})", highlight=False, soft_wrap=True)
