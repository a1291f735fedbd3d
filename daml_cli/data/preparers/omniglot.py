"""`omniglot`: the zero-shot benchmark built from the two "minimal" Omniglot background zips.

Train = every character of ``images_background_small1.zip`` (136 classes, 2,720 images); test = the characters
of ``images_background_small2.zip`` whose alphabet is not in small1 (Japanese_(katakana), Sanskrit, Tagalog:
106 classes, 2,120 images). Greek and Latin appear in both zips and are dropped from small2 so the classes stay
disjoint. The zips are extracted (safely) to a temporary folder and handed to the folder preparer.

The zips come from the public repository https://github.com/brendenlake/omniglot (folder ``python/``); they
are read from ``--archive`` paths, a ``--source`` folder, or ``ROOT/downloads/``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from daml_cli.data.extract import ExtractLimits, archive_format, safe_extract
from daml_cli.data.checksum import file_sha256
from daml_cli.data.manifest import ManifestRow
from daml_cli.data.preparers.base import ExpectedCounts, PrepareOptions
from daml_cli.data.preparers.folder import build_presplit
from daml_cli.errors import DataError
from daml_cli.safety.files import require_regular_file

TRAIN_ZIP = "images_background_small1.zip"
TEST_ZIP = "images_background_small2.zip"
SHA256 = {
    TRAIN_ZIP: "f38eb80f801274ac2b4dff5b24289016bfaba4a7d5bb50deebf27104ad6cb8a4",
    TEST_ZIP: "3ccaa407515a8778e5d0861875af38b17e418f301ad5bb3b5a6b65d901a41c7f",
}
SHARED_ALPHABETS = ("Greek", "Latin")  # in both zips: kept in train, dropped from test


ORIGIN = "https://github.com/brendenlake/omniglot/raw/master/python/"
WHERE_TO_GET = (
    f"download {ORIGIN}{TRAIN_ZIP} and {ORIGIN}{TEST_ZIP} (github.com/brendenlake/omniglot) into ROOT/downloads/, "
    "or pass --source DIR holding both"
)


# The two zips expand to about 7 MB in 2,900 members; anything far larger is not Omniglot (or a zip bomb).
EXTRACT_LIMITS = ExtractLimits(max_bytes=256 * 1024**2, max_members=20_000)


def safe_extract_zip(archive: Path, target: Path) -> None:
    """Extract `archive` into `target` with the generic safe extractor and its size and member limits.

    Absolute paths, '..' components, links and special files are refused, as is a zip that expands past
    `EXTRACT_LIMITS` (also under --skip-checksum, where the archive is not known to be the published one).
    """
    if archive_format(archive) != "zip":
        raise DataError(f"{archive} is not a valid zip file", "download it again")
    safe_extract(archive, target, EXTRACT_LIMITS)


def _locate_zips(options: PrepareOptions, downloads: Path) -> dict[str, Path]:
    """The two zips from --archive paths (matched by file name), the --source folder, or `downloads`."""
    if options.archives:
        found = {Path(a).name: Path(a).expanduser() for a in options.archives}
        missing = [n for n in SHA256 if n not in found]
        if missing:
            raise DataError(f"--archive is missing {', '.join(missing)}", "pass both Omniglot zips")
        zips = {n: found[n] for n in SHA256}
    else:
        source = options.source if options.source is not None else downloads
        zips = {n: Path(source).expanduser() / n for n in SHA256}
    for name, path in zips.items():
        require_regular_file(path, "Omniglot zip", DataError, WHERE_TO_GET)
        if not options.skip_checksum and file_sha256(path) != SHA256[name]:
            raise DataError(f"{path} has the wrong sha256", "download it again, or pass --skip-checksum")
    return zips


class OmniglotPreparer:
    """The Omniglot small1 -> small2 zero-shot benchmark (see the module docstring)."""

    name = "omniglot"
    expected = ExpectedCounts(images={"train": 2720, "test": 2120}, classes={"train": 136, "test": 106})

    def build(self, staging: Path, options: PrepareOptions) -> list[ManifestRow]:
        zips = _locate_zips(options, staging.parent / "downloads")
        with tempfile.TemporaryDirectory(prefix=".omniglot-", dir=staging.parent) as scratch:
            scratch_dir = Path(scratch)
            for name, path in zips.items():
                safe_extract_zip(path, scratch_dir / name.removesuffix(".zip"))
            train_dir = _single_top_folder(scratch_dir / TRAIN_ZIP.removesuffix(".zip"))
            test_dir = _single_top_folder(scratch_dir / TEST_ZIP.removesuffix(".zip"))
            for alphabet in SHARED_ALPHABETS:
                shutil.rmtree(test_dir / alphabet, ignore_errors=True)
            return build_presplit(staging, train_dir, test_dir)


def _single_top_folder(extracted: Path) -> Path:
    """The folder the zip wraps its content in (``images_background_smallN``), or `extracted` itself."""
    entries = [p for p in extracted.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else extracted
