"""Run directories: creating and opening them, reading config.json, choosing a checkpoint, `load()`.

A run directory holds
    config.json      the resolved configuration and what the run really used (data, devices, versions)
    metrics.jsonl    one JSON line of running means every train.log_every steps
    samples/         sample grids over time
    checkpoints/     step-NNNNNNN.safetensors (weights, optimizers, random state; no pickle)
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..config import RunConfig
from ..errors import CheckpointError, ConfigError, GenzooError
from ..models import Algorithm, DataSpec
from ..presets import build_config
from ..safe_write import read_regular_file
from ..typed import MAX_WIDTH
from .checkpoint import list_checkpoints, load_model_state, read_checkpoint
from .device import build_model, resolve_device

CONFIG_FILE = "config.json"
MAX_CONFIG_BYTES = 16 << 20   # a run's record is a few kB
METRICS_FILE = "metrics.jsonl"
#: the sections of a run directory's config.json that genzoo reads back
RUN_RECORD_SECTIONS = ("config", "dataset", "data_spec")


def check_run_record(record: Any, path: str | Path) -> dict:
    """A run directory's config.json contents, refused in one line unless its sections have the right types
    (a record edited by hand, or not genzoo's, must not reach the model builders)."""
    if not isinstance(record, dict):
        raise ConfigError(f"'{path}' holds a JSON {type(record).__name__}, not a genzoo run record (a JSON object "
                          f"with {', '.join(RUN_RECORD_SECTIONS)})")
    for section in RUN_RECORD_SECTIONS:
        if not isinstance(record.get(section), dict):
            raise ConfigError(f"'{path}' lacks its '{section}' section (or it is not a JSON object); "
                              "was it edited by hand?")
    spec, dataset = record["data_spec"], record["dataset"]
    shape = spec.get("shape")
    counts = [spec.get("num_classes"), spec.get("vocab_size")]
    if not (isinstance(spec.get("kind"), str) and isinstance(shape, list) and 1 <= len(shape) <= 5
            and all(type(d) is int and 1 <= d <= MAX_WIDTH for d in shape)
            and all(c is None or (type(c) is int and 1 <= c <= MAX_WIDTH) for c in counts)):
        raise ConfigError(f"'{path}' has a data_spec that no genzoo run writes ({spec}); was it edited by hand?")
    if not (isinstance(dataset.get("source"), str) and type(dataset.get("size")) is int):
        raise ConfigError(f"'{path}' has a dataset section without its source and size; was it edited by hand?")
    return record


def environment() -> dict:
    """The library versions and platform a run was trained with (recorded in config.json)."""
    return {"genzoo": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform(), "cuda": torch.version.cuda if torch.cuda.is_available() else None}


def new_run_path(cfg: RunConfig, out: str | Path | None, data_name: str | None = None) -> Path:
    """`out`, if it holds no run yet, or a fresh runs/NAME-DATA-TIME folder; DATA is `data_name`, the data
    really used (mnist5k when MNIST fell back to it), or else the configured data's name."""
    if out is not None:
        run_dir = Path(out)
        if list_checkpoints(run_dir / "checkpoints"):
            raise ConfigError(f"'{run_dir}' already holds a run; continue it with --resume {run_dir} "
                              "or choose another --out")
        return run_dir
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{cfg.name}-{data_name or cfg.data.name}-{stamp}"
    run_dir, i = base, 1
    while run_dir.exists():
        i += 1
        run_dir = base.with_name(f"{base.name}-{i}")
    return run_dir


def read_run_config(run_dir: str | Path) -> dict:
    """The contents of a run directory's config.json, with a clear error for anything else."""
    run_dir = Path(run_dir)
    if run_dir.is_file():
        holder = run_dir.parent.parent if run_dir.parent.name == "checkpoints" else run_dir.parent
        raise GenzooError(f"'{run_dir}' is a file; give the run directory that holds {CONFIG_FILE} "
                          f"('{holder}'). genzoo sample and eval take --step N for another checkpoint")
    if not run_dir.is_dir():
        raise GenzooError(f"run directory '{run_dir}' does not exist")
    path = run_dir / CONFIG_FILE
    if not path.exists() and not path.is_symlink():
        raise GenzooError(f"'{run_dir}' is not a genzoo run directory (no {CONFIG_FILE})")
    data, why = read_regular_file(path, MAX_CONFIG_BYTES)   # a stranger's link, FIFO or huge file: not read
    if data is None:
        raise GenzooError(f"'{path}' cannot be read as a run's record ({why}); genzoo reads config.json only as "
                          f"a regular file of at most {MAX_CONFIG_BYTES >> 20} MB inside the run")
    try:
        return check_run_record(json.loads(data.decode("utf-8")), path)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise GenzooError(f"'{path}' is not valid JSON ({e}); was it edited by hand?") from None


def write_run_record(run_dir: Path, record: dict) -> None:
    """Write config.json atomically (a temporary file renamed into place)."""
    tmp = run_dir / f"{CONFIG_FILE}.tmp-{os.getpid()}"   # unique: two writers never share it
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(tmp, run_dir / CONFIG_FILE)
    except OSError as e:   # a full disk: one line, and no temporary file left behind
        raise GenzooError(f"cannot write {run_dir / CONFIG_FILE} ({e.strerror or e}); free space or choose "
                          "another --out") from None
    finally:
        tmp.unlink(missing_ok=True)


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


def log_row(line: str) -> dict | None:
    """A line of metrics.jsonl as a record, or None for one that is not (cut by a crash, edited by hand: not
    JSON, a list or a number, nested too deep)."""
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return row if isinstance(row, dict) else None


def truncate_metrics(path: Path, step: int) -> None:
    """On resume, drop log lines written after the checkpoint we continue from, and lines that are not records
    (their steps are unknown); the log is replaced atomically, so a kill never leaves half of it."""
    if not path.exists():
        return
    keep = []
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        row = log_row(line)
        at = row.get("step", 0) if row is not None else None
        if isinstance(at, (int, float)) and not isinstance(at, bool) and at <= step:
            keep.append(line)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(k + "\n" for k in keep))
        os.replace(tmp, path)
    except OSError as e:   # a full disk: one line, the log as it was
        raise GenzooError(f"cannot rewrite {path} ({e.strerror or e}); free space and resume again") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


