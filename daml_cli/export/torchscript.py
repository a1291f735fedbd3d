"""TorchScript export (``torch.jit.trace`` + ``torch.jit.save``) and a runner for the saved file.

Tracing records the ops run on one sample batch; the metric networks here have no data-dependent control
flow, and every op they use is batch-size agnostic, so a traced model accepts any batch size.
TorchScript is deprecated upstream (torch 2.14 warns on every call); those warnings are silenced here
because they say nothing about this export's correctness, and ONNX is the format to prefer long-term.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

Runner = Callable[[np.ndarray], np.ndarray]


@contextlib.contextmanager
def _quiet_jit() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated", category=Warning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        yield


def export_torchscript(model: torch.nn.Module, sample: torch.Tensor, path: Path) -> None:
    """Trace eval-mode `model` on `sample` (N×3×H×W float32, CPU) and save the TorchScript module at `path`."""
    with _quiet_jit(), torch.no_grad():
        traced = torch.jit.trace(model, sample, check_trace=False)
        torch.jit.save(traced, str(path))


def torchscript_runner(path: Path) -> Runner:
    """A function embedding a float32 N×3×H×W numpy batch with the TorchScript file at `path` (CPU)."""
    with _quiet_jit():
        module = torch.jit.load(str(path), map_location="cpu")
    module.eval()

    def run(batch: np.ndarray) -> np.ndarray:
        with _quiet_jit(), torch.no_grad():
            return module(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))).numpy()

    return run
