"""Mixed precision: autocast for the networks' forward passes, a gradient scaler for float16."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch

from daml_cli.errors import ConfigError


@dataclass
class Precision:
    """How forward passes run (``dtype`` None = float32) and how losses are back-propagated.

    Losses and the DAML terms are always computed in float32: objectives cast embeddings and features
    with ``.float()`` after the autocast region.
    """

    device_type: str = "cpu"
    dtype: torch.dtype | None = None
    scaler: Any = None  # torch.amp.GradScaler for float16

    @property
    def name(self) -> str:
        return {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor, inputs: list[torch.Tensor] | None = None, retain_graph: bool = False) -> None:
        scaled = self.scaler.scale(loss) if self.scaler is not None else loss
        scaled.backward(inputs=inputs, retain_graph=retain_graph)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """One optimiser step at the rates its groups hold (set by train/learning_rates.py)."""
        if self.scaler is not None:
            self.scaler.step(optimizer)
        else:
            optimizer.step()

    def update(self) -> None:
        if self.scaler is not None:
            self.scaler.update()


def resolve_precision(mode: str, device: torch.device) -> Precision:
    """``auto``: bf16 on a CUDA GPU that supports it (fp16 with a scaler otherwise), float32 on the CPU."""
    kind = device.type
    if mode == "off" or (mode == "auto" and kind != "cuda"):
        return Precision(kind)
    if mode == "auto":
        mode = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if mode == "bf16":
        return Precision(kind, torch.bfloat16)
    if mode == "fp16":
        if kind != "cuda":
            raise ConfigError("train.amp=fp16 needs a CUDA GPU", "use train.amp=bf16 or off on the CPU")
        return Precision(kind, torch.float16, torch.amp.GradScaler("cuda"))
    raise ConfigError(f"unknown train.amp '{mode}'", "use auto, off, bf16 or fp16")
