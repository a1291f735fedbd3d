"""A retrieval grid as one PNG: per row the query (blue frame) followed by its top-k hits.

Hits get a green frame and a drawn check mark when they share the query's class, a red frame and a cross
when not, grey when a class is unknown; each cell shows the rank, the score and the class underneath in
Pillow's scalable default font. A legend line on top says what the colours mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from daml_cli.atomic import atomic_path
from daml_cli.errors import DataError
from daml_cli.report.results import QueryResult, class_text
from daml_cli.report.thumbnails import THUMB_SIZE, load_thumbnail, resolve

BORDER = 4
FONT_SIZE = 13
LINE = FONT_SIZE + 3
TEXT_HEIGHT = 2 * LINE + 4  # two caption lines: "#rank  score" and the class
HEADER = LINE + 8
GAP = 12  # extra space between the query column and the hits
LEGEND = "blue: query    green: same class as the query    red: another class    grey: class unknown"
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
    canvas = Image.new("RGB", (columns * cell_w + GAP, HEADER + len(queries) * cell_h), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=FONT_SIZE)
    draw.text((BORDER, 4), LEGEND, fill=(90, 90, 90), font=font)
    cache: dict[Path, Image.Image] = {}

    def thumb(path: str) -> Image.Image:
        full = resolve(path, root)
        if full not in cache:
            cache[full] = load_thumbnail(full, thumb_size)[0]
        return cache[full]

    for row, query in enumerate(queries):
        top = HEADER + row * cell_h
        _draw_cell(canvas, draw, thumb(query.query_path), (0, top), cell_w, COLOURS["query"])
        _caption(draw, font, (BORDER, top + cell_w + 2), "query", query.query_text, cell_w - BORDER)
        for column, hit in enumerate(query.hits, start=1):
            left = column * cell_w + GAP
            correct = query.is_correct(hit)
            _draw_cell(canvas, draw, thumb(hit.path), (left, top), cell_w, COLOURS[correct])
            first = f"#{hit.rank}   {hit.score:.3f}"
            _caption(draw, font, (left + BORDER, top + cell_w + 2), first, class_text(hit.label, hit.class_name), cell_w - BORDER)
            if correct is not None:
                _mark(draw, (left + cell_w - BORDER - 14, top + cell_w + 3), correct)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        canvas.save(tmp, format="PNG")
    return out_path


def _fit(draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, text: str, width: int) -> str:
    """`text`, shortened from the left with "…" until it fits `width` pixels (class names end distinctively)."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength("…" + text, font=font) > width:
        text = text[1:]
    return "…" + text


def _caption(
    draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, corner: tuple[int, int], first: str, second: str, width: int,
) -> None:
    left, top = corner
    draw.text((left, top), _fit(draw, font, first, width - 18), fill=(0, 0, 0), font=font)
    if second:
        draw.text((left, top + LINE), _fit(draw, font, second, width), fill=(60, 60, 60), font=font)


def _mark(draw: ImageDraw.ImageDraw, corner: tuple[int, int], correct: bool) -> None:
    """A drawn check mark (green) or cross (red) of 12×12 pixels: the default font has neither glyph."""
    x, y = corner
    if correct:
        draw.line((x, y + 6, x + 4, y + 11, x + 12, y + 1), fill=COLOURS[True], width=3)
    else:
        draw.line((x + 1, y + 1, x + 11, y + 11), fill=COLOURS[False], width=3)
        draw.line((x + 1, y + 11, x + 11, y + 1), fill=COLOURS[False], width=3)


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
