"""The checkpoint: one typed record that training writes and inference, export and serving read.

It lives below both training and inference so neither reaches into the other to learn the format. Writes are
atomic, loading uses ``weights_only=True`` (a checkpoint can carry no code), and every way a checkpoint can be
wrong, including not fitting the model it is loaded into, is a `CheckpointError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from daml_cli.atomic import atomic_path
from daml_cli.data.checksum import file_sha256
from daml_cli.errors import CheckpointError

FORMAT = "daml-checkpoint"
VERSION = 1
MAX_CHECKPOINT_BYTES = 8 * 1024**3
REQUIRED_KEYS = ("format", "version", "config", "preprocessing", "step", "model")

__all__ = ["Checkpoint", "check_finite_weights", "file_sha256", "fit_state", "load_checkpoint", "resolve_checkpoint", "save_checkpoint"]


@dataclass
class Checkpoint:
    """What a checkpoint holds: plain data and tensors only, so it loads with ``weights_only=True``.

    `config` is the fully merged run configuration as a dict; `preprocessing` the evaluation transform's settings;
    `model` the embedding network's state dict; `objective` the training objective's state (the DAML generator and
    its optimiser, absent for inference); `best` the selection metric's name and best value; `rng` the torch
    random state, so a resumed run continues the same random stream.
    """

    config: dict[str, Any]
    preprocessing: dict[str, Any]
    step: int
    model: dict[str, Any]
    objective: dict[str, Any] = field(default_factory=dict)
    best: dict[str, Any] = field(default_factory=dict)
    rng: dict[str, Any] | None = None
    daml_version: str | None = None

    def to_payload(self) -> dict[str, Any]:
        """The dict written to disk, tagged with the format name and version."""
        payload: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "config": self.config,
            "preprocessing": self.preprocessing,
            "step": self.step,
            "model": self.model,
            "objective": self.objective,
            "best": self.best,
        }
        if self.daml_version is not None:
            payload["daml_version"] = self.daml_version
        if self.rng is not None:
            payload["rng"] = self.rng
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Checkpoint:
        """The record of a checked payload (``load_checkpoint`` has verified the required keys)."""
        return cls(
            config=payload["config"],
            preprocessing=dict(payload["preprocessing"]),
            step=int(payload["step"]),
            model=payload["model"],
            objective=payload.get("objective", {}),
            best=payload.get("best", {}),
            rng=payload.get("rng"),
            daml_version=payload.get("daml_version"),
        )


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Write `checkpoint` to `path` atomically: a failed write leaves the previous file as it was."""
    payload = checkpoint.to_payload()
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def fit_state(target: Any, state: Any, path: Path | str) -> None:
    """Load `state` into `target` (a module or the training objective), or say that the checkpoint does not fit."""
    try:
        target.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"checkpoint {path} does not fit this model: {reason}", "use a checkpoint of the same configuration") from None


def load_checkpoint(path: Path | str) -> Checkpoint:
    """Read a checkpoint with ``weights_only=True`` and check it is a daml checkpoint of a known version."""
    from daml_cli.safety.files import require_regular_file

    path = Path(path)
    size = require_regular_file(path, "checkpoint", CheckpointError,
                                "pass a run folder or a .pt file written by `daml train`").st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"checkpoint {path} is {size:,} bytes, more than any daml model needs")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise CheckpointError(f"checkpoint {path} is corrupt or not a PyTorch file: {reason}", "use another checkpoint or retrain") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a daml checkpoint", "pass a checkpoint written by `daml train`")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {payload.get('version')}, this daml reads {VERSION}")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)}", "use another checkpoint or retrain")
    from daml_cli.config.ranges import check_preprocessing  # the same types and ranges as the config's data settings

    payload["preprocessing"] = check_preprocessing(payload["preprocessing"], f"checkpoint {path}", CheckpointError)
    check_finite_weights(payload["model"], f"checkpoint {path}")
    return Checkpoint.from_payload(payload)


def check_finite_weights(state: Any, source: str) -> None:
    """A CheckpointError naming the first floating-point tensor of `state` (a state dict) holding NaN or
    infinity: such weights make every embedding NaN, and training from them fails at its first step with
    advice about learning rates that does not apply."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{source} holds no model state dict", "use another checkpoint or retrain")
    for name, tensor in state.items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            values = tensor.detach().reshape(-1)
            bad = int((~torch.isfinite(values)).sum())
            kind = "NaN" if bool(torch.isnan(values).any()) else "infinite"
            from daml_cli.safety.terminal import quote

            raise CheckpointError(
                f"{source} holds {kind} weights: tensor {quote(str(name), 80)} has {bad:,} of {values.numel():,} "
                "values that are not finite",
                "they were saved from a diverged run; use earlier weights or retrain",
            )


def resolve_checkpoint(run_or_checkpoint: Path | str) -> Path:
    """A run folder means its `checkpoints/best.pt` (or `last.pt`); a file is taken as it is."""
    target = Path(run_or_checkpoint)
    if target.is_dir():
        for name in ("best.pt", "last.pt"):
            candidate = target / "checkpoints" / name
            if candidate.is_file():
                return candidate
        raise CheckpointError(f"{target} holds no checkpoints/best.pt or checkpoints/last.pt", "train a model into it first")
    if not target.exists():
        raise CheckpointError(f"{target} does not exist", "pass a run folder or a checkpoint file")
    return target

