"""Stanford Online Products from `Stanford_Online_Products.zip`: `Ebay_train.txt` is train, `Ebay_test.txt` test.

Each list has the header `image_id class_id super_class_id path` and one space-separated row per image; the
files themselves are the split (59,551 images / 11,318 classes and 60,502 / 11,316). Labels are the
dataset's `class_id`; products have no names, so the class name is `<super class>_<class_id>` (e.g.
`bicycle_1`), the 12 super classes being numbered in the order of `SUPER_CLASSES`. image ids are opaque.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from daml_cli.data.manifest import ManifestRow
from daml_cli.data.preparers import unpacked
from daml_cli.data.preparers.base import ExpectedCounts, PrepareOptions
from daml_cli.errors import DataError
from daml_cli.safety.terminal import quote

ARCHIVE = "Stanford_Online_Products.zip"
TOP = "Stanford_Online_Products"
HEADER = ("image_id", "class_id", "super_class_id", "path")
SUPER_CLASSES = (
    "bicycle", "cabinet", "chair", "coffee_maker", "fan", "kettle",
    "lamp", "mug", "sofa", "stapler", "table", "toaster",
)  # fmt: skip
LISTS = {"train": "Ebay_train.txt", "test": "Ebay_test.txt"}
EXPECTED = ExpectedCounts(images={"train": 59551, "test": 60502}, classes={"train": 11318, "test": 11316})


def parse_list(path: Path, split: str, shown_as: str) -> list[ManifestRow]:
    """Rows of one Ebay_*.txt list (header checked), paths prefixed with `images/`."""
    lines = unpacked.read_text_lines(path, shown_as)
    if not lines or tuple(lines[0].split()) != HEADER:
        raise DataError(f"{shown_as} does not start with the header '{' '.join(HEADER)}'", "the archive is corrupt")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if len(fields) != 4 or not all(f.isdigit() for f in fields[:3]):
            raise DataError(f"{shown_as}:{number} is not '{' '.join(HEADER)}': {quote(line)}", "the archive is corrupt")
        label, super_class = int(fields[1]), int(fields[2])
        if not 1 <= super_class <= len(SUPER_CLASSES):
            raise DataError(f"{shown_as}:{number}: super_class_id {super_class} is outside 1..{len(SUPER_CLASSES)}")
        rows.append(
            ManifestRow(
                path=f"images/{fields[3]}",
                label=label,
                class_name=f"{SUPER_CLASSES[super_class - 1]}_{label}",
                split=split,
            )
        )
    return rows


def parse_sop(folder: Path) -> list[ManifestRow]:
    """Train and test rows from the lists in `folder` (the zip's `Stanford_Online_Products/`)."""
    rows = []
    for split, name in LISTS.items():
        rows.extend(parse_list(unpacked.require_file(folder, name, ARCHIVE), split, f"{ARCHIVE}:{TOP}/{name}"))
    return rows


@dataclass
class SopPreparer:
    """`daml prepare sop ROOT`: Stanford Online Products, Ebay_train / Ebay_test."""

    name: str = "sop"
    expected: ExpectedCounts | None = field(default_factory=lambda: EXPECTED)

    def build(self, staging: Path, options: PrepareOptions) -> list[ManifestRow]:
        _, files = unpacked.gather("sop", staging, options)
        folder = files["archive"] / TOP
        if not folder.is_dir():
            raise DataError(f"{ARCHIVE} has no {TOP}/ folder", "this is not the Stanford Online Products archive")
        rows = parse_sop(folder)
        relatives = [row.path.removeprefix("images/") for row in rows]
        unpacked.require_images(folder, relatives, ARCHIVE)
        loose = sorted(rel for rel in relatives if "/" not in rel)
        if loose:
            raise DataError(f"{ARCHIVE} lists images outside the class folders, e.g. {loose[0]}")
        for top in sorted({rel.split("/", 1)[0] for rel in relatives}):
            unpacked.adopt(folder / top, staging, top)
        unpacked.finish(staging, [folder / name for name in (*LISTS.values(), "Ebay_info.txt")])
        return rows
