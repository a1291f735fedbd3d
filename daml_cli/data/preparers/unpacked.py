"""Shared steps of the archive-based preparers (CUB, Cars196, SOP, In-Shop).

`gather` fetches (or takes the user's) source files and unpacks them into ``staging/_sources``; the
dataset module parses its metadata there, `require_images` checks that every listed image was in the
archive, `adopt` moves image folders to ``staging/images`` and `keep_metadata` copies the annotation files
to ``staging/metadata``; `discard_sources` removes what is left. Everything happens inside the flow's
staging folder, so a failure at any step leaves no partial dataset behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from daml_cli.data.acquire import from_archives, from_downloads, unpack
from daml_cli.data.preparers.base import PrepareOptions
from daml_cli.data.sources import Layout, get_sources
from daml_cli.errors import DataError

SOURCES_DIR = "_sources"
IMAGES_DIR = "images"
METADATA_DIR = "metadata"
_LISTED = 5


def gather(name: str, staging: Path, options: PrepareOptions) -> tuple[Layout, dict[str, Path]]:
    """Acquire dataset `name` (local archives or downloads into `options.download_dir`) and unpack it.

    Returns the layout used and, per file key, the extracted folder (archives) or copied file (plain files).
    """
    dataset = get_sources(name)
    progress = options.progress
    if options.archives:
        acquired = from_archives(dataset, options.archives, options.skip_checksum, progress, options.warn)
    else:
        download_dir = options.download_dir or staging.parent / "downloads"
        acquired = from_downloads(dataset, download_dir, progress=progress, root=staging.parent, warn=options.warn)
    return acquired.layout, unpack(dataset, acquired, staging / SOURCES_DIR, progress=progress)


def require_file(folder: Path, relative: str, archive: str) -> Path:
    """``folder/relative``, or a DataError saying the archive lacks that metadata file."""
    path = folder / relative
    if not path.is_file():
        raise DataError(
            f"{archive} has no {relative}",
            "the archive is incomplete or of another dataset; download the published one again",
        )
    return path


def read_text_lines(path: Path, shown_as: str) -> list[str]:
    """Non-empty lines of a UTF-8/ASCII text file, trailing whitespace removed; DataError if not text."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{shown_as} is not a text file", "the archive is corrupt; download it again") from None
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def require_images(base: Path, relatives: Iterable[str], archive: str) -> None:
    """A DataError naming the first few listed images that are not files below `base`."""
    missing = [rel for rel in relatives if not os.path.isfile(os.path.join(base, rel))]
    if missing:
        listed = ", ".join(missing[:_LISTED])
        more = f" and {len(missing) - _LISTED:,} more" if len(missing) > _LISTED else ""
        raise DataError(
            f"{len(missing):,} image(s) listed in the metadata are missing from {archive}: {listed}{more}",
            "the archive is incomplete; download it again",
        )


def adopt(source: Path, staging: Path, relative: str) -> str:
    """Move folder `source` to ``staging/images/relative``; returns that path relative to `staging`."""
    target = staging / IMAGES_DIR / relative if relative else staging / IMAGES_DIR
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise DataError(f"cannot move {source.name} into place: {target} already exists")
    os.replace(source, target)
    return target.relative_to(staging).as_posix()


def keep_metadata(staging: Path, files: Sequence[Path]) -> None:
    """Copy annotation files to ``staging/metadata`` so the prepared folder documents its own provenance."""
    folder = staging / METADATA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        if path.is_file():
            shutil.copyfile(path, folder / path.name)


def discard_sources(staging: Path) -> None:
    """Remove what is left of the unpacked archives (everything needed has been moved or copied)."""
    shutil.rmtree(staging / SOURCES_DIR, ignore_errors=True)


def finish(staging: Path, metadata: Sequence[Path]) -> None:
    """The last step every archive preparer shares: keep the annotation files, then discard the sources."""
    keep_metadata(staging, metadata)
    discard_sources(staging)


def split_of(label: int, last_train_class: int) -> str:
    """The standard class-disjoint split: classes up to `last_train_class` train, the rest test."""
    return "train" if label <= last_train_class else "test"
