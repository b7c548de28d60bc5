"""A run's record: config.json (the resolved configuration and what the run really used: data, devices,
versions), its check when read back, and the run directory's other files by name.

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
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..config import RunConfig
from ..errors import ConfigError, GenzooError
from ..safe_write import read_regular_file
from ..typed import MAX_WIDTH
from .checkpoint import list_checkpoints

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
