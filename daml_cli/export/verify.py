"""Check an exported model against PyTorch: same inputs, embeddings equal to within a tolerance.

Inputs are a few seeded random batches (standard normal, which is what normalised images look like), of
batch sizes other than the trace batch when the batch axis is dynamic, plus real images when given,
preprocessed exactly as `daml embed` does. The measure is the largest absolute difference of any
embedding coordinate, ``max_{i,j} |E_export[i,j] − E_torch[i,j]|``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from daml_cli.data.images import is_image_file, load_rgb_tensor
from daml_cli.data.transforms import eval_transform
from daml_cli.errors import DamlError, DataError
from daml_cli.safety.files import require_regular_file

Runner = Callable[[np.ndarray], np.ndarray]

DEFAULT_TOLERANCE = 1e-4
DYNAMIC_BATCH_SIZES = (1, 3)  # both differ from the trace batch (2), so they prove the axis is symbolic
IMAGE_BATCH = 8
MAX_IMAGES = 64


@dataclass
class VerifyReport:
    """How an exported model compared with PyTorch on the same inputs."""

    max_abs_diff: float
    tolerance: float
    random_images: int
    real_images: int
    batch_sizes: list[int]

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.tolerance

    def as_dict(self) -> dict[str, Any]:
        return {"max_abs_diff": self.max_abs_diff, "tolerance": self.tolerance, "random_images": self.random_images,
                "real_images": self.real_images, "batch_sizes": self.batch_sizes}


def collect_images(items: Sequence[Path | str], limit: int = MAX_IMAGES) -> list[Path]:
    """Image files named directly or found (sorted, recursively) in folders; at most `limit` of them."""
    found: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            inside = sorted(p for p in item.rglob("*") if p.is_file() and is_image_file(p))
            if not inside:
                raise DataError(f"verification image folder {item} holds no images")
            found.extend(inside)
        else:
            require_regular_file(item, "verification image")
            found.append(item)
    return found[:limit]


def random_batches(image_size: int, sizes: Sequence[int], seed: int = 0) -> list[np.ndarray]:
    """Seeded standard-normal float32 batches of shape size×3×image_size×image_size, one per size."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((size, 3, image_size, image_size)).astype(np.float32) for size in sizes]


def image_batches(paths: Sequence[Path], preprocessing: dict[str, Any], batch_size: int, pad: bool) -> list[np.ndarray]:
    """The preprocessed images of `paths` in batches of `batch_size`; with `pad` the last batch is
    filled up with zero images so a fixed-batch model can run it."""
    if not paths:
        return []
    transform = eval_transform(preprocessing)
    stacked = torch.stack([transform(load_rgb_tensor(path)) for path in paths]).numpy().astype(np.float32)
    batches = [stacked[start:start + batch_size] for start in range(0, len(stacked), batch_size)]
    if pad and len(batches[-1]) < batch_size:
        filler = np.zeros((batch_size - len(batches[-1]), *stacked.shape[1:]), dtype=np.float32)
        batches[-1] = np.concatenate([batches[-1], filler])
    return batches


@torch.no_grad()
def max_abs_difference(model: torch.nn.Module, runner: Runner, batches: Sequence[np.ndarray]) -> float:
    """``max |runner(x) − model(x)|`` over every batch x, every row and every coordinate."""
    worst = 0.0
    for batch in batches:
        expected = model(torch.from_numpy(batch)).numpy()
        actual = np.asarray(runner(batch))
        if actual.shape != expected.shape:
            raise DamlError(f"the exported model returned shape {actual.shape} for a batch of {batch.shape}, "
                            f"PyTorch {expected.shape}")
        if not np.all(np.isfinite(actual)):
            return float("inf")
        worst = max(worst, float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64)), initial=0.0)))
    return worst


def verify_export(
    model: torch.nn.Module,
    runner: Runner,
    image_size: int,
    batch_sizes: Sequence[int],
    images: Sequence[Path] = (),
    preprocessing: dict[str, Any] | None = None,
    fixed_batch: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> VerifyReport:
    """Compare `runner` (the exported model) with eval-mode `model` on random and real inputs.

    `fixed_batch` is the only batch size a static export accepts (None: any). Raises a DamlError when the
    largest difference exceeds `tolerance`; returns the report otherwise.
    """
    batches = random_batches(image_size, batch_sizes, seed)
    if images:
        batches += image_batches(images, preprocessing or {}, fixed_batch or IMAGE_BATCH, pad=fixed_batch is not None)
    report = VerifyReport(
        max_abs_diff=max_abs_difference(model, runner, batches), tolerance=tolerance,
        random_images=int(sum(batch_sizes)), real_images=len(images), batch_sizes=sorted({len(b) for b in batches}),
    )
    if not report.passed:
        raise DamlError(f"the exported model's embeddings differ from PyTorch's by up to {report.max_abs_diff:.3g} "
                        f"(tolerance {tolerance:g}); nothing was written", "try --exporter legacy or the other --format; --no-verify keeps the file unchecked")
    return report
