"""The preparer contract (API fixed here; the shared flow lives in `flow.py`).

A preparer turns some source (bundled data, a folder, downloaded or local archives) into image files plus
manifest rows inside a *staging* folder. The shared flow (`flow.prepare_dataset`) owns everything around it:
the idempotency check, the staging folder that is moved into place only when complete, the optional
validation split carved from the training classes, the expected-count check, the manifest write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from daml_cli.data.manifest import ManifestRow
from daml_cli.data.progress import ByteProgress, Warn, python_warning, silent_progress


@dataclass
class PrepareOptions:
    """Everything `daml prepare` can be told; each preparer reads the fields it needs."""

    source: Path | None = None  # folder preparer: one folder per class
    train_dir: Path | None = None  # folder preparer: pre-split training classes
    test_dir: Path | None = None  # folder preparer: pre-split test classes
    test_fraction: float = 0.5  # folder preparer: share of classes sent to test when splitting --source
    seed: int = 0  # seeds every random choice (class split, validation classes)
    archives: list[Path] = field(default_factory=list)  # local archives instead of downloading
    skip_checksum: bool = False
    force: bool = False  # redo a dataset that is already prepared and verified
    val_classes: float = 0.0  # <1: fraction of training classes moved to split 'val'; >=1: that many classes
    check_images: bool = False  # decode every image, report unreadable ones by path
    resize: int | None = None  # write a copy whose shorter side is this many pixels
    download_dir: Path | None = None  # where downloads are cached (default ROOT/downloads)
    verify: bool = False  # a second prepare re-hashes every file instead of checking sizes only
    progress: ByteProgress = silent_progress  # how downloads, checksums and extraction report bytes (the CLI's bars)
    warn: Warn = python_warning  # how a warning reaches the user (the CLI prints it on stderr)


@dataclass(frozen=True)
class ExpectedCounts:
    """Image and class counts per split that a correct preparation must reproduce exactly."""

    images: dict[str, int]
    classes: dict[str, int] = field(default_factory=dict)


class Preparer(Protocol):
    """Writes images into `staging` and returns their manifest rows (paths relative to `staging`)."""

    name: str
    expected: ExpectedCounts | None

    def build(self, staging: Path, options: PrepareOptions) -> list[ManifestRow]: ...


@dataclass(frozen=True)
class PrepareReport:
    """What `prepare_dataset` did: where, how many images and classes per split, or that it skipped."""

    dataset_dir: Path
    images: dict[str, int]
    classes: dict[str, int]
    skipped: bool = False
    skipped_files: int = 0  # links leaving the source and special files (FIFOs, devices) left out
