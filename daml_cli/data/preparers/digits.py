"""`digits`: scikit-learn's bundled handwritten digits (1,797 real 8x8 images, no download) as a tiny DML set.

Class-disjoint split: digits 0-4 train, 5-9 test. Each 8x8 image (values 0..16) is scaled to 0..255 and
upscaled to 32x32 with bilinear interpolation, kept as sklearn stores it (light strokes on a dark background),
and saved as an 8-bit grayscale PNG at ``images/<digit>/<index>.png`` (index = row in `load_digits()`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from daml_cli.data.manifest import ManifestRow
from daml_cli.data.preparers.base import ExpectedCounts, PrepareOptions

SIZE = 32
TRAIN_DIGITS = frozenset(range(5))


class DigitsPreparer:
    """Writes the scikit-learn digits as PNG files; needs no source, archive or network."""

    name = "digits"
    # Per-digit counts in load_digits(): 178 182 177 183 181 | 182 181 179 174 180.
    expected = ExpectedCounts(images={"train": 901, "test": 896}, classes={"train": 5, "test": 5})

    def build(self, staging: Path, options: PrepareOptions) -> list[ManifestRow]:
        from sklearn.datasets import load_digits  # lazy: scikit-learn is slow to import

        digits = load_digits()
        rows: list[ManifestRow] = []
        for index, (pixels, target) in enumerate(zip(digits.images, digits.target)):
            digit = int(target)
            gray = np.clip(np.rint(np.asarray(pixels) * (255.0 / 16.0)), 0, 255).astype(np.uint8)
            image = Image.fromarray(gray).resize((SIZE, SIZE), Image.Resampling.BILINEAR)
            relative = f"images/{digit}/{index:04d}.png"
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            image.save(staging / relative)
            split = "train" if digit in TRAIN_DIGITS else "test"
            rows.append(ManifestRow(path=relative, label=digit, class_name=str(digit), split=split))
        return rows
