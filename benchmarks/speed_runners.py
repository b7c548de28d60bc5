"""What the speed benchmarks share: the machine's facts (native bf16, cores, load), its matmul peak, genzoo's
trainer and the plain reference DCGAN as steppable runners, the FLOP counter, and the interleaved timing
that measures runners in the same rounds (benchmarks/throughput.py describes the protocol)."""
from __future__ import annotations

import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

import reference_dcgan as reference
from genzoo.experiments.base import DCGAN_PAPER, WGAN_GP_PAPER_RATE
from genzoo.models import Optimizers
from genzoo.presets import list_presets, resolve
from genzoo.training import Trainer
from genzoo.training.device import autocast

WGAN_GP_OVERRIDES = {  # the wgan-gp preset, for checkouts that do not have it yet
    "name": "wgan-gp", "model.loss": "wasserstein", "model.penalty.kind": "gradient", "model.penalty.weight": 10.0,
    "model.nets.discriminator_norm": "none", "model.d_steps": 5, "model.optim.lr": 1.0e-4,
    "model.optim.betas": [0.0, 0.9]}
REUSE = {"model.reuse_fakes": True}
FAST = {"channels_last": True, "extra": REUSE}  # dcgan's fast settings, as GenzooRunner arguments
FAST_DCGAN = "genzoo dcgan, fast settings"


#: the papers' settings where a preset departs from them on 28x28 digits: dcgan's nets, rates and step, as the
#: reference has them; wgan-gp's DCGAN nets and 5 critic batches per step, as its row says, at the paper's rate
#: without a moving average of G (the reference keeps none)
PAPER_SETTINGS = {"dcgan": DCGAN_PAPER,
                  "wgan-gp": {"model.d_steps": 5, "model.nets.fc_width": 0, "model.nets.projection_norm": "channel",
                              **WGAN_GP_PAPER_RATE}}


def model_preset(name: str) -> tuple[str, dict]:
    if name == "wgan-gp" and "wgan-gp" not in list_presets():
        return "dcgan", dict(WGAN_GP_OVERRIDES)
    return name, dict(PAPER_SETTINGS.get(name, {}))


# ------------------------------------------------------------------------------------------ machine

def native_bf16_flags() -> list[str]:
    try:
        flags = set(open("/proc/cpuinfo").read().split())
    except OSError:
        return []
    return sorted(f for f in ("avx512_bf16", "amx_bf16") if f in flags)


def n_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def auto_threads() -> int:
    """All cores when the machine is idle; on a shared machine, the cores the load leaves free (>= 1)."""
    cores = n_cores()
    return max(1, min(cores, round(cores - os.getloadavg()[0])))


def load_note() -> str:
    la = os.getloadavg()
    shared = la[0] > 2
    return (f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} on {n_cores()} cores"
            + (" -- the machine was SHARED with other work during this run; absolute numbers are "
               "depressed and noisy, the interleaved ratios are the meaningful ones" if shared else ""))


