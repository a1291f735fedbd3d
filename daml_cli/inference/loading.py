"""Rebuild a trained embedding model from a checkpoint (the generator, if any, is not needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from daml_cli.config.schema import RunConfig
from daml_cli.config.validate import build
from daml_cli.errors import CheckpointError, ConfigError
from daml_cli.models.checkpoint import file_sha256, fit_state, load_checkpoint, resolve_checkpoint
from daml_cli.models.device import resolve_device
from daml_cli.models.embedding import EmbeddingModel, build_model


@dataclass
class LoadedModel:
    model: EmbeddingModel
    config: RunConfig
    preprocessing: dict[str, Any]
    checkpoint: Path
    sha256: str
    device: torch.device
    step: int | None = None  # the training step the checkpoint was written at


def load_model(run_or_checkpoint: Path | str, device: str = "auto") -> LoadedModel:
    """The eval-mode embedding model stored in a run folder or checkpoint file, on `device`."""
    path = resolve_checkpoint(run_or_checkpoint)
    checkpoint = load_checkpoint(path)
    try:
        config = build(RunConfig, checkpoint.config)
    except ConfigError as error:
        raise CheckpointError(f"checkpoint {path} holds an invalid configuration: {error.message}") from None
    model = build_model(config.model, load_weights=False)  # every weight comes from the checkpoint
    fit_state(model, checkpoint.model, path)
    target = resolve_device(device)
    model.to(target).eval()
    return LoadedModel(model, config, checkpoint.preprocessing, path.resolve(), file_sha256(path), target,
                       checkpoint.step)
