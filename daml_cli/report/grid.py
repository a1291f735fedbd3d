"""A retrieval grid as one PNG: per row the query (blue frame) followed by its top-k hits.

Hits get a green frame when they share the query's label, red when not, grey when a label is unknown;
each cell shows the rank and score underneath.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from daml_cli.atomic import atomic_path
from daml_cli.errors import DataError
from daml_cli.report.results import QueryResult
from daml_cli.report.thumbnails import THUMB_SIZE, load_thumbnail, resolve

BORDER = 4
TEXT_HEIGHT = 16
GAP = 12  # extra space between the query column and the hits
COLOURS = {"query": (47, 111, 208), True: (42, 157, 58), False: (208, 52, 44), None: (170, 170, 170)}


def write_retrieval_grid(
    out_path: Path | str, queries: Sequence[QueryResult], root: Path | str | None = None, thumb_size: int = THUMB_SIZE
) -> Path:
    """Draw the grid (a row per query, as many columns as the longest result list + 1) and save it as PNG."""
    if not queries:
        raise DataError("no queries to draw in the retrieval grid")
    cell_w = thumb_size + 2 * BORDER
    cell_h = cell_w + TEXT_HEIGHT
    columns = 1 + max(len(q.hits) for q in queries)
    canvas = Image.new("RGB", (columns * cell_w + GAP, len(queries) * cell_h), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    cache: dict[Path, Image.Image] = {}

    def thumb(path: str) -> Image.Image:
        full = resolve(path, root)
        if full not in cache:
            cache[full] = load_thumbnail(full, thumb_size)[0]
        return cache[full]

    for row, query in enumerate(queries):
        top = row * cell_h
        _draw_cell(canvas, draw, thumb(query.query_path), (0, top), cell_w, COLOURS["query"])
        caption = "query" if query.query_label is None else f"query · {query.query_label}"
        draw.text((BORDER, top + cell_w + 2), caption, fill=(0, 0, 0), font=font)
        for column, hit in enumerate(query.hits, start=1):
            left = column * cell_w + GAP
            _draw_cell(canvas, draw, thumb(hit.path), (left, top), cell_w, COLOURS[query.is_correct(hit)])
            draw.text((left + BORDER, top + cell_w + 2), f"#{hit.rank} {hit.score:.3g}", fill=(0, 0, 0), font=font)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        canvas.save(tmp, format="PNG")
    return out_path


def _draw_cell(
    canvas: Image.Image, draw: ImageDraw.ImageDraw, image: Image.Image, corner: tuple[int, int], size: int,
    colour: tuple[int, int, int],
) -> None:
    """A coloured frame of width BORDER with the thumbnail centred inside it."""
    left, top = corner
    draw.rectangle((left, top, left + size - 1, top + size - 1), fill=colour)
    inner = size - 2 * BORDER
    draw.rectangle((left + BORDER, top + BORDER, left + size - BORDER - 1, top + size - BORDER - 1),
                   fill=(244, 244, 244))
    canvas.paste(image, (left + BORDER + (inner - image.width) // 2, top + BORDER + (inner - image.height) // 2))
