"""Step time on a busy machine: which thread policy holds up when other work takes the cores.

Protocol: for each load level L (0, 2, 4 and 8 busy processes, each a Python loop that never
sleeps, started 2L seconds before the measurements of that level and kept running through them),
each (model, policy) cell runs in a fresh process: it builds the preset's trainer on the 5,000
bundled MNIST digits (no grids, no checkpoints), trains 3 warm-up steps, then times steps until
at least MIN_SECONDS have passed (and at least MIN_STEPS steps). The cells of one level are
interleaved, and the whole sweep is repeated `--rounds` times; a cell's number is the median of
its rounds. The 1-minute load average read at the end of each level is recorded beside it.

Models: `dcgan` (the main job's step), `vae`, and the plain PyTorch DCGAN loop of
benchmarks/reference_dcgan.py, under the same load. Policies (set before PyTorch is loaded):
- `openmp default`: one thread per core, OpenMP's default wait (spins about 3 ms, then sleeps);
  genzoo leaves a user's GOMP_SPINCOUNT alone, so setting libgomp's default count reproduces it;
- `passive` (genzoo's default): one thread per core, OMP_WAIT_POLICY=PASSIVE;
- `1 thread`: a single compute thread (passive);
- `short spin`: one thread per core, GOMP_SPINCOUNT=10000 (about 0.1 ms of spinning).

    python benchmarks/contention.py                        # writes benchmarks/results/contention.json
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

POLICIES = {
    "openmp default": {"GOMP_SPINCOUNT": "300000"},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "1 thread": {"OMP_WAIT_POLICY": "PASSIVE", "GENZOO_BENCH_THREADS": "1"},
    "short spin": {"GOMP_SPINCOUNT": "10000"},
}
ADOPTED = "passive"
MODELS = {"dcgan": tuple(POLICIES), "vae": tuple(POLICIES), "plain dcgan loop": ("openmp default", "passive")}
MIN_SECONDS, MIN_STEPS, WARMUP = 8.0, 5, 3
HOG = "while True: pass"


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
    print(json.dumps({"seconds_per_step": statistics.median(times), "steps": len(times), "threads": threads}))


def genzoo_step(preset: str):
    import tempfile

    from genzoo.config import resolve
    from genzoo.training import Trainer

    cfg = resolve(preset, overrides={"data.name": "mnist5k", "train.steps": 10**6})
    trainer = Trainer(cfg, out=Path(tempfile.mkdtemp(prefix="genzoo-contention-")) / "run", hooks=[],
                      log=lambda *_: None).setup()
    return trainer.step


def plain_step():
    sys.path.insert(0, str(Path(__file__).parent))
    from reference_dcgan import trainer

    from genzoo.data import load_dataset
    return trainer(load_dataset("mnist5k", "train").x)[1]


def run_cell(model: str, policy: str) -> dict:
    env = {**{k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")},
           **POLICIES[policy]}
    out = subprocess.run([sys.executable, __file__, "--worker", model], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_level(load: int, rounds: int) -> dict:
    """Every cell at one load level, `rounds` times interleaved, with `load` busy processes running."""
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(load)]
    try:
        time.sleep(2 * load)
        samples: dict[str, list[float]] = {}
        for _ in range(rounds):
            for model, policies in MODELS.items():
                for policy in policies:
                    cell = run_cell(model, policy)
                    samples.setdefault(f"{model} | {policy}", []).append(cell["seconds_per_step"])
                    print(f"load {load}: {model:<16} {policy:<15} {cell['seconds_per_step'] * 1000:8.1f} ms/step",
                          flush=True)
        load_average = round(os.getloadavg()[0], 2)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    return {"busy_processes": load, "load_average_1min": load_average,
            "ms_per_step": {k: round(1000 * statistics.median(v), 1) for k, v in samples.items()},
            "rounds": {k: [round(1000 * x, 1) for x in v] for k, v in samples.items()}}


def verdicts(levels: list[dict]) -> dict:
    """The adopted policy against the best one measured at each level, per genzoo model."""
    out = {}
    for level in levels:
        ms = level["ms_per_step"]
        for model in ("dcgan", "vae"):
            best = min(ms[f"{model} | {p}"] for p in MODELS[model])
            adopted = ms[f"{model} | {ADOPTED}"]
            out[f"{model} at {level['busy_processes']} busy"] = {
                "adopted_ms": adopted, "best_ms": best, "adopted_over_best": round(adopted / best, 2),
                "adopted_over_openmp_default": round(adopted / ms[f"{model} | openmp default"], 2)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loads", type=int, nargs="+", default=[0, 2, 4, 8])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results/contention.json", help="'' for none")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    from genzoo.bench import write_result

    levels = [measure_level(load, args.rounds) for load in args.loads]
    result = {"benchmark": "contention", "protocol": __doc__.split("\n\n")[1].replace("\n", " "),
              "policies": POLICIES, "adopted": ADOPTED, "levels": levels, "verdicts": verdicts(levels)}
    print(json.dumps(result["verdicts"], indent=1))
    if args.out:
        write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
