"""Class-balanced P×K batches: P classes, K images of each, drawn reproducibly per step."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from daml_cli.config.schema import RunConfig
from daml_cli.errors import ConfigError


class PKBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Yields index batches of `classes_per_batch` distinct classes × `images_per_class` images.

    Batch number ``s`` is drawn from a generator seeded with ``(seed, s)``, so any step can be reproduced
    on its own: resuming at step ``s`` continues exactly as an uninterrupted run. Classes with fewer than K
    images are sampled with replacement; only classes with at least two images are used (a P×K batch must
    hold positives). The sampler is infinite; the training loop decides how many batches to take.
    """

    def __init__(
        self, labels: Sequence[int], classes_per_batch: int, images_per_class: int, seed: int = 0, start_step: int = 0
    ) -> None:
        if images_per_class < 2:
            raise ConfigError("'sampler.images_per_class' must be at least 2 (positives are needed)")
        by_class: dict[int, list[int]] = {}
        for index, label in enumerate(labels):
            by_class.setdefault(int(label), []).append(index)
        self.classes = [sorted(indices) for _, indices in sorted(by_class.items()) if len(indices) >= 2]
        if len(self.classes) < 2:
            raise ConfigError("the training split needs at least 2 classes with 2 or more images each")
        if classes_per_batch < 2:
            raise ConfigError("'sampler.classes_per_batch' must be at least 2")
        self.classes_per_batch = min(classes_per_batch, len(self.classes))
        self.images_per_class = images_per_class
        self.seed = seed
        self.step = start_step

    @property
    def batch_size(self) -> int:
        return self.classes_per_batch * self.images_per_class

    def batch(self, step: int) -> list[int]:
        """The index batch of training step `step`."""
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        chosen = torch.randperm(len(self.classes), generator=rng)[: self.classes_per_batch].tolist()
        batch: list[int] = []
        for class_position in chosen:
            members = self.classes[class_position]
            if len(members) >= self.images_per_class:
                picks = torch.randperm(len(members), generator=rng)[: self.images_per_class]
            else:
                picks = torch.randint(len(members), (self.images_per_class,), generator=rng)
            batch.extend(members[i] for i in picks.tolist())
        return batch

    def batch_items(self, step: int) -> list[tuple[int, int]]:
        """The batch of `step` as (dataset index, augmentation seed) pairs.

        Each image gets its own augmentation seed derived from (seed, step, position), so random crops and
        flips are the same however many loader workers there are and wherever a run was resumed.
        """
        base = (self.seed * 1_000_003 + step) * 4_096
        return [(index, base + position) for position, index in enumerate(self.batch(step))]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        while True:
            yield self.batch_items(self.step)
            self.step += 1


class TripletBatchSampler(PKBatchSampler):
    """The authors' triplet batches: 3T images of 2T distinct classes, laid out [anchors; positives; negatives].

    Each step draws 2T distinct classes: the first T give an (anchor, positive) pair each, the other T one
    negative each, paired index-wise, so batch position i, T + i, 2T + i is one triple. Seeded per step
    like `PKBatchSampler`, so resuming reproduces the same batches.
    """

    def __init__(self, labels: Sequence[int], triplets_per_batch: int, seed: int = 0, start_step: int = 0) -> None:
        super().__init__(labels, 2, 2, seed, start_step)
        if triplets_per_batch < 1:
            raise ConfigError("'sampler.triplets_per_batch' must be at least 1")
        if 2 * triplets_per_batch > len(self.classes):
            raise ConfigError(
                f"'sampler.triplets_per_batch' = {triplets_per_batch} needs {2 * triplets_per_batch} classes with 2+ "
                f"images; the training split has {len(self.classes)}",
                f"use at most {len(self.classes) // 2}",
            )
        self.triplets = triplets_per_batch

    @property
    def batch_size(self) -> int:
        return 3 * self.triplets

    def batch(self, step: int) -> list[int]:
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        chosen = torch.randperm(len(self.classes), generator=rng)[: 2 * self.triplets].tolist()
        anchors, positives, negatives = [], [], []
        for position, class_position in enumerate(chosen):
            members = self.classes[class_position]
            picks = torch.randperm(len(members), generator=rng)[:2].tolist()
            if position < self.triplets:
                anchors.append(members[picks[0]])
                positives.append(members[picks[1]])
            else:
                negatives.append(members[picks[0]])
        return anchors + positives + negatives


def build_sampler(labels: list[int], config: RunConfig) -> PKBatchSampler:
    """P×K batches, or the authors' [anchors; positives; negatives] batches (`sampler.kind`)."""
    official = config.loss.name == "triplet" and config.loss.triplets == "official"
    if official != (config.sampler.kind == "triplets"):
        raise ConfigError(
            "sampler.kind=triplets and loss.triplets=official go together (the triplet loss only)",
            f"got sampler.kind={config.sampler.kind}, loss.name={config.loss.name}, loss.triplets={config.loss.triplets}",
        )
    if config.sampler.kind == "triplets":
        return TripletBatchSampler(labels, config.sampler.triplets_per_batch, config.seed)
    return PKBatchSampler(labels, config.sampler.classes_per_batch, config.sampler.images_per_class, config.seed)
