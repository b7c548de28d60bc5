"""What happens around training steps, as hooks; when a run stops, as stop rules.

A hook is an object with any of these methods (the base class's do nothing):

    on_start(trainer)              set-up is done: the run directory exists, a resumed state is restored
    on_step_end(trainer, values)   a step finished; trainer.steps_done counts it; values: its logged floats
    on_end(trainer)                the run stopped normally (its step budget or a stop rule)
    close(trainer)                 always, last (also after an error): release files and bars

Hooks run in list order; `default_hooks()` gives the order `genzoo train` uses (the divergence guard
first, so nothing logs or saves a diverged state; checkpoints last). Add your own with
`Trainer(cfg, extra_hooks=[MyHook()])` or `genzoo.train(..., hooks=[MyHook()])`.

A stop rule is a hook with `reason(trainer) -> str | None`: the trainer stops before the next step
when a rule gives a reason. The step budget (train.steps or train.epochs) always applies.
"""
from __future__ import annotations

import json
import math
import sys
import time
from typing import TYPE_CHECKING, Callable

from ..config import Clock
from ..errors import ConfigError, TrainingDiverged
from ..runs.samples import grid_reference, save_samples
from ..typed import check_literal
from .data import UNBOUNDED_STEPS

if TYPE_CHECKING:
    from .trainer import Trainer


def clock_of(clock: Clock) -> Callable[[], float]:
    """The timer of `clock`: time.perf_counter (wall) or time.process_time (this process's CPU time); the one
    choice between them for time budgets and time limits."""
    return {"wall": time.perf_counter, "cpu": time.process_time}[check_literal(clock, Clock, "clock")]


class Hook:
    """Base class of hooks: every callback does nothing. A hook whose state must survive a checkpoint
    names it with `state_key`; the trainer saves its `state_dict()` and, on resume, hands it back to
    `load_state_dict` before `on_start`."""

    state_key: str | None = None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def on_start(self, trainer: "Trainer") -> None:
        pass

    def on_step_end(self, trainer: "Trainer", values: dict[str, float]) -> None:
        pass

    def on_end(self, trainer: "Trainer") -> None:
        pass

    def close(self, trainer: "Trainer") -> None:
        pass


class StopRule(Hook):
    """Stops a run early: `reason` returns why (a phrase such as 'used its 60 CPU seconds'), or None."""

    def reason(self, trainer: "Trainer") -> str | None:
        raise NotImplementedError


class TimeLimit(StopRule):
    """Stop after `seconds` of wall-clock time or of this process's CPU time since the run (re)started."""

    def __init__(self, seconds: float, clock: Clock = "wall"):
        if not seconds > 0:
            raise ConfigError(f"a time limit must be a positive number of seconds, got {seconds}")
        self.seconds, self.clock = seconds, check_literal(clock, Clock, "a time limit's clock")
        self._now = clock_of(clock)
        self._start = None

    def on_start(self, trainer: "Trainer") -> None:
        self._start = self._now()

    def reason(self, trainer: "Trainer") -> str | None:
        if self._start is not None and self._now() - self._start >= self.seconds:
            return f"used its {self.seconds:g} {'CPU ' if self.clock == 'cpu' else ''}seconds"
        return None


class DivergenceGuard(Hook):
    """Stop with a clear message when a logged value is not finite, naming the last good checkpoint."""

    def on_step_end(self, trainer: "Trainer", values: dict[str, float]) -> None:
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            kept = trainer.rundir.checkpoints()
            where = f"the last good checkpoint is {kept[-1][1]}" if kept else "no checkpoint was written yet"
            raise TrainingDiverged(
                f"{bad[0]} became {values[bad[0]]} at step {trainer.steps_done}; training stopped and {where}. "
                "Lower the learning rate (e.g. --set model.optim.lr=...) or change the seed")


