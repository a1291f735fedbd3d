"""The engine behind `daml visualize`: read an EMB.npz file and draw its t-SNE map (report/tsne.py).

An unlabelled file (e.g. embeddings of a query folder) is still drawn, every point in one colour: the map
shows the embedding's structure even without classes, and refusing would only push users to fake labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from daml_cli.embeddings.file import EmbeddingsFile, read_embeddings
from daml_cli.errors import ConfigError
from daml_cli.report.tsne import MIN_POINTS, write_tsne_plot

MIN_SIZE, MAX_SIZE = 100, 8000
MIN_ITERATIONS = 250  # scikit-learn's lower bound for t-SNE


@dataclass
class MapSummary:
    out: Path
    total: int  # embeddings in the file
    plotted: int  # points drawn (the sample)
    classes: int | None  # classes in the whole file; None when unlabelled


def plot_embeddings_file(
    embeddings_path: Path | str,
    out: Path | str,
    max_points: int = 5000,
    seed: int = 0,
    size: int = 800,
    iterations: int = 1000,
) -> MapSummary:
    """Write the t-SNE map of the embeddings in `embeddings_path` as a size×size PNG at `out`."""
    if max_points < MIN_POINTS:
        raise ConfigError(f"--max-points must be at least {MIN_POINTS}, got {max_points}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ConfigError(f"--size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}")
    if iterations < MIN_ITERATIONS:
        raise ConfigError(f"--iterations must be at least {MIN_ITERATIONS}, got {iterations}")
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"{out} is a folder", "pass the PNG file to write, e.g. --out tsne.png")
    stored = read_embeddings(embeddings_path)
    classes = None if stored.labels is None else int(np.unique(stored.labels).size)
    plotted = min(stored.count, max_points)
    names = {int(k): str(v) for k, v in (stored.extra.get("class_names") or {}).items() if str(k).lstrip("-").isdigit()}
    write_tsne_plot(
        stored.embeddings, stored.labels, out, max_points=max_points, seed=seed, size=size, max_iter=iterations,
        names=names, title=map_title(stored, embeddings_path), caption=map_caption(stored, plotted, classes),
    )
    return MapSummary(out, stored.count, plotted, classes)


def map_title(stored: EmbeddingsFile, path: Path | str) -> str:
    split = stored.extra.get("split")
    return f"t-SNE map of {split + ' ' if split else ''}embeddings: {Path(path).name}"


def map_caption(stored: EmbeddingsFile, plotted: int, classes: int | None) -> str:
    """What the map shows and how far to trust it, naming the model (run, checkpoint, step) when known."""
    split = stored.extra.get("split")
    what = f"{plotted}{'' if plotted == stored.count else f' (a seeded sample of {stored.count})'} "
    what += f"{split + ' ' if split else ''}embeddings"
    what += " (unlabelled)" if classes is None else f" ({classes} classes)"
    if stored.checkpoint:
        checkpoint = Path(stored.checkpoint)
        run = checkpoint.parent.parent.name if checkpoint.parent.name == "checkpoints" else checkpoint.parent.name
        step = stored.extra.get("checkpoint_step")
        what += f" from {run}/{checkpoint.name}" + (f" (step {step})" if step is not None else "")
    return (f"t-SNE of {what}. Neighbourhoods are meaningful; distances between clusters, cluster sizes and "
            "axes are not.")
