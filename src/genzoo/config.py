"""The run schema: a run is described by a `RunConfig`: which algorithm, its hyperparameters (the
algorithm's own `Config` dataclass), the data and the training budget. Values are checked as they are
read (genzoo.typed) and parsed once into typed values (a time budget becomes a `TimeBudget`); presets
and overrides that fill a RunConfig are genzoo.presets' job.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError
from .typed import to_dict


@dataclass
class DataConfig:
    """Which data to train on. `name` is a dataset from `genzoo list`."""

    name: str = "mnist"
    root: str | None = None        # a folder holding the dataset's files (default: ~/.cache/genzoo/data)
    download: bool = True          # try the mirrors when the files are absent
    verify: bool = True            # check md5 checksums of dataset files
    n_samples: int | None = None   # how many examples to use (a seeded subset; toy 2-D: points drawn)
    image_size: int | None = None  # resize images to this size
    channels: int | None = None    # convert images to 1 (gray) or 3 (RGB) channels


#: autocast precision of a run (auto: images bf16 on native-bf16 CPUs, AMP on CUDA)
Precision = Literal["auto", "fp32", "bf16", "fp16"]
#: the largest seed (numpy's and most tools' limit; genzoo derives data-order seeds from it)
MAX_SEED = 2**32 - 1
MAX_THREADS = 1024        # more than any CPU has; OpenMP asked for 100,000 threads crashes the process
MAX_GRID_SIZE = 10_000    # samples in a training grid: as many as `genzoo sample --n` draws at once
#: what a time budget or limit counts: wall-clock time, or the CPU time this process used
Clock = Literal["wall", "cpu"]
LRSchedule = Literal["linear", "burda"]
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|cpu)?\s*$")


@dataclass(frozen=True)
class TimeBudget:
    """`seconds` of wall-clock time (`clock="wall"`) or of CPU time used by this process (`"cpu"`)."""

    seconds: float
    clock: Clock = "wall"

    def __str__(self) -> str:
        return f"{self.seconds:g}cpu" if self.clock == "cpu" else f"{self.seconds:g}s"


def parse_time_budget(text: str) -> TimeBudget:
    """'90s', '5m', '1h', '300cpu' (CPU-seconds); a bare number is seconds of wall time."""
    match = _BUDGET.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"time budget '{text}' is not understood; give a positive duration such as 90s, 5m, 1h "
                          "or 300cpu (CPU-seconds)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    if unit == "cpu":
        return TimeBudget(value, "cpu")
    return TimeBudget(value * _UNITS[unit], "wall")


def summary_writer_class():
    """torch's SummaryWriter, or one clear line saying what to install (it needs the tensorboard package)."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("train.tensorboard=true needs the tensorboard package: pip install 'genzoo[tensorboard]' "
                          "(or train without --tensorboard)") from None
    return SummaryWriter


@dataclass
class TrainConfig:
    """The training budget and the trainer's bookkeeping."""

    steps: int | None = None       # optimizer steps of the algorithm (one train_step each)
    epochs: float | None = None    # alternative to steps: passes over the training split
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"           # auto | cpu | cuda | cuda:N
    log_every: int = 50
    sample_every: int = 500        # write a sample grid every N steps (and at the end); 0: only at the end
    checkpoint_every: int = 500    # 0: only at the end
    keep_checkpoints: int = 3
    grid_size: int = 64
    precision: Precision = "auto"  # autocast (auto: images bf16 on native-bf16 CPUs, AMP on CUDA)
    compile: bool = False          # torch.compile each network
    channels_last: bool = False    # channels-last memory format for conv nets and image batches
    sync_batchnorm: bool = False   # distributed CUDA runs: batch statistics over all processes
    lr_decay: float = 0.0          # 0: constant learning rates; else over this last fraction of the steps they fall
    lr_final: float = 0.0          # linearly to this fraction of their configured values
    lr_schedule: LRSchedule = "linear"  # burda: Burda et al. 2016's 10^(-i/7) of the rates for 3^i epochs, i = 0..7
    time_budget: str | None = None # stop after this much time: 90s, 5m, 1h (wall clock) or 300cpu (CPU-seconds)
    tensorboard: bool = False      # TensorBoard event files in RUN_DIR/tensorboard (genzoo[tensorboard])
    threads: int | None = None     # CPU compute threads (None: the count in force when the run begins)

    def validate(self) -> None:
        if self.steps is not None and self.steps <= 0:
            raise ConfigError(f"train.steps must be a positive integer, got {self.steps}")
        if self.epochs is not None and not (math.isfinite(self.epochs) and self.epochs > 0):
            raise ConfigError(f"train.epochs must be a positive finite number, got {self.epochs}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"train.seed must be an integer from 0 to 2**32 - 1, got {self.seed}")
        if self.steps is not None and self.epochs is not None:
            raise ConfigError("give either train.steps or train.epochs, not both")
        if self.threads is not None and not 1 <= self.threads <= MAX_THREADS:
            raise ConfigError(f"train.threads must be a whole number from 1 to {MAX_THREADS:,}, got {self.threads:,}")
        if self.grid_size > MAX_GRID_SIZE:   # drawn in one batch, held in memory and drawn as one image
            raise ConfigError(f"train.grid_size must be at most {MAX_GRID_SIZE:,} samples, got {self.grid_size:,}")
        for name in ("batch_size", "log_every", "keep_checkpoints", "grid_size"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be a positive integer, got {getattr(self, name)}")
        if not 0.0 <= self.lr_decay <= 1.0:
            raise ConfigError(f"train.lr_decay is the final fraction of the run over which the learning rate "
                              f"decays, between 0 and 1; got {self.lr_decay}")
        if not 0.0 <= self.lr_final <= 1.0:
            raise ConfigError(f"train.lr_final is a fraction of the configured learning rate, between 0 and 1; "
                              f"got {self.lr_final}")
        if self.lr_schedule == "burda" and self.lr_decay > 0:
            raise ConfigError("train.lr_schedule=burda sets the rates by epoch; give train.lr_decay=0 with it, or "
                              "train.lr_schedule=linear for the linear decay")
        if self.time_budget is not None:   # refused here, before anything is written
            parse_time_budget(self.time_budget)
        if self.tensorboard:   # before anything is written: the extra is missing, or it is there
            summary_writer_class()
        for name in ("sample_every", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name} must be >= 0 (0 = only at the end), got {getattr(self, name)}")

    @property
    def budget(self) -> TimeBudget | None:
        """time_budget as a typed value (None: no time budget)."""
        return None if self.time_budget is None else parse_time_budget(self.time_budget)


@dataclass
class RunConfig:
    """Everything that defines a run; saved as config.json in the run directory."""

    name: str
    algorithm: str
    model: Any
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    description: str = ""
    paper: str = ""

    def to_dict(self) -> dict:
        return to_dict(self)
