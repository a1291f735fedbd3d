"""In-Shop Clothes Retrieval (DeepFashion) from `img.zip` (or `img_highres.zip`) + `list_eval_partition.txt`.

The partition file: line 1 the number of images, line 2 the header `image_name item_id evaluation_status`,
then one whitespace-padded row per image with status `train`, `query` or `gallery`. Train items are `train`
(25,882 images / 3,997 items); query (14,218) and gallery (12,612) images are both `test` (3,985 items),
told apart by the extra manifest columns `is_query,is_gallery` (1/0 on test rows, empty on train rows):
evaluation retrieves gallery images for each query. The label is the item number (`id_00000002` -> 2), the
class name the item id. Paths listed as `img/...` are found under the zip's `img/` or `img_highres/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from daml_cli.data.manifest import ManifestRow
from daml_cli.data.preparers import unpacked
from daml_cli.data.preparers.base import ExpectedCounts, PrepareOptions
from daml_cli.errors import DataError
from daml_cli.safety.terminal import quote

PARTITION = "list_eval_partition.txt"
HEADER = ("image_name", "item_id", "evaluation_status")
EXTRA_COLUMNS = ("is_query", "is_gallery")
EXPECTED = ExpectedCounts(images={"train": 25882, "test": 26830}, classes={"train": 3997, "test": 3985})
EXPECTED_QUERY_GALLERY = (14218, 12612)
_TEST_FLAGS = {"query": {"is_query": True, "is_gallery": False}, "gallery": {"is_query": False, "is_gallery": True}}


def item_label(item_id: str, shown_as: str) -> int:
    """`id_00000002` -> 2."""
    digits = item_id[3:]
    if not item_id.startswith("id_") or not digits.isdigit():
        raise DataError(f"{shown_as}: item id {quote(item_id)} is not of the form id_NNNNNNNN", "the file is corrupt")
    return int(digits)


def parse_partition(path: Path) -> list[ManifestRow]:
    """Rows of `list_eval_partition.txt`; paths keep the listed `img/...` form under an `images/` prefix."""
    lines = unpacked.read_text_lines(path, PARTITION)
    if len(lines) < 2 or not lines[0].strip().isdigit() or tuple(lines[1].split()) != HEADER:
        raise DataError(
            f"{PARTITION} does not start with an image count and the header '{' '.join(HEADER)}'",
            "this is not the In-Shop Eval/list_eval_partition.txt (CelebA has a file of the same name)",
        )
    declared, body = int(lines[0]), lines[2:]
    if declared != len(body):
        raise DataError(f"{PARTITION} says it lists {declared:,} images but has {len(body):,} rows",
                        "the file is truncated; download it again")
    rows = []
    for number, line in enumerate(body, start=3):
        fields = line.split()
        if len(fields) != 3 or fields[2] not in ("train", "query", "gallery"):
            raise DataError(f"{PARTITION}:{number} is not '{' '.join(HEADER)}' with status train/query/gallery")
        name, item, status = fields
        label = item_label(item, f"{PARTITION}:{number}")
        split = "train" if status == "train" else "test"
        rows.append(ManifestRow(path=f"images/{name}", label=label, class_name=item, split=split,
                                **_TEST_FLAGS.get(status, {})))
    return rows


def check_query_gallery(rows: list[ManifestRow], expected: tuple[int, int] | None) -> None:
    """Query/gallery image counts as published, and every query item present in the gallery."""
    queries = [row for row in rows if row.is_query]
    gallery = [row for row in rows if row.is_gallery]
    if expected is not None and (len(queries), len(gallery)) != expected:
        raise DataError(
            f"In-Shop has {len(queries):,} query and {len(gallery):,} gallery images, "
            f"expected {expected[0]:,} and {expected[1]:,}",
            "the partition file is incomplete or a different version",
        )
    orphans = {row.label for row in queries} - {row.label for row in gallery}
    if orphans:
        raise DataError(f"{len(orphans)} query item(s) have no gallery image (e.g. item {min(orphans)})",
                        "the partition file is corrupt")


@dataclass
class InShopPreparer:
    """`daml prepare inshop ROOT`: In-Shop with train items / test query+gallery items."""

    name: str = "inshop"
    expected: ExpectedCounts | None = field(default_factory=lambda: EXPECTED)
    expected_query_gallery: tuple[int, int] | None = field(default_factory=lambda: EXPECTED_QUERY_GALLERY)
    extra_columns: tuple[str, ...] = EXTRA_COLUMNS

    def build(self, staging: Path, options: PrepareOptions) -> list[ManifestRow]:
        layout, files = unpacked.gather("inshop", staging, options)
        rows = parse_partition(files["partition"])
        check_query_gallery(rows, self.expected_query_gallery)
        image_key = layout.files[0]  # "img" or "img_highres": also the zip's top folder
        top = files[image_key] / image_key
        archive = f"{image_key}.zip"
        relatives = []
        for row in rows:
            first, _, rest = row.path.removeprefix("images/").partition("/")
            if first != "img" or not rest:
                raise DataError(f"{PARTITION} lists {quote(first + '/' + rest)}, expected paths starting with img/")
            relatives.append(rest)
        unpacked.require_images(top, relatives, archive)
        unpacked.adopt(top, staging, "")
        rows = [
            replace(row, path=f"images/{relative}") for relative, row in zip(relatives, rows)
        ]
        unpacked.finish(staging, [files["partition"]])
        return rows
