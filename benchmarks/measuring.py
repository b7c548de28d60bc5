"""The metrics a benchmark spec names: each scores one finished run and returns its numbers for the run's record.

    @metric("my_metric")
    def my_metric(ctx: Context) -> dict:
        return {"my_number": float(ctx.model.sample(16).mean())}

A metric may also add hooks to the training (`@metric("name", hooks=lambda ctx: [MyHook()])`), for what it
must see on the way: snapshots for a curve, the data statistics before the first step.
The metrics of one family live in their own module (measures_boltzmann, measures_captions, ...), which
`measures` imports so that every metric is registered.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch


@dataclass
class Context:
    """What a metric sees of one run: the spec, the planned run, the metric settings, the run (None with
    --score-only: the model is then loaded from `run_dir`), and `memo`, shared by every run of the command
    (reference features computed once)."""

    spec: Any
    planned: Any
    settings: dict
    run_dir: Path | None
    data_root: str | None
    memo: dict
    run: Any = None
    trainer: Any = None
    own: dict = field(default_factory=dict)   # what this run's metrics share: its samples, its hooks

    @property
    def model(self):
        if self.run is not None:
            return self.run.model
        if "model" not in self.own:
            import genzoo

            self.own["model"] = genzoo.load(self.run_dir)
        return self.own["model"]

    @property
    def root(self) -> str | None:
        """The data folder the run trained on (--data-root as the spec lays it out), or None for genzoo's lookup."""
        return self.planned.overrides.get("data.root")

    def temporary_folder(self) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="genzoo-bench-"))
        self.own["temporary"] = folder
        return folder / "run"

    def close(self) -> None:
        if "temporary" in self.own:
            shutil.rmtree(self.own.pop("temporary"), ignore_errors=True)


@dataclass(frozen=True)
class Metric:
    measure: Callable[[Context], dict]
    hooks: Callable[[Context], list] = lambda ctx: []


METRICS: dict[str, Metric] = {}


def metric(name: str, hooks: Callable[[Context], list] | None = None):
    """Register the decorated function as the metric `name`."""
    def register(fn):
        METRICS[name] = Metric(fn, hooks or (lambda ctx: []))
        return fn
    return register


@torch.no_grad()
def generate(model, n: int, seed: int, batch: int = 500) -> torch.Tensor:
    """n samples in eval mode (EMA weights where kept) from one generator seeded `seed`; a conditional model
    draws the classes in turn."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    out = []
    for s in range(0, n, batch):
        k = min(batch, n - s)
        cond = (torch.arange(s, s + k) % model.num_classes) if getattr(model, "num_classes", 0) else None
        out.append(model.sample(k, cond=cond, generator=g).float().cpu())
    return torch.cat(out)
