"""Data-parallel training over `torchrun` processes, so every loss sees the whole global batch.

Each rank embeds its share of the global P×K batch (whole classes, see `rank_share`), then
`gather_with_grad` concatenates every rank's rows in rank order. All ranks then compute the *same* loss on
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


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        world, rank = dist.get_world_size(), dist.get_rank()
        parts = [torch.empty_like(tensor) for _ in range(world)]
        dist.all_gather(parts, tensor.contiguous())
        ctx.rows, ctx.rank = tensor.shape[0], rank
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows]


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
        parts = [torch.empty_like(labels) for _ in range(self.world_size)]
        dist.all_gather(parts, labels.contiguous())
        return torch.cat(parts)

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
        """This rank's contiguous share of a global batch (a list or tensor; whole classes when W divides P)."""
        if not self.enabled:
            return batch
        size = len(batch) // self.world_size
        return batch[self.rank * size : (self.rank + 1) * size]


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


def check_divisible(classes_per_batch: int, world_size: int) -> None:
    if world_size > 1 and classes_per_batch % world_size:
        raise ConfigError(
            f"sampler.classes_per_batch ({classes_per_batch}) must be divisible by the number of processes ({world_size})",
            "so every process embeds whole classes",
        )
