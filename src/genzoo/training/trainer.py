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
from ..config import RunConfig, build_config, check_run_record, to_dict
from ..data import Dataset, load_dataset
from ..errors import CheckpointError, ConfigError, GenzooError, TrainingDiverged
from ..models import Algorithm, Batch, DataSpec, Optimizers, get_algorithm
from ..models.base import IMAGE_KINDS, TRANSLATION_KINDS
from .checkpoint import (checkpoint_path, list_checkpoints, load_model_state, load_optimizer_states,
                         prune_checkpoints, read_checkpoint, save_checkpoint, set_rng_state)
from .distributed import (World, broadcast_norm_statistics, broadcast_parameters, broadcast_string,
                          gather_rng_states, gradient_averager, init_from_env, local_device, mean_over_ranks)

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

    def __init__(self, ds: Dataset, batch_size: int, seed: int, device: torch.device, *,
                 world: World = World(), splits: int = 1, channels_last: bool = False):
        if batch_size > len(ds):
            raise ConfigError(f"train.batch_size={batch_size} is larger than the dataset ({len(ds)} examples, "
                              f"{ds.source}); choose a smaller --batch-size")
        if batch_size % (splits * world.size):
            raise ConfigError(f"the global batch of {batch_size} examples cannot be shared by {world.size} processes "
                              f"x {splits} minibatches per step; choose a batch size divisible by {splits * world.size}")
        self.world, self.splits, self.channels_last = world, splits, channels_last
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
        if self.world.distributed:  # this process's shard of each of the step's minibatches
            idx = idx.view(self.splits, self.world.size, -1)[:, self.world.rank].reshape(-1)
        x = self.x[idx]
        if self.kind in IMAGE_KINDS:
            x = x.float().div_(255.0)
            if self.channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
        return Batch(x=x, y=None if self.y is None else self.y[idx])


@dataclass
class Run:
    """The result of `genzoo.train`: where it was written and the trained model."""

    dir: Path
    config: RunConfig
    model: Algorithm
    step: int
    last_metrics: dict


def lr_factor(step: int, total: int, decay: float, final: float) -> float:
    """Learning-rate multiplier at `step`: 1, then linear from 1 to `final` over the last `decay` of the run."""
    start = total * (1.0 - decay)
    if decay <= 0.0 or step < start:
        return 1.0
    return 1.0 - (1.0 - final) * (step - start) / max(total - start, 1e-12)


def apply_lr_schedule(opt: Optimizers, train_cfg, step: int, total: int) -> None:
    """Set the learning rates of `step` by train.lr_decay / train.lr_final (nothing when there is no decay)."""
    if train_cfg.lr_decay > 0:
        opt.scale_learning_rates(lr_factor(step, total, train_cfg.lr_decay, train_cfg.lr_final))