def matmul_gflops(n: int, dtype: torch.dtype, reps: int = 3) -> dict:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    rates = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        rates.append(2 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return {"n": n, "dtype": str(dtype).replace("torch.", ""), "best": max(rates), "median": statistics.median(rates)}


# ------------------------------------------------------------------------------------------ runners

class GenzooRunner:
    """One genzoo model wired as `genzoo.train` wires it; `step()` is one iteration of its loop."""

    def __init__(self, ds, preset: str, batch_size: int, *, precision: str = "fp32", channels_last: bool = False,
                 compile: bool = False, seed: int = 0, extra: dict | None = None, foreach_adam: bool = False):
        name, ovr = model_preset(preset)
        ovr.update({"train.batch_size": batch_size, "train.precision": precision, "train.seed": seed,
                    "train.channels_last": channels_last, "train.compile": compile})
        ovr.update(extra or {})
        ovr["train.steps"], ovr["train.epochs"] = 10**9, None   # stepped from outside, never to the end
        ovr["train.time_budget"] = None
        self.cfg = cfg = resolve(name, overrides=ovr)
        self._folder = tempfile.TemporaryDirectory(prefix="genzoo-throughput-")
        self.trainer = Trainer(cfg, out=Path(self._folder.name) / "run", data=ds, hooks=[], log=lambda *_: None).setup()
        self.model = self.trainer.model
        if foreach_adam:  # genzoo before fused Adam became its default (models/base.py make_optimizer)
            self.trainer.optimizers = {k: foreach_copy(o) for k, o in self.trainer.optimizers.items()}
            self.trainer.opt = Optimizers(self.trainer.optimizers)
        self.images_per_step = self.trainer.batches.batch_size
        self.dtype = self.trainer.autocast_dtype
        self.last = {}

    def step(self) -> None:
        self.last = self.trainer.step()   # genzoo train's step: lr schedule, autocast, train_step

    @torch.no_grad()
    def sample(self, n: int, seed: int) -> torch.Tensor:
        self.model.eval()
        try:
            return self.model.sample(n, generator=torch.Generator().manual_seed(seed))
        finally:
            self.model.train()


def foreach_copy(opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """The same Adam (one parameter group, as genzoo's make_optimizer builds) with foreach=True."""
    if not isinstance(opt, torch.optim.Adam) or len(opt.param_groups) != 1:
        return opt
    g = opt.param_groups[0]
    return torch.optim.Adam(g["params"], lr=g["lr"], betas=g["betas"], eps=g["eps"],
                            weight_decay=g["weight_decay"], foreach=True)


class ReferenceRunner:
    """benchmarks/reference_dcgan.py: per-sample Dataset + DataLoader(shuffle=True), PyTorch-examples loop."""

    def __init__(self, ds, batch_size: int, *, seed: int = 0, precision: str = "fp32"):
        self.ref = reference.ReferenceDCGAN(seed)
        self.batches = reference.batches(reference.make_loader(ds.x, batch_size=batch_size, seed=seed))
        self.images_per_step = batch_size
        self.dtype = torch.bfloat16 if precision == "bf16" else None

    def step(self) -> None:
        with autocast(torch.device("cpu"), self.dtype):
            self.last = self.ref.step(next(self.batches))

    def sample(self, n: int, seed: int) -> torch.Tensor:
        return self.ref.sample(n, generator=torch.Generator().manual_seed(seed))


class _GlobalOnly:
    """Stands in for FlopCounterMode's ModuleTracker: everything is counted under 'Global'. (The
    tracker's backward hooks raise inside autograd.grad(create_graph=True), i.e. in WGAN-GP's penalty.)"""

    parents = {"Global"}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def count_flops(runner) -> int:
    """FLOPs of one whole training step, by torch.utils.flop_counter.FlopCounterMode (also a warm-up step)."""
    from torch.utils.flop_counter import FlopCounterMode
    fc = FlopCounterMode(display=False)
    fc.mod_tracker = _GlobalOnly()
    with fc:
        runner.step()
    return int(fc.get_total_flops())


def timed(fn, k: int) -> float:
    t = time.perf_counter()
    for _ in range(k):
        fn()
    return (time.perf_counter() - t) / k


def interleaved(runners: dict, rounds: int, round_seconds: float, *, budget_s: float = float("inf"),
                min_rounds: int = 2, calibration: dict | None = None, threads: dict | None = None) -> dict:
    """Median seconds per step of each runner, measured in alternating rounds.

    runners: name -> object with .step(), already warmed up. Each round runs every runner for k
    steps (k such that k steps last >= round_seconds, from `calibration` (name -> seconds of one
    step) or one timed step), the order rotated each round. Stops after `rounds` rounds, or after
    `min_rounds` once `budget_s` seconds are spent. threads: name -> torch threads for its turn.
    Returns name -> {"s_per_step", "rounds": [...], "steps_per_round"}.
    """
    def use(name):
        if threads:
            torch.set_num_threads(threads[name])

    names = list(runners)
    deadline = time.perf_counter() + budget_s
    k = {}
    for name in names:
        use(name)
        one = (calibration or {}).get(name)
        if one is None or one < round_seconds:
            one = timed(runners[name].step, 1)
        k[name] = max(1, math.ceil(round_seconds / one))
    samples = {n: [] for n in names}
    for r in range(rounds):
        if r >= min_rounds and time.perf_counter() > deadline:
            break
        for name in names[r % len(names):] + names[:r % len(names)]:
            use(name)
            samples[name].append(timed(runners[name].step, k[name]))
    return {n: {"s_per_step": statistics.median(samples[n]), "rounds": samples[n], "steps_per_round": k[n]}
            for n in names}


def warm_up(runners: dict, flops: bool = True) -> tuple[dict, dict]:
    """One step of each runner (counting its FLOPs): returns (flops, seconds of that step)."""
    counts, seconds = {}, {}
    for n, r in runners.items():
        t = time.perf_counter()
        counts[n] = count_flops(r) if flops else None
        if not flops:
            r.step()
        seconds[n] = time.perf_counter() - t
    return counts, seconds
