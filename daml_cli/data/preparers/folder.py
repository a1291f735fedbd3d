"""`folder`: a user's own images, one folder per class, split into class-disjoint train and test.

A class is a leaf folder that directly holds images; its name is the folder's path relative to the source
with '/' kept (``Greek/character01``). Either ``--source DIR`` (a seeded share of the classes goes to test) or
``--train-dir`` + ``--test-dir`` (already split). Images are copied (never moved) to
``images/<split>/<class path>/<file>``; labels are dense ints, train classes first, each side sorted by name.
"""

from __future__ import annotations

import os
import random
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from daml_cli.data.images import IMAGE_EXTENSIONS, is_image_file
from daml_cli.data.manifest import ManifestRow
from daml_cli.data.preparers.base import PrepareOptions
from daml_cli.errors import DataError
from daml_cli.safety.files import copy_regular

_FORMATS_HINT = f"expected one folder per class holding {'/'.join(sorted(IMAGE_EXTENSIONS))} files"


@dataclass(frozen=True)
class ClassFolder:
    """One class: its name (relative path with '/') and its image files, sorted."""

    name: str
    files: tuple[Path, ...]


def _check_directory(directory: Path, what: str) -> Path:
    directory = Path(directory).expanduser()
    if not directory.exists():
        raise DataError(f"{what} {directory} does not exist")
    if not directory.is_dir():
        raise DataError(f"{what} {directory} is not a folder")
    return directory


def _inside(real: str, base: str) -> bool:
    return real == base or real.startswith(base + os.sep)


def _check_name(path: Path) -> None:
    """A DataError for a file or folder name that is not valid UTF-8 (it could not go into manifest.csv)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise DataError(f"the name {shown} is not valid UTF-8", "rename the file or folder and prepare again") from None


def _usable_file(path: Path, base: str) -> bool:
    """True for a regular file, or a link to one, that stays inside the source `base`; False to skip it."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            if not _inside(os.path.realpath(path), base):
                return False
            info = path.stat()
    except OSError:
        return False  # a dangling link
    return stat.S_ISREG(info.st_mode)


@dataclass(frozen=True)
class Scan:
    """The class folders found, and how many entries were skipped by the link and special-file policy."""

    classes: list[ClassFolder]
    skipped: int


def scan_source(directory: Path, what: str = "source folder") -> Scan:
    """The class folders under `directory`, sorted by name; a DataError for a layout that is not one folder per class.

    Hidden folders, `__MACOSX`, dotfiles and macOS `._*` files are ignored. Policy for everything else that is
    not a plain file or folder inside the source: symbolic links (to files or folders) whose target lies
    outside `directory`, FIFOs, devices, sockets and dangling links are skipped and counted, never read;
    links that stay inside are followed once.
    """
    directory = _check_directory(directory, what)
    base = os.path.realpath(directory)
    found: dict[str, list[Path]] = {}
    seen: set[str] = set()
    skipped = 0
    for current, dirnames, filenames in os.walk(directory, followlinks=True):
        real = os.path.realpath(current)
        if real in seen:  # a symlink loop or a folder linked twice
            dirnames[:] = []
            continue
        seen.add(real)
        kept = []
        for name in sorted(d for d in dirnames if not d.startswith(".") and d != "__MACOSX"):
            _check_name(Path(current) / name)
            if _inside(os.path.realpath(Path(current) / name), base):
                kept.append(name)
            else:
                skipped += 1  # a linked folder that leaves the source
        dirnames[:] = kept
        images = []
        for name in sorted(filenames):
            candidate = Path(current) / name
            if not is_image_file(candidate):
                continue
            _check_name(candidate)
            if _usable_file(candidate, base):
                images.append(candidate)
            else:
                skipped += 1
        if images:
            found[Path(current).relative_to(directory).as_posix()] = images
    if not found:
        extra = f" ({skipped} links or special files skipped)" if skipped else ""
        raise DataError(f"no images found in {what} {directory}{extra}", _FORMATS_HINT)
    if "." in found:
        example = found["."][0].name
        raise DataError(
            f"{what} {directory} holds images directly (e.g. {example})",
            "put each class's images in its own subfolder",
        )
    names = sorted(found)
    for parent in names:
        nested = next((n for n in names if n.startswith(parent + "/")), None)
        if nested is not None:
            raise DataError(
                f"folder {parent} in {directory} holds images and so does its subfolder {nested}",
                "only leaf folders may hold images: one folder per class",
            )
    return Scan([ClassFolder(name, tuple(found[name])) for name in names], skipped)


