"""Class names on the t-SNE map never overlap: boxes measured with Pillow's own text metrics (the white
outline included), on a map of a real run's embeddings and on names wanted all at one spot."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from daml_cli.embeddings.file import read_embeddings
from daml_cli.inference.embedding_job import embed_to_file
from daml_cli.report.map_labels import place_labels
from daml_cli.report.scatter import TEXT_SIZE, draw_class_map
from daml_cli.report.tsne import tsne_coordinates

LABEL_SIZE, OUTLINE = TEXT_SIZE + 3, 3  # the on-map names: a 16-px font with a 3-px white outline


def ink_box(text: str, x: float, y: float) -> tuple[float, float, float, float]:
    left, top, right, bottom = ImageFont.load_default(size=LABEL_SIZE).getbbox(text, stroke_width=OUTLINE)
    return x + left, y + top, x + right, y + bottom


def disjoint(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_names_on_a_real_runs_map_do_not_overlap(tiny_run: Path, digits_root: Path, tmp_path: Path) -> None:
    embed_to_file(tiny_run, tmp_path / "test.npz", digits_root, split="test", device="cpu")
    stored = read_embeddings(tmp_path / "test.npz")
    keep = np.sort(np.random.default_rng(0).choice(stored.count, size=300, replace=False))
    points = tsne_coordinates(stored.embeddings[keep], seed=0, max_iter=250)
    names = {label: f"Balinese/character{label:02d}" for label in range(10)}  # Omniglot-long, 5 of them on 300 px
    drawn = draw_class_map(points, stored.labels[keep], names, "t-SNE", "a real run's test digits", size=300)
    if os.environ.get("DAML_EXAMPLES"):
        drawn.image.save(Path(os.environ["DAML_EXAMPLES"]) / "tsne-test-run.png")
    boxes = [ink_box(label.text, label.x, label.y) for label in drawn.labels]
    assert len(boxes) >= 2 and all(disjoint(a, b) for a, b in itertools.combinations(boxes, 2))
    assert {label.text for label in drawn.labels} <= set(names.values())
    frame = [(x, y) for x in range(drawn.image.width) for y in range(drawn.image.height)]
    grey = next(p for p in frame if drawn.image.getpixel(p) == (160, 160, 160))  # the plot frame's top-left corner
    assert all(box[0] > grey[0] and box[1] > grey[1] and box[2] < grey[0] + 300 and box[3] < grey[1] + 300 for box in boxes)


def test_names_wanted_at_one_spot_are_offset_or_left_out() -> None:
    draw = ImageDraw.Draw(Image.new("RGB", (400, 400)))
    wanted = [(f"Balinese/character{i:02d}", 200.0, 200.0) for i in range(6)]
    placed = place_labels(draw, wanted, ImageFont.load_default(size=LABEL_SIZE), (0, 0, 400, 400))
    assert [label.text for label in placed] == [text for text, _, _ in wanted[:3]]  # centred, one line up, one down
    boxes = [ink_box(label.text, label.x, label.y) for label in placed]
    assert all(disjoint(a, b) for a, b in itertools.combinations(boxes, 2))
    assert all(box[0] < 200 < box[2] for box in boxes)  # each still over its spot
