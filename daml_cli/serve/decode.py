"""Uploaded bytes to a 3×H×W uint8 RGB tensor, refusing anything that is not a reasonably sized image."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import ImageOps, UnidentifiedImageError

from daml_cli.data.images import to_rgb
from daml_cli.safety.images import ImageTooLarge, open_image
from daml_cli.serve.client_error import ClientError

MAX_PIXELS = 40_000_000  # a small compressed file can claim a huge canvas; refuse before decoding it


def decode_upload(data: bytes, name: str = "upload", max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """The image in `data` as RGB uint8 (EXIF orientation applied); ClientError 400 when it is not one, or when it
    claims more than `max_pixels` pixels (checked from the header by `open_image`, before decoding)."""
    if not data:
        raise ClientError(400, f"{name} is empty; send the image's bytes")
    try:
        with open_image(io.BytesIO(data), name, max_pixels) as image:
            image.load()
            try:
                image = ImageOps.exif_transpose(image)
            except Exception:  # a malformed EXIF block should not make a readable image unusable
                pass
            rgb = to_rgb(image)
    except ImageTooLarge as error:
        raise ClientError(400, error.message) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ClientError(400, f"{name} is not a readable image (send a JPEG, PNG, GIF, BMP or WebP file)") from None
    return torch.from_numpy(np.asarray(rgb, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()