def split_classes(
    classes: Sequence[ClassFolder], test_fraction: float, seed: int
) -> tuple[list[ClassFolder], list[ClassFolder]]:
    """Seeded class-disjoint split: ``clamp(round(f * C), 1, C - 1)`` classes go to test, the rest to train."""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"--test-fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    if len(classes) < 2:
        raise DataError(
            f"found {len(classes)} class folder, need at least 2 to split into train and test", _FORMATS_HINT
        )
    ordered = sorted(classes, key=lambda c: c.name)
    test_count = min(len(ordered) - 1, max(1, round(test_fraction * len(ordered))))
    test_names = set(random.Random(seed).sample([c.name for c in ordered], test_count))
    return [c for c in ordered if c.name not in test_names], [c for c in ordered if c.name in test_names]


def _check_disjoint(train_dir: Path, test_dir: Path, train: Sequence[ClassFolder], test: Sequence[ClassFolder]) -> None:
    a, b = train_dir.resolve(), test_dir.resolve()
    if a == b or a in b.parents or b in a.parents:
        raise DataError(
            f"--train-dir {train_dir} and --test-dir {test_dir} overlap", "use two separate folders"
        )
    shared = sorted({c.name for c in train} & {c.name for c in test})
    if shared:
        listed = ", ".join(shared[:5]) + (f" and {len(shared) - 5} more" if len(shared) > 5 else "")
        raise DataError(
            f"{len(shared)} class(es) appear in both --train-dir and --test-dir: {listed}",
            "train and test classes must be disjoint; rename or remove them on one side",
        )


def copy_classes(staging: Path, train: Sequence[ClassFolder], test: Sequence[ClassFolder]) -> list[ManifestRow]:
    """Copy every image to ``staging/images/<split>/<class>/<file>``; rows with dense labels, train first."""
    rows: list[ManifestRow] = []
    labelled = [("train", c) for c in sorted(train, key=lambda c: c.name)]
    labelled += [("test", c) for c in sorted(test, key=lambda c: c.name)]
    for label, (split, folder) in enumerate(labelled):
        target_dir = staging / "images" / split / folder.name
        target_dir.mkdir(parents=True, exist_ok=True)
        for source in folder.files:
            try:
                copy_regular(Path(os.path.realpath(source)), target_dir / source.name)
            except OSError as error:
                raise DataError(f"cannot copy {source}: {error.strerror or error}") from None
            relative = f"images/{split}/{folder.name}/{source.name}"
            rows.append(ManifestRow(path=relative, label=label, class_name=folder.name, split=split))
    return rows


def build_presplit(staging: Path, train_dir: Path, test_dir: Path) -> list[ManifestRow]:
    """Copy already-split class folders (`train_dir`, `test_dir`) into `staging`; their classes must be disjoint."""
    return build_presplit_counted(staging, train_dir, test_dir)[0]


def build_presplit_counted(staging: Path, train_dir: Path, test_dir: Path) -> tuple[list[ManifestRow], int]:
    """`build_presplit` plus the number of links and special files skipped on both sides."""
    train_dir = _check_directory(train_dir, "--train-dir")
    test_dir = _check_directory(test_dir, "--test-dir")
    train = scan_source(train_dir, "--train-dir")
    test = scan_source(test_dir, "--test-dir")
    _check_disjoint(train_dir, test_dir, train.classes, test.classes)
    return copy_classes(staging, train.classes, test.classes), train.skipped + test.skipped


def _mode(options: PrepareOptions) -> str:
    """'source' or 'presplit', or a DataError when the options name neither or both."""
    presplit = options.train_dir is not None or options.test_dir is not None
    if options.source is not None and presplit:
        raise DataError("give either --source or --train-dir/--test-dir, not both")
    if options.source is not None:
        return "source"
    if options.train_dir is None or options.test_dir is None:
        missing = "--test-dir" if options.train_dir is not None else "--train-dir"
        if not presplit:
            raise DataError(
                "the folder dataset needs --source DIR (one folder per class) or --train-dir and --test-dir"
            )
        raise DataError(f"{missing} is missing", "--train-dir and --test-dir go together")
    return "presplit"


class FolderPreparer:
    """Prepares a user's class folders; no expected counts (the data is the user's)."""

    name = "folder"
    expected = None
    skipped_files = 0  # links leaving the source and special files left out by the last build

    def settings(self, options: PrepareOptions) -> dict:
        """What decides the result: the source folder(s), and for --source the split fraction and seed."""
        if _mode(options) == "source":
            source = str(Path(options.source).expanduser().resolve())
            return {"source": source, "test_fraction": options.test_fraction, "split_seed": options.seed}
        return {
            "train_dir": str(Path(options.train_dir).expanduser().resolve()),
            "test_dir": str(Path(options.test_dir).expanduser().resolve()),
        }

    def build(self, staging: Path, options: PrepareOptions) -> list[ManifestRow]:
        if _mode(options) == "presplit":
            rows, self.skipped_files = build_presplit_counted(staging, Path(options.train_dir), Path(options.test_dir))
            return rows
        scan = scan_source(Path(options.source), "--source")
        self.skipped_files = scan.skipped
        train, test = split_classes(scan.classes, options.test_fraction, options.seed)
        return copy_classes(staging, train, test)
