"""The trainer: everything that is not the algorithm.

It loads the data once as tensors, draws batches in an order that is a pure function of
(seed, step) so that resume is exact, calls the algorithm's `train_step`, logs, writes sample
grids and checkpoints, and stops with a clear message when a loss diverges.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import __version__
from ..config import RunConfig, build_config, to_dict
from ..data import Dataset, load_dataset
from ..errors import CheckpointError, ConfigError, GenzooError, TrainingDiverged
from ..models import Algorithm, Batch, DataSpec, Optimizers, get_algorithm
from .checkpoint import (checkpoint_path, list_checkpoints, load_model_state, load_optimizer_states,
                         prune_checkpoints, read_checkpoint, save_checkpoint, set_rng_state)

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but CUDA is not available here; use --set train.device=cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device: '{name}' is not a device; use auto, cpu, cuda or cuda:N") from None


def load_data(cfg: RunConfig, split: str = "train") -> Dataset:
    d = cfg.data
    return load_dataset(d.name, split, root=d.root, download=d.download, verify=d.verify,
                        n_samples=d.n_samples, image_size=d.image_size, channels=d.channels)


def data_spec(ds: Dataset) -> DataSpec:
    return DataSpec(kind=ds.kind, shape=tuple(ds.shape), num_classes=ds.num_classes,
                    vocab_size=getattr(ds, "vocab_size", None))


class BatchSource:
    """Minibatches held in memory; the order of step s is fixed by (seed, s) alone.

    Each epoch is a fresh permutation drawn from its own seeded generator; the last partial
    batch is dropped so every step sees `batch_size` examples.
    """

    def __init__(self, ds: Dataset, batch_size: int, seed: int, device: torch.device):
        if batch_size > len(ds):
            raise ConfigError(f"train.batch_size={batch_size} is larger than the dataset ({len(ds)} examples, "
                              f"{ds.source}); choose a smaller --batch-size")
        self.kind = ds.kind
        self.x = ds.x.to(device)
        self.y = ds.y.to(device) if ds.y is not None else None
        self.batch_size = batch_size
        self.seed = seed
        self.steps_per_epoch = len(ds) // batch_size
        self._epoch, self._perm = -1, None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(len(self.x), generator=g).to(self.x.device)
            self._epoch = epoch
        return self._perm

    def batch(self, step: int) -> Batch:
        epoch, i = divmod(step, self.steps_per_epoch)
        idx = self._permutation(epoch)[i * self.batch_size:(i + 1) * self.batch_size]
        x = self.x[idx]
        if self.kind == "image":
            x = x.float().div_(255.0)
        return Batch(x=x, y=None if self.y is None else self.y[idx])


@dataclass
class Run:
    """The result of `genzoo.train`: where it was written and the trained model."""

    dir: Path
    config: RunConfig
    model: Algorithm
    step: int
    last_metrics: dict


def total_steps(cfg: RunConfig, n_examples: int) -> int:
    t = cfg.train
    if t.steps is not None:
        return t.steps
    if t.epochs is not None:
        return max(1, math.ceil(t.epochs * (n_examples // t.batch_size)))
    raise ConfigError("give a training budget: --steps N or --epochs N")


def build_model(cfg: RunConfig, spec: DataSpec, device: torch.device) -> Algorithm:
    algo_cls = get_algorithm(cfg.algorithm)
    try:
        model = algo_cls(cfg.model, spec)
    except ValueError as e:  # e.g. an image size the networks cannot be built for
        raise ConfigError(f"cannot build {cfg.name} for data of shape {spec.shape}: {e}") from None
    return model.to(device)


def save_samples(model: Algorithm, path: Path, n: int, seed: int, reference: torch.Tensor | None = None) -> Path:
    """A fixed-noise sample grid (PNG), so grids over time show the same latent points."""
    from ..images import save_grid, save_points

    was_training = model.training
    model.eval()
    g = torch.Generator(device=model.device).manual_seed(seed)
    try:
        x = model.sample(n, generator=g).detach().float().cpu()
    finally:
        model.train(was_training)
    path.parent.mkdir(parents=True, exist_ok=True)
    if model.data.kind == "image":
        save_grid(x, path)
    elif model.data.kind == "points":
        save_points(x, path, reference=reference)
    else:
        path = path.with_suffix(".txt")
        path.write_text("\n".join(model.decode(x)) + "\n" if hasattr(model, "decode") else str(x.tolist()))
    return path


def _environment() -> dict:
    return {"genzoo": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform(), "cuda": torch.version.cuda if torch.cuda.is_available() else None}


def _new_run_dir(cfg: RunConfig, out: str | Path | None) -> Path:
    if out is not None:
        run_dir = Path(out)
        if list_checkpoints(run_dir / "checkpoints"):
            raise ConfigError(f"'{run_dir}' already holds a run; continue it with --resume {run_dir} "
                              "or choose another --out")
        return run_dir
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{cfg.name}-{cfg.data.name}-{stamp}"
    run_dir, i = base, 1
    while run_dir.exists():
        i += 1
        run_dir = base.with_name(f"{base.name}-{i}")
    return run_dir


def read_run_config(run_dir: str | Path) -> dict:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise GenzooError(f"run directory '{run_dir}' does not exist")
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise GenzooError(f"'{run_dir}' is not a genzoo run directory (no {CONFIG_FILE})")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise GenzooError(f"'{path}' is not valid JSON ({e}); was it edited by hand?") from None


def _truncate_metrics(path: Path, step: int) -> None:
    """On resume, drop log lines written after the checkpoint we continue from."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                keep.append(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
    path.write_text("".join(k + "\n" for k in keep))


