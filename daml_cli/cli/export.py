"""`daml export`: a trained model as TorchScript or ONNX (+ a JSON sidecar describing its input)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def export(
    run: Path = typer.Argument(..., help="Run folder (uses checkpoints/best.pt) or checkpoint file."),
    export_format: str = typer.Option(..., "--format", "-f", help="onnx or torchscript."),
    out: Path = typer.Option(..., "--out", "-o", help="Model file to write; its sidecar is OUT.json."),
    batch_dynamic: bool = typer.Option(
        True, "--batch-dynamic/--no-batch-dynamic", help="Accept any batch size (ONNX: a symbolic batch axis)."
    ),
    batch_size: int = typer.Option(1, "--batch-size", help="The one batch size of a --no-batch-dynamic ONNX export."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Check the file's embeddings against PyTorch's (max abs diff <= 1e-4)."),
    images: Optional[List[Path]] = typer.Option(None, "--verify-images", help="Also verify on these images or folders of images (repeatable; at most 64 used)."),
    exporter: str = typer.Option("dynamo", "--exporter", help="ONNX exporter: dynamo (torch.export-based) or legacy (TorchScript-based, faster)."),
    opset: int = typer.Option(18, "--opset", help="ONNX opset version."),
) -> None:
    """Export the embedding network (no generator) taking preprocessed float32 N×3×H×W images."""
    from daml_cli.cli.progress import results
    from daml_cli.export.job import export_model

    summary = export_model(
        run, out, export_format.lower(), batch_dynamic=batch_dynamic, batch_size=batch_size, verify=verify,
        verify_images=images or [], opset=opset, exporter=exporter,
    )
    batch = "any batch size" if summary.batch is None else f"batch size {summary.batch} only"
    opset_text = f", opset {summary.opset}" if summary.opset is not None else ""
    results.print(f"wrote {summary.format} model {summary.out} ({summary.exporter}{opset_text}, {batch}, "
                  f"{summary.embedding_dim}-d embeddings) and {summary.sidecar}", highlight=False, soft_wrap=True)
    if summary.verification is not None:
        check = summary.verification
        inputs = f"{check.random_images} random" + (f" + {check.real_images} real" if check.real_images else "")
        results.print(f"verified on {inputs} images (batch sizes {', '.join(map(str, check.batch_sizes))}): "
                      f"max |diff| vs PyTorch = {check.max_abs_diff:.3g} <= {check.tolerance:g}", highlight=False, soft_wrap=True)
