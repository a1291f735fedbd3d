"""Fixtures for the preparer tests: tiny generated image trees and a configurable fake preparer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from daml_cli.data.manifest import ManifestRow
from daml_cli.data.preparers.base import ExpectedCounts, PrepareOptions


def write_png(path: Path, value: int = 128, size: tuple[int, int] = (12, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value, 255 - value, value // 2)).save(path)
    return path


@pytest.fixture
def make_tree() -> Callable[[Path, dict[str, int]], Path]:
    """make_tree(root, {"a/b": 3, ...}) writes that many small PNGs into each class folder; returns root."""

    def make(root: Path, classes: dict[str, int]) -> Path:
        for index, (name, count) in enumerate(sorted(classes.items())):
            for i in range(count):
                write_png(root / name / f"img{i:02d}.png", value=(index * 17 + i * 5) % 256)
        return root

    return make


class FakePreparer:
    """Writes `train`+`test` classes of `per_class` PNGs; optionally fails after writing some files."""

    name = "fake"

    def __init__(
        self, train: int = 4, test: int = 2, per_class: int = 3,
        expected: ExpectedCounts | None = None, fail: bool = False,
    ) -> None:
        self.train, self.test, self.per_class = train, test, per_class
        self.expected = expected
        self.fail = fail
        self.calls = 0

    def build(self, staging: Path, options: PrepareOptions) -> list[ManifestRow]:
        self.calls += 1
        rows = []
        for label in range(self.train + self.test):
            split = "train" if label < self.train else "test"
            for i in range(self.per_class):
                relative = f"images/c{label}/{i}.png"
                write_png(staging / relative, value=label * 20 + i, size=(20 + label, 16))
                rows.append(ManifestRow(relative, label, f"c{label}", split))
            if self.fail and label == 1:
                raise RuntimeError("simulated failure half-way")
        return rows


@pytest.fixture
def fake_preparer() -> type[FakePreparer]:
    return FakePreparer
