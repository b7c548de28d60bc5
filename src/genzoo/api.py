"""The Python API: `genzoo.train(...)`, `genzoo.load(run_dir)` (the model) and `genzoo.load_run(run_dir)` (the model
with its run: configuration, dataset, checkpoint step)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .presets import resolve
from .training.hooks import Hook, StopRule
from .runs.rundir import LoadedRun, RunDir, load, load_run
from .training.trainer import Run, train as _train

__all__ = ["train", "load", "load_run", "LoadedRun", "Run", "RunDir"]


def train(model: str | None = None, *, data: str | None = None, steps: int | None = None,
          epochs: float | None = None, batch_size: int | None = None, seed: int | None = None,
          config: str | Path | None = None, overrides: dict[str, Any] | None = None,
          out: str | Path | None = None, resume: str | Path | None = None, progress: bool = True,
          hooks: Sequence[Hook] = (), stop_rules: Sequence[StopRule] = ()) -> Run:
    """Train a named model (a preset from `genzoo list`) and return the finished `Run`.

    model: a preset name, e.g. "dcgan", "vae", "wgan-gp", "rbm" (`genzoo list` shows them all).
    data: a dataset name, e.g. "mnist", "digits", "ring8" (default: the preset's).
    steps / epochs: the training budget, in steps or in passes over the training split (one of them).
    batch_size, seed: as in the preset unless given.
    config: a YAML file of overrides of the preset (or, without `model`, a whole configuration).
    overrides: {"dotted.key": value}, as `--set` on the command line, e.g. {"model.latent_dim": 8}.
    out: the run directory (default runs/MODEL-DATA-TIME); resume: continue that run instead.
    progress: show a progress bar.
    hooks: extra genzoo.training.Hook objects, called after the default ones (log, grids, checkpoints).
    stop_rules: end the run before its budget, e.g. [genzoo.training.TimeLimit(600, "cpu")].

    Example:
        >>> run = genzoo.train("vae", data="digits", steps=200, overrides={"model.latent_dim": 8})
        >>> genzoo.load(run.dir).sample(16).shape
        torch.Size([16, 1, 8, 8])
    """
    if resume is not None:
        return _train(resume=resume, steps=steps, progress=progress, hooks=hooks, stop_rules=stop_rules)
    sets = dict(overrides or {})
    for key, value in (("data.name", data), ("train.steps", steps), ("train.epochs", epochs),
                       ("train.batch_size", batch_size), ("train.seed", seed)):
        if value is not None:
            sets[key] = value
    cfg = resolve(model, config_file=config, overrides=sets)
    return _train(cfg, out=out, progress=progress, hooks=hooks, stop_rules=stop_rules)
