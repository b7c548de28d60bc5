"""The training data as the trainer serves it: loaded once as tensors, minibatches in an order that
is a pure function of (seed, step), so that a resumed run sees exactly the batches it would have."""
from __future__ import annotations

import math

import torch

from ..config import RunConfig
from ..data import Dataset
from ..errors import ConfigError
from ..models import Batch, DataSpec
from ..models.base import IMAGE_KINDS
from .distributed import World


def data_spec(ds: Dataset) -> DataSpec:
    return DataSpec(kind=ds.kind, shape=tuple(ds.shape), num_classes=ds.num_classes,
                    vocab_size=getattr(ds, "vocab_size", None))


UNBOUNDED_STEPS = 10**12  # the step cap of a run that only a time budget ends


def total_steps(cfg: RunConfig, n_examples: int, batches_per_step: int = 1) -> int:
    """The run's step budget: train.steps, or train.epochs passes over `n_examples` in minibatches,
    of which a step takes `batches_per_step` (a GAN's k D steps: an epoch counts D's minibatches, as
    Lucic et al. 2018 count it)."""
    t = cfg.train
    if t.steps is not None:
        return t.steps
    if t.epochs is not None:
        return max(1, math.ceil(t.epochs * (n_examples // t.batch_size) / batches_per_step))
    if t.time_budget:
        return UNBOUNDED_STEPS  # the time budget's stop rule ends the run
    raise ConfigError("give a training budget: --steps N, --epochs N or --time-budget 5m")


class BatchSource:
    """Minibatches held in memory; the order of step s is fixed by (seed, s) alone.

    Each epoch is a fresh permutation drawn from its own seeded generator; the last partial
    batch is dropped so every step sees `batch_size` examples.
    """

    def __init__(self, ds: Dataset, batch_size: int, seed: int, device: torch.device, *,
                 world: World = World(), splits: int = 1, channels_last: bool = False):
        if batch_size > len(ds):
            raise ConfigError(f"train.batch_size={batch_size} is larger than the dataset ({len(ds)} examples, "
                              f"{ds.source}); choose a smaller --batch-size")
        if batch_size % (splits * world.size):
            raise ConfigError(f"the global batch of {batch_size} examples cannot be shared by {world.size} processes "
                              f"x {splits} minibatches per step; choose a batch size divisible by {splits * world.size}")
        self.world, self.splits, self.channels_last = world, splits, channels_last
        self.kind = ds.kind
        self.x = ds.x.to(device)
        self.y = ds.y.to(device) if ds.y is not None else None
        self.batch_size = batch_size
        self.seed = seed
        self.steps_per_epoch = len(ds) // batch_size
        self._epoch, self._perm = -1, None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(len(self.x), generator=g).to(self.x.device)
            self._epoch = epoch
        return self._perm

    def batch(self, step: int) -> Batch:
        epoch, i = divmod(step, self.steps_per_epoch)
        idx = self._permutation(epoch)[i * self.batch_size:(i + 1) * self.batch_size]
        if self.world.distributed:  # this process's shard of each of the step's minibatches
            idx = idx.view(self.splits, self.world.size, -1)[:, self.world.rank].reshape(-1)
        x = self.x[idx]
        if self.kind in IMAGE_KINDS:
            x = x.float().div_(255.0)
            if self.channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
        return Batch(x=x, y=None if self.y is None else self.y[idx])
