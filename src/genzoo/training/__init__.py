"""The trainer (set up, step, run), its hooks and stop rules, run directories and load(), checkpoints."""
from .hooks import Hook, StopRule, TimeLimit, default_hooks
from .trainer import Run, Trainer, train

__all__ = ["Hook", "StopRule", "TimeLimit", "Trainer", "Run", "default_hooks", "train"]
