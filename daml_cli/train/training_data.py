"""Where a run's training images come from, and how each process takes its share of a batch."""

from __future__ import annotations

from pathlib import Path

import torch

from daml_cli.config.schema import RunConfig
from daml_cli.data.resized import read_resized_info
from daml_cli.data.sampler import PKBatchSampler
from daml_cli.train.distributed import Distributed


def dataset_dir(config: RunConfig) -> Path:
    return Path(config.data.root) / config.data.dataset


def training_image_root(dataset: Path, config: RunConfig) -> Path:
    """The resized copy written by ``prepare --resize N`` when N covers ``data.resize``, else the originals."""
    info = read_resized_info(dataset)
    if info is not None and int(info.get("size", 0)) >= config.data.resize:
        return dataset / str(info["folder"])
    return dataset


class RankShare(torch.utils.data.Sampler):
    """This process's share of every global batch the P×K sampler draws (all of it on one process)."""

    def __init__(self, sampler: PKBatchSampler, dist: Distributed) -> None:
        self.sampler = sampler
        self.dist = dist

    def __iter__(self):  # type: ignore[no-untyped-def]
        for items in self.sampler:
            yield self.dist.rank_share(items)
