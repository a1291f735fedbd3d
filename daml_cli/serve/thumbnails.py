"""JPEG thumbnails of gallery entries, addressed only by their index number: no other file is reachable."""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path

from daml_cli.report.thumbnails import THUMB_SIZE, load_thumbnail

_GALLERY_ID = re.compile(r"[0-9]{1,12}")


class GalleryThumbnails:
    """Thumbnails of the gallery images recorded in the index sidecar, cached (most recent `cache_size`)."""

    def __init__(self, gallery_paths: list[str], size: int = THUMB_SIZE, cache_size: int = 2048) -> None:
        self.paths = list(gallery_paths)
        self.size = size
        self._jpeg = lru_cache(maxsize=cache_size)(self._render)

    def gallery_id(self, text: str) -> int | None:
        """The gallery index number `text` spells (ASCII digits only), or None when it names no entry."""
        if not _GALLERY_ID.fullmatch(text):
            return None
        number = int(text)
        return number if number < len(self.paths) else None

    def jpeg(self, gallery_id: int) -> bytes:
        """The entry's thumbnail as JPEG bytes (a grey placeholder when its image cannot be read)."""
        return self._jpeg(gallery_id)

    def _render(self, gallery_id: int) -> bytes:
        image, _ = load_thumbnail(Path(self.paths[gallery_id]), self.size)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        return buffer.getvalue()
