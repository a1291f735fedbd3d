"""The in-memory cache of decoded training images changes no tensor the network sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from daml_cli.config.schema import DataConfig
from daml_cli.data.dataset import ManifestDataset
from daml_cli.data.manifest import ManifestRow
from daml_cli.data.transforms import train_transform


def _images(tmp_path: Path, count: int) -> list[ManifestRow]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(count):
        name = f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / name)
        rows.append(ManifestRow(path=name, label=i % 3, class_name=f"c{i % 3}", split="train"))
    return rows


@pytest.mark.parametrize("augment", [True, False])
def test_cached_items_equal_uncached_items_on_every_pass(tmp_path: Path, augment: bool) -> None:
    rows = _images(tmp_path, 6)
    transform = train_transform(DataConfig(image_size=32, resize=36, augment=augment))
    plain = ManifestDataset(rows, tmp_path, transform, cache_bytes=0)
    cached = ManifestDataset(rows, tmp_path, transform, cache_bytes=2**20)
    for _ in range(3):  # later passes read from the cache
        for index in range(len(rows)):
            seed = 1000 + index
            expected, label = plain[(index, seed)]
            got, got_label = cached[(index, seed)]
            assert got_label == label
            assert torch.equal(got, expected)
    assert len(cached._cache) == len(rows)


def test_cache_stops_at_its_budget(tmp_path: Path) -> None:
    rows = _images(tmp_path, 5)
    one_image = 40 * 40 * 3
    dataset = ManifestDataset(rows, tmp_path, train_transform(DataConfig(augment=False)), cache_bytes=2 * one_image)
    for index in range(len(rows)):
        dataset[index]
    assert len(dataset._cache) == 2
    (tmp_path / "img4.png").unlink()  # uncached items are still read from disk
    with pytest.raises(Exception):
        dataset[4]
