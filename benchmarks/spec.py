"""A benchmark as data: which presets train, on what, with which changes, for how long, with which seeds, which
metrics score them and which row of which result file their numbers fill. `benchmarks/run.py` runs a spec.

    from spec import Row, Spec, Stop

    SPEC = Spec("lucic_fid", "benchmarks/results/lucic_fid.json", rows=(
        Row("mnist-NS-GAN", "dcgan", data="mnist", stop=Stop(epochs=20), metrics=("inception_fid",)),))

A spec lives in benchmarks/specs/NAME.py as the module constant SPEC. Its rows say everything that decides
what a run computes; the spec's functions (`make_row`, `result`) only shape the numbers into the JSON that
the results tables read.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

from genzoo.config import RunConfig
from genzoo.presets import resolve


@dataclass(frozen=True)
class Stop:
    """When a run ends: after `steps`, after `epochs` passes over the training split, at `time_budget`
    (train.time_budget, e.g. "1800cpu") or at `cpu_seconds` of the process's CPU time (a stop rule on top of
    the step budget, which `steps` then bounds). All None: the preset's own budget."""

    steps: int | None = None
    epochs: float | None = None
    time_budget: str | None = None
    cpu_seconds: float | None = None

    def overrides(self) -> dict[str, Any]:
        """The config values of this budget; a budget in epochs or steps replaces the preset's time budget."""
        if self.time_budget is not None:
            return {"train.time_budget": self.time_budget, **({"train.steps": self.steps} if self.steps else {})}
        if self.cpu_seconds is not None:
            return {"train.steps": self.steps or 10**9, "train.epochs": None, "train.time_budget": None}
        if self.epochs is not None:
            return {"train.time_budget": None, "train.epochs": self.epochs}
        return {} if self.steps is None else {"train.steps": self.steps}

    def stop_rules(self) -> list:
        from genzoo.training import TimeLimit

        return [TimeLimit(self.cpu_seconds, "cpu")] if self.cpu_seconds is not None else []

    def describe(self) -> str:
        said = [f"{self.steps:,} steps" if self.steps else "", f"{self.epochs:g} epochs" if self.epochs else "",
                f"time budget {self.time_budget}" if self.time_budget else "",
                f"{self.cpu_seconds:g} CPU-seconds" if self.cpu_seconds is not None else ""]
        return " or ".join(s for s in said if s) or "the preset's budget"


@dataclass(frozen=True)
class Row:
    """One row of a result file: `preset` trained on `data` (None: the preset's) with `overrides`
    ({"model.hidden": 500}, as `genzoo train --set`), until `stop`, once per seed; `metrics` (names of
    measures.METRICS) score each run. `name` is the row's key in the file."""

    name: str
    preset: str
    data: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    stop: Stop = Stop()
    seeds: tuple[int, ...] = (0,)
    metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spec:
    """A benchmark: its rows and the result file they fill.

    trainer: "trainer" trains with genzoo's Trainer alone (divergence guard and metrics log, no grids or
      checkpoints), timed, as a budget in CPU time needs; "genzoo.train" trains as `genzoo.train` does
      (grids, checkpoints), each run in a folder under --runs that a later command resumes or scores.
    shared: overrides of every row, before the row's own (the device, the log interval).
    data_root: where --data-root leads a row: "{root}" or "{root}/{data}" (a folder per dataset); None: the
      rows use genzoo's bundled data only, read beside an empty folder, whatever $GENZOO_DATA or the cache holds.
    settings: the metrics' settings (sample counts, AIS temperatures), each changeable with --setting.
    threads: the CPU threads of the command unless --threads says (None: torch's); one makes CPU time read the
      same on a busy machine.
    layout: "rows" (the file's rows, one per spec row, kept across commands) or "values" (one row's
      numbers as the file's values).
    make_row(row, runs, settings): the file's row from the runs of one row (one per seed); the default
      holds each metric's median over the seeds and, with several, its range.
    result(rows, settings, records): the file's JSON without hardware, environment and command (write_result
      adds them), from its rows (those kept from earlier commands too) and this command's run records by row.
    """

    name: str
    results: str
    rows: tuple[Row, ...]
    result: Callable[[dict, dict, dict], dict]
    trainer: Literal["trainer", "genzoo.train"] = "trainer"
    shared: Mapping[str, Any] = field(default_factory=dict)
    data_root: str | None = "{root}"
    settings: Mapping[str, Any] = field(default_factory=dict)
    layout: Literal["rows", "values"] = "rows"
    threads: int | None = None
    make_row: Callable[[Row, list, dict], dict] | None = None

    def row(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"{self.name} has no row {name!r}; its rows: {', '.join(r.name for r in self.rows)}")


