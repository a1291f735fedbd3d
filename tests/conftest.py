"""Session-wide fixtures: the digits dataset prepared once, and a tiny trained run built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from daml_cli.config.loading import load_config
from daml_cli.config.schema import RunConfig
from daml_cli.data.preparers.base import PrepareOptions
from daml_cli.data.preparers.flow import prepare_dataset

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Small enough to train in a couple of seconds on 2 CPU cores, big enough to exercise every path.
TINY = [
    "train.iterations=6",
    "train.eval_every=3",
    "train.log_every=2",
    "model.width=8",
    "model.embedding_dim=16",
    "sampler.images_per_class=4",
    "data.image_size=16",
    "data.resize=16",
]


@pytest.fixture(scope="session")
def digits_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root holding the prepared `digits` dataset (read-only for tests: copy before changing it)."""
    root = tmp_path_factory.mktemp("data")
    prepare_dataset("digits", root, PrepareOptions())
    return root


def tiny_config(data_root: Path, *overrides: str, preset: str = "digits-triplet", seed: int = 0) -> RunConfig:
    return load_config(preset, [*TINY, *overrides], {"data.root": str(data_root), "seed": seed, "device": "cpu"})


@pytest.fixture(scope="session")
def tiny_run(digits_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder trained for a few steps on digits (do not modify; copy it first)."""
    from daml_cli.train.loop import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    train(tiny_config(digits_root), run_dir, preset="digits-triplet")
    return run_dir
