"""`daml prepare cars` from the Kaggle zip, the original car_ims.tgz + cars_annos.mat, and the devkit variant."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from fixtures_archives import (  # noqa: F401 (disposable_root is a fixture)
    assert_refused,
    prepare_archives,
    disposable_root,
    file,
    folder,
    require_meta,
    trust_fixture_files,
    write_tar,
    write_zip,
)
from fixtures_cars import (  # noqa: F401 (session fixtures)
    build_car_ims,
    build_kaggle_zip,
    cars_car_ims,
    cars_devkit,
    cars_kaggle_zip,
    csv_rows,
    names,
    write_withlabels_mat,
)
from fixtures_cub import MINI_IDS, build_cub_tgz

from daml_cli.data.manifest import read_manifest
from daml_cli.data.preparers import cars as cars_module
from daml_cli.data.preparers.base import ExpectedCounts


def _prepare(root: Path, files, *flags: str, capsys) -> tuple[int, str, str]:
    return prepare_archives("cars", root, files, *flags, capsys=capsys)


def _check_standard_split(root: Path) -> Counter:
    manifest = read_manifest(root / "cars")
    train, test = manifest.split("train"), manifest.split("test")
    assert (len(train), len(test)) == (8054, 8131)
    assert {r.label for r in train} == set(range(1, 99)) and {r.label for r in test} == set(range(99, 197))
    class_names = names()
    assert all(r.class_name == class_names[r.label - 1] for r in manifest.rows)
    assert all(manifest.absolute(r).is_file() for r in manifest.rows)
    assert not (root / "cars" / "_sources").exists()
    return Counter(r.label for r in manifest.rows)


_per_layout: dict[str, Counter] = {}


def test_kaggle_zip_renamed_archive(cars_kaggle_zip, disposable_root, monkeypatch, capsys):
    trust_fixture_files(monkeypatch, "cars", {"kaggle": cars_kaggle_zip})
    code, out, err = _prepare(disposable_root, [cars_kaggle_zip], capsys=capsys)  # saved as archive.zip by a browser
    assert code == 0, err
    _per_layout["kaggle"] = _check_standard_split(disposable_root)
    manifest = read_manifest(disposable_root / "cars")
    ram = next(r for r in manifest.rows if r.label == 174)
    assert ram.class_name == "Ram C/V Cargo Van Minivan 2012" and "/Ram C-V Cargo Van Minivan 2012/" in ram.path


def test_original_car_ims_layout(cars_car_ims, disposable_root, monkeypatch, capsys):
    trust_fixture_files(monkeypatch, "cars", cars_car_ims)
    code, _, err = _prepare(disposable_root, cars_car_ims.values(), capsys=capsys)
    assert code == 0, err
    _per_layout["car_ims"] = _check_standard_split(disposable_root)
    first = read_manifest(disposable_root / "cars").rows[0]
    assert (first.path, first.label) == ("images/car_ims/000001.jpg", 1)


def test_devkit_layout(cars_devkit, disposable_root, monkeypatch, capsys):
    trust_fixture_files(monkeypatch, "cars", cars_devkit)
    code, _, err = _prepare(disposable_root, cars_devkit.values(), capsys=capsys)
    assert code == 0, err
    _per_layout["devkit"] = _check_standard_split(disposable_root)
    paths = {r.path for r in read_manifest(disposable_root / "cars").rows}
    assert {"images/cars_train/00001.jpg", "images/cars_test/00001.jpg"} <= paths  # colliding names kept apart


def test_every_layout_gives_the_same_classes():
    if len(_per_layout) < 3:
        pytest.skip("needs the three layout tests of this module to have run")
    assert _per_layout["kaggle"] == _per_layout["car_ims"] == _per_layout["devkit"]


def test_synthesised_withlabels_mat_has_the_real_structure(tmp_path):
    rows = csv_rows("test")
    path = write_withlabels_mat(tmp_path / "w.mat", rows[:50])
    raw = scipy.io.loadmat(path)["annotations"]
    assert raw.shape == (1, 50) and raw.dtype.names == ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname")
    assert {raw[0, i]["bbox_x2"].dtype for i in range(50)} <= {np.dtype("uint8"), np.dtype("uint16")}
    annotations = scipy.io.loadmat(path, squeeze_me=True)["annotations"]
    assert [(str(a["fname"]), int(a["class"]), int(a["bbox_x1"])) for a in annotations] == [
        (r[0], int(r[5]), int(r[1])) for r in rows[:50]]


def test_real_devkit_matches_the_kaggle_csv():
    annotations = cars_module.load_mat(require_meta("cars", "devkit", "cars_train_annos.mat"), "train")
    records = cars_module._struct_records(annotations, "annotations", ("fname", "class"), "train")
    assert [(str(f), int(c)) for f, c in records] == [(r[0], int(r[5])) for r in csv_rows("train")]
    meta = cars_module.load_mat(require_meta("cars", "devkit", "cars_meta.mat"), "meta")
    assert cars_module._class_names_from_mat(meta, "meta") == names()


# --- mini archives and broken input ---

def _keep(label: int) -> bool:
    return label in (1, 2, 99, 100)


@pytest.fixture
def mini_expected(monkeypatch) -> None:
    labels = [int(r[5]) for split in ("train", "test") for r in csv_rows(split) if _keep(int(r[5]))]
    images = {"train": sum(1 for x in labels if x <= 98), "test": sum(1 for x in labels if x > 98)}
    monkeypatch.setattr(cars_module, "EXPECTED", ExpectedCounts(images, {"train": 2, "test": 2}))


def _refused(tmp_path: Path, files, *flags: str, capsys) -> str:
    return assert_refused(tmp_path, "cars", files, *flags, capsys=capsys)


def test_mini_kaggle_and_car_ims(tmp_path, monkeypatch, capsys, mini_expected):
    kaggle = build_kaggle_zip(tmp_path / "stanford-car-dataset-by-classes-folder.zip", _keep)
    trust_fixture_files(monkeypatch, "cars", {"kaggle": kaggle})
    code, _, err = _prepare(tmp_path / "a", [kaggle], capsys=capsys)
    assert code == 0, err
    original = build_car_ims(tmp_path, _keep)
    trust_fixture_files(monkeypatch, "cars", original)
    code, _, err = _prepare(tmp_path / "b", original.values(), capsys=capsys)
    assert code == 0, err
    for root in (tmp_path / "a", tmp_path / "b"):
        manifest = read_manifest(root / "cars")
        assert {r.label for r in manifest.split("train")} == {1, 2}
        assert {r.label for r in manifest.split("test")} == {99, 100}


def test_incomplete_layout_names_the_missing_files(tmp_path, monkeypatch, capsys):
    original = build_car_ims(tmp_path, _keep)
    err = _refused(tmp_path, [original["car_ims"]], "--skip-checksum", capsys=capsys)
    assert "missing cars_annos.mat" in err and "cars_test_annos_withlabels.mat" in err


def test_kaggle_zip_without_test_annotations_is_refused(tmp_path, monkeypatch, capsys):
    kaggle = build_kaggle_zip(tmp_path / "archive.zip", _keep, drop=frozenset({"anno_test.csv"}))
    err = _refused(tmp_path, [kaggle], "--skip-checksum", capsys=capsys)
    assert "has no anno_test.csv" in err


def test_unlabelled_test_annotations_are_refused_with_advice(tmp_path, monkeypatch, capsys):
    meta = require_meta("cars", "devkit")
    devkit = write_tar(tmp_path / "car_devkit.tgz", [folder("devkit"), *(
        file(f"devkit/{n}", (meta / n).read_bytes()) for n in ("cars_meta.mat", "cars_train_annos.mat"))])
    train = write_tar(tmp_path / "cars_train.tgz", [folder("cars_train")])
    test = write_tar(tmp_path / "cars_test.tgz", [folder("cars_test")])
    renamed = tmp_path / "cars_test_annos_withlabels.mat"  # really the devkit's label-less cars_test_annos.mat
    renamed.write_bytes((meta / "cars_test_annos.mat").read_bytes())
    err = _refused(tmp_path, [devkit, train, test, renamed], "--skip-checksum", capsys=capsys)
    assert "no field(s) class" in err and "withlabels" in err
    err = _refused(tmp_path, [meta / "cars_test_annos.mat"], capsys=capsys)
    assert "is not one of the Cars196" in err


def test_listed_image_missing_from_car_ims_is_refused(tmp_path, monkeypatch, capsys):
    original = build_car_ims(tmp_path, _keep)
    names_in = [n for n in __import__("tarfile").open(original["car_ims"]).getnames() if n.endswith(".jpg")]
    entries = [folder("car_ims"), *(file(n, b"x") for n in names_in[1:])]
    write_tar(original["car_ims"], entries)
    err = _refused(tmp_path, original.values(), "--skip-checksum", capsys=capsys)
    assert "missing from car_ims.tgz" in err and names_in[0] in err


def test_published_checksums_reject_fixtures(tmp_path, monkeypatch, capsys):
    original = build_car_ims(tmp_path, _keep)
    err = _refused(tmp_path, original.values(), capsys=capsys)
    assert "1,956,628,579" in err  # the published size of car_ims.tgz


def test_archive_of_another_dataset_is_refused(tmp_path, monkeypatch, capsys):
    cub = build_cub_tgz(tmp_path / "cars.tgz", MINI_IDS)
    err = _refused(tmp_path, [cub], capsys=capsys)
    assert "is not one of the Cars196" in err and "CUB_200_2011.tgz of CUB-200-2011" in err
    bogus = write_zip(tmp_path / "archive.zip", [file("photos/a.jpg", b"x")])
    err = _refused(tmp_path, [bogus], capsys=capsys)
    assert "contains no car_data/ or anno_train.csv" in err and "top-level entries are photos" in err
