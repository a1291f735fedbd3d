"""In-Shop (DeepFashion) fixtures, generated from the spec (the real partition file is not public here).

`list_eval_partition.txt`: line 1 the image count, line 2 `image_name item_id evaluation_status`, then rows
padded with variable whitespace, e.g. `img/WOMEN/Dresses/id_00000002/02_1_front.jpg   id_00000002 train`.
Items alternate between train and test (then the surplus of one side), test items have both query and
gallery images, and `img.zip` (or `img_highres.zip`) holds one tiny JPEG per row under `img/` (`img_highres/`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_archives import Entry, file, folder, jpeg_cmyk, jpeg_gray, jpeg_rgb, write_zip

# (images, items) per status; query and gallery share the test items.
FULL = {"train": (25882, 3997), "query": (14218, 3985), "gallery": (12612, 3985)}
MINI = {"train": (14, 4), "query": (7, 3), "gallery": (6, 3)}
VIEWS = ("front", "side", "back", "full", "additional")
CATEGORIES = (("WOMEN", "Dresses"), ("WOMEN", "Blouses_Shirts"), ("MEN", "Denim"), ("MEN", "Jackets_Vests"))


def _spread(images: int, items: int) -> list[int]:
    base, extra = divmod(images, items)
    return [base + (1 if i < extra else 0) for i in range(items)]


def make_rows(shape: dict[str, tuple[int, int]] = FULL) -> list[tuple[str, str, str]]:
    """(image_name, item_id, status) rows; item numbers interleave train and test items."""
    train_items, test_items = shape["train"][1], shape["query"][1]
    numbers = list(range(1, train_items + test_items + 1))
    pairs = min(train_items, test_items)
    train_numbers = numbers[0 : 2 * pairs : 2] + numbers[2 * pairs :][: train_items - pairs]
    test_numbers = numbers[1 : 2 * pairs : 2] + numbers[2 * pairs :][train_items - pairs :]
    rows: list[tuple[str, str, str]] = []
    plan = [("train", train_numbers, _spread(*shape["train"]))]
    plan += [(status, test_numbers, _spread(*shape[status])) for status in ("query", "gallery")]
    used: dict[int, int] = {}
    for status, item_numbers, sizes in plan:
        for number, size in zip(item_numbers, sizes):
            gender, category = CATEGORIES[number % len(CATEGORIES)]
            item = f"id_{number:08d}"
            for _ in range(size):
                j = used.get(number, 0)
                used[number] = j + 1
                view = j % len(VIEWS)
                name = f"img/{gender}/{category}/{item}/{j // len(VIEWS) + 1:02d}_{view + 1}_{VIEWS[view]}.jpg"
                rows.append((name, item, status))
    return rows


def partition_text(rows: list[tuple[str, str, str]], declared: int | None = None) -> str:
    """The file as DeepFashion writes it: count, header, whitespace-padded columns."""
    lines = [str(len(rows) if declared is None else declared), "image_name item_id evaluation_status"]
    lines += [f"{name:<64}{item:<22}{status}" for name, item, status in rows]
    return "\n".join(lines) + "\n"


def image_entries(
    rows: list[tuple[str, str, str]], top: str = "img", omit: frozenset[str] = frozenset()
) -> list[Entry]:
    entries: list[Entry] = [folder(top)]
    made: set[str] = set()
    for number, (name, _, _) in enumerate(rows):
        if name in omit:
            continue
        path = top + name[3:]
        parent = path.rsplit("/", 1)[0]
        if parent not in made:
            made.add(parent)
            entries.append(folder(parent))
        data = jpeg_cmyk() if number == 1 else jpeg_gray() if number == 2 else jpeg_rgb()
        entries.append(file(path, data))
    return entries


def build_inshop(folder_path: Path, shape: dict[str, tuple[int, int]] = MINI, top: str = "img",
                 omit: frozenset[str] = frozenset(), declared: int | None = None) -> dict[str, Path]:
    """`<top>.zip` and `list_eval_partition.txt` in `folder_path`; returns {key: path} as sources.py names them."""
    rows = make_rows(shape)
    partition = folder_path / "list_eval_partition.txt"
    partition.write_text(partition_text(rows, declared))
    return {top: write_zip(folder_path / f"{top}.zip", image_entries(rows, top, omit)), "partition": partition}


@pytest.fixture(scope="session")
def inshop_full(tmp_path_factory) -> dict[str, Path]:
    return build_inshop(tmp_path_factory.mktemp("inshop-full"), FULL)
