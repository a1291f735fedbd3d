"""Rebuild a trained embedding model from a checkpoint (the generator, if any, is not needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from daml_cli.config.schema import RunConfig
from daml_cli.config.validate import build
from daml_cli.errors import CheckpointError, ConfigError
from daml_cli.models.embedding import EmbeddingModel, build_model
from daml_cli.train.checkpoint import file_sha256, load_checkpoint, resolve_checkpoint
from daml_cli.train.device import resolve_device


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
    payload = load_checkpoint(path)
    try:
        config = build(RunConfig, payload["config"])
    except ConfigError as error:
        raise CheckpointError(f"checkpoint {path} holds an invalid configuration: {error.message}") from None
    model = build_model(config.model, load_weights=False)  # every weight comes from the checkpoint
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:
        raise CheckpointError(f"checkpoint {path} does not fit its own model configuration: {str(error).splitlines()[0]}") from None
    target = resolve_device(device)
    model.to(target).eval()
    return LoadedModel(model, config, dict(payload["preprocessing"]), path.resolve(), file_sha256(path), target,
                       payload.get("step") if isinstance(payload.get("step"), int) else None)
