"""Shared fixtures for the index tests: a small clustered gallery that IVF-PQ can still be trained on."""

from __future__ import annotations

import numpy as np
import pytest

from daml_cli.index.metadata import IndexMetadata
from daml_cli.index.store import build_index, index_params_of

COUNT, DIMENSION = 700, 16  # 700 >= 39 * 16: the smallest gallery the default IVF-PQ settings accept


@pytest.fixture(scope="session")
def gallery() -> tuple[np.ndarray, list[str], list[int]]:
    """700 16-d vectors around 10 well-separated class centres, with paths and labels."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=COUNT)
    centres = rng.standard_normal((10, DIMENSION)) * 6
    vectors = (centres[labels] + rng.standard_normal((COUNT, DIMENSION))).astype(np.float32)
    return vectors, [f"class{lab}/img{i}.jpg" for i, lab in enumerate(labels)], labels.tolist()


def _make_metadata(index, paths: list[str], labels: list[int] | None, **extra) -> IndexMetadata:
    """Metadata describing `index` as build_index made it."""
    from daml_cli.index.store import index_type_of

    return IndexMetadata(
        index_type=index_type_of(index), index_params=index_params_of(index), dimension=index.d,
        count=index.ntotal, paths=list(paths), labels=None if labels is None else list(labels), **extra,
    )


@pytest.fixture
def make_metadata():
    """A function building the IndexMetadata that describes an index made by build_index."""
    return _make_metadata


@pytest.fixture
def saved_flat(tmp_path, gallery):
    """A flat index saved with its sidecar; returns (path, vectors, paths, labels)."""
    from daml_cli.index.store import save_index

    vectors, paths, labels = gallery
    index = build_index(vectors, "flat")
    path = tmp_path / "gallery.faiss"
    save_index(index, _make_metadata(index, paths, labels, checkpoint_sha256="ab" * 32), path)
    return path, vectors, paths, labels
