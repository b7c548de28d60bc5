"""Step time on a busy machine: which thread policy holds up when other work takes the cores.

Protocol: for each load level L (0, 2, 4 and 8 busy processes, each a Python loop that never
sleeps, kept running through the measurements of that level, which start once the 1-minute load
average reaches 3/4 of L, or falls below 0.5 for L = 0, or after 2 minutes),
each (model, policy) cell runs in a fresh process: it builds the preset's trainer (`vae` at
the paper's batch of 100, `STEP_SETTINGS`) on the 5,000
bundled MNIST digits (no grids, no checkpoints), trains 3 warm-up steps, then times steps until
at least MIN_SECONDS have passed (and at least MIN_STEPS steps). The cells of one level are
interleaved, and the whole sweep is repeated `--rounds` times; a cell's number is the median of
its rounds. The 1-minute load average read at the end of each level is recorded beside it.

Models: `dcgan` (the main job's step), `vae`, and the plain PyTorch DCGAN loop of
benchmarks/reference_dcgan.py, under the same load. Policies (set before PyTorch is loaded):
- `genzoo default`: what genzoo chooses when the user sets nothing (src/genzoo/threads.py): one
  thread per core; waiting threads sleep at once when other tasks are running or waiting for a
  core as it starts, else spin about 0.1 ms first;
- `openmp default`: one thread per core, OpenMP's default wait (spins about 3 ms, then sleeps);
  genzoo leaves a user's GOMP_SPINCOUNT alone, so setting libgomp's default count reproduces it;
- `passive`: one thread per core, OMP_WAIT_POLICY=PASSIVE;
- `1 thread`: a single compute thread (passive);
- `short spin`: one thread per core, GOMP_SPINCOUNT=10000 (about 0.1 ms of spinning).

    python benchmarks/contention.py                        # writes benchmarks/results/contention.json
    python benchmarks/contention.py --loads 0              # re-measures one level, keeps the others
    python benchmarks/contention.py --policies passive     # re-measures one policy's cells
    python benchmarks/contention.py --loads 0 4 --rounds 1 --out ''   # a quick look, nothing written
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from result_files import command_line, write_result
from genzoo.threads import CHOSEN_BY_GENZOO, USER_WAIT_SETTINGS

from common import busy_processes

POLICIES = {
    "genzoo default": {},
    "openmp default": {"GOMP_SPINCOUNT": "300000"},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "1 thread": {"OMP_WAIT_POLICY": "PASSIVE", "GENZOO_BENCH_THREADS": "1"},
    "short spin": {"GOMP_SPINCOUNT": "10000"},
}
ADOPTED = "genzoo default"
MODELS = {"dcgan": tuple(POLICIES), "vae": tuple(POLICIES), "plain dcgan loop": ("openmp default", "genzoo default")}
MIN_SECONDS, MIN_STEPS, WARMUP = 8.0, 5, 3


def worker(model: str) -> None:
    """One cell, in this fresh process: print the median seconds per step as JSON."""
    import genzoo.threads
    threads = genzoo.threads.set_threads(int(os.environ["GENZOO_BENCH_THREADS"])
                                         if "GENZOO_BENCH_THREADS" in os.environ else None)
    step = plain_step() if model == "plain dcgan loop" else genzoo_step(model)
    for _ in range(WARMUP):
        step()
    times, t_end = [], time.perf_counter() + MIN_SECONDS
    while time.perf_counter() < t_end or len(times) < MIN_STEPS:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"seconds_per_step": statistics.median(times), "steps": len(times), "threads": threads,
                      "wait": genzoo.threads.thread_wait()}))


#: the cells' batch where the preset has since departed from it
STEP_SETTINGS = {"vae": {"train.batch_size": 100}}


def genzoo_step(preset: str):
    import tempfile

    from genzoo.presets import resolve
    from genzoo.training import Trainer

    cfg = resolve(preset, overrides={"data.name": "mnist5k", "train.steps": 10**6, **STEP_SETTINGS.get(preset, {})})
    trainer = Trainer(cfg, out=Path(tempfile.mkdtemp(prefix="genzoo-contention-")) / "run", hooks=[],
                      log=lambda *_: None).setup()
    return trainer.step


def plain_step():
    sys.path.insert(0, str(Path(__file__).parent))
    from reference_dcgan import trainer

    from genzoo.data import load_dataset
    return trainer(load_dataset("mnist5k", "train").x)[1]


def run_cell(model: str, policy: str) -> dict:
    env = {**{k: v for k, v in os.environ.items() if k not in (*USER_WAIT_SETTINGS, CHOSEN_BY_GENZOO)},
           **POLICIES[policy]}
    out = subprocess.run([sys.executable, __file__, "--worker", model], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def settle(load: int) -> None:
    """Wait (at most 2 minutes) until the 1-minute load average shows the busy processes: 3/4 of their number,
    or below 0.5 for an idle level, as it would on a machine that has been busy (or idle) for a while."""
    deadline = time.time() + 120
    while time.time() < deadline and not (os.getloadavg()[0] >= 0.75 * load if load else os.getloadavg()[0] < 0.5):
        time.sleep(1)


def measure_level(load: int, rounds: int, policies: list[str]) -> dict:
    """The cells of `policies` at one load level, `rounds` times interleaved, with `load` busy processes running."""
    cells = [(model, p) for model, allowed in MODELS.items() for p in allowed if p in policies]
    with busy_processes(load):
        settle(load)
        samples: dict[str, list[float]] = {}
        for _ in range(rounds):
            for model, policy in cells:
                cell = run_cell(model, policy)
                samples.setdefault(f"{model} | {policy}", []).append(cell["seconds_per_step"])
                print(f"load {load}: {model:<16} {policy:<15} {cell['seconds_per_step'] * 1000:8.1f} ms/step  "
                      f"({cell['wait']}, load average {os.getloadavg()[0]:.1f})", flush=True)
        load_average = round(os.getloadavg()[0], 2)
    made = {"load_average_1min": load_average, "command": command_line(sys.argv)}
    return {"busy_processes": load, "cells": {k: {"ms_per_step": round(1000 * statistics.median(v), 1),
                                                   "rounds": [round(1000 * x, 1) for x in v], **made}
                                              for k, v in samples.items()}}


def with_earlier_levels(path: str, levels: list[dict]) -> list[dict]:
    """The cells just measured, and those of the result file at `path` that they do not replace (of the cells
    that MODELS still names)."""
    held = json.loads(Path(path).read_text()).get("levels", []) if path and Path(path).exists() else []
    measurable = {f"{model} | {policy}" for model, policies in MODELS.items() for policy in policies}
    merged = {level["busy_processes"]: {k: v for k, v in level["cells"].items() if k in measurable} for level in held}
    for level in levels:
        merged.setdefault(level["busy_processes"], {}).update(level["cells"])
    return [{"busy_processes": n, "cells": cells} for n, cells in sorted(merged.items())]


def ms_of(level: dict) -> dict[str, float]:
    return {cell: made["ms_per_step"] for cell, made in level["cells"].items()}


def table_rows(levels: list[dict]) -> dict:
    """One row per (model, policy): its ms per step at each level (`busyN`), the load average then (`loadN`),
    and its ratio to the best policy measured at that level (`over_bestN`)."""
    rows = {}
    for level in levels:
        n, ms = level["busy_processes"], ms_of(level)
        for cell, value in ms.items():
            model, policy = cell.split(" | ")
            best = min(ms[f"{model} | {p}"] for p in MODELS[model] if f"{model} | {p}" in ms)
            rows.setdefault(cell, {"model": model, "policy": policy})
            rows[cell].update({f"busy{n}": value, f"load{n}": level["cells"][cell]["load_average_1min"],
                               f"over_best{n}": round(value / best, 2)})
    return rows


def verdicts(levels: list[dict]) -> dict:
    """The adopted policy against the best one measured at each level, per genzoo model."""
    out = {}
    for level in levels:
        ms = ms_of(level)
        for model in ("dcgan", "vae"):
            best = min(ms[f"{model} | {p}"] for p in MODELS[model] if f"{model} | {p}" in ms)
            adopted = ms.get(f"{model} | {ADOPTED}")
            if adopted is None:
                continue
            out[f"{model} at {level['busy_processes']} busy"] = {
                "adopted_ms": adopted, "best_ms": best, "adopted_over_best": round(adopted / best, 2),
                **({"adopted_over_openmp_default": round(adopted / ms[f"{model} | openmp default"], 2)}
                   if f"{model} | openmp default" in ms else {})}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loads", type=int, nargs="+", default=[0, 2, 4, 8])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--policies", nargs="+", choices=tuple(POLICIES), default=list(POLICIES),
                    help="measure only these (the file keeps the other cells)")
    ap.add_argument("--out", default="benchmarks/results/contention.json", help="'' for none")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return 0

    levels = with_earlier_levels(args.out, [measure_level(load, args.rounds, args.policies) for load in args.loads])
    commands = "; ".join(dict.fromkeys(f"`{made['command']}`" for level in levels for made in level["cells"].values()))
    result = {"benchmark": "contention", "protocol": " ".join(__doc__.split("\n\n")[1].split()).removeprefix("Protocol: "),
              "policies": POLICIES, "adopted": ADOPTED, "levels": levels, "rows": table_rows(levels),
              "verdicts": verdicts(levels), "values": {"level_commands": commands}}
    print(json.dumps(result["verdicts"], indent=1))
    if args.out:
        write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
