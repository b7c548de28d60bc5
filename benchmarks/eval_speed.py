"""Time genzoo's evaluation: the image metrics at 10,000 samples, and `genzoo eval RUN` of each family.

    python benchmarks/eval_speed.py            # full MNIST from $GENZOO_DATA/mnist if there, else offline
    python benchmarks/eval_speed.py --n 10000 --threads 2
    nice -n 19 python benchmarks/eval_speed.py --runs --threads 1    # `genzoo eval RUN` of each family

Image metrics: it times the whole evaluation for n = 10,000 (the extractor must already be
cached, or is trained first and not counted). The "fake" images are MNIST-like: real training
digits with Gaussian noise (std 0.1), so the numbers are realistic, not a degenerate case. Where a
split has fewer than n images (offline mnist5k: 4,500 train, 500 test) its images are drawn with
replacement to reach n, and the real side gets noise std 0.02 so that no two rows are equal:
the timing is what this measures, and it says so.

--runs: for each family's preset (RBM, DBM, VAE, IWAE, GAN, DCGAN, AAE, GAN-INT-CLS, StackGAN) it
trains a short run at the preset's own data and network (not timed: evaluation costs the same at any
step), then times `genzoo eval RUN` with its default settings (the quick protocol) as a user runs it:
a new process, every default metric that applies, with --threads torch threads. genzoo's classifiers
(the feature space of the image and caption metrics) are trained once first into a fresh cache and
that one-time cost is reported on its own row. Rows go to benchmarks/results/eval_run_speed.json
(or --runs-out).

Writes benchmarks/results/eval_speed.json (or --out; '' for none).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from result_files import write_result
from genzoo.metrics import frechet_distance, gaussian_noise, get_feature_extractor, kid, prdc
from genzoo.metrics.features import load_splits

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from metric_calibration import default_root  # noqa: E402


#: the preset timed for each family, and what makes its short run shorter still (the text encoder's own steps)
FAMILIES = {"rbm": [], "dbm": [], "vae": [], "iwae": [], "gan": [], "dcgan": [], "aae": [],
            "gan-int-cls": ["--set", "model.text.steps=20"],
            "stackgan": ["--set", "model.text.steps=20", "--set", "model.stage1_steps=25"]}


def _timed_child(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, its stdout) of a command run to completion; a failure stops the benchmark."""
    before, t = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, done.stdout


