"""Export verification: image collection, batching/padding, and the max-abs-difference measure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from daml_cli.errors import DamlError, DataError
from daml_cli.export.verify import collect_images, image_batches, max_abs_difference, random_batches, verify_export

SPEC = {"resize": 8, "crop": 8, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}


class _Mean(torch.nn.Module):
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=(2, 3))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    for i in range(5):
        Image.new("RGB", (10 + i, 12), (50 * i, 0, 0)).save(tmp_path / "imgs" / ("sub" if i % 2 else "") / f"{i}.png")
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    return tmp_path / "imgs"


def test_collect_images_walks_folders_and_caps(folder: Path, tmp_path: Path) -> None:
    assert [p.name for p in collect_images([folder])] == ["0.png", "2.png", "4.png", "1.png", "3.png"]
    assert len(collect_images([folder, folder / "0.png"], limit=3)) == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        collect_images([tmp_path / "empty"])
    with pytest.raises(DataError, match="does not exist"):
        collect_images([tmp_path / "missing.png"])


def test_image_batches_preprocess_and_pad(folder: Path) -> None:
    paths = collect_images([folder])
    batches = image_batches(paths, SPEC, 2, pad=True)
    assert [b.shape for b in batches] == [(2, 3, 8, 8)] * 3 and batches[0].dtype == np.float32
    assert np.all(batches[-1][1] == 0)  # the padding image
    first_red = (50 * 0 / 255 - 0.5) / 0.25
    assert np.allclose(batches[0][0, 0], first_red) and np.allclose(batches[0][0, 1], -2.0)
    assert [len(b) for b in image_batches(paths, SPEC, 2, pad=False)] == [2, 2, 1]


def test_max_abs_difference_measures_the_worst_coordinate() -> None:
    batches = random_batches(8, [1, 3], seed=0)
    assert [b.shape for b in batches] == [(1, 3, 8, 8), (3, 3, 8, 8)]
    model = _Mean()
    exact = lambda x: x.mean(axis=(2, 3))  # noqa: E731
    assert max_abs_difference(model, exact, batches) < 1e-6
    shifted = lambda x: exact(x) + np.where(np.arange(3) == 2, 0.25, 0.0)  # noqa: E731
    assert max_abs_difference(model, shifted, batches) == pytest.approx(0.25, abs=1e-6)
    with pytest.raises(DamlError, match="returned shape"):
        max_abs_difference(model, lambda x: exact(x)[:, :2], batches)
    assert max_abs_difference(model, lambda x: exact(x) * np.nan, batches) == float("inf")


def test_verify_export_passes_or_refuses() -> None:
    model = _Mean()
    report = verify_export(model, lambda x: x.mean(axis=(2, 3)) + 5e-5, 8, [1, 3])
    assert report.passed and report.random_images == 4 and report.batch_sizes == [1, 3]
    with pytest.raises(DamlError, match="tolerance 0.0001"):
        verify_export(model, lambda x: x.mean(axis=(2, 3)) + 2e-4, 8, [1, 3])
