"""Query expansion and the score that ranks retrieval results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daml_cli.errors import DataError
from daml_cli.inference.retrieval import expand_queries, similarity_scores


def test_folders_lists_and_files_expand_in_order(tmp_path: Path) -> None:
    folder = tmp_path / "queries"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.png", "a.TIF", "sub/c.jpg", ".hidden.png", "notes.txt"):
        (folder / name).write_bytes(b"x")
    single = tmp_path / "single.webp"
    single.write_bytes(b"x")
    listing = tmp_path / "list.txt"
    listing.write_text("# a comment\nsingle.webp\n\nqueries/b.png\n")
    expanded = expand_queries([folder, single, listing])
    assert expanded == [folder / "a.TIF", folder / "b.png", folder / "sub" / "c.jpg", single, tmp_path / "single.webp",
                        tmp_path / "queries" / "b.png"]


def test_an_empty_folder_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        expand_queries([tmp_path / "empty"])
    with pytest.raises(DataError, match="does not exist"):
        expand_queries([tmp_path / "missing.png"])


def test_scores_rank_closer_items_higher() -> None:
    squared = np.array([[0.0, 0.5, 2.0]])
    # Unit vectors: |a − b|² = 2 − 2·cos, so cos = 1 − d²/2; otherwise the negated squared distance.
    assert similarity_scores(squared, normalized=True).tolist() == [[1.0, 0.75, 0.0]]
    assert similarity_scores(squared, normalized=False).tolist() == [[-0.0, -0.5, -2.0]]
