"""The P×K batch sampler: class balance, reproducibility per step, and its refusals."""

from __future__ import annotations

from collections import Counter

import pytest

from daml_cli.data.sampler import PKBatchSampler
from daml_cli.errors import ConfigError

LABELS = [c for c in range(10) for _ in range(5)] + [10]  # class 10 has a single image


def test_batches_hold_p_classes_of_k_images() -> None:
    sampler = PKBatchSampler(LABELS, classes_per_batch=4, images_per_class=3, seed=1)
    for step in range(20):
        batch = sampler.batch(step)
        counts = Counter(LABELS[i] for i in batch)
        assert len(batch) == 12 and len(counts) == 4 and set(counts.values()) == {3}
        assert 10 not in counts  # a class without a positive is never drawn
        assert len(set(batch)) == 12  # no duplicates when classes are large enough


def test_same_seed_and_step_give_the_same_batch_and_iteration_matches_batch() -> None:
    a = PKBatchSampler(LABELS, 4, 3, seed=7)
    b = PKBatchSampler(LABELS, 4, 3, seed=7, start_step=5)
    iterator = iter(a)
    first_eight = [next(iterator) for _ in range(8)]
    assert first_eight[5] == next(iter(b)) == a.batch_items(5)
    assert [index for index, _ in a.batch_items(5)] == a.batch(5)
    seeds = [seed for _, seed in a.batch_items(5) + a.batch_items(6)]
    assert len(set(seeds)) == len(seeds)  # every image of every step gets its own augmentation seed
    assert PKBatchSampler(LABELS, 4, 3, seed=8).batch(5) != a.batch(5) or a.batch(6) != PKBatchSampler(LABELS, 4, 3, seed=8).batch(6)


def test_small_classes_are_sampled_with_replacement() -> None:
    labels = [0, 0, 1, 1, 2, 2]
    batch = PKBatchSampler(labels, 3, 4, seed=0).batch(0)
    assert Counter(labels[i] for i in batch) == {0: 4, 1: 4, 2: 4}


def test_p_is_capped_at_the_number_of_classes() -> None:
    assert len(PKBatchSampler([0, 0, 1, 1], 8, 2).batch(0)) == 4


@pytest.mark.parametrize(
    ("labels", "p", "k", "message"),
    [
        (LABELS, 4, 1, "images_per_class"),
        ([0, 0, 1], 2, 2, "at least 2 classes"),
        (LABELS, 1, 2, "classes_per_batch"),
    ],
)
def test_refusals(labels: list[int], p: int, k: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PKBatchSampler(labels, p, k)
