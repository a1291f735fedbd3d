"""load_rgb: every PIL mode becomes 8-bit RGB; unreadable files are DataErrors naming the path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from daml_cli.data.images import is_image_file, load_rgb
from daml_cli.errors import DataError


@pytest.mark.parametrize(
    ("mode", "color", "suffix"),
    [("L", 90, ".png"), ("CMYK", (0, 255, 255, 0), ".jpg"), ("1", 1, ".png"), ("RGB", (10, 20, 30), ".bmp")],
)
def test_modes_load_as_rgb(tmp_path: Path, mode: str, color, suffix: str) -> None:
    path = tmp_path / f"image{suffix}"
    Image.new(mode, (9, 7), color).save(path)
    image = load_rgb(path)
    assert image.mode == "RGB" and image.size == (9, 7)


def test_cmyk_red_stays_red(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(path, quality=100)
    red, green, blue = np.asarray(load_rgb(path)).reshape(-1, 3).mean(axis=0)
    assert red > 200 and green < 60 and blue < 60


def test_palette_with_transparency_is_composited_on_white(tmp_path: Path) -> None:
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    image.putpixel((0, 0), 1)
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    pixels = np.asarray(load_rgb(path))
    assert tuple(pixels[0, 0]) == (255, 0, 0)
    assert tuple(pixels[3, 3]) == (255, 255, 255)


def test_palette_and_sixteen_bit_gray(tmp_path: Path) -> None:
    Image.new("RGB", (5, 5), (0, 128, 255)).convert("P").save(tmp_path / "p.gif")
    assert tuple(np.asarray(load_rgb(tmp_path / "p.gif"))[0, 0])[2] > 200
    Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16)).save(tmp_path / "wide.png")
    assert np.asarray(load_rgb(tmp_path / "wide.png")).min() == 255


def test_truncated_and_missing_files_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(path)
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(DataError, match="broken.png"):
        load_rgb(path)
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(DataError, match="text.jpg"):
        load_rgb(tmp_path / "text.jpg")
    with pytest.raises(DataError, match="nothing.png"):
        load_rgb(tmp_path / "nothing.png")


def test_is_image_file() -> None:
    assert is_image_file(Path("a/b/photo.JPEG")) and is_image_file(Path("x.webp"))
    assert not is_image_file(Path("._photo.jpg")) and not is_image_file(Path(".hidden.png"))
    assert not is_image_file(Path("notes.txt"))
