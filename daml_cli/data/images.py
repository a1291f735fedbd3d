"""Reading image files as RGB, the one pixel format every later stage (training, embedding, previews) expects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from daml_cli.errors import DataError
from daml_cli.safety.files import require_regular_file
from daml_cli.safety.images import MAX_PIXELS, ImageTooLarge, open_image

__all__ = ["IMAGE_EXTENSIONS", "MAX_PIXELS", "ImageTooLarge", "is_image_file", "load_rgb", "load_rgb_tensor", "open_image",
           "to_rgb"]


# Extensions accepted wherever a user's folders are scanned: prepare, retrieve and export (compared lower-case).
IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_WIDE_MODES = ("I", "F")  # 32-bit int/float; "I;16*" are matched by prefix


def is_image_file(path: Path) -> bool:
    """True for a visible file with an accepted image extension (skips dotfiles and macOS `._*` forks)."""
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB.

    Transparent pixels are composited onto white (so a transparent background does not turn black);
    16-bit and 32-bit grayscale are scaled into 0..255 (values above 255 are read as 16-bit, v / 257)
    instead of being clipped; CMYK, palette, 1-bit, YCbCr etc. use PIL's own conversion.
    """
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode.startswith("I;16") or mode in _WIDE_MODES:
        values = np.asarray(image, dtype=np.float64)
        if values.size and values.max() > 255:
            values = values / 257.0
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def load_rgb(path: Path | str) -> Image.Image:
    """Decode the whole image at `path` (EXIF orientation applied) as RGB; a DataError naming the path if unreadable
    or larger than `MAX_PIXELS`.

    The pixels are fully decoded here, so a truncated or corrupt file fails now rather than mid-training.
    """
    path = Path(path)
    require_regular_file(path, "image")  # a FIFO or device would block or stream without end
    try:
        with open_image(path, f"image {path}") as image:
            image.load()
            try:
                image = ImageOps.exif_transpose(image)
            except Exception:  # a malformed EXIF block should not make a readable image unusable
                pass
            return to_rgb(image).copy()
    except FileNotFoundError:
        raise DataError(f"image {path} does not exist") from None
    except DataError:
        raise
    except (OSError, ValueError, SyntaxError) as error:
        raise DataError(f"cannot read image {path}: {error}", "replace or remove the file") from None


_FAST_DECODE_SUFFIXES = frozenset({".jpg", ".jpeg"})


def load_rgb_tensor(path: Path | str) -> "torch.Tensor":
    """The image at `path` as a 3×H×W uint8 RGB tensor, the input of the training and evaluation transforms.

    JPEGs (the bulk of the benchmarks) are decoded by torchvision.io, faster than PIL; grayscale and CMYK
    JPEGs come out as RGB and EXIF orientation is applied. Other formats, and any JPEG libjpeg-turbo
    refuses, go through `load_rgb` (PIL), which also handles transparency and 16-bit images.
    """
    import torch

    path = Path(path)
    require_regular_file(path, "image")
    if path.suffix.lower() in _FAST_DECODE_SUFFIXES:
        from torchvision.io import ImageReadMode, decode_image, read_file

        _check_size(path)
        try:
            return decode_image(read_file(str(path)), mode=ImageReadMode.RGB, apply_exif_orientation=True)
        except RuntimeError:
            pass  # fall back to PIL, which raises a DataError naming the file when it cannot read it either
    array = np.asarray(load_rgb(path), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def _check_size(path: Path) -> None:
    """Refuse an image larger than `MAX_PIXELS` from its header alone (before torchvision decodes it)."""
    try:
        with open_image(path, f"image {path}"):
            pass
    except (OSError, ValueError, SyntaxError):
        pass  # not readable by PIL either: the decoder below (or `load_rgb`) reports it
