"""The trainer: everything that is not the algorithm, as an object that can be set up, stepped and run.

    from genzoo.presets import resolve
    from genzoo.training import Trainer

    t = Trainer(resolve("vae", overrides={"train.steps": 100}), out="runs/vae")
    t.setup()                 # data, model, optimizers, precision, batches; config.json; hooks start
    for _ in range(10):
        t.step()              # the schedule's learning rate, autocast, the algorithm's train_step, hooks
    t.save()                  # a checkpoint of step 10
    t.close()
    Trainer(resume="runs/vae").run()   # continues to step 100, bitwise as if never stopped

`train()` (what `genzoo.train` and `genzoo train` run) is `Trainer(...).run()` with the default hooks
(genzoo.training.hooks: metrics log, progress bar, sample grids, checkpoints, divergence guard).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..config import RunConfig
from ..data import Dataset
from ..errors import CheckpointError, ConfigError, GenzooError, Interrupted, StoppedTogether
from ..models import Algorithm, DataSpec, Optimizers
from ..presets import build_config
from ..threads import thread_wait
from ..typed import to_dict
from ..runs.build import build_model, resolve_device
from ..runs.checkpoint import checkpoint_path, load_model_state, newest_readable_checkpoint, prune_checkpoints
from ..runs.record import environment, new_run_path, read_run_config, truncate_metrics, write_run_record
from ..runs.rundir import RunDir
from ..runs.splits import run_split
from .checkpoint import check_same_model, load_optimizer_states, save_checkpoint, set_rng_state
from .data import BatchSource, data_spec, total_steps
from .device import autocast, prepare_model, resolve_precision
from .distributed import (any_rank, broadcast_norm_statistics, broadcast_parameters, broadcast_string,
                          check_resumable, checkpoint_processes, gather_rng_states, gradient_averager, init_from_env,
                          local_device, lost_peer, mean_over_ranks, process_count_note, restore_process_rng,
                          resume_command)
from .guards import DeferredInterrupt, InterruptNow, claim_run_dir, release_run_dir
from .hooks import Hook, StopRule, default_hooks
from .budget import TimeBudgetRule
from .schedule import apply_lr_schedule

# Where these lived before the trainer was split into modules: imports of them from here keep working.
from ..runs.record import CONFIG_FILE, METRICS_FILE  # noqa: E402,F401
from ..runs.rundir import load  # noqa: E402,F401
from ..runs.samples import grid_reference, save_samples  # noqa: E402,F401
from .schedule import lr_factor  # noqa: E402,F401


MAX_THREADS = 4096   # more compute threads than any machine genzoo runs on has cores
#: under torchrun, stop signals within this many seconds of the first are one stop (the terminal and torchrun
#: both deliver Ctrl-C); torchrun kills its processes 30 s after forwarding a signal, so a stop must fit in that
SAME_STOP = 10.0


@dataclass
class Run:
    """The result of `genzoo.train`: where it was written and the trained model."""

    dir: Path
    config: RunConfig
    model: Algorithm
    step: int
    last_metrics: dict


class Trainer:
    """One training run: `setup()`, then `step()` as often as you like, or `run()` to the end.

    config: a RunConfig (genzoo.presets.resolve), or None with resume=RUN_DIR to continue that run
    (steps: extend it to this many steps). data: a Dataset already in memory to train on instead of
    loading config.data (recorded in config.json as what was used). hooks: replace default_hooks(progress); extra_hooks: run
    after them; stop_rules: end the run early (e.g. TimeLimit(60, "cpu")); the step budget always applies.
    build(config, data_spec, device): builds the model instead of config.model's algorithm, and batches
    (anything with .batch(step) -> Batch): the minibatches instead of the trainer's own order; the
    multi-seed engine (genzoo.training.multiseed) trains S GANs as one model this way.
    Under torchrun every process makes its own Trainer; rank 0 alone writes the run directory.
    """

    def __init__(self, config: RunConfig | None = None, *, out: str | Path | None = None,
                 resume: str | Path | None = None, steps: int | None = None, hooks: Sequence[Hook] | None = None,
                 extra_hooks: Sequence[Hook] = (), stop_rules: Sequence[StopRule] = (), progress: bool = True,
                 log=print, data: Dataset | None = None,
                 build: Callable[[RunConfig, DataSpec, torch.device], Algorithm] | None = None, batches=None):
        if config is None and resume is None:
            raise ConfigError("a Trainer needs a configuration or a run directory to resume")
        self.cfg, self.out, self.resume_from, self.resume_steps = config, out, resume, steps
        self.hooks = [*(default_hooks(progress) if hooks is None else hooks), *extra_hooks]
        self.stop_rules = list(stop_rules)
        self.log, self.dataset = log, data
        self.build_model, self.batches = build or build_model, batches
        self.is_set_up = False
        self._lock = None                 # the run directory's lock (rank 0), held from setup() to close()
        self._threads_before: int | None = None   # torch's thread count before setup(), restored by close()
        self.steps_done = self.start_step = 0
        self.last_metrics: dict = {}      # the latest metrics line (running means, see MetricsLog)
        self.last_values: dict = {}       # the latest step's logged values
        self.stopped_because: str | None = None
        self.resumed_state: dict = {}     # hooks' and stop rules' saved states, by `state_key`

    @classmethod
    def resume(cls, run_dir: str | Path, steps: int | None = None, **kwargs) -> "Trainer":
        """A Trainer that continues the run in `run_dir` from its newest readable checkpoint."""
        return cls(resume=run_dir, steps=steps, **kwargs)

    @property
    def run_dir(self) -> Path:
        return self.rundir.path

    # ----- set-up -----------------------------------------------------------------------------------

    def setup(self) -> "Trainer":
        """Build the data, model, optimizers, precision and batches, restore a resumed run, write
        config.json and start the hooks."""
        saved = self._resumed_config() if self.resume_from is not None else None
        self._init_devices()
        self._use_threads(saved)
        if saved is not None:
            check_resumable(saved, self.world, self.cfg.train.batch_size, self.resume_from)
        if self.cfg.train.budget is not None:
            self.stop_rules.append(TimeBudgetRule(self.cfg.train.budget))
        torch.manual_seed(self.cfg.train.seed)
        self._load_data()
        run_path = self._run_path()   # after the data: a run is named after the data really used
        self._build()
        self.record = self._run_record()
        self.rundir = RunDir(run_path, self.record)
        if self.world.is_main:   # before a resume touches the run (metrics.jsonl); held until close()
            self._lock = claim_run_dir(self.rundir.path, self.log)
        try:
            if saved is not None:
                self._restore(saved)
            if self.world.is_main:
                write_run_record(self.rundir.path, self.record)
            self.model.train()
            self.started_at = time.time()
            for hook in [*self.hooks, *self.stop_rules]:
                if self.resumed_state.get(hook.state_key):
                    hook.load_state_dict(self.resumed_state[hook.state_key])
                hook.on_start(self)
        except BaseException:
            self._release_lock()
            raise
        self.is_set_up = True
        return self

    def _resumed_config(self) -> dict:
        saved = read_run_config(self.resume_from)
        self.cfg = build_config(saved["config"])
        found = RunDir(Path(self.resume_from), saved).checkpoints()
        if not found:
            raise CheckpointError(f"'{self.resume_from}' has no checkpoint to resume from; start it again "
                                  "without --resume")
        if self.resume_steps is not None:
            if self.resume_steps < found[-1][0]:
                raise ConfigError(f"--steps {self.resume_steps} is below the step of the run's latest checkpoint "
                                  f"({found[-1][0]}); give --steps of at least {found[-1][0]}")
            self.cfg.train.steps, self.cfg.train.epochs = self.resume_steps, None
            self.cfg.train.validate()
        return saved

    def _init_devices(self) -> None:
        """The device and process group."""
        device = resolve_device(self.cfg.train.device)
        self.world = init_from_env(device)
        self.device = local_device(device, self.world)
        if not self.world.is_main:
            self.log = lambda *_: None

    def _use_threads(self, saved: dict | None) -> None:
        """Compute with train.threads, or a resumed run's own count (the count changes how sums are split, so
        another count would not continue the run bitwise), else the count in force; restored by close()."""
        self._threads_before = torch.get_num_threads()
        recorded = saved.get("threads") if saved is not None else None
        if recorded is not None and not (type(recorded) is int and 1 <= recorded <= MAX_THREADS):
            raise ConfigError(f"'{self.resume_from}' records {recorded!r} compute threads, which no genzoo run "
                              "writes; was its config.json edited by hand?")
        self.threads = self.cfg.train.threads or recorded or self._threads_before
        if self.threads != self._threads_before:
            torch.set_num_threads(self.threads)

    def _load_data(self) -> None:
        """The training split (unless given), with its notice: in full when a run begins, short on resume."""
        self.dataset = ds = self.dataset if self.dataset is not None else run_split(self.cfg)
        if ds.notice and self.resume_from is None:
            self.log(f"genzoo: notice: {ds.notice}")
        elif ds.notice:  # said in full when the run began; config.json keeps it
            self.log(f"genzoo: notice: this run uses {ds.used_name or ds.name}, as when it began "
                     f"(the full notice is in {Path(self.resume_from) / CONFIG_FILE})")

    def _run_path(self) -> Path:
        """The run directory's path, the same on every process."""
        if self.resume_from is not None:
            return Path(self.resume_from)
        data_name = self.dataset.used_name or self.cfg.data.name
        run_path = new_run_path(self.cfg, self.out, data_name) if self.world.is_main else None
        return Path(broadcast_string(str(run_path), self.world)) if self.world.distributed else run_path

    def _build(self) -> None:
        cfg, world, ds = self.cfg, self.world, self.dataset
        self.spec = data_spec(ds)
        self.model = prepare_model(self.build_model(cfg, self.spec, self.device), cfg, self.device, world)
        self.optimizers = self.model.configure_optimizers()
        self.autocast_dtype = resolve_precision(cfg.train.precision, self.device, self.spec.kind)
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None
        self.opt = Optimizers(self.optimizers, reduce_gradients=gradient_averager(world) if world.distributed
                              else None, scaler=self.scaler)
        if world.distributed:
            broadcast_parameters(self.model)
            torch.manual_seed(cfg.train.seed + 7919 * world.rank)  # each process draws its own noise
        if self.batches is None:
            self.batches = BatchSource(ds, cfg.train.batch_size * self.model.batches_per_step, cfg.train.seed,
                                       self.device, world=world, splits=self.model.batches_per_step,
                                       channels_last=cfg.train.channels_last)
        self.total_steps = total_steps(cfg, len(ds), self.model.batches_per_step)
        self.steps_per_epoch = max(1, len(ds) // cfg.train.batch_size) / self.model.batches_per_step

    def _run_record(self) -> dict:
        """config.json: the resolved configuration and what the run really used."""
        ds, device = self.dataset, self.device
        dataset = {"name": ds.name, "used": ds.used_name or ds.name, "source": ds.source, "split": ds.split, "size": len(ds),
                   "shape": list(ds.shape), "notice": ds.notice}
        gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
        return {"config": to_dict(self.cfg), "dataset": dataset, "data_spec": self.spec.to_dict(),
                "total_steps": self.total_steps, "steps_per_epoch": self.steps_per_epoch, "processes": self.world.size,
                "precision": str(self.autocast_dtype or "float32"), "device": str(device) + gpu,
                "threads": self.threads, "thread_wait": thread_wait(),
                "environment": environment(), "created": _dt.datetime.now().isoformat(timespec="seconds")}

    def _restore(self, saved: dict) -> None:
        """Weights, optimizers, random state and gradient scaler of the newest readable checkpoint."""
        if saved.get("dataset", {}).get("size") != len(self.dataset):
            raise CheckpointError(f"this run was trained on {saved['dataset']['source']} "
                                  f"({saved['dataset']['size']} examples) but now {self.dataset.source} "
                                  f"({len(self.dataset)}) would be used; resuming on other data would not "
                                  "continue the same run")
        start, path, tensors, meta = newest_readable_checkpoint(self.rundir.checkpoints(), self.log)
        load_model_state(self.model, tensors, source=str(path))
        load_optimizer_states(self.optimizers, tensors, meta)
        check_same_model(meta["extra"].get("model_config"), {"algorithm": self.cfg.algorithm,
                                                             "model": to_dict(self.cfg.model)}, path)
        set_rng_state(tensors)
        trained_by = checkpoint_processes(meta, tensors)    # another number of processes: see the note below
        restore_process_rng(tensors, self.world, trained_by, self.cfg.train.seed, start)
        if self.scaler is not None and meta["extra"].get("grad_scaler"):
            self.scaler.load_state_dict(meta["extra"]["grad_scaler"])
        self.resumed_state = meta["extra"].get("hook_states") or {}
        if self.world.is_main:
            truncate_metrics(self.rundir.metrics_file, start)
        self.steps_done = self.start_step = start
        self.log(f"genzoo: resuming {self.rundir.path} from step {start} of {self.total_steps}")
        note = process_count_note(trained_by, self.world, self.cfg.train.batch_size, start, self.rundir.path)
        if note is not None:
            self.log(note)

    # ----- stepping and running ---------------------------------------------------------------------

    def step(self) -> dict[str, float]:
        """One training step: the learning rate of this step, autocast, the algorithm's train_step
        (its paper's algorithm box); then every hook's on_step_end. Returns the step's logged values."""
        if not self.is_set_up:
            raise GenzooError("call Trainer.setup() before Trainer.step()")
        i = self.steps_done
        if i >= self.total_steps:
            raise GenzooError(f"the run has done its {self.total_steps} steps; resume it with more steps "
                              "(Trainer.resume(run_dir, steps=N)) to train further")
        apply_lr_schedule(self.opt, self.cfg.train, i, self.schedule_length(), self.steps_per_epoch)
        with self._clear_compile_errors(), autocast(self.device, self.autocast_dtype):
            with torch.profiler.record_function("data"):
                batch = self.batches.batch(i)
            if i == 0:
                self.model.start_from_data(batch)
            logs = self.model.train_step(batch, self.opt, i)
        values = {k: float(v) for k, v in logs.items()}
        if self.world.distributed:
            values = mean_over_ranks(values, self.device)
            broadcast_norm_statistics(self.model)
        self.steps_done, self.last_values = i + 1, values
        for hook in [*self.stop_rules, *self.hooks]:  # rules first: a checkpoint then holds their count of this step
            hook.on_step_end(self, values)
        return values

    def schedule_length(self) -> int:
        """The run's length in steps for the learning-rate schedule: the step budget, or a time budget's
        estimate from the measured step time."""
        for rule in self.stop_rules:
            if hasattr(rule, "schedule_length"):
                return rule.schedule_length(self.steps_done, self.total_steps)
        return self.total_steps

    @contextlib.contextmanager
    def _clear_compile_errors(self):
        try:
            yield
        except RuntimeError as e:
            if self.cfg.train.compile and "double backward" in str(e):  # penalties differentiate a gradient
                raise ConfigError(f"{self.cfg.name} takes the gradient of a gradient (a gradient penalty or R1), "
                                  "which torch.compile does not support yet; train it without --compile "
                                  "(train.compile=false)") from None
            raise

    def stop_reason(self) -> str | None:
        """Why the run should stop now (its step budget, or a stop rule's reason), or None."""
        if self.steps_done >= self.total_steps:
            return f"reached its {self.total_steps} steps"
        return next((r for rule in self.stop_rules if (r := rule.reason(self)) is not None), None)

    def run(self) -> Run:
        """Set up (if not yet), step until the budget or a stop rule ends the run, then finish."""
        if not self.is_set_up:
            self.setup()
        try:
            # Ctrl-C and SIGTERM act between steps only, at the same step on every process
            with DeferredInterrupt(same_stop=SAME_STOP if self.world.distributed else 0.0) as interrupt:
                while (reason := self.stop_reason()) is None:
                    if self._stop_signalled(interrupt):
                        if self.world.distributed:
                            interrupt.settle()
                        self._save_and_stop()
                    self.step()
        except KeyboardInterrupt as e:
            if isinstance(e, InterruptNow) or self.world.distributed:   # in the middle of a step: nothing to save
                self.close()
                how = "by a second signal" if isinstance(e, InterruptNow) else "in one process"
                raise Interrupted(f"stopped at once {how}, during step {self.steps_done + 1}; the run keeps its "
                                  f"earlier checkpoints. Continue with: {self._resume_command()}") from None
            try:   # raised by code (the signals' handler only notes them): the steps done are whole
                self._save_and_stop()
            finally:
                self.close()
        except BaseException as e:
            self.close()
            if (lost := lost_peer(e, self.world, self.rundir.path)) is not None:
                raise lost from None
            raise
        return self.finish(reason)

    def _stop_signalled(self, interrupt: DeferredInterrupt) -> bool:
        """Whether a stop signal reached this process, or under torchrun any process (all agree on this step)."""
        signalled = interrupt.received is not None
        return any_rank(signalled, self.device) if self.world.distributed else signalled

    def _save_and_stop(self) -> None:
        """Save the `steps_done` complete steps (every process takes part) and raise Interrupted."""
        path = self.save()
        if not self.world.is_main:   # process 0 says it, once
            raise StoppedTogether("")
        raise StoppedTogether(f"interrupted at step {self.steps_done}; saved {path}. "
                          f"Continue with: {self._resume_command()}")

    def _resume_command(self) -> str:
        return resume_command(self.world.size, self.rundir.path)

    def finish(self, reason: str | None = None) -> Run:
        """End the run: every hook's on_end (final grid, checkpoint, log line), then close."""
        self.stopped_because = reason
        try:
            for hook in [*self.hooks, *self.stop_rules]:
                hook.on_end(self)
        finally:
            self.close()
        early = "" if self.steps_done >= self.total_steps else f" (stopped early: it {reason})"
        self.log(f"genzoo: {self.cfg.name} trained for {self.steps_done} steps{early} on {self.dataset.source}; "
                 f"run directory: {self.rundir.path}")
        return Run(dir=self.rundir.path, config=self.cfg, model=self.model, step=self.steps_done,
                   last_metrics=self.last_metrics)

    def close(self) -> None:
        """Release the hooks' files and bars (the run can still be resumed from its checkpoints)."""
        for hook in [*self.hooks, *self.stop_rules]:
            hook.close(self)
        self._release_lock()
        if self._threads_before is not None and torch.get_num_threads() != self._threads_before:
            torch.set_num_threads(self._threads_before)

    def _release_lock(self) -> None:
        if self._lock is not None:
            release_run_dir(self._lock)
            self._lock = None

    def __enter__(self) -> "Trainer":
        return self

    def __exit__(self, *exc) -> None:
        if self.is_set_up:
            self.close()

    # ----- checkpoints ------------------------------------------------------------------------------

    def save(self) -> Path | None:
        """A checkpoint of the current step: weights, optimizers, every process's random state and the
        gradient scaler; keeps the newest train.keep_checkpoints. Call it on every process (None off rank 0);
        under torchrun each returns once process 0 has written it, so that none leaves before it is on disk."""
        world = self.world
        if not world.distributed:
            return self._write_checkpoint({})
        # every process's random state, so each resumes its own stream
        rng = {f"rng/rank{r}/torch": s for r, s in enumerate(gather_rng_states(world, torch.get_rng_state()))}
        if not world.is_main:
            if broadcast_string(None, world) != "saved":
                raise GenzooError(f"process {world.rank} stops: process 0 could not save the checkpoint of step "
                                  f"{self.steps_done} (its line says why)")
            return None
        try:
            path = self._write_checkpoint(rng)
        except GenzooError:
            broadcast_string("failed", world)
            raise
        broadcast_string("saved", world)
        return path

    def _write_checkpoint(self, rng: dict) -> Path:
        ckpt_dir = self.rundir.checkpoint_dir
        extra = {"total_steps": self.total_steps, "processes": self.world.size,
                 "model_config": {"algorithm": self.cfg.algorithm, "model": to_dict(self.cfg.model)},
                 "grad_scaler": self.scaler.state_dict() if self.scaler else None,
                 "hook_states": {h.state_key: h.state_dict() for h in [*self.hooks, *self.stop_rules]
                                 if h.state_key}}
        path = save_checkpoint(checkpoint_path(ckpt_dir, self.steps_done), model=self.model,
                               optimizers=self.optimizers, step=self.steps_done, extra=extra, extra_tensors=rng,
                               rescue_run=self.rundir.path)   # a failed write saves it elsewhere and stops
        prune_checkpoints(ckpt_dir, self.cfg.train.keep_checkpoints)
        return path


def train(cfg: RunConfig | None = None, *, out: str | Path | None = None, resume: str | Path | None = None,
          steps: int | None = None, progress: bool = True, log=print, hooks: Sequence[Hook] = (),
          stop_rules: Sequence[StopRule] = ()) -> Run:
    """Train `cfg` into a new run directory, or continue the run in `resume` (optionally to `steps`),
    with the default hooks and any extra `hooks` and `stop_rules`.

    Under torchrun, every process runs this function: each trains on its shard of the global
    batch (train.batch_size) and rank 0 alone writes the run directory.
    """
    return Trainer(cfg, out=out, resume=resume, steps=steps, progress=progress, log=log, extra_hooks=hooks,
                   stop_rules=stop_rules).run()
