"""`manifest.csv`: the contract between `daml prepare` and every other command.

Columns: ``path,label,class_name,split`` (+ optional columns: ``is_query,is_gallery``, read as row fields, and
any other a dataset needs, kept as strings).
``path`` is relative to the dataset folder (``ROOT/NAME``); ``split`` is one of ``train``, ``val``, ``test``
(In-Shop adds ``query``/``gallery`` through the extra columns); the classes of train/val never appear in test.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from daml_cli.atomic import atomic_write_text
from daml_cli.errors import DataError
from daml_cli.safety.files import require_regular_file
from daml_cli.safety.terminal import quote

MANIFEST_NAME = "manifest.csv"
REQUIRED_COLUMNS: tuple[str, ...] = ("path", "label", "class_name", "split")
SPLITS: tuple[str, ...] = ("train", "val", "test")
# Columns read into `ManifestRow.is_query` / `is_gallery` rather than kept as strings in `extra`.
FLAG_COLUMNS: tuple[str, ...] = ("is_query", "is_gallery")
_TRUE = ("1", "true", "True")


@dataclass(frozen=True)
class ManifestRow:
    """One image of a prepared dataset.

    `is_query` / `is_gallery` mark a test image as a query or a gallery item where a dataset defines its own
    retrieval protocol (In-Shop); None means the manifest does not say. Other dataset-specific columns stay
    as strings in `extra`.
    """

    path: str
    label: int
    class_name: str
    split: str
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    is_query: bool | None = field(default=None, compare=False)
    is_gallery: bool | None = field(default=None, compare=False)

    def column_values(self) -> dict[str, str]:
        """The row's optional columns as written to the CSV: `extra`, plus the flags as ``1``/``0`` when set."""
        values = dict(self.extra)
        for name in FLAG_COLUMNS:
            flag = getattr(self, name)
            if flag is not None:
                values[name] = "1" if flag else "0"
        return values


def _parse_flag(text: str) -> bool | None:
    """``1``/``true`` -> True, empty -> None (not said), anything else -> False."""
    return None if text == "" else text in _TRUE


@dataclass(frozen=True)
class Manifest:
    """All rows of a prepared dataset plus the folder their paths are relative to."""

    root: Path
    rows: tuple[ManifestRow, ...]
    extra_columns: tuple[str, ...] = ()

    def split(self, name: str) -> list[ManifestRow]:
        """Rows of one split; an error naming the available splits when it is empty."""
        rows = [row for row in self.rows if row.split == name]
        if not rows:
            available = sorted({row.split for row in self.rows})
            raise DataError(
                f"split '{name}' has no images in {self.root / MANIFEST_NAME}",
                f"available splits: {', '.join(available) or 'none'}",
            )
        return rows

    def absolute(self, row: ManifestRow) -> Path:
        """Where a row's image is: its path joined to the dataset root."""
        return self.root / row.path


def validate_rows(rows: Sequence[ManifestRow]) -> None:
    """Check split names and that no class of train/val is also a test class."""
    if not rows:
        raise DataError("the manifest has no rows", "prepare the dataset again")
    bad_splits = sorted({row.split for row in rows} - set(SPLITS))
    if bad_splits:
        raise DataError(f"unknown split(s) {', '.join(quote(s) for s in bad_splits[:5])} in manifest", f"use one of {list(SPLITS)}")
    train_labels = {row.label for row in rows if row.split in ("train", "val")}
    test_labels = {row.label for row in rows if row.split == "test"}
    shared = train_labels & test_labels
    if shared:
        raise DataError(
            f"{len(shared)} class(es) appear in both training and test splits (e.g. label {min(shared)})",
            "train and test classes must be disjoint",
        )


def write_manifest(
    dataset_dir: Path | str, rows: Iterable[ManifestRow], extra_columns: Sequence[str] = ()
) -> Path:
    """Validate `rows` and write ``dataset_dir/manifest.csv`` atomically; returns its path."""
    rows = list(rows)
    validate_rows(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*REQUIRED_COLUMNS, *extra_columns])
    for row in rows:
        values = row.column_values()
        writer.writerow([row.path, row.label, row.class_name, row.split, *(values.get(c, "") for c in extra_columns)])
    target = Path(dataset_dir) / MANIFEST_NAME
    atomic_write_text(target, buffer.getvalue())
    return target


def find_manifest(dataset_dir: Path | str) -> Path:
    """Path of the manifest in `dataset_dir`, or a DataError saying how to create it."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise DataError(f"dataset folder {dataset_dir} does not exist", "run `daml prepare NAME ROOT` first")
    path = dataset_dir / MANIFEST_NAME
    if not os.path.lexists(path):
        raise DataError(f"no {MANIFEST_NAME} in {dataset_dir}", "run `daml prepare NAME ROOT` to create it")
    require_regular_file(path, "manifest")
    return path


def _check_row_path(manifest: Path, line_number: int, relative: str) -> None:
    """A manifest path must stay inside the dataset folder: relative, without '..', not empty."""
    parts = relative.replace("\\", "/").split("/")
    if not relative or relative.startswith(("/", "\\")) or ".." in parts or (len(relative) > 1 and relative[1] == ":"):
        raise DataError(
            f"{manifest}:{line_number}: path {quote(relative, 200)} leaves the dataset folder",
            "manifest paths must be relative to the dataset folder; prepare the dataset again",
        )


def read_manifest(dataset_dir: Path | str) -> Manifest:
    """Read and validate ``dataset_dir/manifest.csv``."""
    path = find_manifest(dataset_dir)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(header[:4]) != REQUIRED_COLUMNS:
                raise DataError(
                    f"{path} does not start with the columns {','.join(REQUIRED_COLUMNS)}",
                    "prepare the dataset again with `daml prepare`",
                )
            extra_columns = tuple(header[4:])
            rows = []
            first_line: dict[str, int] = {}
            for line_number, fields in enumerate(reader, start=2):
                if len(fields) != len(header):
                    raise DataError(f"{path}:{line_number} has {len(fields)} fields, expected {len(header)}")
                _check_row_path(path, line_number, fields[0])
                if fields[0] in first_line:
                    raise DataError(
                        f"{path}:{line_number} repeats the image {quote(fields[0], 200)} of line {first_line[fields[0]]}",
                        "each image may appear once (duplicates inflate Recall@K); prepare the dataset again",
                    )
                first_line[fields[0]] = line_number
                try:
                    label = int(fields[1])
                except ValueError:
                    raise DataError(f"{path}:{line_number}: label {quote(fields[1])} is not an integer") from None
                extra = dict(zip(extra_columns, fields[4:]))
                flags = {name: _parse_flag(extra.pop(name)) for name in FLAG_COLUMNS if name in extra}
                rows.append(
                    ManifestRow(path=fields[0], label=label, class_name=fields[2], split=fields[3], extra=extra, **flags)
                )
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text", "prepare the dataset again") from None
    except csv.Error as error:  # e.g. a field over the csv module's 128 KiB limit
        raise DataError(f"{path} is not a readable CSV file ({error})", "prepare the dataset again") from None
    validate_rows(rows)
    return Manifest(root=path.parent, rows=tuple(rows), extra_columns=extra_columns)