@dataclass
class RunDir:
    """An existing run directory: its recorded configuration and data, its checkpoints, its model.

        run = RunDir.open("runs/dcgan-mnist-20261121-101500")
        run.config.train.steps, run.dataset["name"], run.checkpoints()
        model = run.load_model(step=500)
    """

    path: Path
    record: dict = field(repr=False)

    @classmethod
    def open(cls, path: str | Path) -> "RunDir":
        return cls(Path(path), read_run_config(path))

    @property
    def config(self) -> RunConfig:
        return build_config(self.record["config"])

    @property
    def data_spec(self) -> DataSpec:
        return DataSpec.from_dict(self.record["data_spec"])

    @property
    def dataset(self) -> dict:
        """What the run trained on: name, source, split, size, shape, notice."""
        return self.record["dataset"]

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS_FILE

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of the run's complete checkpoints, oldest first."""
        return list_checkpoints(self.checkpoint_dir)

    def checkpoint(self, step: int | None = None) -> tuple[int, Path]:
        """The checkpoint of `step`, or the latest one."""
        found = dict(self.checkpoints())
        if not found:
            raise CheckpointError(f"'{self.path}' has no checkpoint yet")
        if step is not None and step not in found:
            raise CheckpointError(f"'{self.path}' has no checkpoint at step {step}; it has steps {sorted(found)}")
        chosen = step if step is not None else max(found)
        return chosen, found[chosen]

    def load_model(self, step: int | None = None, device: str = "cpu") -> Algorithm:
        """The model of the checkpoint of `step` (default: the latest), in eval mode."""
        chosen, path = self.checkpoint(step)
        model = build_model(self.config, self.data_spec, resolve_device(device))
        try:
            tensors, _ = read_checkpoint(path)
        except CheckpointError as e:
            others = sorted({s for s, _ in self.checkpoints()} - {chosen})
            raise CheckpointError(f"{e}" + (f". This run also has checkpoints at steps {others}: pick one with "
                                            "--step (or step= in Python)" if others else "")) from None
        load_model_state(model, tensors, source=str(path))
        return model.eval()


def load(run_dir: str | Path, *, step: int | None = None, device: str = "cpu") -> Algorithm:
    """The trained model of a run directory, in eval mode, ready to sample.

    run_dir: a directory written by `genzoo.train` or `genzoo train`.
    step: the checkpoint to load (default: the latest).
    device: where to put the model, e.g. "cpu" or "cuda".

    Example:
        >>> model = genzoo.load("runs/dcgan-mnist5k-20261121-101500")
        >>> images = model.sample(64)      # (64, 1, 28, 28), values in [0, 1]
    """
    run = RunDir.open(run_dir)
    model = run.load_model(step, device)
    model.run_dir, model.run_config = run.path, run.config
    return model
