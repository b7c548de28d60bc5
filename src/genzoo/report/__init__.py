"""`genzoo report RUN [RUN ...]`: one self-contained HTML page per set of runs.

Config and environment, training curves with the learning-rate schedule, the sample grids over
time, the latest eval.json beside the real-vs-real floor at the same sample count, and the
checkpoints; with several runs their curves overlaid and their metrics side by side.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import GenzooError
from .page import render, write
from .runs import RunRecord, read_run

__all__ = ["build_report", "read_run", "RunRecord"]


def real_floor_for(run: RunRecord, cache: dict, log=print) -> dict | None:
    """{metric: entry} of real training images against the real test images, with the dataset, sample
    count and seed of the run's image metrics (None when it has none)."""
    from ..metrics import real_floor
    from ..metrics.registry import image_metrics

    present = [m for m in image_metrics(defaults=True) if m in run.evaluation]   # the floor's metrics
    if not present:
        return None
    entry = run.evaluation[present[0]]
    data = run.config.get("data")
    n, seed = entry.get("n_real") or entry.get("n_fake"), entry.get("seed", 0)
    if not (isinstance(data, dict) and isinstance(data.get("name"), str) and _whole(n, 1, 10**7) and _whole(seed, 0, 2**32 - 1)):
        log(f"genzoo: notice: no real-vs-real floor for {run.dir}: its eval.json or config.json lacks a "
            "valid sample count, seed or dataset")
        return None
    key = (data["name"], n, seed, tuple(present))
    if key not in cache:
        log(f"genzoo: computing the real-vs-real floor of {data['name']} at n={n} for the report")
        cache[key] = real_floor(data["name"], n, metrics=tuple(present), root=data.get("root"),
                                seed=key[2])["rows"]["real"]
    return cache[key]


def _whole(value, low: int, high: int) -> bool:
    """Whether `value` is a whole number from low to high (a sample count or seed from eval.json)."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def build_report(run_dirs: list, out: str | Path | None = None, *, floor: bool = True,
                 log=print) -> Path:
    """Write the HTML report of `run_dirs` (RunDirs or their paths) to `out` (default: the first run's report.html)
    and return its path."""
    if not run_dirs:
        raise GenzooError("give at least one run directory")
    from ..safe_write import check_writable_file

    runs = [read_run(d, log) for d in run_dirs]
    # before the floors' work; never over a run's own files, its eval.json or training's grids
    path = check_writable_file(Path(out) if out else runs[0].dir / "report.html", results=True)
    cache: dict = {}
    floors = [real_floor_for(run, cache, log) if floor else None for run in runs]
    return write(render(runs, floors), path)
