"""Evaluation data on which a requested metric means nothing, refused before any metric is computed.

`daml evaluate` (and `api.evaluate`) refuse, naming each metric and why, when:

- the evaluated items hold fewer than two classes: every neighbour of a query is of its class, so Recall@K,
  MAP@R and R-precision are 1.0 whatever the embeddings; k-means with k = 1 puts every item in one cluster,
  so NMI and pairwise F1 are 1.0 too;
- the gallery holds fewer than two classes (query/gallery splits): every query that has a positive finds
  only positives, so the retrieval metrics are 1.0 whatever the embeddings;
- no query has another item of its class in the gallery: the retrieval metrics average over no query;
- every item is alone in its class: k-means with k = number of items gives every item its own cluster, so
  NMI is 1.0 whatever the embeddings, and pairwise F1 has no same-class pair to find.

A refusal rather than a warning: each case makes the figure a property of the labels, not of the model, and a
figure written to ``--json`` or a report is read without the warning. Partly degenerate data stays
meaningful and is not refused: queries without a positive are left out of the retrieval metrics (the CLI
says how many), and a metric the user did not ask for is not checked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from daml_cli.errors import DataError

RETRIEVAL = ("recall", "map@r", "r_precision")
CLUSTERING = ("nmi", "f1")
_NAMES = {"recall": "Recall@K", "map@r": "MAP@R", "r_precision": "R-precision", "nmi": "NMI", "f1": "F1"}


def _listed(metrics: Sequence[str]) -> str:
    names = [_NAMES.get(m, m) for m in metrics]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _rows(mask: np.ndarray | None, n: int) -> np.ndarray:
    return np.arange(n) if mask is None else np.flatnonzero(np.asarray(mask, dtype=bool))


def degenerate_reasons(
    labels: np.ndarray, metrics: Sequence[str], query_mask: np.ndarray | None = None,
    gallery_mask: np.ndarray | None = None,
) -> list[tuple[list[str], str]]:
    """``(metrics, why)`` for each group of requested metrics the labels make meaningless (module docstring)."""
    labels = np.asarray(labels).reshape(-1)
    n = labels.shape[0]
    queries, gallery = _rows(query_mask, n), _rows(gallery_mask, n)
    items = np.union1d(queries, gallery)
    retrieval = [m for m in RETRIEVAL if m in metrics]
    clustering = [m for m in CLUSTERING if m in metrics]
    _, item_codes = np.unique(labels[items], return_inverse=True)
    classes = int(item_codes.max()) + 1 if items.size else 0
    if classes < 2:
        asked = retrieval + clustering
        return [(asked, f"all {items.size} evaluated items are of one class, so every neighbour is of the query's "
                        "class and k-means makes one cluster: they would be 1.0 whatever the embeddings")] if asked else []
    found: list[tuple[list[str], str]] = []
    if retrieval:
        gallery_classes, gallery_codes = np.unique(labels[gallery], return_inverse=True)
        counts = np.bincount(gallery_codes.reshape(-1), minlength=gallery_classes.size)
        spot = np.minimum(np.searchsorted(gallery_classes, labels[queries]), gallery_classes.size - 1)
        in_gallery = np.zeros(n, dtype=bool)
        in_gallery[gallery] = True
        # gallery items of the query's class, minus the query itself when it is in the gallery
        positives = np.where(gallery_classes[spot] == labels[queries], counts[spot], 0) - in_gallery[queries]
        if gallery_classes.size < 2:
            found.append((retrieval, "the gallery holds one class only, so every query with a positive retrieves only "
                                     "positives: they would be 1.0 whatever the embeddings"))
        elif not (positives > 0).any():
            found.append((retrieval, "no query has another item of its class in the gallery, so there is nothing "
                                     "to average"))
    if clustering and classes == items.size:
        found.append((clustering, f"each of the {items.size} items is alone in its class, so k-means gives every item "
                                  "its own cluster (NMI 1.0 whatever the embeddings) and F1 has no same-class pair"))
    return found


def check_evaluable(
    labels: np.ndarray, metrics: Sequence[str], query_mask: np.ndarray | None = None,
    gallery_mask: np.ndarray | None = None,
) -> None:
    """A DataError naming every requested metric the labels make meaningless, and why; nothing otherwise."""
    reasons = degenerate_reasons(labels, metrics, query_mask, gallery_mask)
    if not reasons:
        return
    refused = {m for group, _ in reasons for m in group}
    text = "; ".join(f"{_listed(group)} {'is' if len(group) == 1 else 'are'} meaningless here: {why}"
                     for group, why in reasons)
    still = [m for m in (*RETRIEVAL, *CLUSTERING) if m in metrics and m not in refused]
    hint = f"ask only for {','.join(still)} (--metrics)" if still else "evaluate a split with several classes of several items each"
    raise DataError(text, hint)