class MetricsLog(Hook):
    """Running means of the logged values, one JSON line every train.log_every steps (and at the end)
    in metrics.jsonl; the latest line is trainer.last_metrics."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0
        self.file = None

    def on_start(self, trainer: "Trainer") -> None:
        if trainer.world.is_main:
            self.file = open(trainer.rundir.metrics_file, "a")
        self.time_before = logged_time(trainer.rundir.metrics_file)  # a resumed run's time goes on from it

    def on_step_end(self, trainer: "Trainer", values: dict[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.count += 1
        done = trainer.steps_done
        if done % trainer.cfg.train.log_every == 0 or done == trainer.total_steps:
            self.write(trainer)

    def on_end(self, trainer: "Trainer") -> None:
        if self.count:  # a stop rule ended the run between two log lines
            self.write(trainer)

    def write(self, trainer: "Trainer") -> None:
        done = trainer.steps_done
        means = {k: v / self.count for k, v in self.sums.items()}
        self.sums, self.count = {}, 0
        trainer.last_metrics = {"step": done, "epoch": round(done / trainer.batches.steps_per_epoch, 3),
                                "time": round(self.time_before + time.time() - trainer.started_at, 2), **means}
        if self.file:
            self.file.write(json.dumps(trainer.last_metrics) + "\n")
            self.file.flush()

    def close(self, trainer: "Trainer") -> None:
        if self.file:
            self.file.close()
            self.file = None


class ProgressBar(Hook):
    """A tqdm bar on stderr with the latest logged values."""

    def __init__(self, enabled: bool = True):
        self.enabled, self.bar, self._shown = enabled, None, None

    def on_start(self, trainer: "Trainer") -> None:
        from tqdm.auto import tqdm
        total = None if trainer.total_steps == UNBOUNDED_STEPS else trainer.total_steps
        self.bar = tqdm(total=total, initial=trainer.steps_done, dynamic_ncols=True,
                        disable=not (self.enabled and trainer.world.is_main), desc=trainer.cfg.name, file=sys.stderr)

    def on_step_end(self, trainer: "Trainer", values: dict[str, float]) -> None:
        length = trainer.schedule_length()
        if length != self.bar.total and length != UNBOUNDED_STEPS:  # a time budget's estimate of the run
            self.bar.total = length
        self.bar.update(1)
        if trainer.last_metrics is not self._shown:
            self._shown = trainer.last_metrics
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in trainer.last_metrics.items()
                                  if k not in ("step", "epoch", "time")})

    def close(self, trainer: "Trainer") -> None:
        if self.bar is not None:
            self.bar.close()


# a new run writes its first sample grid after this many seconds or this fraction of its steps, whichever
# comes first (then every train.sample_every steps)
FIRST_GRID_SECONDS = 30.0
FIRST_GRID_FRACTION = 0.02


def logged_time(path) -> float:
    """The training time metrics.jsonl last recorded (seconds; 0 for a new run)."""
    last = 0.0
    if path.exists():   # bytes that are not UTF-8 or lines nested too deep are not records: skipped
        for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
            try:
                last = float(json.loads(line).get("time", last))
            except (TypeError, ValueError, AttributeError, RecursionError):
                continue
    return last


class SampleGrids(Hook):
    """A fixed-noise sample grid every train.sample_every steps and at the end, in samples/; the first grid
    of a new run comes early (after FIRST_GRID_SECONDS or FIRST_GRID_FRACTION of the steps), its path printed."""

    def __init__(self):
        self.written = 0

    def on_step_end(self, trainer: "Trainer", values: dict[str, float]) -> None:
        every, done = trainer.cfg.train.sample_every, trainer.steps_done
        if every and done != trainer.total_steps and (done % every == 0 or self.first_due(trainer)):
            self.write(trainer)

    def first_due(self, trainer: "Trainer") -> bool:
        return trainer.start_step == 0 and not self.written and (
            time.time() - trainer.started_at >= FIRST_GRID_SECONDS
            or trainer.steps_done >= FIRST_GRID_FRACTION * trainer.total_steps)

    def on_end(self, trainer: "Trainer") -> None:
        if trainer.steps_done > trainer.start_step or not (trainer.rundir.path / "samples").exists():
            self.write(trainer)

    def write(self, trainer: "Trainer") -> None:
        if trainer.world.is_main:
            t = trainer.cfg.train
            path = save_samples(trainer.model, trainer.rundir.path / "samples" / f"step-{trainer.steps_done:07d}.png",
                                t.grid_size, seed=t.seed + 12345,
                                reference=grid_reference(trainer.dataset, t.grid_size))
            if not self.written:
                first = "first samples" if trainer.start_step == 0 else "samples"
                trainer.log(f"genzoo: {first} at step {trainer.steps_done}: {path}")
        self.written += 1


class Checkpoints(Hook):
    """A checkpoint every train.checkpoint_every steps and at the end, keeping train.keep_checkpoints."""

    def on_step_end(self, trainer: "Trainer", values: dict[str, float]) -> None:
        every, done = trainer.cfg.train.checkpoint_every, trainer.steps_done
        if every and done % every == 0 and done != trainer.total_steps:
            trainer.save()

    def on_end(self, trainer: "Trainer") -> None:
        if trainer.steps_done > trainer.start_step or not trainer.rundir.checkpoints():  # the same on every rank
            trainer.save()


def default_hooks(progress: bool = True) -> list[Hook]:
    """What `genzoo train` does around steps, in order."""
    from .tensorboard import TensorBoardLog   # after the log line and the grid it sends on; off unless configured
    return [DivergenceGuard(), MetricsLog(), ProgressBar(progress), SampleGrids(), TensorBoardLog(), Checkpoints()]
