"""QueryResult normalisation and the conversion from FAISS search output."""

from __future__ import annotations

import numpy as np

from daml_cli.report.results import QueryResult, RetrievalHit, query_results_from_search


def test_tuples_become_hits_and_correctness() -> None:
    query = QueryResult("q.jpg", np.int64(2), [(1, "a", 2, np.float32(0.5)), (2, "b", 3, 1), (3, "c", None, 2)])
    assert isinstance(query.hits[0], RetrievalHit) and query.query_label == 2
    assert [query.is_correct(h) for h in query.hits] == [True, False, None]
    unlabelled = QueryResult("q", None, [(1, "a", 2, 0.0)])
    assert [unlabelled.is_correct(h) for h in unlabelled.hits] == [None]


def test_from_search_skips_missing_ids() -> None:
    ids = np.array([[2, 0, -1], [1, 2, 0]])
    distances = np.array([[0.1, 0.2, 3e38], [0.3, 0.4, 0.5]], np.float32)
    results = query_results_from_search(["q0", "q1"], [7, 8], distances, ids, ["g0", "g1", "g2"], [7, 8, 7])
    assert [h.path for h in results[0].hits] == ["g2", "g0"] and [h.rank for h in results[0].hits] == [1, 2]
    assert results[0].hits[0].label == 7 and results[1].query_label == 8
    assert np.isclose(results[1].hits[2].score, 0.5)
    unlabelled = query_results_from_search(["q"], None, distances[:1], ids[:1], ["g0", "g1", "g2"], None)
    assert unlabelled[0].query_label is None and unlabelled[0].hits[0].label is None