def _one_time_row(env: dict) -> dict:
    """genzoo's classifiers for MNIST (image metrics, caption reading) trained into the fresh cache, timed."""
    cached = any((Path(env["GENZOO_CACHE"]) / "features").glob("mnist-*.json"))
    code = "from genzoo.metrics import get_feature_extractor as g; print(g('mnist').describe())"
    wall, cpu, out = _timed_child([sys.executable, "-c", code], env)
    what = "already cached (not timed)" if cached else "trained once and cached"
    return {"what": f"genzoo's MNIST classifier, {what}", "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "extractor": out.strip()}


def _family_row(name: str, folder: Path, env: dict, steps: int) -> dict:
    """Train a short run of the preset (not timed), then time `genzoo eval RUN` with its defaults."""
    run = folder / name
    gz = [sys.executable, "-m", "genzoo"]
    _timed_child(gz + ["train", name, "--steps", str(steps), "--quiet", "--out", str(run)] + FAMILIES[name], env)
    wall, cpu, _ = _timed_child(gz + ["eval", str(run)], env)
    results = json.loads((run / "eval.json").read_text())
    config = json.loads((run / "config.json").read_text())
    first = next(iter(results.values()))
    return {"preset": name, "data": config["dataset"]["name"], "metrics": list(results),
            "protocol_level": first["protocol_level"], "budget": first["budget"], "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "load_average_after": [round(v, 2) for v in os.getloadavg()]}


def markdown_table(rows: dict) -> str:
    """The rows as the table of docs/howto/evaluation.md: preset, data, default metrics, wall and CPU seconds."""
    lines = ["| preset | data | metrics run by default (quick protocol) | wall | CPU |", "|---|---|---|---|---|"]
    for name, r in rows.items():
        if name != "one_time":
            lines.append(f"| `{name}` | {r['data']} | {', '.join(f'`{m}`' for m in r['metrics'])} | "
                         f"{r['wall_s']:.0f} s | {r['cpu_s']:.0f} s |")
    one = rows["one_time"]
    lines.append(f"| once per dataset | mnist | {one['what']} | {one['wall_s']:.0f} s | {one['cpu_s']:.0f} s |")
    return "\n".join(lines)


def time_runs(args) -> int:
    """--runs: the one-time classifier row, then one row per family; printed, and merged into the result file
    after each row (a long benchmark stopped part way keeps the rows it measured)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads or 1), "MKL_NUM_THREADS": str(args.threads or 1)}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        env["GENZOO_CACHE"] = args.cache_dir or str(Path(tmp) / "cache")
        rows["one_time"] = _one_time_row(env)
        print(f"{'one-time':12s} {rows['one_time']['wall_s']:7.1f} s  {rows['one_time']['what']}", flush=True)
        for name in args.families.split(","):
            rows[name] = _family_row(name, Path(tmp), env, args.steps)
            r = rows[name]
            print(f"{name:12s} {r['wall_s']:7.1f} s  (cpu {r['cpu_s']:.1f} s) on {r['data']}: "
                  f"{', '.join(r['metrics'])}", flush=True)
            _write_rows(args, rows)
    print(markdown_table(rows))
    return 0


def _write_rows(args, rows: dict) -> None:
    """Write the family rows to their own result file (--runs-out), with their protocol and how they were made."""
    from genzoo.evaluation import PROTOCOLS

    if not args.runs_out:
        return
    protocol = (
        f"`genzoo eval RUN` with its defaults (the quick protocol: {PROTOCOLS['quick']}; the paper protocol: "
        f"{PROTOCOLS['paper']}), timed as a new process with {args.threads or 1} torch thread(s) after "
        f"{args.steps} training steps of each preset at its own data; wall and CPU seconds of the process; "
        "the classifiers trained once beforehand (row one_time)")
    write_result(args.runs_out, {"benchmark": "eval_run_speed", "protocol": protocol, "rows": rows}, keep_rows=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--root", default=None)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cache-dir", default=None, help="the feature extractor's folder; with --runs: $GENZOO_CACHE "
                                                       "of the runs' processes (default: a fresh temporary one)")
    ap.add_argument("--out", default="benchmarks/results/eval_speed.json", help="the result JSON ('' for none)")
    ap.add_argument("--runs", action="store_true", help="time `genzoo eval RUN` of a short run of each family")
    ap.add_argument("--runs-out", default="benchmarks/results/eval_run_speed.json",
                    help="with --runs: the result JSON ('' for none)")
    ap.add_argument("--families", default=",".join(FAMILIES), help="with --runs: the presets to time")
    ap.add_argument("--steps", type=int, default=50, help="with --runs: training steps of each run (default 50)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    return time_runs(args) if args.runs else time_image_metrics(args)


def time_image_metrics(args) -> int:
    """FD + KID + PRDC of 10,000 noisy training digits against 10,000 test digits, stage by stage."""
    root = args.root if args.root is not None else (default_root() if args.dataset == "mnist" else None)
    splits = load_splits(args.dataset, root=root)
    fx = get_feature_extractor(args.dataset, root=root, cache_dir=args.cache_dir, splits=splits, verbose=True)

    g = torch.Generator().manual_seed(0)

    def draw(x):
        if len(x) >= args.n:
            return x[torch.randperm(len(x), generator=g)[: args.n]], False
        return x[torch.randint(len(x), (args.n,), generator=g)], True

    tr, tr_rep = draw(splits.train_x)
    fake = gaussian_noise(tr, 0.1, seed=0)
    real, te_rep = draw(splits.test_x)
    if te_rep:
        real = gaussian_noise(real, 0.02, seed=1)
    times, cpu = {}, {}

    def timed(name, fn):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times[name], cpu[name] = time.perf_counter() - t, time.process_time() - c
        return out

    ff, fr = timed("features (fake + real)", lambda: (fx.features(fake), fx.features(real)))
    fd = timed("FD", lambda: frechet_distance(ff, fr))
    kmean, kstd = timed("KID (100 x 1000)", lambda: kid(ff, fr, subsets=100, subset_size=1000, seed=0))
    r = timed("PRDC (k=5)", lambda: prdc(fr, ff, k=5))
    total, total_cpu = sum(times.values()), sum(cpu.values())

    print(f"# eval speed: {splits.name} ({splits.source})")
    rep = " (drawn with replacement: split too small)"
    print(f"# n_fake {len(fake)} (train digits + noise std 0.1){rep if tr_rep else ''}, n_real {len(real)} "
          f"({splits.test_split}{rep + ' + noise std 0.02' if te_rep else ''}); "
          f"torch threads {torch.get_num_threads()}; torch {torch.__version__}")
    print(f"# extractor: {fx.describe()}")
    print(f"{'stage':26s} {'wall s':>8s} {'cpu s':>8s}   (cpu = process CPU time, all threads)")
    for k, v in times.items():
        print(f"{k:26s} {v:8.2f} {cpu[k]:8.2f}")
    print(f"{'total':26s} {total:8.2f} {total_cpu:8.2f}")
    print(f"# load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())} "
          f"(a shared machine inflates wall time)")
    print(f"# values: FD {fd:.4f}, KID {kmean:.5f} +- {kstd:.5f}, precision {r.precision:.3f}, recall {r.recall:.3f},"
          f" density {r.density:.3f}, coverage {r.coverage:.3f}")
    if args.out:
        drawn = " (drawn with replacement: a split too small)" if tr_rep or te_rep else ""
        result = {"benchmark": "eval_speed",
                  "protocol": (f"FD + KID (100 subsets of 1,000) + PRDC (k = 5), feature extraction by {fx.describe()} "
                               f"included, {len(fake):,} training digits with Gaussian noise (std 0.1) against "
                               f"{len(real):,} test digits of {splits.name}{drawn}; "
                               f"{torch.get_num_threads()} torch thread(s); wall and process CPU seconds"),
                  "values": {"wall_s": round(total), "cpu_s": round(total_cpu),
                             "stages": {k: {"wall_s": round(v, 2), "cpu_s": round(cpu[k], 2)} for k, v in times.items()}}}
        print(f"wrote {write_result(args.out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
