"""`QueryResult`: one query and its ranked gallery hits, the input of the HTML and grid reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


class RetrievalHit(NamedTuple):
    """One retrieved gallery image: 1-based `rank`, its `path`, `label` (None if unknown), `score`, and its
    `class_name` when the index records class names."""

    rank: int
    path: str
    label: int | None
    score: float
    class_name: str | None = None


def class_text(label: int | None, class_name: str | None) -> str:
    """What to show for a class: its name when known, else ``label N``, else an empty string."""
    if class_name:
        return class_name
    return "" if label is None else f"label {label}"


@dataclass
class QueryResult:
    """A query image (path, optional label and class name) and its hits, best first.

    Plain 4- or 5-tuples are accepted as hits. `excluded` lists gallery items left out of the results
    because they are the query itself (same file).
    """

    query_path: str
    query_label: int | None = None
    hits: list[RetrievalHit] = field(default_factory=list)
    query_class: str | None = None
    excluded: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hits = [RetrievalHit(int(hit[0]), str(hit[1]), None if hit[2] is None else int(hit[2]), float(hit[3]),
                                  hit[4] if len(hit) > 4 else None) for hit in self.hits]
        if self.query_label is not None:
            self.query_label = int(self.query_label)

    @property
    def query_text(self) -> str:
        """The query's class as shown to people (name, ``label N`` or empty)."""
        return class_text(self.query_label, self.query_class)

    def is_correct(self, hit: RetrievalHit) -> bool | None:
        """True/False when both classes are known (same class = correct), else None.

        Labels are compared when both are known, else class names.
        """
        if self.query_label is not None and hit.label is not None:
            return hit.label == self.query_label
        if self.query_class and hit.class_name:
            return hit.class_name == self.query_class
        return None


def query_results_from_search(
    query_paths: Sequence[str],
    query_labels: Sequence[int] | np.ndarray | None,
    scores: np.ndarray,
    ids: np.ndarray,
    gallery_paths: Sequence[str],
    gallery_labels: Sequence[int] | None,
    class_names: dict[int, str] | None = None,
) -> list[QueryResult]:
    """Turn a search's Q×k scores (higher = closer) and ids into QueryResults; ids of -1 (no hit) are skipped.

    `class_names` maps labels to names (from the index sidecar) for hits and queries.
    """
    names = class_names or {}
    results: list[QueryResult] = []
    for row, query_path in enumerate(query_paths):
        hits = []
        for gallery_id, score in zip(ids[row].tolist(), scores[row].tolist()):
            if gallery_id < 0:
                continue
            label = None if gallery_labels is None else int(gallery_labels[gallery_id])
            hits.append(RetrievalHit(len(hits) + 1, gallery_paths[gallery_id], label, float(score),
                                     None if label is None else names.get(label)))
        label = None if query_labels is None or query_labels[row] is None else int(query_labels[row])
        results.append(QueryResult(str(query_path), label, hits, None if label is None else names.get(label)))
    return results
