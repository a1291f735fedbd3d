"""A t-SNE map of embeddings, coloured by class, drawn with Pillow into a PNG (drawing: report/scatter.py).

Large sets are subsampled (t-SNE is O(N log N) but slow in practice) and high-dimensional embeddings are
first reduced to 50 dimensions with PCA, the usual preprocessing for t-SNE.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from daml_cli.atomic import atomic_path
from daml_cli.embeddings.vectors import as_embedding_matrix, as_label_vector
from daml_cli.errors import DataError
from daml_cli.report.scatter import draw_class_map

MIN_POINTS = 4
PCA_DIMENSIONS = 50
EXACT_MAX_POINTS = 300  # below this exact t-SNE (plain numpy) beats Barnes-Hut's OpenMP start-up costs


def tsne_coordinates(embeddings: np.ndarray, seed: int = 0, max_iter: int = 1000) -> np.ndarray:
    """2-D t-SNE coordinates (N×2) of N×D embeddings, PCA-reduced to 50 dimensions first when D > 50.

    Perplexity is 30 (the usual value) or (N-1)/3 for tiny sets, since it must stay below N.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    data = embeddings.astype(np.float32)
    if data.shape[1] > PCA_DIMENSIONS and data.shape[0] > PCA_DIMENSIONS:
        data = PCA(n_components=PCA_DIMENSIONS, random_state=seed).fit_transform(data)
    perplexity = float(min(30.0, max(1.0, (data.shape[0] - 1) / 3)))
    method = "exact" if data.shape[0] <= EXACT_MAX_POINTS else "barnes_hut"
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, method=method,
                max_iter=max_iter)
    return tsne.fit_transform(data)


def write_tsne_plot(
    embeddings: np.ndarray,
    labels: np.ndarray | list[int] | None,
    out_path: Path | str,
    max_points: int = 5000,
    seed: int = 0,
    size: int = 800,
    max_iter: int = 1000,
    names: dict[int, str] | None = None,
    title: str = "t-SNE map of embeddings",
    caption: str = "",
) -> Path:
    """Plot at most `max_points` embeddings (a seeded random sample) as a coloured t-SNE map PNG.

    `max_iter` is t-SNE's optimisation length (sklearn needs at least 250); `names` maps labels to class
    names for the legend and the centroid labels; the plot area is size×size pixels.
    """
    matrix = as_embedding_matrix(embeddings, "embeddings")
    count = matrix.shape[0]
    label_vector = None if labels is None else as_label_vector(labels, count, "labels")
    if max_points < MIN_POINTS:
        raise DataError(f"max_points must be at least {MIN_POINTS}, got {max_points}")
    if count < MIN_POINTS:
        raise DataError(f"t-SNE needs at least {MIN_POINTS} embeddings, got {count}")
    if matrix.shape[1] < 2:
        raise DataError("t-SNE needs embeddings of at least 2 dimensions")
    if count > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(count, size=max_points, replace=False))
        matrix = matrix[keep]
        label_vector = None if label_vector is None else label_vector[keep]
    points = tsne_coordinates(matrix, seed, max_iter)
    image = draw_class_map(points, label_vector, names or {}, title, caption, size, seed).image
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        image.save(tmp, format="PNG")
    return out_path
