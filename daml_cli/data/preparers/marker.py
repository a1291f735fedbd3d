"""`.daml-prepared.json`: the proof that a dataset folder is a complete, unmodified `daml prepare` output.

Written last, inside the staging folder, so its presence means the whole dataset was built. It records the
preparer, the settings that change the result, the counts per split and the manifest's sha256; a later
`prepare` compares these to decide between "skip", "redo with --force" and "refuse to touch the folder".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from daml_cli.atomic import atomic_write_text
from daml_cli.data.checksum import file_sha256
from daml_cli.data.manifest import MANIFEST_NAME
from daml_cli.data.preparers.inventory import build_inventory, inventory_problem
from daml_cli.safety.terminal import quote

MARKER_NAME = ".daml-prepared.json"
MARKER_VERSION = 1


def write_marker(
    dataset_dir: Path, preparer: str, settings: dict, images: dict[str, int], classes: dict[str, int]
) -> Path:
    """Write the marker for the dataset in `dataset_dir`, fingerprinting its manifest."""
    marker = {
        "version": MARKER_VERSION,
        "preparer": preparer,
        "settings": settings,
        "images": images,
        "classes": classes,
        "manifest_sha256": file_sha256(dataset_dir / MANIFEST_NAME),
        "files": build_inventory(dataset_dir),
    }
    path = dataset_dir / MARKER_NAME
    atomic_write_text(path, json.dumps(marker, indent=2, sort_keys=True) + "\n")
    return path


@dataclass(frozen=True)
class MarkerCheck:
    """Outcome of comparing a folder with what a prepare run would produce.

    `verified`: the folder is a complete prepare output whose manifest is unchanged.
    `matches`: verified and prepared by the same preparer with the same settings (safe to skip).
    `reason`: why not, in words, for the error message.
    """

    verified: bool
    matches: bool
    reason: str
    marker: dict | None = None


def check_marker(dataset_dir: Path, preparer: str, settings: dict, full: bool = False) -> MarkerCheck:
    """Compare `dataset_dir`'s marker, manifest and files with the requested preparer and settings.

    Every file the manifest lists must exist with its recorded size; with `full` its SHA-256 is checked too.
    """
    marker_path = dataset_dir / MARKER_NAME
    manifest_path = dataset_dir / MANIFEST_NAME
    if not marker_path.is_file():
        what = "has a manifest.csv but no" if manifest_path.is_file() else "has no"
        return MarkerCheck(False, False, f"it {what} {MARKER_NAME}, so it was not prepared by `daml prepare`")
    try:
        marker = json.loads(marker_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return MarkerCheck(False, False, f"its {MARKER_NAME} is not readable JSON")
    if not isinstance(marker, dict) or marker.get("version") != MARKER_VERSION:
        return MarkerCheck(False, False, f"its {MARKER_NAME} has an unknown format")
    if not manifest_path.is_file():
        return MarkerCheck(False, False, f"its {MANIFEST_NAME} is missing")
    if file_sha256(manifest_path) != marker.get("manifest_sha256"):
        return MarkerCheck(False, False, f"its {MANIFEST_NAME} was changed after it was prepared")
    if marker.get("preparer") != preparer:
        return MarkerCheck(True, False, f"it was prepared by {quote(marker.get('preparer'))}, not '{preparer}'", marker)
    old = marker.get("settings") or {}
    differing = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
    if differing:
        changes = ", ".join(f"{quote(k)}: {quote(old.get(k))} -> {quote(settings.get(k))}" for k in differing[:8])
        return MarkerCheck(True, False, f"it was prepared with other settings ({changes})", marker)
    problem = inventory_problem(dataset_dir, marker.get("files"), full)
    if problem is not None:
        return MarkerCheck(False, False, problem, marker)
    return MarkerCheck(True, True, "already prepared and verified", marker)
