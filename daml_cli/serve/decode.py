"""Uploaded bytes to a 3×H×W uint8 RGB tensor, refusing anything that is not a reasonably sized image."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from daml_cli.data.images import to_rgb
from daml_cli.serve.client_error import ClientError

MAX_PIXELS = 40_000_000  # a small compressed file can claim a huge canvas; refuse before decoding it


def decode_upload(data: bytes, name: str = "upload", max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """The image in `data` as RGB uint8 (EXIF orientation applied); ClientError 400 when it is not one."""
    if not data:
        raise ClientError(400, f"{name} is empty; send the image's bytes")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ClientError(400, f"{name} is {width}×{height} pixels, more than the {max_pixels:,}-pixel limit")
            image.load()
            try:
                image = ImageOps.exif_transpose(image)
            except Exception:  # a malformed EXIF block should not make a readable image unusable
                pass
            rgb = to_rgb(image)
    except ClientError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ClientError(400, f"{name} is not a readable image (send a JPEG, PNG, GIF, BMP or WebP file)") from None
    return torch.from_numpy(np.asarray(rgb, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()
