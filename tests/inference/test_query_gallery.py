"""In-Shop style manifests (is_query/is_gallery columns) are evaluated query-against-gallery."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from daml_cli.data.manifest import read_manifest, write_manifest
from daml_cli.inference.evaluation import evaluate_source
from daml_cli.inference.loading import load_model
from daml_cli.inference.split_embedding import embed_split
from daml_cli.metrics.evaluate import evaluate_embeddings


def test_manifest_query_gallery_columns_drive_evaluation(tiny_run: Path, digits_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(digits_root / "digits", root / "digits")
    manifest = read_manifest(root / "digits")
    rows = []
    for position, row in enumerate(manifest.rows):
        flags: dict[str, bool | None] = {"is_query": None, "is_gallery": None}
        if row.split == "test":
            query = position % 2 == 0
            flags = {"is_query": query, "is_gallery": not query}
        rows.append(replace(row, **flags))
    write_manifest(root / "digits", rows, ["is_query", "is_gallery"])

    embedded = embed_split(load_model(tiny_run, "cpu"), root)
    assert embedded.query_mask is not None and embedded.gallery_mask is not None
    assert not (embedded.query_mask & embedded.gallery_mask).any()
    outcome = evaluate_source(tiny_run, None, root, None, "test", [1, 2], ["recall", "map@r"], "cpu")
    expected = evaluate_embeddings(
        embedded.embeddings, embedded.labels, ks=[1, 2], metrics=["recall", "map@r"],
        query_mask=embedded.query_mask, gallery_mask=embedded.gallery_mask,
    )
    all_vs_all = evaluate_embeddings(embedded.embeddings, embedded.labels, ks=[1, 2], metrics=["recall", "map@r"])
    assert outcome.result.metrics == pytest.approx(expected.metrics)
    assert outcome.result.metrics != pytest.approx(all_vs_all.metrics)
