"""What a report reads from a run directory: config, metrics log, sample grids, eval.json, checkpoints."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..training.checkpoint import list_checkpoints
from ..training.rundir import METRICS_FILE, read_run_config
from ..training.schedule import lr_factor

_GRID = re.compile(r"^step-(\d+)\.png$")
#: columns of metrics.jsonl that are bookkeeping, not curves
NOT_CURVES = ("step", "epoch", "time")


@dataclass
class RunRecord:
    dir: Path
    record: dict                                     # config.json: config, dataset, environment, ...
    log: list[dict] = field(default_factory=list)    # metrics.jsonl, one dict per logged step
    grids: list[tuple[int, Path]] = field(default_factory=list)
    evaluation: dict = field(default_factory=dict)   # eval.json
    checkpoints: list[tuple[int, Path]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.dir.resolve().name

    @property
    def config(self) -> dict:
        return self.record["config"]

    def curves(self) -> dict[str, tuple[list[int], list[float]]]:
        """{logged value: (steps, values)} from metrics.jsonl."""
        out: dict[str, tuple[list[int], list[float]]] = {}
        for row in self.log:
            for key, value in row.items():
                if key not in NOT_CURVES and isinstance(value, (int, float)):
                    steps, values = out.setdefault(key, ([], []))
                    steps.append(row["step"])
                    values.append(float(value))
        return out

    def learning_rates(self) -> dict[str, tuple[list[int], list[float]]]:
        """{optimizer setting: (steps, learning rate)}: each configured rate times train.lr_decay's schedule."""
        t, total = self.config["train"], int(self.record.get("total_steps") or 1)
        steps = list(range(0, total + 1, max(1, total // 200)))
        factors = [lr_factor(s, total, float(t.get("lr_decay", 0.0)), float(t.get("lr_final", 0.0))) for s in steps]
        return {name: (steps, [lr * f for f in factors]) for name, lr in configured_rates(self.config["model"])}


def configured_rates(model_cfg: dict, prefix: str = "model") -> list[tuple[str, float]]:
    """(key, lr) of every optimizer in a model config, e.g. ("model.optim", 2e-4), ("model.d_optim", 1e-4)."""
    found = []
    for key, value in model_cfg.items():
        if isinstance(value, dict):
            if "lr" in value and isinstance(value["lr"], (int, float)):
                found.append((f"{prefix}.{key}", float(value["lr"])))
            else:
                found.extend(configured_rates(value, f"{prefix}.{key}"))
    return found


def _read_log(path: Path) -> list[dict]:
    rows = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a crash
    return rows


def read_run(run_dir: str | Path) -> RunRecord:
    """Everything a report shows of one run (GenzooError if it is not a run directory)."""
    run_dir = Path(run_dir)
    record = read_run_config(run_dir)
    samples = run_dir / "samples"
    grids = sorted((int(m.group(1)), p) for p in samples.iterdir() if (m := _GRID.match(p.name))) \
        if samples.is_dir() else []
    eval_path = run_dir / "eval.json"
    evaluation = json.loads(eval_path.read_text()) if eval_path.is_file() else {}
    return RunRecord(dir=run_dir, record=record, log=_read_log(run_dir / METRICS_FILE), grids=grids,
                     evaluation=evaluation, checkpoints=list_checkpoints(run_dir / "checkpoints"))
