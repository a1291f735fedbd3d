"""One call to build the Omniglot zero-shot benchmark (used by the CPU benchmark, tests and demos)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from daml_cli.data.preparers.base import PrepareOptions, PrepareReport
from daml_cli.data.preparers.flow import prepare_dataset
from daml_cli.data.preparers.omniglot import OmniglotPreparer


def prepare_omniglot_benchmark(
    root: Path | str, shared_dir: Path | str, options: PrepareOptions | None = None
) -> PrepareReport:
    """Prepare ``ROOT/omniglot`` from the two zips in `shared_dir` (train 136 classes / 2,720 images,
    test 106 / 2,120); `options` adds e.g. ``force``, ``val_classes`` or ``resize``."""
    options = replace(options or PrepareOptions(), source=Path(shared_dir), archives=[])
    return prepare_dataset("omniglot", Path(root), options, OmniglotPreparer())
