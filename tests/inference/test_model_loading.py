"""Loading a trained model: the checkpoint's weights in eval mode, its hash, and refusals that name the file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from daml_cli.config.schema import RunConfig
from daml_cli.config.validate import build
from daml_cli.errors import CheckpointError
from daml_cli.inference.loading import load_model
from daml_cli.models.checkpoint import load_checkpoint, save_checkpoint


def test_loaded_model_is_the_checkpoint_in_eval_mode(tiny_run: Path) -> None:
    loaded = load_model(tiny_run, "cpu")
    path = tiny_run / "checkpoints" / "best.pt"
    assert loaded.checkpoint == path.resolve()
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not loaded.model.training and loaded.device == torch.device("cpu")
    stored = torch.load(path, map_location="cpu", weights_only=True)["model"]
    state = loaded.model.state_dict()
    assert set(state) == set(stored) and all(torch.equal(state[key], stored[key]) for key in stored)
    assert loaded.config == build(RunConfig, stored_config(path))


def stored_config(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["config"]


def test_weights_that_do_not_fit_the_configured_model_are_a_checkpoint_error(tiny_run: Path, tmp_path: Path) -> None:
    checkpoint = load_checkpoint(tiny_run / "checkpoints" / "last.pt")
    checkpoint.config["model"]["embedding_dim"] = checkpoint.config["model"]["embedding_dim"] + 1
    bad = tmp_path / "bad.pt"
    save_checkpoint(bad, checkpoint)
    with pytest.raises(CheckpointError, match=f"checkpoint {bad} does not fit this model"):
        load_model(bad, "cpu")


def test_an_invalid_stored_configuration_is_a_checkpoint_error(tiny_run: Path, tmp_path: Path) -> None:
    checkpoint = load_checkpoint(tiny_run / "checkpoints" / "last.pt")
    checkpoint.config["model"]["no_such_key"] = 1
    bad = tmp_path / "bad.pt"
    save_checkpoint(bad, checkpoint)
    with pytest.raises(CheckpointError, match="holds an invalid configuration"):
        load_model(bad, "cpu")
