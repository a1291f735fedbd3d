"""The retrieval grid PNG: size follows queries × hits, frames are green/red/grey by correctness."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from daml_cli.errors import DataError
from daml_cli.report.grid import BORDER, COLOURS, GAP, HEADER, TEXT_HEIGHT, write_retrieval_grid
from daml_cli.report.results import QueryResult


def _frame_colour(image: Image.Image, row: int, column: int, thumb: int = 128) -> tuple[int, int, int]:
    """Colour of the top-left frame pixel of one cell."""
    cell_w = thumb + 2 * BORDER
    left = column * cell_w + (GAP if column else 0)
    return image.getpixel((left + 1, HEADER + row * (cell_w + TEXT_HEIGHT) + 1))


def _caption_colours(image: Image.Image, row: int, column: int, thumb: int = 128) -> set[tuple[int, int, int]]:
    """Colours in the caption strip under one cell."""
    cell_w = thumb + 2 * BORDER
    left = column * cell_w + (GAP if column else 0)
    top = HEADER + row * (cell_w + TEXT_HEIGHT) + cell_w
    strip = image.convert("RGB").crop((left, top, left + cell_w, top + TEXT_HEIGHT))
    return {colour for _, colour in strip.getcolors(maxcolors=100_000)}


def test_grid_layout_and_frames(tmp_path: Path, image_root: Path, labelled_queries) -> None:
    out = write_retrieval_grid(tmp_path / "grid.png", labelled_queries, root=image_root)
    image = Image.open(out)
    cell_w = 128 + 2 * BORDER
    assert image.size == (4 * cell_w + GAP, HEADER + 2 * (cell_w + TEXT_HEIGHT))  # query + 3 hits wide, 2 rows
    # the captions carry a drawn check mark (green) or cross (red), not just the frame colour
    assert COLOURS[True] in _caption_colours(image, 0, 1) and COLOURS[False] not in _caption_colours(image, 0, 1)
    assert COLOURS[False] in _caption_colours(image, 0, 2) and COLOURS[True] not in _caption_colours(image, 0, 2)
    assert _frame_colour(image, 0, 0) == COLOURS["query"]
    assert [_frame_colour(image, 0, c) for c in (1, 2, 3)] == [COLOURS[True], COLOURS[False], COLOURS[True]]
    assert [_frame_colour(image, 1, c) for c in (1, 2)] == [COLOURS[True], COLOURS[False]]
    assert _frame_colour(image, 1, 3) == (255, 255, 255)  # the shorter row leaves its last cell empty


def test_unknown_labels_grey_and_small_thumbs(tmp_path: Path, image_root: Path) -> None:
    queries = [QueryResult("query.jpg", None, [(1, "g/0.jpg", 4, 1.0), (2, "g/1.jpg", None, 2.0)])]
    image = Image.open(write_retrieval_grid(tmp_path / "g.png", queries, root=image_root, thumb_size=32))
    assert [_frame_colour(image, 0, c, 32) for c in (1, 2)] == [COLOURS[None], COLOURS[None]]
    assert image.size == (3 * (32 + 2 * BORDER) + GAP, HEADER + 32 + 2 * BORDER + TEXT_HEIGHT)


def test_no_queries_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no queries"):
        write_retrieval_grid(tmp_path / "g.png", [])
    assert not (tmp_path / "g.png").exists()