class _Meter:
    """Running means of the logged values between two log lines."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.count += 1

    def flush(self) -> dict[str, float]:
        out = {k: v / max(self.count, 1) for k, v in self.sums.items()}
        self.sums, self.count = {}, 0
        return out


def train(cfg: RunConfig | None = None, *, out: str | Path | None = None, resume: str | Path | None = None,
          steps: int | None = None, progress: bool = True, log=print) -> Run:
    """Train `cfg` into a new run directory, or continue the run in `resume` (optionally to `steps`)."""
    if resume is not None:
        saved = read_run_config(resume)
        cfg = build_config(saved["config"])
        if steps is not None:
            cfg.train.steps, cfg.train.epochs = steps, None
            cfg.train.validate()
        run_dir = Path(resume)
        found = list_checkpoints(run_dir / "checkpoints")
        if not found:
            raise CheckpointError(f"'{run_dir}' has no checkpoint to resume from; start it again without --resume")
    elif cfg is None:
        raise ConfigError("train() needs a configuration or a run directory to resume")
    else:
        run_dir = _new_run_dir(cfg, out)

    device = resolve_device(cfg.train.device)
    torch.manual_seed(cfg.train.seed)
    ds = load_data(cfg)
    if ds.notice:
        log(f"genzoo: notice: {ds.notice}")
    spec = data_spec(ds)
    model = build_model(cfg, spec, device)
    optimizers = model.configure_optimizers()
    opt = Optimizers(optimizers)
    source = BatchSource(ds, cfg.train.batch_size * model.batches_per_step, cfg.train.seed, device)
    total = total_steps(cfg, len(ds))
    dataset_record = {"name": ds.name, "source": ds.source, "split": ds.split, "size": len(ds),
                      "shape": list(ds.shape), "notice": ds.notice}

    start = 0
    ckpt_dir = run_dir / "checkpoints"
    if resume is not None:
        if saved.get("dataset", {}).get("size") != len(ds):
            raise CheckpointError(f"this run was trained on {saved['dataset']['source']} "
                                  f"({saved['dataset']['size']} examples) but now {ds.source} ({len(ds)}) "
                                  "would be used; resuming on other data would not continue the same run")
        start, path = found[-1]
        tensors, meta = read_checkpoint(path)
        load_model_state(model, tensors, source=str(path))
        load_optimizer_states(optimizers, tensors, meta)
        set_rng_state(tensors)
        _truncate_metrics(run_dir / METRICS_FILE, start)
        log(f"genzoo: resuming {run_dir} from step {start} of {total}")

    run_dir.mkdir(parents=True, exist_ok=True)
    record = {"config": to_dict(cfg), "dataset": dataset_record, "data_spec": spec.to_dict(),
              "total_steps": total, "environment": _environment(),
              "created": _dt.datetime.now().isoformat(timespec="seconds")}
    tmp = run_dir / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, run_dir / CONFIG_FILE)

    def checkpoint(step: int) -> Path:
        path = save_checkpoint(checkpoint_path(ckpt_dir, step), model=model, optimizers=optimizers, step=step,
                               extra={"total_steps": total})
        prune_checkpoints(ckpt_dir, cfg.train.keep_checkpoints)
        return path

    def grid(step: int) -> None:
        save_samples(model, run_dir / "samples" / f"step-{step:07d}.png", cfg.train.grid_size,
                     seed=cfg.train.seed + 12345, reference=ds.x[:2500] if ds.kind == "points" else None)

    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=start, disable=not progress, dynamic_ncols=True, desc=cfg.name,
               file=sys.stderr)
    meter, last = _Meter(), {}
    t0, step = time.time(), start
    model.train()
    try:
        with open(run_dir / METRICS_FILE, "a") as metrics_file:
            for step in range(start, total):
                logs = model.train_step(source.batch(step), opt, step)
                values = {k: float(v) for k, v in logs.items()}
                bad = [k for k, v in values.items() if not math.isfinite(v)]
                if bad:
                    kept = list_checkpoints(ckpt_dir)
                    where = f"the last good checkpoint is {kept[-1][1]}" if kept else "no checkpoint was written yet"
                    raise TrainingDiverged(
                        f"{bad[0]} became {values[bad[0]]} at step {step + 1}; training stopped and {where}. "
                        "Lower the learning rate (e.g. --set model.optim.lr=...) or change the seed")
                meter.add(values)
                done = step + 1
                bar.update(1)
                if done % cfg.train.log_every == 0 or done == total:
                    last = {"step": done, "epoch": round(done / source.steps_per_epoch, 3),
                            "time": round(time.time() - t0, 2), **meter.flush()}
                    metrics_file.write(json.dumps(last) + "\n")
                    metrics_file.flush()
                    bar.set_postfix({k: f"{v:.4g}" for k, v in last.items() if k not in ("step", "epoch", "time")})
                if cfg.train.sample_every and done % cfg.train.sample_every == 0 and done != total:
                    grid(done)
                if cfg.train.checkpoint_every and done % cfg.train.checkpoint_every == 0 and done != total:
                    checkpoint(done)
            step = total
    except KeyboardInterrupt:
        path = checkpoint(step)  # `step` steps are complete: a consistent state
        bar.close()
        raise GenzooError(f"interrupted at step {step}; saved {path}. Continue with: genzoo train --resume {run_dir}")
    bar.close()
    if start < total or not (run_dir / "samples").exists():
        grid(total)
    if not list_checkpoints(ckpt_dir) or list_checkpoints(ckpt_dir)[-1][0] != total:
        checkpoint(total)
    log(f"genzoo: {cfg.name} trained for {total} steps on {ds.source}; run directory: {run_dir}")
    return Run(dir=run_dir, config=cfg, model=model, step=total, last_metrics=last)


def load(run_dir: str | Path, *, step: int | None = None, device: str = "cpu") -> Algorithm:
    """The trained model of a run directory (latest checkpoint, or `step`), in eval mode."""
    run_dir = Path(run_dir)
    saved = read_run_config(run_dir)
    cfg = build_config(saved["config"])
    spec = DataSpec.from_dict(saved["data_spec"])
    found = dict(list_checkpoints(run_dir / "checkpoints"))
    if not found:
        raise CheckpointError(f"'{run_dir}' has no checkpoint yet")
    if step is not None and step not in found:
        raise CheckpointError(f"'{run_dir}' has no checkpoint at step {step}; it has steps {sorted(found)}")
    path = found[step if step is not None else max(found)]
    model = build_model(cfg, spec, resolve_device(device))
    tensors, _ = read_checkpoint(path)
    load_model_state(model, tensors, source=str(path))
    model.eval()
    model.run_dir, model.run_config = run_dir, cfg
    return model
