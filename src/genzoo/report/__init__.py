"""`genzoo report RUN [RUN ...]`: one self-contained HTML page per set of runs.

Config and environment, training curves with the learning-rate schedule, the sample grids over
time, the latest eval.json beside the real-vs-real floor at the same sample count, and the
checkpoints; with several runs their curves overlaid and their metrics side by side.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import GenzooError
from .page import IMAGE_METRICS, render, write
from .runs import RunRecord, read_run

__all__ = ["build_report", "read_run", "RunRecord"]


def real_floor_for(run: RunRecord, cache: dict, log=print) -> dict | None:
    """{metric: entry} of real training images against the real test images, with the dataset, sample
    count and seed of the run's image metrics (None when it has none)."""
    present = [m for m in IMAGE_METRICS if m in run.evaluation]
    if not present:
        return None
    entry = run.evaluation[present[0]]
    data = run.config["data"]
    n = int(entry.get("n_real") or entry.get("n_fake") or 0)
    key = (data["name"], n, int(entry.get("seed", 0)), tuple(present))
    if key not in cache:
        from ..metrics import real_floor
        log(f"genzoo: computing the real-vs-real floor of {data['name']} at n={n} for the report")
        cache[key] = real_floor(data["name"], n, metrics=tuple(present), root=data.get("root"),
                                seed=key[2])["rows"]["real"]
    return cache[key]


def build_report(run_dirs: list[str | Path], out: str | Path | None = None, *, floor: bool = True,
                 log=print) -> Path:
    """Write the HTML report of `run_dirs` to `out` (default: the first run's report.html) and return its path."""
    if not run_dirs:
        raise GenzooError("give at least one run directory")
    from ..safe_write import check_writable_file

    runs = [read_run(d) for d in run_dirs]
    path = check_writable_file(Path(out) if out else runs[0].dir / "report.html")   # before the floors' work
    cache: dict = {}
    floors = [real_floor_for(run, cache, log) if floor else None for run in runs]
    return write(render(runs, floors), path)
