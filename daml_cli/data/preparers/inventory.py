"""The inventory of a prepared dataset's files (size and SHA-256 of each manifest path), recorded in the
marker so a second `daml prepare` can tell a complete dataset from one with deleted or changed images."""

from __future__ import annotations

import csv
from pathlib import Path

from daml_cli.data.checksum import file_sha256
from daml_cli.data.manifest import MANIFEST_NAME



def manifest_paths(dataset_dir: Path) -> list[str]:
    """The `path` column of ``dataset_dir/manifest.csv`` (distinct, in file order)."""
    with (dataset_dir / MANIFEST_NAME).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        return list(dict.fromkeys(row[0] for row in reader if row))


def build_inventory(dataset_dir: Path) -> dict[str, list]:
    """``{path: [size, sha256]}`` for every file the manifest lists."""
    inventory: dict[str, list] = {}
    for relative in manifest_paths(dataset_dir):
        path = dataset_dir / relative
        inventory[relative] = [path.stat().st_size, file_sha256(path)]
    return inventory


def inventory_problem(dataset_dir: Path, inventory: object, full: bool) -> str | None:
    """Why the files no longer match `inventory` (missing, resized, or with `full` re-hashed and changed),
    or None when they all match. A marker without an inventory is checked for missing files only."""
    if not isinstance(inventory, dict):
        missing = [p for p in manifest_paths(dataset_dir) if not (dataset_dir / p).is_file()]
        return f"{len(missing):,} image(s) listed in its manifest are missing (e.g. {missing[0]})" if missing else None
    missing, changed = [], []
    for relative, record in inventory.items():
        path = dataset_dir / relative
        if not path.is_file():
            missing.append(relative)
        elif not isinstance(record, list) or len(record) != 2 or path.stat().st_size != record[0]:
            changed.append(relative)
        elif full and file_sha256(path) != record[1]:
            changed.append(relative)
    problems = []
    if missing:
        problems.append(f"{len(missing):,} image(s) are missing (e.g. {missing[0]})")
    if changed:
        problems.append(f"{len(changed):,} image(s) changed since it was prepared (e.g. {changed[0]})")
    return "; ".join(problems) or None
