"""Cars196 (Stanford Cars) from any of its three published layouts, with the class-disjoint DML split.

Layouts (see `sources.py`): the Kaggle zip `jutrera/stanford-car-dataset-by-classes-folder` (CSV
annotations, images in class folders), the original `car_ims.tgz` + `cars_annos.mat`, and the devkit
variant `cars_train.tgz` + `cars_test.tgz` + `car_devkit.tgz` + `cars_test_annos_withlabels.mat`. Whatever
the layout, classes 1-98 are `train` (8,054 images) and 99-196 `test` (8,131); the label is the dataset's
class id (1..196) and the class name the one from `cars_meta.mat` / `names.csv`.
.mat files are MATLAB 5 (read with scipy); their struct fields are read by name, values cast with int().
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from daml_cli.data.manifest import ManifestRow
from daml_cli.data.preparers import unpacked
from daml_cli.data.preparers.base import ExpectedCounts, PrepareOptions
from daml_cli.errors import DataError
from daml_cli.safety.terminal import quote

LAST_TRAIN_CLASS = 98
EXPECTED = ExpectedCounts(images={"train": 8054, "test": 8131}, classes={"train": 98, "test": 98})
KAGGLE_IMAGES = "car_data/car_data"


def load_mat(path: Path, shown_as: str) -> dict:
    """A MATLAB 5 file as scipy sees it with ``squeeze_me=True``; a DataError if it is not one."""
    import scipy.io

    try:
        return scipy.io.loadmat(path, squeeze_me=True)
    except Exception as error:  # scipy raises ValueError, TypeError, OSError... for foreign files
        raise DataError(f"{shown_as} is not a readable MATLAB file ({error})", "download it again") from None


def _struct_records(mat: dict, variable: str, fields: tuple[str, ...], shown_as: str) -> list[tuple]:
    """Values of `fields` for each element of struct array `variable`, a DataError when any is missing."""
    import numpy as np

    if variable not in mat:
        raise DataError(f"{shown_as} has no variable '{variable}'", "this is not the published file")
    array = np.atleast_1d(mat[variable])
    names = array.dtype.names or ()
    lacking = [name for name in fields if name not in names]
    if lacking:
        raise DataError(
            f"{shown_as}: '{variable}' has no field(s) {', '.join(lacking)} (fields: {', '.join(names) or 'none'})",
            "this is not the published file (cars_test_annos.mat has no labels: use cars_test_annos_withlabels.mat)",
        )
    return [tuple(element[name] for name in fields) for element in array]


def _class_names_from_mat(mat: dict, shown_as: str) -> list[str]:
    import numpy as np

    if "class_names" not in mat:
        raise DataError(f"{shown_as} has no variable 'class_names'", "this is not the published file")
    return [str(name) for name in np.atleast_1d(mat["class_names"])]


def _label(value, names: list[str], shown_as: str) -> int:
    label = int(value)
    if not 1 <= label <= len(names):
        raise DataError(f"{shown_as}: class {label} is outside 1..{len(names)}", "the annotations are corrupt")
    return label


def _row(path: str, label: int, names: list[str], last_train_class: int) -> ManifestRow:
    return ManifestRow(
        path=path, label=label, class_name=names[label - 1], split=unpacked.split_of(label, last_train_class)
    )


def parse_car_ims(annos: Path, last_train_class: int = LAST_TRAIN_CLASS) -> list[ManifestRow]:
    """Rows from `cars_annos.mat`; paths as listed (`car_ims/000001.jpg`) under an `images/` prefix."""
    mat = load_mat(annos, "cars_annos.mat")
    names = _class_names_from_mat(mat, "cars_annos.mat")
    records = _struct_records(mat, "annotations", ("relative_im_path", "class"), "cars_annos.mat")
    return [
        _row(f"images/{str(path).lstrip('/')}", _label(cls, names, "cars_annos.mat"), names, last_train_class)
        for path, cls in records
    ]


def parse_devkit(devkit: Path, test_labels: Path, last_train_class: int = LAST_TRAIN_CLASS) -> list[ManifestRow]:
    """Rows from the devkit's `cars_meta.mat`/`cars_train_annos.mat` and `cars_test_annos_withlabels.mat`.

    Train and test file names collide (both start at 00001.jpg), so paths keep their split folder:
    `images/cars_train/00001.jpg`, `images/cars_test/00001.jpg`.
    """
    meta = unpacked.require_file(devkit, "cars_meta.mat", "car_devkit.tgz:devkit")
    names = _class_names_from_mat(load_mat(meta, "devkit/cars_meta.mat"), "devkit/cars_meta.mat")
    rows = []
    for folder, path, shown_as in (
        ("cars_train", unpacked.require_file(devkit, "cars_train_annos.mat", "car_devkit.tgz:devkit"),
         "devkit/cars_train_annos.mat"),
        ("cars_test", test_labels, "cars_test_annos_withlabels.mat"),
    ):
        records = _struct_records(load_mat(path, shown_as), "annotations", ("fname", "class"), shown_as)
        rows.extend(
            _row(f"images/{folder}/{fname}", _label(cls, names, shown_as), names, last_train_class)
            for fname, cls in records
        )
    return rows


def _read_csv(path: Path, shown_as: str) -> list[list[str]]:
    lines = unpacked.read_text_lines(path, shown_as)
    try:
        return [fields for fields in csv.reader(lines)]
    except csv.Error as error:  # e.g. a field over the csv module's 128 KiB limit
        raise DataError(f"{shown_as} is not a readable CSV file ({error})", "the archive is corrupt") from None


def _index_class_folders(split_dir: Path, shown_as: str) -> dict[str, str]:
    """{file name: 'class folder/file name'} for one Kaggle split folder; file names are unique per split."""
    if not split_dir.is_dir():
        raise DataError(f"the Kaggle zip has no {shown_as}/ folder", "the archive is incomplete; download it again")
    index: dict[str, str] = {}
    for entry in os.scandir(split_dir):
        if entry.is_dir():
            for image in os.scandir(entry.path):
                if image.name in index:
                    raise DataError(f"{shown_as}: {image.name} is in two class folders", "the archive is corrupt")
                index[image.name] = f"{entry.name}/{image.name}"
    return index


def parse_kaggle(folder: Path, last_train_class: int = LAST_TRAIN_CLASS) -> list[ManifestRow]:
    """Rows from the Kaggle zip's `names.csv` and `anno_{train,test}.csv` (`fname,x1,y1,x2,y2,class`, no header).

    The class comes from the CSV; the image is looked up by file name in its split's class folders (whose
    names are the class names with '/' replaced), so a differently spelled folder does not matter.
    Paths: `images/{train,test}/<class folder>/<file>`.
    """
    archive = "the Kaggle zip"
    names = [line.strip() for line in unpacked.read_text_lines(unpacked.require_file(folder, "names.csv", archive),
                                                                 "names.csv")]
    rows = []
    for split_name in ("train", "test"):
        shown_as = f"anno_{split_name}.csv"
        annotations = _read_csv(unpacked.require_file(folder, shown_as, archive), shown_as)
        index = _index_class_folders(folder / KAGGLE_IMAGES / split_name, f"{KAGGLE_IMAGES}/{split_name}")
        if annotations and annotations[0] and not annotations[0][-1].strip().isdigit():
            annotations = annotations[1:]  # tolerate a header line, which some re-uploads add
        for number, fields in enumerate(annotations, start=1):
            if len(fields) != 6 or not fields[5].strip().isdigit():
                raise DataError(f"{shown_as}:{number} is not 'fname,x1,y1,x2,y2,class': {quote(','.join(fields))}")
            fname = fields[0].strip()
            if fname not in index:
                raise DataError(
                    f"{fname} listed in {shown_as} is missing from {KAGGLE_IMAGES}/{split_name}/",
                    "the archive is incomplete; download it again",
                )
            label = _label(fields[5], names, shown_as)
            rows.append(_row(f"images/{split_name}/{index[fname]}", label, names, last_train_class))
    return rows


@dataclass
class CarsPreparer:
    """`daml prepare cars ROOT`: Cars196 with classes 1-98 train and 99-196 test, from any layout."""

    name: str = "cars"
    expected: ExpectedCounts | None = field(default_factory=lambda: EXPECTED)
    last_train_class: int = LAST_TRAIN_CLASS

    def build(self, staging: Path, options: PrepareOptions) -> list[ManifestRow]:
        layout, files = unpacked.gather("cars", staging, options)
        if layout.name == "kaggle":
            folder = files["kaggle"]
            rows = parse_kaggle(folder, self.last_train_class)
            for split_name in ("train", "test"):
                unpacked.adopt(folder / KAGGLE_IMAGES / split_name, staging, split_name)
            metadata = [folder / "names.csv", folder / "anno_train.csv", folder / "anno_test.csv"]
        elif layout.name == "car_ims":
            rows = parse_car_ims(files["cars_annos"], self.last_train_class)
            unpacked.require_images(files["car_ims"], (row.path.removeprefix("images/") for row in rows),
                                    "car_ims.tgz")
            unpacked.adopt(files["car_ims"] / "car_ims", staging, "car_ims")
            metadata = [files["cars_annos"]]
        elif layout.name == "devkit":
            devkit = files["devkit"] / "devkit"
            rows = parse_devkit(devkit, files["test_labels"], self.last_train_class)
            for key in ("cars_train", "cars_test"):
                unpacked.require_images(
                    files[key], (r.path.removeprefix("images/") for r in rows if r.path.startswith(f"images/{key}/")),
                    f"{key}.tgz",
                )
                unpacked.adopt(files[key] / key, staging, key)
            metadata = [devkit / "cars_meta.mat", devkit / "cars_train_annos.mat", files["test_labels"]]
        else:  # a layout added to sources.py without a parser here
            raise DataError(f"no parser for the Cars196 layout '{layout.name}'")
        unpacked.finish(staging, metadata)
        return rows
