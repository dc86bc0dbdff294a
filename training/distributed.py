"""Process-group setup for `torchrun`: gloo on CPU, nccl on GPU; a single process otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from pycodesmall.errors import ConfigError

__all__ = ["Distributed", "setup", "all_reduce_sum", "wait_for_all", "cleanup"]


@dataclass
class Distributed:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: str) -> Distributed:
    """Join the process group when started by torchrun (RANK is set) and pick the device."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is 'cuda' but torch sees no CUDA device; use 'auto' or 'cpu'")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if "RANK" not in os.environ:
        return Distributed(0, 1, torch.device("cuda" if use_cuda else "cpu"))
    local_rank = int(os.environ["LOCAL_RANK"])
    if use_cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Distributed(dist.get_rank(), dist.get_world_size(),
                       torch.device(f"cuda:{local_rank}" if use_cuda else "cpu"))


def all_reduce_sum(tensor: torch.Tensor, ctx: Distributed) -> torch.Tensor:
    """Sum of `tensor` over all processes (itself when there is one process)."""
    if ctx.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def wait_for_all(ctx: Distributed) -> None:
    """Return when every process got here. Called before leaving the group after a finished
    run: a rank that tore down gloo while rank 0 was still saving aborted in gloo's threads
    ("terminate called without an active exception", about one run in six here)."""
    if ctx.enabled:
        dist.barrier()


def cleanup(ctx: Distributed) -> None:
    if ctx.enabled:
        dist.destroy_process_group()
