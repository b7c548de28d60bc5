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

import datetime
import os
import re
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..errors import CheckpointError, ConfigError, GenzooError

#: seconds a process waits in a collective for the others (GENZOO_DIST_TIMEOUT); the longest rank 0 may spend alone
#: between two steps (a checkpoint, a sample grid), so that a process that hangs ends the others instead of
#: holding them forever
DEFAULT_TIMEOUT = 600

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
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                timeout=datetime.timedelta(seconds=collective_timeout()))
    return World(rank=rank, size=size, local_rank=local_rank)


def collective_timeout() -> float:
    text = os.environ.get("GENZOO_DIST_TIMEOUT", str(DEFAULT_TIMEOUT))
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 1 <= seconds <= 86_400:
        raise ConfigError(f"GENZOO_DIST_TIMEOUT must be a number of seconds from 1 to 86400, got {text!r}")
    return seconds


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every process when `flag` is true on any: one tiny all-reduce, so that all processes act at the
    same step (a stop signal that reached one of them, or reached them at different steps)."""
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def lost_peer(error: BaseException, world: World, run_dir) -> GenzooError | None:
    """The one line for a collective that failed because another process died, hung past the timeout or
    stopped at once (None for any other error)."""
    if not world.distributed or not isinstance(error, RuntimeError):
        return None
    text = str(error)
    signs = ("Connection closed", "Connection reset", "Broken pipe", "Timed out", "timed out", "timeout", "gloo")
    if not (isinstance(error, dist.DistError) or any(s in text for s in signs)):
        return None
    first = text.strip().splitlines()[0][:200] if text.strip() else type(error).__name__
    return GenzooError(f"process {world.rank} lost the other processes ({first}): one of them was killed, stopped "
                       f"at once or waited over {collective_timeout():g} s (GENZOO_DIST_TIMEOUT). The run keeps its "
                       f"checkpoints; continue with {resume_command(world.size, run_dir)}")


def leave_process_group() -> None:
    """Wait for every process, then leave the group. Rank 0 hosts the group's store: a process still
    using it after rank 0 has exited is aborted by gloo, failing a run that trained well."""
    if dist.is_initialized():
        dist.barrier()
        store, rank, size = dist.distributed_c10d._get_default_store(), dist.get_rank(), dist.get_world_size()
        dist.destroy_process_group()
        if rank != 0:
            store.add("left", 1)
        else:  # keep the store up until every other process has left (a process that died never will)
            deadline = time.monotonic() + 60
            while store.add("left", 0) < size - 1 and time.monotonic() < deadline:
                time.sleep(0.01)


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


# ----- resuming with another number of processes ----------------------------------------------------------
# The global batch (train.batch_size) and the data order are the run's, whatever the number of processes:
# each process takes its share of every global batch. What depends on the count is each process's random
# stream (noise, dropout) and, without sync_batchnorm, the batch-norm statistics of its shard.


def resume_command(processes: int, run_dir) -> str:
    if processes == 1:
        return f"genzoo train --resume {run_dir}"
    return f"torchrun --nproc-per-node {processes} -m genzoo train --resume {run_dir}"


def _resume_command(processes: int, run_dir) -> str:
    return ("one process: " if processes == 1 else "") + resume_command(processes, run_dir)


def check_resumable(record: dict, world: World, batch_size: int, run_dir) -> None:
    """Refuse, before anything is built, a resume whose global batch the processes cannot share equally."""
    trained_by = record.get("processes") if type(record.get("processes")) is int else 1
    if batch_size % world.size:
        raise ConfigError(f"this run's global batch of {batch_size} examples cannot be shared by {world.size} "
                          f"processes; resume it with {_resume_command(trained_by, run_dir)} as it was trained, "
                          f"or with a number of processes that divides {batch_size}")


def checkpoint_processes(meta: dict, tensors: dict) -> int:
    """How many processes wrote a checkpoint: its record, or (before it was recorded) its random states."""
    recorded = meta["extra"].get("processes")
    if type(recorded) is int and recorded >= 1:
        return recorded
    return sum(1 for k in tensors if re.fullmatch(r"rng/rank\d+/torch", k)) or 1


def restore_process_rng(tensors: dict, world: World, trained_by: int, seed: int, step: int) -> None:
    """This process's random stream. With as many processes as wrote the checkpoint, each continues its own;
    otherwise process 0 continues the main stream (restored already) and the others start streams fixed by
    (seed, rank, step), so that resuming the same way twice gives the same run."""
    if not world.distributed:
        return
    if trained_by != world.size:
        if world.rank > 0:
            torch.manual_seed(seed + 7919 * world.rank + 1_000_003 * step)
        return
    state = tensors.get(f"rng/rank{world.rank}/torch")
    if not (torch.is_tensor(state) and state.dtype == torch.uint8):
        raise CheckpointError(f"the checkpoint lacks the random state of process {world.rank} "
                              f"(rng/rank{world.rank}/torch) that a run of {world.size} processes writes")
    try:
        torch.set_rng_state(state)
    except RuntimeError as e:
        raise CheckpointError(f"the checkpoint's random state of process {world.rank} cannot be restored "
                              f"({e})") from None


def process_count_note(trained_by: int, world: World, batch_size: int, step: int, run_dir) -> str | None:
    """The line a resume with another number of processes says (None with the same number)."""
    if trained_by == world.size:
        return None
    n = world.size
    return (f"genzoo: note: this run was trained by {trained_by} process{'es' * (trained_by > 1)} and resumes "
            f"with {n}: the global batch stays {batch_size} examples ({batch_size // n} per process, was "
            f"{batch_size // trained_by}) and the data order and step count go on from step {step}; random draws "
            f"and per-process batch-norm statistics differ from a {trained_by}-process continuation, so it is not "
            f"bitwise that run (for that, resume with {_resume_command(trained_by, run_dir)})")
