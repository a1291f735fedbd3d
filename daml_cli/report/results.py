"""`QueryResult`: one query and its ranked gallery hits, the input of the HTML and grid reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


class RetrievalHit(NamedTuple):
    """One retrieved gallery image: 1-based `rank`, its `path`, `label` (None if unknown), `score`."""

    rank: int
    path: str
    label: int | None
    score: float


@dataclass
class QueryResult:
    """A query image (path, optional label) and its hits, best first. Plain 4-tuples are accepted as hits."""

    query_path: str
    query_label: int | None = None
    hits: list[RetrievalHit] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hits = [RetrievalHit(int(r), str(p), None if lab is None else int(lab), float(s))
                     for r, p, lab, s in self.hits]
        if self.query_label is not None:
            self.query_label = int(self.query_label)

    def is_correct(self, hit: RetrievalHit) -> bool | None:
        """True/False when both labels are known (same class = correct), else None."""
        if self.query_label is None or hit.label is None:
            return None
        return hit.label == self.query_label


def query_results_from_search(
    query_paths: Sequence[str],
    query_labels: Sequence[int] | np.ndarray | None,
    scores: np.ndarray,
    ids: np.ndarray,
    gallery_paths: Sequence[str],
    gallery_labels: Sequence[int] | None,
) -> list[QueryResult]:
    """Turn a search's Q×k scores (higher = closer) and ids into QueryResults; ids of -1 (no hit) are skipped."""
    results: list[QueryResult] = []
    for row, query_path in enumerate(query_paths):
        hits = []
        for gallery_id, score in zip(ids[row].tolist(), scores[row].tolist()):
            if gallery_id < 0:
                continue
            label = None if gallery_labels is None else int(gallery_labels[gallery_id])
            hits.append(RetrievalHit(len(hits) + 1, gallery_paths[gallery_id], label, float(score)))
        label = None if query_labels is None else int(query_labels[row])
        results.append(QueryResult(str(query_path), label, hits))
    return results
