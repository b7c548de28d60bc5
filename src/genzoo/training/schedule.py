"""The learning-rate schedules shared by every way of training (the trainer and the multi-seed engine)."""
from __future__ import annotations

from ..models import Optimizers

BURDA_STAGES = 8   # Burda et al. 2016: stage i lasts 3^i epochs at 10^(-i/7) of the rate, i = 0..7 (3,280 epochs)
BURDA_STAGE_ENDS = tuple((3 ** (i + 1) - 1) // 2 for i in range(BURDA_STAGES))   # epochs: 1, 4, 13, ..., 3280


def lr_factor(step: int, total: int, decay: float, final: float) -> float:
    """Learning-rate multiplier at `step`: 1, then linear from 1 to `final` over the last `decay` of the run."""
    start = total * (1.0 - decay)
    if decay <= 0.0 or step < start:
        return 1.0
    return 1.0 - (1.0 - final) * (step - start) / max(total - start, 1e-12)


def burda_stage(step: int, steps_per_epoch: float) -> int:
    """The stage i of Burda et al.'s schedule at `step`: stage i spans epochs [(3^i - 1)/2, (3^(i+1) - 1)/2); past
    the last stage, the last."""
    epoch = step / max(steps_per_epoch, 1e-12)
    return next((i for i, end in enumerate(BURDA_STAGE_ENDS) if epoch < end), BURDA_STAGES - 1)


def burda_factor(step: int, steps_per_epoch: float) -> float:
    """Burda, Grosse & Salakhutdinov's (2016) multiplier: 10^(-i/7) in stage i."""
    return 10.0 ** (-burda_stage(step, steps_per_epoch) / 7.0)


def schedule_factor(train_cfg, step: int, total: int, steps_per_epoch: float) -> float:
    """The multiplier of train.lr_schedule at `step` ("linear": train.lr_decay / train.lr_final; "burda")."""
    if train_cfg.lr_schedule == "burda":
        return burda_factor(step, steps_per_epoch)
    return lr_factor(step, total, train_cfg.lr_decay, train_cfg.lr_final)


def apply_lr_schedule(opt: Optimizers, train_cfg, step: int, total: int, steps_per_epoch: float) -> None:
    """Set the learning rates of `step` by train.lr_schedule (nothing for a constant rate)."""
    if train_cfg.lr_schedule == "burda" or train_cfg.lr_decay > 0:
        opt.scale_learning_rates(schedule_factor(train_cfg, step, total, steps_per_epoch))
