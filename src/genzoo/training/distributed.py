"""Data-parallel training across processes started by `torchrun` (gloo on CPU, NCCL on CUDA).

Each process takes its shard of every global minibatch. Each optimizer step averages the
gradients of that optimizer's parameters over all processes, which is what
DistributedDataParallel's reducer does. It is done per optimizer step rather than per forward
pass, so that algorithms with several updates per step (a GAN's D then G step, an AAE's three
phases) never leave a reduction half-done. The result is that no parameter ever goes unused.
Batch-norm statistics are broadcast from rank 0 after every step, as DDP does with its buffers.
Only rank 0 logs and writes files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..errors import ConfigError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def init_from_env(device: torch.device) -> World:
    """Join the process group that torchrun describes in the environment (no-op for one process)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(rank=rank, size=size, local_rank=local_rank)


def local_device(device: torch.device, world: World) -> torch.device:
    """On CUDA, one GPU per process: cuda:LOCAL_RANK."""
    if world.distributed and device.type == "cuda":
        gpus = torch.cuda.device_count()
        if world.local_rank >= gpus:
            raise ConfigError(f"process {world.rank} is local rank {world.local_rank}, but this machine has {gpus} "
                              f"GPU{'s' * (gpus != 1)} and DDP on CUDA runs one process per GPU: start at most {gpus} "
                              "per node (torchrun --nproc-per-node), or train on the CPU with --set train.device=cpu")
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    return device


def gradient_averager(world: World):
    """A hook for `Optimizers`: average the gradients of `params` over all processes, in one bucket."""

    def average(params: list[torch.Tensor]) -> None:
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= world.size
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    return average


def broadcast_parameters(module: nn.Module) -> None:
    """Start every process from rank 0's weights and buffers."""
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=0)


def broadcast_norm_statistics(module: nn.Module) -> None:
    """Batch-norm running statistics from rank 0 (each rank saw a different shard)."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats:
            for t in (m.running_mean, m.running_var, m.num_batches_tracked):
                if t is not None:
                    dist.broadcast(t, src=0)


def mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """The logged losses averaged over processes, so every rank sees the same numbers."""
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist()))


def max_over_ranks(value: float, device: torch.device) -> float:
    """The largest of every process's `value` (e.g. the time a budget has used), the same on every rank."""
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.item()


def gather_rng_states(world: World, state: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's CPU random state (rank 0 stores them all in the checkpoint)."""
    states = [torch.empty_like(state) for _ in range(world.size)]
    dist.all_gather(states, state)
    return states


def broadcast_string(text: str | None, world: World) -> str:
    box = [text]
    dist.broadcast_object_list(box, src=0)  # internal to the process group: no file is unpickled
    return box[0]
