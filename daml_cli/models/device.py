"""Choose the torch device a run asks for."""

from __future__ import annotations

import torch

from daml_cli.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was requested but no CUDA GPU is available", "use --device cpu or auto")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device '{name}'", "use auto, cpu or cuda")
    return torch.device(name)
