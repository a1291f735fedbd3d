"""Opening an image file or upload with its size checked from the header, before any pixel is decoded: a small
compressed file (a 1-bit PNG of 30000×30000) can claim a canvas of gigabytes."""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from PIL import Image

from daml_cli.errors import DataError

# The most pixels an image file may claim: PIL's own default bomb threshold (~89.5 Mpx, 268 MB as RGB). Every
# image daml reads is opened by `open_image`, which checks the size from the header before decoding; PIL's own
# check (a warning above this, an error above twice this) says the same thing less clearly, so its warning is
# silenced and its error turned into the same message.
MAX_PIXELS = 89_478_485
_QUIET = ("ignore", None, Image.DecompressionBombWarning, None, 0)  # the `warnings.filters` entry silencing PIL's
_PIL_PIXELS = re.compile(r"\((\d+) pixels\)")


class ImageTooLarge(DataError):
    """An image claims more pixels than the limit (a decompression bomb, or simply too big to decode)."""


def _too_large(name: str, pixels: int | None, limit: int, size: tuple[int, int] | None = None) -> ImageTooLarge:
    shape = f" ({size[0]}×{size[1]})" if size else ""
    count = f"{pixels:,} pixels{shape}" if pixels is not None else "more pixels"
    return ImageTooLarge(f"{name} has {count}, more than the {limit:,}-pixel limit",
                         "use a smaller image (or resize it) and try again")


@contextlib.contextmanager
def open_image(source: Path | str | IO[bytes], name: str, max_pixels: int = MAX_PIXELS) -> Iterator[Image.Image]:
    """PIL's lazy open of `source`, refusing an image whose header claims more than `max_pixels` pixels before
    a single pixel is decoded: the one place every image daml reads (dataset files, queries, uploads,
    thumbnails) is opened.

    An ImageTooLarge (a DataError) names `name`, the pixel count and the limit, both for an image PIL would
    open (size checked here) and for one PIL refuses itself as a decompression bomb. Other failures
    (unreadable, truncated) are left to the caller, which knows how to word them.
    """
    if _QUIET not in warnings.filters:  # (re-)added here: a `catch_warnings` block elsewhere may have dropped it
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    try:
        image = Image.open(source)
    except Image.DecompressionBombError as error:
        found = _PIL_PIXELS.search(str(error))
        raise _too_large(name, int(found.group(1)) if found else None, max_pixels) from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise _too_large(name, width * height, max_pixels, (width, height))
        yield image
