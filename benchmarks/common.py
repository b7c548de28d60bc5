"""What the benchmarks share: training timed exactly as `genzoo train` trains, the MNIST data, the one
fixed binarization of the test images every likelihood model is scored on, the hardware line, snapshots
for curves over training, and result files whose rows several runs fill.

    from common import train_timed
    from genzoo.presets import resolve
    from genzoo.training import TimeLimit

    timed = train_timed(resolve("dcgan", overrides={"train.steps": 100000}), stop_rules=[TimeLimit(600, "cpu")])
    timed.model.sample(64); timed.steps; timed.cpu_seconds
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from genzoo.config import RunConfig
from genzoo.data import load_dataset
from genzoo.machine import cpu_name, hardware
from genzoo.models import Algorithm
from genzoo.training import Hook
from genzoo.training.hooks import DivergenceGuard, MetricsLog, StopRule
from genzoo.training.trainer import Run, Trainer
from result_files import command_line

BINARIZATION_SEED = 1234
SUBSET_SEED = 12345


def device_name(device: str) -> str:
    """The CPU's name, or the GPU's as CUDA reports it ('NVIDIA H200')."""
    return torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else cpu_name()


def waits_for(device: str):
    """What waits until `device` has run the work queued on it (a GPU step is timed when it has run, not when
    it was queued): torch.cuda.synchronize on a GPU, nothing on a CPU."""
    return torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)


def precision_name(used: str | None) -> str:
    """How a run directory's config.json records the precision it trained in, said in words."""
    return {"torch.bfloat16": "bf16 autocast", "float32": "fp32"}.get(used, str(used))


def hardware_line(device: torch.device) -> str:
    """The machine's hardware record in a line: the GPU's name, or the CPU's with the threads and cores."""
    record = hardware(device)
    return record["gpu"] or f"CPU {record['cpu']}, {record['torch_threads']} threads of {record['cores']} cores"


@dataclass
class Timed:
    """A benchmark's training run: the finished Run, its trainer, and the time its steps took
    (set-up excluded: data loading and model building are not training)."""

    run: Run
    trainer: Trainer
    cpu_seconds: float
    wall_seconds: float

    @property
    def model(self) -> Algorithm:
        return self.run.model

    @property
    def steps(self) -> int:
        return self.run.step


class PrintMetrics(Hook):
    """Print each metrics line (every train.log_every steps) as `prefix step N: name value ...`."""

    def __init__(self, prefix: str = " "):
        self.prefix, self._shown = prefix, None

    def on_step_end(self, trainer: Trainer, values: dict[str, float]) -> None:
        m = trainer.last_metrics
        if m and m is not self._shown:
            self._shown = m
            shown = " ".join(f"{k} {v:.4g}" for k, v in m.items() if k not in ("step", "epoch"))
            print(f"{self.prefix} step {m['step']:>7}  {shown}", flush=True)


def train_timed(cfg: RunConfig, *, out: str | Path | None = None, stop_rules: Sequence[StopRule] = (),
                hooks: Sequence[Hook] = (), log=print) -> Timed:
    """Train `cfg` with the divergence guard, the metrics log and `hooks` (no grids, no checkpoints)
    until its step budget or a stop rule ends it. out: keep the run directory there (default: a
    temporary one, removed afterwards; the model stays in memory)."""
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="genzoo-bench-")) / "run"
    try:
        trainer = Trainer(cfg, out=folder, hooks=[DivergenceGuard(), MetricsLog(), *hooks], stop_rules=stop_rules,
                          log=log).setup()
        c0, w0 = time.process_time(), time.perf_counter()
        run = trainer.run()
        return Timed(run, trainer, time.process_time() - c0, time.perf_counter() - w0)
    finally:
        if out is None:
            shutil.rmtree(folder.parent, ignore_errors=True)


class Snapshots(Hook):
    """Copies of the model's tensors after each of `steps`, with the CPU-seconds training had used by
    then: the points of a curve of quality against training time, scored after training ends."""

    def __init__(self, steps):
        self.steps, self.taken = set(steps), []

    def on_start(self, trainer) -> None:
        self._cpu0 = time.process_time()

    def on_step_end(self, trainer, values: dict[str, float]) -> None:
        if trainer.steps_done in self.steps:
            tensors = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
            self.taken.append((trainer.steps_done, time.process_time() - self._cpu0, tensors))


def scored_snapshots(model, snapshots: Snapshots, data: torch.Tensor, *, betas: int, runs: int, seed: int,
                     measure, name: str, first=lambda step: {}):
    """`measure(model, ais)` (log Z by AIS with `betas` and `runs`, seeded `seed`) at each snapshot, as
    {step: {**first(step), "cpu_minutes", name}}; the model is left at the last snapshot. Returns the curve,
    the last AIS estimate and the seconds it took."""
    from genzoo.metrics.ais import ais_log_z

    curve = {}
    for step, cpu_seconds, tensors in snapshots.taken:
        model.load_state_dict(tensors)
        t1 = time.time()
        ais = ais_log_z(model, data=data, betas=betas, n_runs=runs,
                        generator=torch.Generator(device=data.device).manual_seed(seed))
        ais_seconds = time.time() - t1
        curve[step] = {**first(step), "cpu_minutes": round(cpu_seconds / 60, 1), name: round(measure(model, ais), 2)}
        print(f"  step {step}: {curve[step]}", flush=True)
    return curve, ais, ais_seconds


