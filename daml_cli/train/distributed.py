"""Data-parallel training over `torchrun` processes, so every loss sees the whole global batch.

Each rank embeds its share of the global P×K batch (contiguous rows; shares differ by at most one row when
the process count does not divide the batch, see `rank_share`), then `gather` concatenates every rank's rows
in rank order (sizes are exchanged first and shorter shares padded, since `all_gather` needs equal sizes). All ranks then compute the *same* loss on
the same global batch a single process would see. The gradient of that replicated loss reaches each rank's
own rows summed over ranks (W × its true value), and `average_gradients` divides every parameter's gradient
by W after summing over ranks: trunk parameters end with the single-process gradient, and so do parameters
used after the gather (embedder, DAML generator), which every rank computed in full.

BatchNorm layers of the trunk see only their rank's rows (as in any DDP run); on CUDA they are converted to
SyncBatchNorm so the statistics match a single device.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

from daml_cli.errors import ConfigError

S = TypeVar("S", list, torch.Tensor)


def _all_sizes(rows: int, device: torch.device) -> list[int]:
    """Every rank's row count, in rank order."""
    mine = torch.tensor([rows], dtype=torch.int64, device=device)
    sizes = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, mine)
    return [int(size.item()) for size in sizes]


def _gather_rows(tensor: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
    """Concatenate every rank's rows (any counts): pad to the largest share, gather, drop the padding."""
    sizes = _all_sizes(tensor.shape[0], tensor.device)
    largest = max(sizes)
    padded = tensor.contiguous()
    if tensor.shape[0] < largest:
        padding = tensor.new_zeros((largest - tensor.shape[0], *tensor.shape[1:]))
        padded = torch.cat([padded, padding])
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([part[:size] for part, size in zip(parts, sizes)]), sizes


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        gathered, sizes = _gather_rows(tensor)
        rank = dist.get_rank()
        ctx.start, ctx.stop = sum(sizes[:rank]), sum(sizes[: rank + 1])
        return gathered

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.start : ctx.stop]


@dataclass(frozen=True)
class Distributed:
    """The process group of this run, or a single process (world_size 1, every method a no-op)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Every rank's rows, concatenated in rank order; gradients flow back to this rank's rows."""
        return _GatherWithGrad.apply(tensor) if self.enabled else tensor

    def gather_labels(self, labels: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return labels
        return _gather_rows(labels)[0]

    def average_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """Sum each gradient over ranks and divide by the number of ranks."""
        if not self.enabled:
            return
        for parameter in parameters:
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
                parameter.grad.div_(self.world_size)

    def broadcast_parameters(self, module: torch.nn.Module) -> None:
        """Start every rank from rank 0's weights and buffers."""
        if self.enabled:
            for tensor in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(tensor.data, src=0)

    def any_flag(self, flag: bool) -> bool:
        """True on every rank when any rank raised `flag` (e.g. a stop signal)."""
        if not self.enabled:
            return flag
        value = torch.tensor([1.0 if flag else 0.0])
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() > 0)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def rank_share(self, batch: S) -> S:
        """This rank's contiguous share of a global batch (a list or tensor).

        Any process count works: the first ``len % W`` ranks take one row more. The loss runs on the
        gathered global batch, so how rows are split does not change it (only per-rank BatchNorm
        statistics see the split, as in any data-parallel run).
        """
        if not self.enabled:
            return batch
        start, stop = share_bounds(len(batch), self.world_size, self.rank)
        return batch[start:stop]


def share_bounds(rows: int, world_size: int, rank: int) -> tuple[int, int]:
    """[start, stop) of `rank`'s rows when `rows` are split as evenly as possible over `world_size` ranks."""
    base, extra = divmod(rows, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def from_environment(device_type: str) -> Distributed:
    """Join the process group `torchrun` describes in the environment; a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return Distributed(rank=rank, world_size=world, local_rank=local_rank)


def check_batch_covers_ranks(batch_size: int, world_size: int) -> None:
    """Every process needs at least one image of the global batch."""
    if batch_size < world_size:
        raise ConfigError(
            f"the global batch holds {batch_size} images but there are {world_size} processes",
            "raise sampler.classes_per_batch or sampler.images_per_class, or start fewer processes",
        )
