"""What a report reads from a run directory: config, metrics log, sample grids, eval.json, checkpoints."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from ..safe_write import read_regular_file
from ..runs import RunDir
from ..training.schedule import schedule_factor

_GRID = re.compile(r"^step-(\d+)\.png$")
#: columns of metrics.jsonl that are bookkeeping, not curves
NOT_CURVES = ("step", "epoch", "time")
#: bounds on what a report reads of a run directory (a sample grid is a few hundred kB, a log line a few
#: dozen values): beyond them a part is skipped with a note, so a crafted run cannot exhaust memory or time
MAX_GRID_BYTES = 20 << 20
MAX_GRIDS = 200
MAX_EVAL_BYTES = 10 << 20
MAX_LOG_BYTES = 256 << 20
MAX_LOG_ROWS = 200_000
MAX_ROW_KEYS = 200
MAX_CURVES = 24
#: the largest step and |value| a curve plots (a float holds steps exactly up to 2^53; a plot's ticks
#: cannot span values near the float's limit, 1e308)
MAX_STEP = 2**53
MAX_PLOTTED = 1e100


@dataclass
class RunRecord:
    dir: Path
    record: dict                                     # config.json: config, dataset, environment, ...
    log: list[dict] = field(default_factory=list)    # metrics.jsonl, one dict per logged step
    grids: list[tuple[int, bytes]] = field(default_factory=list)   # (step, PNG bytes)
    evaluation: dict = field(default_factory=dict)   # eval.json
    checkpoints: list[tuple[int, Path]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.dir.resolve().name

    @property
    def config(self) -> dict:
        return self.record["config"]

    def curves(self) -> dict[str, tuple[list[int], list[float]]]:
        """{logged value: (steps, values)} from metrics.jsonl: finite numbers, at most MAX_CURVES values."""
        out: dict[str, tuple[list[int], list[float]]] = {}
        for row in self.log:
            for key, value in row.items():
                if (key not in NOT_CURVES and isinstance(value, (int, float)) and not isinstance(value, bool)
                        and math.isfinite(value) and abs(value) <= MAX_PLOTTED
                        and (key in out or len(out) < MAX_CURVES)):
                    steps, values = out.setdefault(key, ([], []))
                    steps.append(row["step"])
                    values.append(float(value))
        return out

    def learning_rates(self) -> dict[str, tuple[list[int], list[float]]]:
        """{optimizer setting: (steps, learning rate)}: each configured rate times train.lr_schedule's factor."""
        t = json_object(self.config.get("train"))
        total = self.record.get("total_steps")
        total = total if isinstance(total, int) and not isinstance(total, bool) and 0 < total < 10**12 else 1
        steps = list(range(0, total + 1, max(1, total // 200)))
        schedule = SimpleNamespace(lr_decay=_number(t.get("lr_decay", 0.0)), lr_final=_number(t.get("lr_final", 0.0)),
                                   lr_schedule="burda" if t.get("lr_schedule") == "burda" else "linear")
        per_epoch = _number(self.record.get("steps_per_epoch", 1.0), 1.0) or 1.0
        factors = [schedule_factor(schedule, s, total, per_epoch) for s in steps]
        model = json_object(self.config.get("model"))
        return {name: (steps, [lr * f for f in factors]) for name, lr in configured_rates(model)}


def json_object(value) -> dict:
    """`value` if it is a JSON object, else an empty one (a hand-edited config.json may hold anything)."""
    return value if isinstance(value, dict) else {}


def _number(value, default: float = 0.0) -> float:
    """`value` if it is a finite number, else `default`."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else default


def configured_rates(model_cfg: dict, prefix: str = "model") -> list[tuple[str, float]]:
    """(key, lr) of every optimizer in a model config, e.g. ("model.optim", 2e-4), ("model.d_optim", 1e-4)."""
    found = []
    for key, value in model_cfg.items():
        if isinstance(value, dict):
            if "lr" in value and _number(value["lr"], math.nan) == _number(value["lr"], math.nan):
                found.append((f"{prefix}.{key}", float(value["lr"])))
            else:
                found.extend(configured_rates(value, f"{prefix}.{key}"))
    return found


def _read_log(path: Path, log) -> list[dict]:
    """The rows of metrics.jsonl that are records of a step (a JSON object with an integer step up to 2^53), each with at
    most MAX_ROW_KEYS values; the others (a line cut by a crash, a list, a number) are skipped and counted."""
    if not path.exists() and not path.is_symlink():
        return []
    data, why = read_regular_file(path, MAX_LOG_BYTES)
    if data is None:
        log(f"genzoo: notice: skipped {path}: {why}")
        return []
    rows, bad = [], 0
    for line in data.decode("utf-8", "replace").splitlines()[:MAX_LOG_ROWS]:
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            row = None
        step = row.get("step") if isinstance(row, dict) else None
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= MAX_STEP:
            bad += 1
            continue
        rows.append(dict(list(row.items())[:MAX_ROW_KEYS]))
    if bad:
        log(f"genzoo: notice: skipped {bad} rows of {path} that are not JSON objects with an integer step")
    return rows


def _read_grids(samples: Path, log) -> list[tuple[int, bytes]]:
    """(step, PNG bytes) of the sample grids that are regular files inside the run, of bounded size."""
    if samples.is_symlink() or not samples.is_dir():
        if samples.is_symlink():
            log(f"genzoo: notice: skipped the sample grids: {samples} is a link")
        return []
    found = sorted((int(m.group(1)), p) for p in samples.iterdir() if (m := _GRID.match(p.name)))[-MAX_GRIDS:]
    grids = []
    for step, path in found:
        data, why = read_regular_file(path, MAX_GRID_BYTES)
        if data is None:
            log(f"genzoo: notice: skipped the sample grid {path}: {why}")
        else:
            grids.append((step, data))
    return grids


def _finite(value):
    """`value` with its non-finite numbers (1e400 reads as infinity) removed, in dicts and lists."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items() if not (isinstance(v, float) and not math.isfinite(v))}
    if isinstance(value, list):
        return [_finite(v) for v in value if not (isinstance(v, float) and not math.isfinite(v))]
    return value


def _read_evaluation(path: Path, log) -> dict:
    """eval.json's entries that are JSON objects (finite numbers only); the rest skipped with a note."""
    if not path.exists() and not path.is_symlink():
        return {}
    data, why = read_regular_file(path, MAX_EVAL_BYTES)
    try:
        parsed = json.loads(data.decode("utf-8")) if data is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        data, why = None, f"not valid JSON ({e})"
    if data is not None and not isinstance(parsed, dict):
        data, why = None, f"a JSON {type(parsed).__name__}, not an object of results"
    if data is None:
        log(f"genzoo: notice: skipped {path}: {why}")
        return {}
    kept = {k: _finite(v) for k, v in parsed.items() if isinstance(v, dict)}
    if len(kept) < len(parsed):
        log(f"genzoo: notice: skipped {len(parsed) - len(kept)} entries of {path} that are not JSON objects")
    return kept


def read_run(run_dir: "str | Path | RunDir", log=print) -> RunRecord:
    """Everything a report shows of one run (a RunDir or its path; GenzooError if it is not a run directory); a
    part that is malformed, too large, or not a regular file inside the run is skipped and named through `log`."""
    run = RunDir.open(run_dir)
    return RunRecord(dir=run.path, record=run.record, log=_read_log(run.metrics_file, log),
                     grids=_read_grids(run.path / "samples", log),
                     evaluation=_read_evaluation(run.path / "eval.json", log),
                     checkpoints=run.checkpoints())
