"""Checks a freshly built dataset must pass before its manifest is written: counts and decodable images."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from daml_cli.data.images import load_rgb
from daml_cli.data.manifest import SPLITS, ManifestRow
from daml_cli.data.preparers.base import ExpectedCounts
from daml_cli.errors import DataError

_LISTED = 5  # how many offending paths an error message names before summarising the rest


def split_order(splits: set[str] | dict[str, int]) -> list[str]:
    """Split names in display order: train, val, test, then any others alphabetically."""
    known = [s for s in SPLITS if s in splits]
    return known + sorted(s for s in splits if s not in SPLITS)


def count_rows(rows: Sequence[ManifestRow]) -> tuple[dict[str, int], dict[str, int]]:
    """(images per split, distinct classes per split), keyed in `split_order`."""
    images: dict[str, int] = {}
    labels: dict[str, set[int]] = {}
    for row in rows:
        images[row.split] = images.get(row.split, 0) + 1
        labels.setdefault(row.split, set()).add(row.label)
    order = split_order(images)
    return {s: images[s] for s in order}, {s: len(labels[s]) for s in order}


def check_expected(expected: ExpectedCounts | None, rows: Sequence[ManifestRow], name: str = "dataset") -> None:
    """Raise a DataError naming both numbers for every split whose image or class count differs from `expected`."""
    if expected is None:
        return
    images, classes = count_rows(rows)
    problems: list[str] = []
    for kind, actual, wanted in (("images", images, expected.images), ("classes", classes, expected.classes)):
        for split in split_order(set(wanted) | set(actual)):
            if split in wanted and actual.get(split, 0) != wanted[split]:
                problems.append(f"{split} has {actual.get(split, 0):,} {kind}, expected {wanted[split]:,}")
    if problems:
        raise DataError(
            f"{name}: " + "; ".join(problems),
            "the source files are incomplete or a different version; check the archives or download them again",
        )


def _unreadable(staging: Path, relative: str) -> str | None:
    """Why the image at ``staging/relative`` cannot be used (its path shown as `relative`), or None."""
    path = staging / relative
    try:
        load_rgb(path)
    except DataError as error:
        return error.message.replace(str(path), relative)
    return None


def check_images(staging: Path, rows: Sequence[ManifestRow], workers: int | None = None) -> None:
    """Decode every image of `rows` (paths relative to `staging`); a DataError listing the unreadable ones.

    The message names the first few paths, the total count and why the first cannot be read, so one bad file
    in 100k is easy to find and fix.
    """
    paths = sorted({row.path for row in rows})
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda p: _unreadable(staging, p), paths))
    bad = [(path, problem) for path, problem in zip(paths, results) if problem is not None]
    if bad:
        listed = ", ".join(path for path, _ in bad[:_LISTED])
        more = f" and {len(bad) - _LISTED:,} more" if len(bad) > _LISTED else ""
        raise DataError(
            f"{len(bad):,} of {len(paths):,} images cannot be read: {listed}{more} (first: {bad[0][1]})",
            "replace or remove those files in the source and prepare again",
        )
