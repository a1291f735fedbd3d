"""t-SNE plot: PNG written, classes coloured distinctly, sample cap honoured, bad input refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from daml_cli.errors import DataError
from daml_cli.report import tsne
from daml_cli.report.tsne import class_colours, write_tsne_plot


def _clusters(count: int = 60, dimension: int = 8, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.arange(count) % classes
    return (rng.standard_normal((classes, dimension))[labels] * 10 + rng.standard_normal((count, dimension))), labels


def test_plot_has_each_class_colour(tmp_path: Path) -> None:
    embeddings, labels = _clusters()
    out = write_tsne_plot(embeddings, labels, tmp_path / "t.png", size=300, max_iter=250)
    image = Image.open(out).convert("RGB")
    assert image.size == (300, 300)
    colours = {colour for _, colour in image.getcolors(maxcolors=100_000)}
    assert set(class_colours(3)) <= colours


def test_sample_cap_and_unlabelled(tmp_path: Path, monkeypatch) -> None:
    seen: list[int] = []
    real = tsne.tsne_coordinates
    monkeypatch.setattr(tsne, "tsne_coordinates", lambda data, seed, it: seen.append(len(data)) or real(data, seed, it))
    embeddings, _ = _clusters(count=90)
    write_tsne_plot(embeddings, None, tmp_path / "u.png", max_points=40, size=200, max_iter=250)
    assert seen == [40] and (tmp_path / "u.png").stat().st_size > 0


def test_pca_first_for_wide_embeddings() -> None:
    embeddings, _ = _clusters(count=70, dimension=64)
    assert tsne.tsne_coordinates(embeddings.astype(np.float32), max_iter=250).shape == (70, 2)


def test_class_colours_distinct() -> None:
    assert len(set(class_colours(40))) == 40


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="at least 4"):
        write_tsne_plot(np.zeros((3, 2)), None, tmp_path / "t.png")
    with pytest.raises(DataError, match="labels must be a 1-D array of 5"):
        write_tsne_plot(np.zeros((5, 2)), [1, 2], tmp_path / "t.png")
    assert not (tmp_path / "t.png").exists()
