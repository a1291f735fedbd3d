"""Where each benchmark's files come from: names, mirrors, sizes, checksums and the layouts they form.

This is data, kept in one place so that tests can swap in their own fixtures (`SOURCES` is a plain dict of
frozen dataclasses: replace an entry with `dataclasses.replace`); it is the one place to update when a
mirror or a published file changes.

A *layout* is one complete set of files a dataset can be prepared from (Cars196 has three). Each file is
recognised either by its name or, for archives, by the top-level folder its members start with, so a
renamed download (Kaggle saves `archive.zip`) is still found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from daml_cli.errors import DataError

FileKind = Literal["tar", "zip", "file"]

GIB = 1024**3


@dataclass(frozen=True)
class SourceFile:
    """One file a dataset is built from.

    `markers`: member-name prefixes of which at least one must occur in the archive (its content signature).
    `sha256` is preferred; `md5` is used when that is all that is published; with neither the file is
    accepted unverified (with a warning). `size` (bytes) is checked before the checksum when known.
    """

    key: str
    filename: str
    kind: FileKind
    urls: tuple[str, ...] = ()
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    markers: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other file names the same file is commonly saved under
    where: str = ""  # for humans: where to get this file by hand (short; the dataset's `manual` says more)


@dataclass(frozen=True)
class Layout:
    """A complete set of files (by key) that one parser of the dataset understands."""

    name: str
    description: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class DatasetSources:
    """Everything needed to fetch, verify and unpack one dataset."""

    name: str
    title: str
    files: tuple[SourceFile, ...]
    layouts: tuple[Layout, ...]  # in order of preference for downloads and for local files
    max_unpacked_bytes: int  # refuse archives that declare more than this in total
    max_members: int  # refuse archives with more members than this
    terms: str = ""
    manual: str = ""  # for humans: where the files are published when no download works

    def file(self, key: str) -> SourceFile:
        for source in self.files:
            if source.key == key:
                return source
        raise KeyError(key)


_CUB = DatasetSources(
    name="cub",
    title="CUB-200-2011",
    files=(
        SourceFile(
            key="archive",
            filename="CUB_200_2011.tgz",
            kind="tar",
            urls=(
                "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz?download=1",
                "https://data.caltech.edu/api/records/65de6-vp158/files/CUB_200_2011.tgz/content",
                "https://s3.amazonaws.com/fast-ai-imageclas/CUB_200_2011.tgz",
                "https://drive.usercontent.google.com/download?id=1hbzc_P1FuxMkcabkgn9ZKinBwW683j45"
                "&export=download&confirm=t",
            ),
            sha256="0c685df5597a8b24909f6a7c9db6d11e008733779a671760afef78feb49bf081",
            md5="97eceeb196236b17998738112f37df78",
            size=1_150_585_339,
            markers=("CUB_200_2011/",),
            where="https://data.caltech.edu/records/65de6-vp158",
        ),
    ),
    layouts=(Layout("tgz", "CUB_200_2011.tgz", ("archive",)),),
    max_unpacked_bytes=4 * GIB,
    max_members=20_000,
    terms="research and educational use; images come from Flickr; cite Wah et al., CNS-TR-2011-001",
    manual="CaltechDATA record 65de6-vp158 (DOI 10.22002/D1.20098) is the official host",
)

_STANFORD_CARS = "http://ai.stanford.edu/~jkrause/car196/"
_CARS = DatasetSources(
    name="cars",
    title="Cars196 (Stanford Cars)",
    files=(
        SourceFile(
            key="kaggle",
            filename="stanford-car-dataset-by-classes-folder.zip",
            kind="zip",
            urls=("https://www.kaggle.com/api/v1/datasets/download/jutrera/stanford-car-dataset-by-classes-folder",),
            markers=("car_data/", "anno_train.csv"),
            aliases=("archive.zip",),
            where="https://www.kaggle.com/datasets/jutrera/stanford-car-dataset-by-classes-folder",
        ),
        SourceFile(
            key="car_ims",
            filename="car_ims.tgz",
            kind="tar",
            urls=(_STANFORD_CARS + "car_ims.tgz", "http://imagenet.stanford.edu/internal/car196/car_ims.tgz"),
            md5="d5c8f0aa497503f355e17dc7886c3f14",
            size=1_956_628_579,
            markers=("car_ims/",),
            where="no live host known",
        ),
        SourceFile(
            key="cars_annos",
            filename="cars_annos.mat",
            kind="file",
            urls=(_STANFORD_CARS + "cars_annos.mat",),
            md5="b407c6086d669747186bd1d764ff9dbc",
            size=394_471,
            where="no live host known",
        ),
        SourceFile(
            key="cars_train",
            filename="cars_train.tgz",
            kind="tar",
            urls=(_STANFORD_CARS + "cars_train.tgz",),
            sha256="512b227b30e2f0a8aab9e09485786ab4479582073a144998da74d64b801fd288",
            md5="065e5b463ae28d29e77c1b4b166cfe61",
            size=979_269_282,
            markers=("cars_train/",),
            where="no live host known",
        ),
        SourceFile(
            key="cars_test",
            filename="cars_test.tgz",
            kind="tar",
            urls=(_STANFORD_CARS + "cars_test.tgz",),
            sha256="bffea656d6f425cba3c91c6d83336e4c5f86c6cffd8975b0f375d3a10da8e243",
            md5="4ce7ebf6a94d07f1952d94dd34c4d501",
            size=977_350_468,
            markers=("cars_test/",),
            where="no live host known",
        ),
        SourceFile(
            key="devkit",
            filename="car_devkit.tgz",
            kind="tar",
            urls=(
                "https://ai.stanford.edu/~jkrause/cars/car_devkit.tgz",
                "https://github.com/pytorch/vision/files/11644847/car_devkit.tgz",
            ),
            sha256="b97deb463af7d58b6bfaa18b2a4de9829f0f79e8ce663dfa9261bf7810e9accd",
            md5="c3b158d763b6e2245038c8ad08e45376",
            size=330_960,
            markers=("devkit/",),
            where="https://github.com/pytorch/vision/files/11644847/car_devkit.tgz",
        ),
        SourceFile(
            key="test_labels",
            filename="cars_test_annos_withlabels.mat",
            kind="file",
            urls=(_STANFORD_CARS + "cars_test_annos_withlabels.mat",),
            sha256="790f75be8ea34eeded134cc559332baf23e30e91367e9ddca97d26ed9b895f05",
            md5="b0a2b23655a3edd16d84508592a98d10",
            size=185_758,
            where="Kaggle dataset arghyadutta1/cars196",
        ),
    ),
    layouts=(
        Layout("kaggle", "Kaggle zip jutrera/stanford-car-dataset-by-classes-folder", ("kaggle",)),
        Layout("car_ims", "original car_ims.tgz + cars_annos.mat", ("car_ims", "cars_annos")),
        Layout(
            "devkit",
            "cars_train.tgz + cars_test.tgz + car_devkit.tgz + cars_test_annos_withlabels.mat",
            ("cars_train", "cars_test", "devkit", "test_labels"),
        ),
    ),
    max_unpacked_bytes=8 * GIB,
    max_members=40_000,
    terms="research use only; images collected from the web; cite Krause et al., 3dRR 2013",
    manual="the Stanford host has been offline since 2023: the Kaggle zip is the usual source (needs a free "
    "Kaggle account), the other sets work if you have them",
)

_SOP = DatasetSources(
    name="sop",
    title="Stanford Online Products",
    files=(
        SourceFile(
            key="archive",
            filename="Stanford_Online_Products.zip",
            kind="zip",
            urls=(
                "ftp://cs.stanford.edu/cs/cvgl/Stanford_Online_Products.zip",
                "https://drive.usercontent.google.com/download?id=1TclrpQOF_ullUP99wk_gjGN8pKvtErG8"
                "&export=download&authuser=0&confirm=t",
            ),
            sha256="b04fa78210e69fab050ce73939550e1cd0f96890bdd98ec9fee732c3b756ef48",
            md5="7f73d41a2f44250d4779881525aea32e",
            size=3_083_860_082,
            markers=("Stanford_Online_Products/",),
            where="https://drive.google.com/uc?id=1TclrpQOF_ullUP99wk_gjGN8pKvtErG8",
        ),
    ),
    layouts=(Layout("zip", "Stanford_Online_Products.zip", ("archive",)),),
    max_unpacked_bytes=8 * GIB,
    max_members=200_000,
    terms="research use only (eBay product photos); cite Oh Song et al., CVPR 2016",
    manual="the Google Drive link is in the authors' repository rksltnl/Deep-Metric-Learning-CVPR16",
)

_INSHOP = DatasetSources(
    name="inshop",
    title="In-Shop Clothes Retrieval (DeepFashion)",
    files=(
        SourceFile(key="img", filename="img.zip", kind="zip", markers=("img/",), where="Img/img.zip"),
        SourceFile(
            key="img_highres",
            filename="img_highres.zip",
            kind="zip",
            markers=("img_highres/",),
            where="Img/img_highres.zip, re-packed without its password",
        ),
        SourceFile(
            key="partition",
            filename="list_eval_partition.txt",
            kind="file",
            where="Eval/list_eval_partition.txt",
        ),
    ),
    layouts=(
        Layout("img", "img.zip + list_eval_partition.txt", ("img", "partition")),
        Layout("img_highres", "img_highres.zip + list_eval_partition.txt", ("img_highres", "partition")),
    ),
    max_unpacked_bytes=32 * GIB,
    max_members=120_000,
    terms="non-commercial research only (DeepFashion agreement); cite Liu et al., CVPR 2016",
    manual="all are in the DeepFashion In-shop Clothes Retrieval Benchmark Google Drive folder "
    "https://drive.google.com/drive/folders/0B7EVK8r0v71pVDZFQXRsMDZCX1E (accept its terms first)",
)

SOURCES: dict[str, DatasetSources] = {s.name: s for s in (_CUB, _CARS, _SOP, _INSHOP)}


def get_sources(name: str) -> DatasetSources:
    """The source registry entry of dataset `name` (looked up at call time so tests can replace it)."""
    try:
        return SOURCES[name]
    except KeyError:
        raise DataError(f"no download sources known for dataset '{name}'", f"known: {', '.join(SOURCES)}") from None
