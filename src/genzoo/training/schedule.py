"""The learning-rate schedule shared by every way of training (the trainer and the multi-seed engine)."""
from __future__ import annotations

from ..models import Optimizers


def lr_factor(step: int, total: int, decay: float, final: float) -> float:
    """Learning-rate multiplier at `step`: 1, then linear from 1 to `final` over the last `decay` of the run."""
    start = total * (1.0 - decay)
    if decay <= 0.0 or step < start:
        return 1.0
    return 1.0 - (1.0 - final) * (step - start) / max(total - start, 1e-12)


def apply_lr_schedule(opt: Optimizers, train_cfg, step: int, total: int) -> None:
    """Set the learning rates of `step` by train.lr_decay / train.lr_final (nothing when there is no decay)."""
    if train_cfg.lr_decay > 0:
        opt.scale_learning_rates(lr_factor(step, total, train_cfg.lr_decay, train_cfg.lr_final))
