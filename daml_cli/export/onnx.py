"""ONNX export with PyTorch's exporters, and an onnxruntime runner for the saved file.

Two exporters are offered (``exporter``):

- ``dynamo`` (default): the torch.export-based exporter, PyTorch's supported path since 2.9; needs the
  ``onnx`` and ``onnxscript`` packages. Slower (tens of seconds for GoogLeNet on a laptop CPU).
- ``legacy``: the TorchScript-based exporter (``dynamo=False``), deprecated upstream but fast and without
  the onnxscript dependency.

Both write one self-contained ``.onnx`` file (weights inside, never an external-data file) whose input
``images`` (float32 N×3×H×W) and output ``embeddings`` (float32 N×D) have a symbolic batch axis named
``batch`` unless a fixed batch size is asked for. onnx/onnxruntime/onnxscript are an optional extra
(``pip install "daml-cli[onnx]"``); a missing one is reported as a one-line error.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from daml_cli.errors import DamlError

Runner = Callable[[np.ndarray], np.ndarray]

EXPORTERS = ("dynamo", "legacy")
DEFAULT_OPSET = 18
INPUT_NAME = "images"
OUTPUT_NAME = "embeddings"
BATCH_AXIS = "batch"
INSTALL_HINT = 'pip install "daml-cli[onnx]"'


def require_modules(names: Sequence[str], purpose: str) -> None:
    """Raise a one-line DamlError naming the packages of `names` that are not importable."""
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        raise DamlError(f"{purpose} needs the Python package(s) {', '.join(missing)}, which are not installed",
                        f"install them with: {INSTALL_HINT}")


def required_packages(exporter: str, verify: bool) -> list[str]:
    """The optional packages an ONNX export with `exporter` (and verification when `verify`) imports."""
    names = ["onnx"]
    if exporter == "dynamo":
        names.append("onnxscript")
    if verify:
        names.append("onnxruntime")
    return names


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporters' deprecation/progress chatter so the CLI's stderr holds only real errors."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def export_onnx(
    model: torch.nn.Module,
    sample: torch.Tensor,
    path: Path,
    opset: int = DEFAULT_OPSET,
    batch_dynamic: bool = True,
    exporter: str = "dynamo",
) -> int:
    """Export eval-mode `model`, traced on `sample` (N×3×H×W, CPU), to the ONNX file `path`; return its opset.

    With `batch_dynamic` the batch axis is symbolic, so `sample` must hold at least 2 images (PyTorch
    specialises sizes 0 and 1); otherwise the file only accepts ``sample.shape[0]`` images.
    """
    if exporter not in EXPORTERS:
        raise DamlError(f"unknown ONNX exporter '{exporter}'", f"choose one of {', '.join(EXPORTERS)}")
    require_modules(required_packages(exporter, verify=False), "ONNX export")
    try:
        with _quiet_export(), torch.no_grad():
            if exporter == "dynamo":
                shapes = ({0: torch.export.Dim(BATCH_AXIS)},) if batch_dynamic else None
                program = torch.onnx.export(
                    model, (sample,), None, dynamo=True, opset_version=opset, input_names=[INPUT_NAME],
                    output_names=[OUTPUT_NAME], dynamic_shapes=shapes, verbose=False, optimize=True,
                )
                program.save(str(path), external_data=False)
            else:
                axes = {INPUT_NAME: {0: BATCH_AXIS}, OUTPUT_NAME: {0: BATCH_AXIS}} if batch_dynamic else None
                torch.onnx.export(
                    model, (sample,), str(path), dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
                    output_names=[OUTPUT_NAME], dynamic_axes=axes, do_constant_folding=True,
                )
    except DamlError:
        raise
    except Exception as error:  # exporter failures come in many types; the first line is what matters
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise DamlError(f"ONNX export ({exporter} exporter, opset {opset}) failed: {reason}",
                        "try the other exporter with --exporter, or another --opset") from None
    return check_onnx_file(path)


def check_onnx_file(path: Path) -> int:
    """Run the ONNX checker on `path` and return the default-domain opset it declares."""
    import onnx

    try:
        onnx.checker.check_model(str(path))
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as error:
        raise DamlError(f"the exported file {path} is not a valid ONNX model: {str(error).splitlines()[0][:200]}") from None
    versions = [entry.version for entry in proto.opset_import if entry.domain in ("", "ai.onnx")]
    return int(versions[0]) if versions else 0


def onnx_runner(path: Path) -> Runner:
    """A function embedding a float32 N×3×H×W numpy batch with onnxruntime's CPU provider."""
    require_modules(["onnxruntime"], "verifying an ONNX export")
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: keep optimiser notes off the CLI's stderr
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {input_name: np.ascontiguousarray(batch, dtype=np.float32)})[0]

    return run
