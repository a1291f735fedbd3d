"""Small thumbnails of gallery and query images for the reports, with a placeholder for unreadable files."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

THUMB_SIZE = 128
_PLACEHOLDER_COLOUR = (200, 200, 200)


def resolve(path: str, root: Path | str | None) -> Path:
    """`path` itself when absolute or no root is given, else `root / path`."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() or root is None else Path(root) / candidate


def load_thumbnail(path: Path, size: int = THUMB_SIZE) -> tuple[Image.Image, bool]:
    """An RGB thumbnail no larger than size×size (aspect kept), and whether the image could be read.

    Unreadable or missing images give a grey placeholder marked with a cross, so one bad file does not
    stop a report.
    """
    from daml_cli.safety.images import open_image
    from daml_cli.errors import DataError

    try:
        with open_image(path, f"image {path}") as image:
            image.draft("RGB", (size, size))  # JPEG: decode at reduced scale, much faster for big photos
            thumb = ImageOps.exif_transpose(image).convert("RGB")
        thumb.thumbnail((size, size))
        factor = size // max(thumb.size)
        if factor >= 2:  # tiny images (e.g. 8×8 digits) are enlarged with sharp pixels, so they can be seen
            thumb = thumb.resize((thumb.width * factor, thumb.height * factor), Image.Resampling.NEAREST)
        return thumb, True
    except (OSError, UnidentifiedImageError, ValueError, DataError):
        return placeholder(size), False


def placeholder(size: int = THUMB_SIZE) -> Image.Image:
    """A grey square with a cross: 'image not available'."""
    image = Image.new("RGB", (size, size), _PLACEHOLDER_COLOUR)
    draw = ImageDraw.Draw(image)
    draw.line((0, 0, size - 1, size - 1), fill=(150, 150, 150), width=2)
    draw.line((0, size - 1, size - 1, 0), fill=(150, 150, 150), width=2)
    return image


def to_data_uri(image: Image.Image) -> str:
    """The thumbnail as an inline ``data:image/jpeg;base64,...`` URI, so pages work when moved."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
