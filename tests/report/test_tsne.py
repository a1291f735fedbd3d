"""t-SNE plot: PNG written, classes coloured distinctly, sample cap honoured, bad input refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from daml_cli.errors import DataError
from daml_cli.report import tsne
from daml_cli.report.scatter import MARKERS, PALETTE, class_styles, classes_by_size
from daml_cli.report.tsne import write_tsne_plot


def _clusters(count: int = 60, dimension: int = 8, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.arange(count) % classes
    return (rng.standard_normal((classes, dimension))[labels] * 10 + rng.standard_normal((count, dimension))), labels


def test_plot_has_each_class_colour(tmp_path: Path) -> None:
    embeddings, labels = _clusters()
    out = write_tsne_plot(embeddings, labels, tmp_path / "t.png", size=300, max_iter=250, title="T", caption="C")
    image = Image.open(out).convert("RGB")
    assert image.width > 300 and image.height > 300  # the plot area plus title, caption and legend
    colours = {colour for _, colour in image.getcolors(maxcolors=100_000)}
    assert set(PALETTE[:3]) <= colours and not (set(PALETTE[3:]) - {(127, 127, 127)}) & colours  # grey also anti-aliases text


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


def test_class_styles_cycle_colours_then_markers() -> None:
    styles = class_styles(len(PALETTE) * len(MARKERS) + 1)
    assert len(set(styles[:-1])) == len(PALETTE) * len(MARKERS)  # 60 distinct colour x marker styles
    assert styles[-1] == styles[0]  # then they repeat
    assert [s.colour for s in styles[:10]] == list(PALETTE) and {s.marker for s in styles[:10]} == {MARKERS[0]}
    assert styles[10].marker == MARKERS[1]


def test_legend_order_is_largest_class_first() -> None:
    labels = np.array([7] * 2 + [3] * 5 + [9] * 5 + [1] * 1)
    assert classes_by_size(labels) == [3, 9, 7, 1]


def test_many_classes_draw_with_names(tmp_path: Path) -> None:
    embeddings, labels = _clusters(count=424, classes=106)
    names = {c: f"Alphabet_{c // 20}/character{c % 20:02d}" for c in range(106)}
    out = write_tsne_plot(embeddings, labels, tmp_path / "many.png", size=400, max_iter=250, names=names,
                          title="t-SNE map of test embeddings", caption="t-SNE of 424 test embeddings (106 classes).")
    colours = {colour for _, colour in Image.open(out).convert("RGB").getcolors(maxcolors=1_000_000)}
    assert set(PALETTE) <= colours


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="at least 4"):
        write_tsne_plot(np.zeros((3, 2)), None, tmp_path / "t.png")
    with pytest.raises(DataError, match="labels must be a 1-D array of 5"):
        write_tsne_plot(np.zeros((5, 2)), [1, 2], tmp_path / "t.png")
    assert not (tmp_path / "t.png").exists()
