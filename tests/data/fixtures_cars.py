"""Cars196 fixtures in the three published layouts, from the real devkit / Kaggle CSV / cars_annos dump.

- Kaggle zip: the real `names.csv`, `anno_train.csv`, `anno_test.csv` at the root and one tiny JPEG per row
  at `car_data/car_data/{train,test}/<class name, '/' -> '-'>/<fname>`.
- original: `car_ims.tgz` (`car_ims/000001.jpg`..) + `cars_annos.mat` synthesised from `derived/cars_annos.txt`
  (struct fields relative_im_path, bbox_x1, bbox_y1, bbox_x2, bbox_y2, class, test; plus `class_names`).
- devkit: `car_devkit.tgz` (`devkit/` with the real files + a stub eval_train.m), `cars_train.tgz`,
  `cars_test.tgz` and `cars_test_annos_withlabels.mat` synthesised from `anno_test.csv`.
`rows` (a subset of CSV/dump rows, kept verbatim) makes mini variants.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from fixtures_archives import Entry, file, folder, jpeg_gray, jpeg_rgb, require_meta, write_tar, write_zip

# cars_train images reported as grayscale in the real archive: written as "L" JPEGs where cars_train is used.
GRAYSCALE_TRAIN = frozenset(f"{n:05d}.jpg" for n in (266, 1085, 2176, 3048, 3439, 3469, 3539, 4577, 4848, 5177,
                                                     5502, 5713, 6947, 7383, 7693, 7774, 8137, 8144))
BBOX_FIELDS = ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2")

Keep = Callable[[int], bool]  # which classes a mini fixture keeps


def names() -> list[str]:
    return require_meta("cars", "kaggle-jutrera", "names.csv").read_text().splitlines()


def csv_rows(split: str) -> list[list[str]]:
    with open(require_meta("cars", "kaggle-jutrera", f"anno_{split}.csv"), newline="") as handle:
        return list(csv.reader(handle))


def dump_rows() -> list[list[str]]:
    """`derived/cars_annos.txt`: relative_im_path,class,test."""
    return [line.split(",") for line in require_meta("cars", "derived", "cars_annos.txt").read_text().splitlines()]


def _matlab_int(value: int) -> np.ndarray:
    """A 1x1 uint8 or uint16 array, as the real .mat files store each number."""
    return np.array([[value]], dtype=np.uint8 if value < 256 else np.uint16)


def _struct(records: list[dict]) -> np.ndarray:
    fields = list(records[0])
    array = np.empty((1, len(records)), dtype=[(name, object) for name in fields])
    for i, record in enumerate(records):
        for name in fields:
            array[0, i][name] = record[name]
    return array


def write_withlabels_mat(path: Path, rows: list[list[str]]) -> Path:
    """`cars_test_annos_withlabels.mat` from anno_test.csv rows (fname,x1,y1,x2,y2,class)."""
    records = [{**{f: _matlab_int(int(v)) for f, v in zip(BBOX_FIELDS, row[1:5])}, "class": _matlab_int(int(row[5])),
                "fname": row[0]} for row in rows]
    scipy.io.savemat(path, {"annotations": _struct(records)})
    return path


def write_cars_annos_mat(path: Path, rows: list[list[str]]) -> Path:
    """`cars_annos.mat` from cars_annos.txt rows (path,class,test), placeholder boxes, real class names."""
    records = [{"relative_im_path": row[0], **{f: _matlab_int(v) for f, v in zip(BBOX_FIELDS, (1, 1, 8, 6))},
                "class": _matlab_int(int(row[1])), "test": _matlab_int(int(row[2]))} for row in rows]
    class_names = np.empty((1, len(names())), dtype=object)
    class_names[0, :] = names()
    scipy.io.savemat(path, {"annotations": _struct(records), "class_names": class_names})
    return path


def build_kaggle_zip(path: Path, keep: Keep | None = None, drop: frozenset[str] = frozenset()) -> Path:
    """The Kaggle jutrera zip; `drop` leaves out root files by name (e.g. 'anno_test.csv')."""
    class_names = names()
    entries: list[Entry] = []
    meta = require_meta("cars", "kaggle-jutrera")
    for name in ("names.csv", "anno_train.csv", "anno_test.csv"):
        if name in drop:
            continue
        if keep is None or name == "names.csv":
            entries.append(file(name, (meta / name).read_bytes()))
        else:
            kept = [line for line in (meta / name).read_text().splitlines(keepends=True)
                    if keep(int(line.rsplit(",", 1)[1]))]
            entries.append(file(name, "".join(kept).encode()))
    for split in ("train", "test"):
        made: set[str] = set()
        for row in csv_rows(split):
            label = int(row[5])
            if keep is not None and not keep(label):
                continue
            class_dir = f"car_data/car_data/{split}/{class_names[label - 1].replace('/', '-')}"
            if class_dir not in made:
                made.add(class_dir)
                entries.append(folder(class_dir))
            gray = split == "train" and row[0] in GRAYSCALE_TRAIN
            entries.append(file(f"{class_dir}/{row[0]}", jpeg_gray() if gray else jpeg_rgb()))
    return write_zip(path, entries)


def build_car_ims(folder_path: Path, keep: Keep | None = None) -> dict[str, Path]:
    """`car_ims.tgz` + `cars_annos.mat` in `folder_path`; returns {key: path} as sources.py names them."""
    rows = [row for row in dump_rows() if keep is None or keep(int(row[1]))]
    entries = [folder("car_ims"), *(file(row[0], jpeg_rgb()) for row in rows)]
    return {"car_ims": write_tar(folder_path / "car_ims.tgz", entries),
            "cars_annos": write_cars_annos_mat(folder_path / "cars_annos.mat", rows)}


def build_devkit(folder_path: Path) -> dict[str, Path]:
    """The four files of the devkit variant (always full size: the real devkit lists every train image)."""
    meta = require_meta("cars", "devkit")
    devkit = [folder("devkit"), file("devkit/eval_train.m", b"% stub\n")]
    for name in ("cars_meta.mat", "cars_train_annos.mat", "cars_test_annos.mat", "README.txt",
                 "train_perfect_preds.txt"):
        devkit.append(file(f"devkit/{name}", (meta / name).read_bytes()))
    train_images = [file(f"cars_train/{row[0]}", jpeg_gray() if row[0] in GRAYSCALE_TRAIN else jpeg_rgb())
                    for row in csv_rows("train")]
    test_rows = csv_rows("test")
    return {
        "devkit": write_tar(folder_path / "car_devkit.tgz", devkit),
        "cars_train": write_tar(folder_path / "cars_train.tgz", [folder("cars_train"), *train_images]),
        "cars_test": write_tar(folder_path / "cars_test.tgz",
                               [folder("cars_test"), *(file(f"cars_test/{row[0]}", jpeg_rgb()) for row in test_rows)]),
        "test_labels": write_withlabels_mat(folder_path / "cars_test_annos_withlabels.mat", test_rows),
    }


@pytest.fixture(scope="session")
def cars_kaggle_zip(tmp_path_factory) -> Path:
    return build_kaggle_zip(tmp_path_factory.mktemp("cars-kaggle") / "archive.zip")


@pytest.fixture(scope="session")
def cars_car_ims(tmp_path_factory) -> dict[str, Path]:
    return build_car_ims(tmp_path_factory.mktemp("cars-car-ims"))


@pytest.fixture(scope="session")
def cars_devkit(tmp_path_factory) -> dict[str, Path]:
    return build_devkit(tmp_path_factory.mktemp("cars-devkit"))
