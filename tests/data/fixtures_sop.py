"""Stanford Online Products fixtures, generated from the spec (the real lists are not public).

`Stanford_Online_Products.zip` with the single top folder `Stanford_Online_Products/` holding
`Ebay_train.txt`, `Ebay_test.txt`, `Ebay_info.txt` (header `image_id class_id super_class_id path`, LF), the
12 `<super>_final/` folders with upper-case `.JPG` files, stub LICENSE/README. Test class ids start at
train_classes + 1 (11,319 at full size), the first row is the real one
(`1 1 1 bicycle_final/111085122871_0.JPG`), classes are spread over the 12 super classes in blocks, and a
few images are grayscale or CMYK JPEGs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures_archives import Entry, file, folder, jpeg_cmyk, jpeg_gray, jpeg_rgb, write_zip

SUPER = ("bicycle", "cabinet", "chair", "coffee_maker", "fan", "kettle",
         "lamp", "mug", "sofa", "stapler", "table", "toaster")  # fmt: skip
HEADER = "image_id class_id super_class_id path"
FULL = {"train": (59551, 11318), "test": (60502, 11316)}  # (images, classes) from the spec
MINI = {"train": (30, 12), "test": (28, 12)}  # every super class once per split


@dataclass(frozen=True)
class SopLists:
    train: list[str]  # rows without header
    test: list[str]

    def paths(self) -> list[str]:
        return [row.split()[3] for row in self.train + self.test]


def _sizes(images: int, classes: int) -> list[int]:
    """Images per class: as even as possible, with class 1 holding 4 like the real list."""
    base, extra = divmod(images, classes)
    sizes = [base + (1 if i < extra else 0) for i in range(classes)]
    sizes[-1] -= 4 - sizes[0]
    sizes[0] = 4
    assert min(sizes) >= 1 and sum(sizes) == images
    return sizes


def make_lists(shape: dict[str, tuple[int, int]] = FULL) -> SopLists:
    """Rows of Ebay_train/Ebay_test for the given (images, classes) per split; image ids run on across splits."""
    rows: dict[str, list[str]] = {"train": [], "test": []}
    image_id = 0
    first_class = 1
    for split in ("train", "test"):
        images, classes = shape[split]
        for offset, size in enumerate(_sizes(images, classes)):
            class_id = first_class + offset
            super_id = 1 + offset * len(SUPER) // classes
            product = 111085122871 if class_id == 1 else 111265328556 if class_id == 2 else 300000000000 + class_id
            for k in range(size):
                image_id += 1
                rows[split].append(f"{image_id} {class_id} {super_id} {SUPER[super_id - 1]}_final/{product}_{k}.JPG")
        first_class += classes
    return SopLists(rows["train"], rows["test"])


def sop_entries(lists: SopLists, omit: frozenset[str] = frozenset(), train_text: str | None = None) -> list[Entry]:
    top = "Stanford_Online_Products"

    def listing(rows: list[str]) -> bytes:
        return (HEADER + "\n" + "".join(row + "\n" for row in rows)).encode()

    entries = [folder(top),
               file(f"{top}/Ebay_train.txt", train_text.encode() if train_text is not None else listing(lists.train)),
               file(f"{top}/Ebay_test.txt", listing(lists.test)),
               file(f"{top}/Ebay_info.txt", listing(lists.train + lists.test)),
               file(f"{top}/LICENSE", b"stub\n"), file(f"{top}/README", b"stub\n")]
    entries += [folder(f"{top}/{name}_final") for name in SUPER]
    for number, path in enumerate(lists.paths()):
        if path in omit:
            continue
        data = jpeg_cmyk() if number == 2 else jpeg_gray() if number == 1 else jpeg_rgb()
        entries.append(file(f"{top}/{path}", data))
    return [e for e in entries if e.name.rstrip("/") not in {f"{top}/{name}" for name in omit}]


def build_sop_zip(path: Path, shape: dict[str, tuple[int, int]] = MINI, **kwargs) -> Path:
    return write_zip(path, sop_entries(make_lists(shape), **kwargs))


@pytest.fixture(scope="session")
def sop_mini_zip(tmp_path_factory) -> Path:
    return build_sop_zip(tmp_path_factory.mktemp("sop-mini") / "Stanford_Online_Products.zip")


@pytest.fixture(scope="session")
def sop_full_zip(tmp_path_factory) -> Path:
    return build_sop_zip(tmp_path_factory.mktemp("sop-full") / "Stanford_Online_Products.zip", FULL)