def print_log_z(ais, args) -> None:
    """The AIS estimate of log Z with its spread, and a warning when `args` (ais_betas, ais_runs) asked for
    fewer temperatures or runs than the papers (AIS then tends to underestimate log Z)."""
    print()
    print(f"log Z (AIS, M={ais.n_runs}, {ais.n_betas} betas): {ais.log_z:.2f}  "
          f"[{ais.log_z_low:.2f}, {ais.log_z_high:.2f}] (log Z^ -/+ 3 sigma^), std log w {ais.log_w_std:.2f}")
    if args.ais_betas < 14500 or args.ais_runs < 100:
        print("NOTE: fewer AIS temperatures/runs than the paper's 14,500 x 100: AIS then tends to underestimate "
              "log Z, which inflates the likelihood numbers below; use the spec's settings for reportable results")


def load_mnist(root: str | None):
    """MNIST's train and test splits, with a line naming where they came from."""
    train = load_dataset("mnist", "train", root=root)
    test = load_dataset("mnist", "test", root=root)
    for ds in (train, test):
        print(f"data: {ds.split}: {ds.source} ({len(ds)} images)" + (f"  NOTICE: {ds.notice}" if ds.notice else ""))
    return train, test


def binarized_once(images: torch.Tensor, n: int | None = None) -> tuple[torch.Tensor, torch.Generator]:
    """The first n images (uint8) binarized ONCE, x ~ Bernoulli(intensity), by a generator seeded
    BINARIZATION_SEED; the generator is returned so that later draws continue its stream."""
    g = torch.Generator().manual_seed(BINARIZATION_SEED)
    return torch.bernoulli(images.float() / 255, generator=g)[:n], g


def short_cpu(name: str) -> str:
    """A CPU's name for a table cell: "Intel(R) Xeon(R) Processor" -> "Intel Xeon"."""
    return re.sub(r"\((R|TM)\)| Processor| CPU", "", name).strip()


def cpus_of(runs: list[dict]) -> str:
    """The CPUs a row's runs trained on, for its table cell: "AMD EPYC and Intel Xeon"."""
    return " and ".join(sorted({short_cpu(r["cpu"]) for r in runs}))


def fixed_subsets(n: int, *images: torch.Tensor) -> list[torch.Tensor]:
    """The first n of a fixed random order of each tensor, the orders drawn in turn from one generator seeded
    SUBSET_SEED: every run of a benchmark is scored against the same real images."""
    g = torch.Generator().manual_seed(SUBSET_SEED)
    return [x[torch.randperm(len(x), generator=g)[:n]] for x in images]


def with_earlier_rows(path: str, rows: dict[str, dict]) -> dict[str, dict]:
    """The rows of the result file at `path` that `rows` do not replace (other runs made them), then `rows`,
    each of these stamped with the command that made it. A kept row without its own command takes the
    file's command and, from a transcribed file, its "source", protocol and hardware, which the new run's
    file no longer holds. Write them with write_result(..., keep_rows=True), which also keeps the rows
    that another command wrote after this read."""
    earlier = json.loads(open(path).read()) if path and os.path.exists(path) else {}
    kept_keys = ("command", "source", "protocol", "hardware") if "source" in earlier else ("command",)
    provenance = {k: earlier[k] for k in kept_keys if k in earlier}  # a transcribed file's rows keep how they were made
    stamped = {key: {**row, "command": command_line(sys.argv)} for key, row in rows.items()}
    kept = {k: {**provenance, **v} for k, v in earlier.get("rows", {}).items() if k not in stamped}
    return {**kept, **stamped}


def rbm_bracket(model, x_train, x_test, args, paper: float) -> dict:
    """The test log-likelihood's bracket for an RBM: forward AIS (optimistic: E[log Z^] <= log Z) and RAISE
    (conservative, under its assumption) over args.bracket_betas until log Z settles. RAISE runs on the first
    args.raise_n test images; its implied log Z (mean(-F) - RAISE there) applied to the whole test set gives the
    conservative end, and the row beats the paper only if that end does."""
    from genzoo.metrics.ais import rbm_log_likelihood

    if not args.bracket_betas:
        return {}
    curve = log_z_curve(model, x_train, x_test, args)
    last = curve["log_z_curve"][-1]
    neg_f = rbm_log_likelihood(model, x_test, 0.0)   # mean(-F(v)) over the whole test set
    low, high = neg_f - last["log_z_raise"], neg_f - last["log_z"]
    return {**curve, "bracket_low": round(low, 2), "bracket_high": round(high, 2),
            "verdict": ("beats the paper: the conservative end is above it" if low > paper else
                        "does not beat the paper: the conservative end is below it")}


def log_z_curve(model, x_train, x_test, args) -> dict:
    """Forward AIS's log Z over args.bracket_betas temperatures (growing) until it moves by less than 0.1 nats,
    with RAISE on the first args.raise_n test images at each count (genzoo.metrics.bdmc.log_z_convergence):
    the rows, the last count and how far log Z moved to it."""
    from genzoo.metrics.bdmc import log_z_convergence

    rows = log_z_convergence(model, data=x_train, betas=sorted(args.bracket_betas), n_runs=args.ais_runs,
                             test=x_test, raise_n=args.raise_n, seed=args.seed + 3)
    moved = abs(rows[-1]["log_z"] - rows[-2]["log_z"]) if len(rows) > 1 else float("inf")
    curve = [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows]
    return {"log_z_curve": curve, "bracket_betas": rows[-1]["betas"], "bracket_moved": round(moved, 3),
            "raise_n": min(args.raise_n, len(x_test))}


@contextlib.contextmanager
def busy_processes(n: int):
    """`n` Python loops that never sleep, running for as long as the block does: the load of a busy machine."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
