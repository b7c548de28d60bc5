"""The trainer (set up, step, run), its hooks and stop rules, and what it puts in checkpoints; the run directory it
writes is genzoo.runs's."""
from .hooks import Hook, StopRule, TimeLimit, default_hooks
from .trainer import Run, Trainer, train

__all__ = ["Hook", "StopRule", "TimeLimit", "Trainer", "Run", "default_hooks", "train"]
