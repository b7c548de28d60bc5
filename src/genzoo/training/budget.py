"""Time budgets: train for `5m` of wall time (or `300cpu` CPU-seconds) instead of a step count.

A learning-rate decay configured as a fraction of the run needs the run's length in steps; under a
budget that length is estimated from the measured time per step and corrected after every step:

    estimated_total = done + remaining_seconds / (seconds_used / steps_timed)

The stop rule is checked only between steps, so a budgeted run always ends at a step boundary.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Callable

import torch

from ..config import TimeBudget
from .distributed import max_over_ranks
from .hooks import StopRule, clock_of


class BudgetTracker:
    """Counts the budget used across resumes and estimates the run's total steps.

    Its state (seconds used, steps timed) is carried in checkpoints, so a resumed run continues
    the remaining budget with the same estimate. `clock` is injectable so that tests can give
    every step a known cost.
    """

    def __init__(self, budget: TimeBudget, *, clock: Callable[[], float] | None = None):
        self.budget = budget
        self.clock = clock or clock_of(budget.clock)
        self.used, self.timed_steps = 0.0, 0
        self._mark = None

    def state_dict(self) -> dict:
        return {"budget": str(self.budget), "used": self.used, "timed_steps": self.timed_steps}

    def load_state_dict(self, state: dict) -> None:
        self.used, self.timed_steps = float(state["used"]), int(state["timed_steps"])

    def start(self) -> None:
        self._mark = self.clock()

    def step_done(self) -> None:
        now = self.clock()
        self.used += now - self._mark
        self._mark = now
        self.timed_steps += 1

    @property
    def exhausted(self) -> bool:
        return self.used >= self.budget.seconds

    def estimated_total(self, done: int) -> int | None:
        """Steps the run will have when the budget is spent (None before any step is timed)."""
        if self.timed_steps == 0 or self.used <= 0:
            return None
        per_step = self.used / self.timed_steps
        return done + math.ceil(max(self.budget.seconds - self.used, 0.0) / per_step)


class TimeBudgetRule(StopRule):
    """The stop rule of `train.time_budget`: stops when the budget is spent, and tells the learning-rate
    schedule how long the run will be. Its tracker's state travels in checkpoints."""

    state_key = "time_budget"

    def __init__(self, budget: TimeBudget):
        self.tracker = BudgetTracker(budget)
        self.estimates: list[list[int]] = []     # [step, estimated total steps], every log interval

    def load_state_dict(self, state: dict) -> None:
        self.tracker.load_state_dict(state)
        self.estimates = state.get("estimates", [])

    def on_start(self, trainer) -> None:
        self.estimates = [e for e in self.estimates if e[0] <= trainer.steps_done]
        self.tracker.start()

    def on_step_end(self, trainer, values) -> None:
        if trainer.device.type == "cuda":   # the budget counts the GPU's finished work, not what was queued
            torch.cuda.synchronize(trainer.device)
        self.tracker.step_done()
        if trainer.world.distributed:  # every process must stop at the same step with the same schedule
            self.tracker.used = max_over_ranks(self.tracker.used, trainer.device)
        done = trainer.steps_done
        if done % trainer.cfg.train.log_every == 0:
            self.estimates.append([done, self.schedule_length(done, trainer.total_steps)])

    def on_end(self, trainer) -> None:
        if trainer.world.is_main:
            record = {**self.state_dict(), "steps": trainer.steps_done, "stopped": trainer.stopped_because}
            path = trainer.rundir.path / "time_budget.json"
            # a temporary name of its own: a link planted at a fixed one would be written through
            fd, tmp = tempfile.mkstemp(prefix=".time_budget.json.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(record, indent=2) + "\n")
            os.replace(tmp, path)

    def state_dict(self) -> dict:
        return {**self.tracker.state_dict(), "estimates": self.estimates}

    def schedule_length(self, done: int, cap: int) -> int:
        """The run's length for the learning-rate schedule: the estimate, at most the step cap."""
        estimate = self.tracker.estimated_total(done)
        return cap if estimate is None else min(estimate, cap)

    def reason(self, trainer) -> str | None:
        if self.tracker.exhausted:
            return f"used its time budget of {self.tracker.budget} ({self.tracker.used:.1f} s measured)"
        return None
