"""`daml embed` under `torchrun`: each process embeds one contiguous shard of the split; rank 0 gathers.

The split's rows are cut into W contiguous shards (``shard_bounds``: sizes differ by at most one, rank order
= row order), so concatenating the shards in rank order gives exactly the single-process order. Shards are
gathered with ``all_gather`` after padding every one to the largest size (collectives need equal shapes)
and trimmed back; only rank 0 receives a result and writes files.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist

from daml_cli.train.distributed import Distributed


def shard_bounds(count: int, world_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each rank's contiguous share of ``count`` rows: sizes ⌊N/W⌋ or ⌈N/W⌉, in order."""
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    base, extra = divmod(count, world_size)
    bounds, start = [], 0
    for rank in range(world_size):
        stop = start + base + (1 if rank < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def gather_rows(group: Distributed, rows: np.ndarray, dimension: int, device: torch.device) -> np.ndarray | None:
    """Every rank's ``rows`` (n_r × D float32) concatenated in rank order on rank 0; None on the others.

    ``device``: where the collective runs (CUDA tensors for NCCL, CPU for gloo).
    """
    if not group.enabled:
        return rows
    local = torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)).reshape(-1, dimension).to(device)
    sizes = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(group.world_size)]
    dist.all_gather(sizes, torch.tensor([local.shape[0]], dtype=torch.int64, device=device))
    counts = [int(s.item()) for s in sizes]
    padded = torch.zeros((max(counts), dimension), dtype=torch.float32, device=device)
    padded[: local.shape[0]] = local
    parts = [torch.empty_like(padded) for _ in range(group.world_size)]
    dist.all_gather(parts, padded)
    if not group.is_main:
        return None
    return torch.cat([part[:n] for part, n in zip(parts, counts)]).cpu().numpy()
