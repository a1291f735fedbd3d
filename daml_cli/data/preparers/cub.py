"""CUB-200-2011 from `CUB_200_2011.tgz`, with the class-disjoint split used by every DML paper.

Labels come from `image_class_labels.txt`, joined with `images.txt` on the image id (never on the line
number, never from file names, whose case differs from the folder's). Classes 1-100 are `train`
(5,864 images), 101-200 `test` (5,924). The label is the dataset's own class id (1..200); the class name
is the folder name after its number (`001.Black_footed_Albatross` -> `Black_footed_Albatross`).
The official per-image split (`train_test_split.txt`) is not class-disjoint and is not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from daml_cli.data.manifest import ManifestRow
from daml_cli.data.preparers import unpacked
from daml_cli.data.preparers.base import ExpectedCounts, PrepareOptions
from daml_cli.errors import DataError
from daml_cli.safety.terminal import quote

ARCHIVE = "CUB_200_2011.tgz"
TOP = "CUB_200_2011"
LAST_TRAIN_CLASS = 100
EXPECTED = ExpectedCounts(images={"train": 5864, "test": 5924}, classes={"train": 100, "test": 100})
TABLES = ("images.txt", "image_class_labels.txt", "classes.txt", "train_test_split.txt", "bounding_boxes.txt")


def _id_table(path: Path, shown_as: str) -> dict[int, str]:
    """`<int id> <value>` lines as {id: value}; a DataError naming the line for bad or repeated ids."""
    table: dict[int, str] = {}
    for number, line in enumerate(unpacked.read_text_lines(path, shown_as), start=1):
        fields = line.split()
        if len(fields) != 2 or not fields[0].isdigit():
            raise DataError(f"{shown_as}:{number} is not '<id> <value>': {quote(line)}", "the archive is corrupt")
        key = int(fields[0])
        if key in table:
            raise DataError(f"{shown_as}:{number} repeats id {key}", "the archive is corrupt")
        table[key] = fields[1]
    return table


def parse_cub(folder: Path, last_train_class: int = LAST_TRAIN_CLASS) -> list[ManifestRow]:
    """Rows for the tables in `folder` (the archive's `CUB_200_2011/`), paths relative to `folder`."""
    where = f"{ARCHIVE}:{TOP}"
    images = _id_table(unpacked.require_file(folder, "images.txt", ARCHIVE), f"{where}/images.txt")
    labels = _id_table(
        unpacked.require_file(folder, "image_class_labels.txt", ARCHIVE), f"{where}/image_class_labels.txt"
    )
    classes = _id_table(unpacked.require_file(folder, "classes.txt", ARCHIVE), f"{where}/classes.txt")
    if images.keys() != labels.keys():
        only = sorted(images.keys() ^ labels.keys())
        raise DataError(
            f"images.txt and image_class_labels.txt list different image ids ({len(only)} differ, e.g. {only[0]})",
            "the archive is corrupt or mixes two versions",
        )
    rows = []
    for image_id in sorted(images):
        value = labels[image_id]
        if not value.isdigit() or int(value) not in classes:
            raise DataError(f"image {image_id} has class {quote(value)}, which classes.txt does not list")
        label = int(value)
        class_name = classes[label].split(".", 1)[-1]
        split = unpacked.split_of(label, last_train_class)
        rows.append(ManifestRow(path=f"images/{images[image_id]}", label=label, class_name=class_name, split=split))
    return rows


@dataclass
class CubPreparer:
    """`daml prepare cub ROOT`: CUB-200-2011 with classes 1-100 train and 101-200 test."""

    name: str = "cub"
    expected: ExpectedCounts | None = field(default_factory=lambda: EXPECTED)
    last_train_class: int = LAST_TRAIN_CLASS

    def build(self, staging: Path, options: PrepareOptions) -> list[ManifestRow]:
        _, unpacked_files = unpacked.gather("cub", staging, options)
        folder = unpacked_files["archive"] / TOP
        if not folder.is_dir():
            raise DataError(f"{ARCHIVE} has no {TOP}/ folder", "this is not the CUB-200-2011 archive")
        rows = parse_cub(folder, self.last_train_class)
        unpacked.require_images(folder, (row.path for row in rows), ARCHIVE)
        unpacked.adopt(folder / "images", staging, "")
        unpacked.finish(staging, [folder / name for name in TABLES])
        return rows
