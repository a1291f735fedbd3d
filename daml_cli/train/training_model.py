"""The model a run trains, placed for training: device, synchronised BatchNorm, memory format, compilation."""

from __future__ import annotations

import random

import numpy as np
import torch

from daml_cli.config.schema import RunConfig
from daml_cli.models.embedding import EmbeddingModel, build_model
from daml_cli.train.distributed import Distributed


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def training_model(config: RunConfig, device: torch.device, dist: Distributed) -> EmbeddingModel:
    """`build_model` on `device`; every rank starts from rank 0's weights; SyncBatchNorm on several GPUs."""
    model = build_model(config.model)
    if dist.enabled and device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = model.to(device)
    if config.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    dist.broadcast_parameters(model)
    if config.train.compile:
        model.trunk.compile()  # in place: state-dict keys stay those of the plain module
    return model
