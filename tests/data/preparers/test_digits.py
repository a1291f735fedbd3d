"""`digits`: scikit-learn's digits as PNG files, digits 0-4 train and 5-9 test."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from daml_cli.data.manifest import read_manifest
from daml_cli.data.preparers.base import PrepareOptions
from daml_cli.data.preparers.digits import DigitsPreparer
from daml_cli.data.preparers.flow import prepare_dataset


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("digits-root")
    return prepare_dataset("digits", root, PrepareOptions()).dataset_dir


def test_counts_match_sklearn(digits_dir: Path) -> None:
    target = load_digits().target
    rows = read_manifest(digits_dir).rows
    assert len(rows) == len(target)
    by_split = Counter(row.split for row in rows)
    assert by_split["train"] == int(np.sum(target < 5))
    assert by_split["test"] == int(np.sum(target >= 5))
    expected = DigitsPreparer.expected
    assert expected.images == {"train": int(np.sum(target < 5)), "test": int(np.sum(target >= 5))}
    per_class = Counter(row.label for row in rows)
    assert per_class == Counter(int(t) for t in target)


def test_classes_are_disjoint_and_named(digits_dir: Path) -> None:
    rows = read_manifest(digits_dir).rows
    train = {row.label for row in rows if row.split == "train"}
    test = {row.label for row in rows if row.split == "test"}
    assert train == {0, 1, 2, 3, 4} and test == {5, 6, 7, 8, 9}
    assert all(row.class_name == str(row.label) for row in rows)


def test_images_are_the_sklearn_pixels(digits_dir: Path) -> None:
    data = load_digits()
    rows = read_manifest(digits_dir).rows
    for row in rows[:: len(rows) // 7]:
        index = int(Path(row.path).stem)
        assert row.label == int(data.target[index])
        with Image.open(digits_dir / row.path) as image:
            assert image.mode == "L" and image.size == (32, 32)
            small = np.asarray(image.resize((8, 8), Image.Resampling.BOX), dtype=np.float64)
        original = data.images[index] * 255.0 / 16.0
        assert np.corrcoef(small.ravel(), original.ravel())[0, 1] > 0.9
