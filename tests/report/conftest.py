"""Small images and query results for the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from daml_cli.report.results import QueryResult


@pytest.fixture
def image_root(tmp_path: Path) -> Path:
    """Six tiny JPEG/PNG images of different colours and sizes under tmp_path/images."""
    root = tmp_path / "images"
    (root / "g").mkdir(parents=True)
    for i in range(6):
        size = (300, 200) if i % 2 else (40, 90)
        name = f"{i}.jpg" if i < 5 else f"{i}.png"
        Image.new("RGB", size, (40 * i, 255 - 40 * i, 120)).save(root / "g" / name)
    Image.new("RGB", (64, 64), (250, 10, 10)).save(root / "query.jpg")
    return root


@pytest.fixture
def labelled_queries() -> list[QueryResult]:
    """Two labelled queries with 3 and 2 hits; one hit path does not exist."""
    return [
        QueryResult("query.jpg", 1, [(1, "g/0.jpg", 1, 0.12), (2, "g/1.jpg", 2, 0.5), (3, "g/5.png", 1, 0.9)]),
        QueryResult("g/2.jpg", 2, [(1, "g/3.jpg", 2, 0.2), (2, "g/missing.jpg", 0, 0.3)]),
    ]