def total_steps(cfg: RunConfig, n_examples: int) -> int:
    t = cfg.train
    if t.steps is not None:
        return t.steps
    if t.epochs is not None:
        return max(1, math.ceil(t.epochs * (n_examples // t.batch_size)))
    raise ConfigError("give a training budget: --steps N or --epochs N")


def build_model(cfg: RunConfig, spec: DataSpec, device: torch.device) -> Algorithm:
    algo_cls = get_algorithm(cfg.algorithm)
    if spec.kind in TRANSLATION_KINDS and not set(TRANSLATION_KINDS) & set(getattr(algo_cls, "data_kinds", ())):
        raise ConfigError(f"{cfg.name} learns from single images, and {cfg.data.name} holds pairs of images for "
                          "translation models (pix2pix, cyclegan); choose other data with --data")
    try:
        model = algo_cls(cfg.model, spec)
    except ValueError as e:  # e.g. an image size the networks cannot be built for
        raise ConfigError(f"cannot build {cfg.name} for data of shape {spec.shape}: {e}") from None
    return model.to(device)


def save_samples(model: Algorithm, path: Path, n: int, seed: int, reference: torch.Tensor | None = None,
                 scale: int | None = None) -> Path:
    """A fixed-noise sample grid (PNG), so grids over time show the same latent points; small images are
    enlarged (scale, default images.display_scale of their height).

    reference: points data, drawn beneath the samples; translation data, the uint8 pairs whose
    translations fill the grid (one row of source, translations and target per pair, two per line)."""
    from ..images import display_scale, save_grid, save_points

    was_training = model.training
    model.eval()
    g = torch.Generator(device=model.device).manual_seed(seed)
    nrow = None
    try:
        if model.data.kind in TRANSLATION_KINDS:
            rows = model.example_rows(reference.float().div(255), generator=g).detach().float().cpu()
            x, nrow = rows.flatten(0, 1), 2 * rows.shape[1]
        else:
            x = model.sample(n, generator=g).detach().float().cpu()
    finally:
        model.train(was_training)
    path.parent.mkdir(parents=True, exist_ok=True)
    if model.data.kind in IMAGE_KINDS:
        save_grid(x, path, nrow=nrow, scale=scale or display_scale(x.shape[-2]))
    elif model.data.kind == "points":
        save_points(x, path, reference=reference)
    else:
        path = path.with_suffix(".txt")
        path.write_text("\n".join(model.decode(x)) + "\n" if hasattr(model, "decode") else str(x.tolist()))
    return path


def grid_reference(ds: Dataset, grid_size: int) -> torch.Tensor | None:
    """What save_samples draws besides the samples: 2,500 data points beneath a points model's samples,
    or pairs of a translation set drawn across its classes (a third of grid_size, at least 2), to translate."""
    if ds.kind == "points":
        return ds.x[:2500]
    if ds.kind in TRANSLATION_KINDS:
        return ds.x[ds.display_indices(max(2, grid_size // 3))]
    return None


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
    if run_dir.is_file():
        holder = run_dir.parent.parent if run_dir.parent.name == "checkpoints" else run_dir.parent
        raise GenzooError(f"'{run_dir}' is a file; give the run directory that holds {CONFIG_FILE} "
                          f"('{holder}'). genzoo sample and eval take --step N for another checkpoint")
    if not run_dir.is_dir():
        raise GenzooError(f"run directory '{run_dir}' does not exist")
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise GenzooError(f"'{run_dir}' is not a genzoo run directory (no {CONFIG_FILE})")
    try:
        return check_run_record(json.loads(path.read_bytes().decode("utf-8")), path)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise GenzooError(f"'{path}' is not valid JSON ({e}); was it edited by hand?") from None


def newest_readable_checkpoint(found: list[tuple[int, Path]], log=print) -> tuple[int, Path, dict, dict]:
    """(step, path, tensors, metadata) of the newest checkpoint that reads back. A newer one that does not
    (truncated by a full disk or an interrupted copy) is reported and skipped: training resumes from the
    one before it and redoes the lost steps, exactly as it first ran them."""
    errors = []
    for step, path in reversed(found):
        try:
            tensors, meta = read_checkpoint(path)
        except CheckpointError as e:
            errors.append(str(e))
            continue
        for e in errors:
            log(f"genzoo: notice: skipped an unreadable checkpoint: {e}")
        return step, path, tensors, meta
    raise CheckpointError("no checkpoint of this run can be read:\n  " + "\n  ".join(errors))


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


def _cpu_has_native_bf16() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device, data_kind: str) -> torch.dtype | None:
    """The autocast dtype, or None for float32. auto: for image data, bf16 on CPUs with native bf16
    (AVX512-BF16 or AMX; emulated bf16 is slower than float32) and bf16 or fp16 AMP on CUDA; float32
    for points and tokens, whose small nets gain nothing from it and whose 2-D toy modes (std 0.02)
    are finer than bf16's resolution (2^-7 = 0.008 near 1)."""
    if name == "fp32" or (name == "auto" and data_kind not in IMAGE_KINDS):
        return None
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if _cpu_has_native_bf16() else None
    if name == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision=fp16 needs CUDA (a gradient scaler); on CPU use bf16 or fp32")
    return torch.bfloat16 if name == "bf16" else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    """The autocast context for resolve_precision's dtype on `device` (None: float32, autocast off)."""
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def prepare_model(model: Algorithm, cfg: RunConfig, device: torch.device, world: World) -> Algorithm:
    """Memory format, synchronized batch norm, TF32 and compilation, as the config asks."""
    t = cfg.train
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if t.sync_batchnorm and world.distributed:
        if device.type != "cuda":
            raise ConfigError("train.sync_batchnorm needs CUDA (PyTorch's SyncBatchNorm has no CPU kernel)")
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    if t.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if t.compile:
        for child in model.children():
            if any(True for _ in child.parameters()):
                child.compile()
    return model


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
    """Train `cfg` into a new run directory, or continue the run in `resume` (optionally to `steps`).

    Under torchrun, every process runs this function: each trains on its shard of the global
    batch (train.batch_size) and rank 0 alone writes the run directory.
    """
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

    device = resolve_device(cfg.train.device)
    world = init_from_env(device)
    device = local_device(device, world)
    if resume is None:
        run_dir = _new_run_dir(cfg, out) if world.is_main else None
        run_dir = Path(broadcast_string(str(run_dir), world)) if world.distributed else run_dir
    log = log if world.is_main else (lambda *_: None)

    torch.manual_seed(cfg.train.seed)
    ds = load_data(cfg)
    if ds.notice:
        log(f"genzoo: notice: {ds.notice}")
    spec = data_spec(ds)
    model = prepare_model(build_model(cfg, spec, device), cfg, device, world)
    optimizers = model.configure_optimizers()
    autocast_dtype = resolve_precision(cfg.train.precision, device, spec.kind)
    scaler = torch.amp.GradScaler("cuda") if autocast_dtype == torch.float16 else None
    opt = Optimizers(optimizers, reduce_gradients=gradient_averager(world) if world.distributed else None,
                     scaler=scaler)
    if world.distributed:
        broadcast_parameters(model)
        torch.manual_seed(cfg.train.seed + 7919 * world.rank)  # each process draws its own noise
    source = BatchSource(ds, cfg.train.batch_size * model.batches_per_step, cfg.train.seed, device,
                         world=world, splits=model.batches_per_step, channels_last=cfg.train.channels_last)
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
        start, path, tensors, meta = newest_readable_checkpoint(found, log)
        load_model_state(model, tensors, source=str(path))
        load_optimizer_states(optimizers, tensors, meta)
        set_rng_state(tensors)
        if world.distributed:
            torch.set_rng_state(tensors[f"rng/rank{world.rank}/torch"])
        if scaler is not None and meta["extra"].get("grad_scaler"):
            scaler.load_state_dict(meta["extra"]["grad_scaler"])
        if world.is_main:
            _truncate_metrics(run_dir / METRICS_FILE, start)
        log(f"genzoo: resuming {run_dir} from step {start} of {total}")

    if world.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        record = {"config": to_dict(cfg), "dataset": dataset_record, "data_spec": spec.to_dict(),
                  "total_steps": total, "processes": world.size, "precision": str(autocast_dtype or "float32"),
                  "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
                  "environment": _environment(), "created": _dt.datetime.now().isoformat(timespec="seconds")}
        tmp = run_dir / (CONFIG_FILE + ".tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(tmp, run_dir / CONFIG_FILE)

    def checkpoint(step: int) -> Path | None:
        rng = {}
        if world.distributed:  # every process's random state, so each resumes its own stream
            rng = {f"rng/rank{r}/torch": st for r, st in enumerate(gather_rng_states(world, torch.get_rng_state()))}
        if not world.is_main:
            return None
        extra = {"total_steps": total, "grad_scaler": scaler.state_dict() if scaler else None}
        path = save_checkpoint(checkpoint_path(ckpt_dir, step), model=model, optimizers=optimizers, step=step,
                               extra=extra, extra_tensors=rng)
        prune_checkpoints(ckpt_dir, cfg.train.keep_checkpoints)
        return path

    def grid(step: int) -> None:
        if world.is_main:
            save_samples(model, run_dir / "samples" / f"step-{step:07d}.png", cfg.train.grid_size,
                         seed=cfg.train.seed + 12345, reference=grid_reference(ds, cfg.train.grid_size))

    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=start, disable=not (progress and world.is_main), dynamic_ncols=True,
               desc=cfg.name, file=sys.stderr)
    meter, last = _Meter(), {}
    t0, step = time.time(), start
    model.train()
    metrics_file = open(run_dir / METRICS_FILE, "a") if world.is_main else None
    try:
        for step in range(start, total):
            apply_lr_schedule(opt, cfg.train, step, total)
            with autocast(device, autocast_dtype):
                logs = model.train_step(source.batch(step), opt, step)
            values = {k: float(v) for k, v in logs.items()}
            if world.distributed:
                values = mean_over_ranks(values, device)
                broadcast_norm_statistics(model)
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
                if metrics_file:
                    metrics_file.write(json.dumps(last) + "\n")
                    metrics_file.flush()
                bar.set_postfix({k: f"{v:.4g}" for k, v in last.items() if k not in ("step", "epoch", "time")})
            if cfg.train.sample_every and done % cfg.train.sample_every == 0 and done != total:
                grid(done)
            if cfg.train.checkpoint_every and done % cfg.train.checkpoint_every == 0 and done != total:
                checkpoint(done)
        step = total
    except RuntimeError as e:
        if cfg.train.compile and "double backward" in str(e):  # gradient penalties differentiate a gradient
            raise ConfigError(f"{cfg.name} takes the gradient of a gradient (a gradient penalty or R1), which "
                              "torch.compile does not support yet; train it without --compile "
                              "(train.compile=false)") from None
        raise
    except KeyboardInterrupt:
        path = checkpoint(step)  # `step` steps are complete: a consistent state
        bar.close()
        raise GenzooError(f"interrupted at step {step}; saved {path}. Continue with: genzoo train --resume {run_dir}")
    finally:
        if metrics_file:
            metrics_file.close()
    bar.close()
    if world.is_main and (start < total or not (run_dir / "samples").exists()):
        grid(total)
    if start < total or not list_checkpoints(ckpt_dir):  # the same decision on every rank
        checkpoint(total)
    log(f"genzoo: {cfg.name} trained for {total} steps on {ds.source}; run directory: {run_dir}")
    return Run(dir=run_dir, config=cfg, model=model, step=total, last_metrics=last)


def load(run_dir: str | Path, *, step: int | None = None, device: str = "cpu") -> Algorithm:
    """The trained model of a run directory, in eval mode, ready to sample.

    run_dir: a directory written by `genzoo.train` or `genzoo train`.
    step: the checkpoint to load (default: the latest).
    device: where to put the model, e.g. "cpu" or "cuda".

    Example:
        >>> model = genzoo.load("runs/dcgan-mnist5k-20261121-101500")
        >>> images = model.sample(64)      # (64, 1, 28, 28), values in [0, 1]
    """
    run_dir = Path(run_dir)
    saved = read_run_config(run_dir)
    cfg = build_config(saved["config"])
    spec = DataSpec.from_dict(saved["data_spec"])
    found = dict(list_checkpoints(run_dir / "checkpoints"))
    if not found:
        raise CheckpointError(f"'{run_dir}' has no checkpoint yet")
    if step is not None and step not in found:
        raise CheckpointError(f"'{run_dir}' has no checkpoint at step {step}; it has steps {sorted(found)}")
    chosen = step if step is not None else max(found)
    path = found[chosen]
    model = build_model(cfg, spec, resolve_device(device))
    try:
        tensors, _ = read_checkpoint(path)
    except CheckpointError as e:
        others = sorted(set(found) - {chosen})
        raise CheckpointError(f"{e}" + (f". This run also has checkpoints at steps {others}: pick one with --step "
                                        "(or step= in Python)" if others else "")) from None
    load_model_state(model, tensors, source=str(path))
    model.eval()
    model.run_dir, model.run_config = run_dir, cfg
    return model