@dataclass(frozen=True)
class Planned:
    """One run of a spec: a row at one seed, with every override that decides what it computes."""

    row: Row
    seed: int
    overrides: dict[str, Any]

    def config(self) -> RunConfig:
        """The run's configuration, resolved as `genzoo train PRESET --set ...` resolves it."""
        return resolve(self.row.preset, overrides=self.overrides)

    def line(self) -> str:
        """The run in one line: row, seed, preset, budget, overrides and metrics."""
        cfg = self.config()
        budget = (f"{cfg.train.steps:,} steps" if cfg.train.steps else f"{cfg.train.epochs:g} epochs"
                  if cfg.train.epochs else "no step budget")
        time = f", time budget {cfg.train.time_budget}" if cfg.train.time_budget else ""
        limit = f", stop at {self.row.stop.cpu_seconds:g} CPU-seconds" if self.row.stop.cpu_seconds is not None else ""
        sets = " ".join(f"{k}={v!r}" for k, v in self.overrides.items())
        return (f"{self.row.name} seed {self.seed}: {self.row.preset} on {cfg.data.name}, {budget}{time}{limit}; "
                f"metrics {', '.join(self.row.metrics) or 'none'}; overrides {sets}")


def plan(spec: Spec, rows=None, seeds=None, data_root: str | None = None,
         extra: Mapping[str, Any] | None = None) -> list[Planned]:
    """The runs of `rows` (names; default all) at `seeds` (default each row's), each row's overrides in the
    order: the spec's shared ones, the data, the row's own, the budget, the seed, then `extra` (--set)."""
    chosen = [spec.row(name) for name in rows] if rows else list(spec.rows)
    runs = []
    for row in chosen:
        for seed in (seeds if seeds else row.seeds):
            sets = {**spec.shared, **({"data.name": row.data} if row.data else {})}
            if data_root:
                sets["data.root"] = (spec.data_root or "{root}").format(root=data_root, data=row.data or "")
            sets.update({**row.overrides, **row.stop.overrides(), "train.seed": seed, **(extra or {})})
            runs.append(Planned(row, seed, sets))
    return runs


def median_and_range(runs: list[dict]) -> dict:
    """Each number the runs share, as its median over them and, with several runs, its [min, max] as NAME_range;
    runs sorted by seed, each seed's run kept under "runs"."""
    runs = sorted(runs, key=lambda r: r["seed"])
    names = [k for k, v in runs[0].items() if k != "seed" and isinstance(v, (int, float)) and not isinstance(v, bool)
             and all(isinstance(r.get(k), (int, float)) for r in runs)]
    row = {}
    for name in names:
        values = [r[name] for r in runs]
        middle = statistics.median(values)
        row[name] = int(middle) if all(isinstance(v, int) for v in values) and middle == int(middle) else round(middle, 4)
        if len(runs) > 1:
            row[f"{name}_range"] = [round(min(values), 4), round(max(values), 4)]
    return {**row, "n_seeds": len(runs), "runs": runs}


def joined_runs(path: str, key: str, runs: list[dict], layout: str = "rows") -> list[dict]:
    """The runs that the result file at `path` holds for other seeds (those of its row `key`, or, in the
    "values" layout, of the file), then `runs`: seeds measured by separate commands add up to one row."""
    earlier = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    held = earlier.get("rows", {}).get(key, {}) if layout == "rows" else earlier
    seeds = {r["seed"] for r in runs}
    return sorted([r for r in held.get("runs", []) if r["seed"] not in seeds] + runs, key=lambda r: r["seed"])
