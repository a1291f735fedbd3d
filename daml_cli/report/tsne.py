"""A t-SNE scatter plot of embeddings, coloured by class, drawn with Pillow into a PNG.

Large sets are subsampled (t-SNE is O(N log N) but slow in practice) and high-dimensional embeddings are
first reduced to 50 dimensions with PCA, the usual preprocessing for t-SNE.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from daml_cli.atomic import atomic_path
from daml_cli.embeddings.vectors import as_embedding_matrix, as_label_vector
from daml_cli.errors import DataError

MIN_POINTS = 4
PCA_DIMENSIONS = 50
MAX_LEGEND_CLASSES = 30
EXACT_MAX_POINTS = 300  # below this exact t-SNE (plain numpy) beats Barnes-Hut's OpenMP start-up costs


def class_colours(count: int) -> list[tuple[int, int, int]]:
    """`count` well-separated RGB colours: hues stepped by the golden ratio, alternating lightness."""
    colours = []
    for i in range(count):
        hue = (i * 0.618033988749895) % 1.0
        red, green, blue = colorsys.hls_to_rgb(hue, 0.45 if i % 2 else 0.55, 0.75)
        colours.append((int(red * 255), int(green * 255), int(blue * 255)))
    return colours


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
) -> Path:
    """Plot at most `max_points` embeddings (a seeded random sample) as a coloured t-SNE scatter PNG.

    `max_iter` is t-SNE's optimisation length (sklearn needs at least 250).
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
    image = _draw_scatter(points, label_vector, size, seed)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        image.save(tmp, format="PNG")
    return out_path


def _draw_scatter(points: np.ndarray, labels: np.ndarray | None, size: int, seed: int = 0) -> Image.Image:
    """Scale points into a size×size canvas with a margin, draw them as dots, add a legend for few classes.

    Dots are drawn in a seeded random order so no class is systematically painted over by the next.
    """
    margin = 20
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    pixels = margin + (points - low) / span * (size - 2 * margin)
    classes = np.unique(labels) if labels is not None else np.array([0])
    colours = dict(zip(classes.tolist(), class_colours(len(classes))))
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    radius = 3 if len(points) <= 2000 else 2
    for i in np.random.default_rng(seed).permutation(len(pixels)).tolist():
        x, y = pixels[i]
        colour = colours[int(labels[i])] if labels is not None else colours[0]
        draw.ellipse((x - radius, size - y - radius, x + radius, size - y + radius), fill=colour)
    if labels is not None and len(classes) <= MAX_LEGEND_CLASSES:
        font = ImageFont.load_default()
        for row, label in enumerate(classes.tolist()):
            top = 4 + row * 12
            draw.rectangle((size - 70, top + 2, size - 62, top + 10), fill=colours[label])
            draw.text((size - 58, top), str(label), fill=(0, 0, 0), font=font)
    return image
