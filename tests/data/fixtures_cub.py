"""CUB-200-2011 fixtures: `CUB_200_2011.tgz` with the real tables and one tiny JPEG per listed image.

Member order follows the spec: `attributes.txt` at the archive root, then `CUB_200_2011/`, its README, the
five tables, the class folders with their JPEGs (the 8 known grayscale ids as mode "L"), `parts/parts.txt`
and `attributes/certainties.txt`. A subset of image ids gives a mini archive whose tables keep the
original lines verbatim (non-contiguous ids on purpose); classes.txt always stays complete.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

import pytest
from fixtures_archives import Entry, file, folder, jpeg_gray, jpeg_rgb, require_meta, write_tar

GRAYSCALE_IDS = frozenset({448, 1401, 3617, 3619, 3780, 5029, 5393, 6321})
PER_IMAGE_TABLES = ("images.txt", "image_class_labels.txt", "train_test_split.txt", "bounding_boxes.txt")
# Mini: classes 1, 2, 101, 102 (first 3 images each) + grayscale id 448 (class 9, training half).
MINI_IDS = frozenset({1, 2, 3, 60, 61, 62, 448, 5865, 5866, 5867, 5925, 5926, 5927})


def _table(meta: Path, name: str, ids: Collection[int] | None) -> bytes:
    text = (meta / "CUB_200_2011" / name).read_text()
    if ids is None or name not in PER_IMAGE_TABLES:
        return text.encode()
    kept = [line for line in text.splitlines(keepends=True) if int(line.split()[0]) in ids]
    return "".join(kept).encode()


def cub_entries(ids: Collection[int] | None = None, omit: Collection[str] = ()) -> list[Entry]:
    """Members of a CUB archive holding the images `ids` (all for None), minus the member names in `omit`."""
    meta = require_meta("cub")
    top = "CUB_200_2011"
    entries = [file("attributes.txt", (meta / "attributes.txt").read_bytes()), folder(top),
               file(f"{top}/README", (meta / top / "README").read_bytes())]
    for name in ("images.txt", "image_class_labels.txt", "classes.txt", "train_test_split.txt", "bounding_boxes.txt"):
        entries.append(file(f"{top}/{name}", _table(meta, name, ids)))
    entries.append(folder(f"{top}/images"))
    seen_dirs: set[str] = set()
    for line in (meta / top / "images.txt").read_text().splitlines():
        image_id, relative = line.split()
        if ids is not None and int(image_id) not in ids:
            continue
        class_dir = relative.split("/")[0]
        if class_dir not in seen_dirs:
            seen_dirs.add(class_dir)
            entries.append(folder(f"{top}/images/{class_dir}"))
        data = jpeg_gray() if int(image_id) in GRAYSCALE_IDS else jpeg_rgb()
        entries.append(file(f"{top}/images/{relative}", data))
    entries += [folder(f"{top}/parts"), file(f"{top}/parts/parts.txt", (meta / top / "parts/parts.txt").read_bytes()),
                folder(f"{top}/attributes"),
                file(f"{top}/attributes/certainties.txt", (meta / top / "attributes/certainties.txt").read_bytes())]
    return [entry for entry in entries if entry.name.rstrip("/") not in omit]


def build_cub_tgz(path: Path, ids: Collection[int] | None = None, omit: Collection[str] = (),
                  extra: Iterable[Entry] = ()) -> Path:
    """Write `path` (named as the caller likes) from `cub_entries` plus `extra` members at the end."""
    return write_tar(path, [*cub_entries(ids, omit), *extra])


def mini_counts() -> dict[str, tuple[int, int]]:
    """(images, classes) per split of the MINI_IDS archive, from the real label table (not hard-coded)."""
    meta = require_meta("cub")
    labels = {int(a): int(b) for a, b in
              (line.split() for line in (meta / "CUB_200_2011/image_class_labels.txt").read_text().splitlines())}
    out: dict[str, tuple[int, int]] = {}
    for split, keep in (("train", lambda c: c <= 100), ("test", lambda c: c > 100)):
        chosen = [labels[i] for i in MINI_IDS if keep(labels[i])]
        out[split] = (len(chosen), len(set(chosen)))
    return out


@pytest.fixture(scope="session")
def cub_full_tgz(tmp_path_factory) -> Path:
    """The full-shape archive: all 11,788 listed images (built once per test session)."""
    return build_cub_tgz(tmp_path_factory.mktemp("cub-full") / "CUB_200_2011.tgz")


@pytest.fixture(scope="session")
def cub_mini_tgz(tmp_path_factory) -> Path:
    """13 images of classes 1, 2, 9, 101, 102 with the real table lines."""
    return build_cub_tgz(tmp_path_factory.mktemp("cub-mini") / "CUB_200_2011.tgz", MINI_IDS)
