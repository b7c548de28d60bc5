"""Run a benchmark spec: train each row's preset at each seed, score the runs with the row's metrics, and write
the result file (each metric's median over the seeds, and its range) that the results tables read.

    python benchmarks/run.py lucic_fid --dry-run                        # the runs, resolved, without training
    python benchmarks/run.py lucic_fid --data-root DIR                  # every row, the spec's seeds
    python benchmarks/run.py lucic_fid --rows mnist-NS-GAN --seeds 1 2 --data-root DIR
    python benchmarks/run.py vae_nll --setting k=500 --setting test_n=500 --set train.time_budget=120cpu --out ''
    python benchmarks/run.py text2image --data-root DIR --runs runs/text2image --train-only

The specs are the modules of benchmarks/specs/ (`--list` names them). A spec's row fixes the preset, the data,
the overrides, the budget, the seeds and the metrics; --set changes a config value of every run and --setting
a metric's setting (sample counts, AIS temperatures), and both show in the command written with the numbers.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import pkgutil
import re
import sys
import tempfile
import time
from pathlib import Path

import torch

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

from measures import METRICS, Context  # noqa: E402
from result_files import command_line, write_result  # noqa: E402
from spec import Spec, joined_runs, median_and_range, plan  # noqa: E402


def spec_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(BENCHMARKS / "specs")]))


def load_spec(name: str) -> Spec:
    """The SPEC of benchmarks/specs/NAME.py, or of a spec file of one's own (NAME ending in .py); an unknown
    name is refused with the names there are."""
    if name.endswith(".py") and Path(name).is_file():
        found = importlib.util.spec_from_file_location(Path(name).stem, name)
        module = importlib.util.module_from_spec(found)
        found.loader.exec_module(module)
        return module.SPEC
    if name not in spec_names():
        raise SystemExit(f"run.py: no spec {name!r}; the specs: {', '.join(spec_names())} (or a file SPEC.py)")
    return importlib.import_module(f"specs.{name}").SPEC


def parse_value(text: str):
    """A --set or --setting value as YAML reads it (numbers, booleans, null, lists), else the string."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def key_values(pairs: list[str], option: str) -> dict:
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"run.py: {option} takes KEY=VALUE, got {pair!r}")
    return {k: parse_value(v) for k, v in (pair.split("=", 1) for pair in pairs)}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("spec", nargs="?", help="a spec of benchmarks/specs/ (--list names them), or a file SPEC.py")
    p.add_argument("--list", action="store_true", help="name the specs and their rows")
    p.add_argument("--rows", nargs="+", help="the rows to run (default: every row of the spec)")
    p.add_argument("--seeds", nargs="+", type=int, help="the seeds of every row (default: each row's own)")
    p.add_argument("--data-root", help="the folder of the data files (default: genzoo's lookup, $GENZOO_DATA)")
    p.add_argument("--out", help="the result JSON (default: the spec's; '' for none)")
    p.add_argument("--runs", help="keep the run folders here (default: temporary ones); with the `genzoo.train` "
                                  "trainer a run already there is continued")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config value of every run")
    p.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE", help="a metric's setting")
    p.add_argument("--threads", type=int, help="CPU threads (default: the spec's, else torch's)")
    p.add_argument("--device", help="train.device of every run (default: the spec's, else genzoo's choice)")
    p.add_argument("--dry-run", action="store_true", help="print the runs, resolved, and stop")
    step = p.add_mutually_exclusive_group()
    step.add_argument("--train-only", action="store_true", help="train the runs into --runs, score nothing")
    step.add_argument("--score-only", action="store_true", help="score the runs already in --runs")
    return p


def list_specs() -> None:
    for name in spec_names():
        spec = load_spec(name)
        print(f"{name} -> {spec.results}: {', '.join(r.name for r in spec.rows)}")


def main(argv=None) -> dict:
    p = parser()
    args = p.parse_args(argv)
    if args.list or not args.spec:
        return list_specs() if args.list else p.error("name a spec (--list names them)")
    spec = load_spec(args.spec)
    if (args.train_only or args.score_only) and not (args.runs and spec.trainer == "genzoo.train"):
        p.error("--train-only and --score-only need --runs, the folder the runs are kept in, and a spec whose "
                f"trainer keeps checkpoints there (genzoo.train); {spec.name}'s trainer is {spec.trainer}")
    sets = {**({"train.device": args.device} if args.device else {}), **key_values(args.set, "--set")}
    settings = {**spec.settings, **key_values(args.setting, "--setting")}
    unknown = sorted(set(settings) - set(spec.settings))
    if spec.data_root is None:
        if args.data_root:
            p.error(f"{spec.name} trains on genzoo's bundled data only; it takes no --data-root")
        with tempfile.TemporaryDirectory(prefix="genzoo-bundled-data-only-") as empty:   # no data files in it
            args.data_root = empty
            return plan_and_run(p, spec, args, sets, settings, unknown)
    return plan_and_run(p, spec, args, sets, settings, unknown)


def plan_and_run(p: argparse.ArgumentParser, spec: Spec, args, sets: dict, settings: dict, unknown: list) -> dict:
    """Print the planned runs, then train and score them."""
    try:
        runs = plan(spec, args.rows, args.seeds, args.data_root, sets)
        lines = [planned.line() for planned in runs]   # resolving each config checks its values
    except (KeyError, ValueError) as e:
        raise SystemExit(f"run.py: {e.args[0] if e.args else e}") from None
    if unknown:
        p.error(f"{spec.name} has no setting {', '.join(unknown)}; its settings: {', '.join(spec.settings)}")
    print("\n".join(lines))
    if args.dry_run:
        return {}
    args.threads = args.threads or spec.threads
    if args.threads:
        torch.set_num_threads(args.threads)
    return run_all(spec, runs, settings, args)


def run_all(spec: Spec, runs, settings: dict, args) -> dict:
    """Train and score each planned run; write the result file after each row's seeds are done."""
    out = spec.results if args.out is None else args.out
    memo, records, rows = {}, {}, {}
    for planned in runs:
        ctx = Context(spec, planned, settings, run_folder(planned, runs, args.runs), args.data_root, memo)
        record = train_and_score(ctx, args)
        if record is None:
            continue
        records.setdefault(planned.row.name, []).append(record)
        if all(r.seed in {x["seed"] for x in records[planned.row.name]} for r in runs if r.row == planned.row):
            rows[planned.row.name] = finish_row(spec, planned.row, records, settings, out)
    if spec.layout == "values" and out and rows:
        print(f"wrote {write_result(out, spec.result(rows, settings, records))}")
    return rows


def run_folder(planned, runs, root: str | None) -> Path | None:
    """Where a run is kept under --runs: the row's name, with its seed when the row runs with several (its own or
    this command's), so that seeds trained by separate commands are found by the command that scores them all."""
    if root is None:
        return None
    several = len(planned.row.seeds) > 1 or len([r for r in runs if r.row == planned.row]) > 1
    return Path(root) / (f"{planned.row.name}-seed{planned.seed}" if several else planned.row.name)


def train_and_score(ctx: Context, args) -> dict | None:
    """One run's record: its seed, command, hardware, steps and training time, and its metrics' numbers."""
    from genzoo.machine import cpu_name

    hooks = [hook for name in ctx.planned.row.metrics for hook in METRICS[name].hooks(ctx)]
    spent = {} if args.score_only else train(ctx, hooks, args.threads)
    if args.train_only:
        return None
    epochs = ctx.planned.config().train.epochs
    record = {"seed": ctx.planned.seed, "command": command_line(sys.argv), "cpu": cpu_name(), **gpu_of(ctx),
              **precision_of(ctx), **spent,
              **({"epochs": epochs} if epochs else {})}
    try:
        for name in ctx.planned.row.metrics:
            record.update(METRICS[name].measure(ctx))
    finally:
        ctx.close()
    shown = {k: v for k, v in record.items() if isinstance(v, (int, float)) and k != "seed"}
    print(f"{ctx.planned.row.name} seed {ctx.planned.seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in shown.items()),
          flush=True)
    return record


def precision_of(ctx: Context) -> dict:
    """The precision the run trained in, as its trainer or config.json says ("float32", "torch.bfloat16"): what
    `auto` chose depends on the hardware, and a bf16 step computes other weights than a float32 one."""
    if ctx.trainer is not None:   # the trainer's run folder may be gone (a temporary one)
        return {"precision": str(ctx.trainer.autocast_dtype or "float32")}
    record = run_record(ctx)
    return {"precision": record["precision"]} if "precision" in record else {}


def gpu_of(ctx: Context) -> dict:
    """The GPU the run trained on: its model's, or for a run scored by a later command the one its config.json
    names ("cuda:0 (NVIDIA H200)")."""
    if ctx.run is not None:
        device = ctx.model.device
        return {"gpu": torch.cuda.get_device_name(device)} if device.type == "cuda" else {}
    named = re.fullmatch(r"cuda.*\((.+)\)", run_record(ctx).get("device", ""))
    return {"gpu": named.group(1)} if named else {}


def run_record(ctx: Context) -> dict:
    """The run folder's config.json, {} where there is none (a temporary folder already gone)."""
    from genzoo.runs import read_run_config

    folder = ctx.run.dir if ctx.run is not None else ctx.run_dir
    return read_run_config(folder) if folder is not None and (Path(folder) / "config.json").is_file() else {}


def train(ctx: Context, hooks: list, threads: int | None) -> dict:
    """Train the run (see Spec.trainer) and return its steps and the minutes it took (set-up included)."""
    import genzoo
    from common import train_timed

    planned, stop = ctx.planned, ctx.planned.row.stop
    start = latest_step(ctx.run_dir)
    cpu, wall = time.process_time(), time.perf_counter()
    if ctx.spec.trainer == "trainer":
        timed = train_timed(planned.config(), out=ctx.run_dir, stop_rules=stop.stop_rules(), hooks=hooks,
                            log=lambda *_: None)
        ctx.run, ctx.trainer = timed.run, timed.trainer
        return {"steps": timed.steps, "train_cpu_minutes": round(timed.cpu_seconds / 60, 1),
                "train_minutes": round(timed.wall_seconds / 60, 1)}   # the steps alone, set-up excluded
    elif ctx.run_dir is not None and any((ctx.run_dir / "checkpoints").glob("*")):
        ctx.run = genzoo.train(resume=ctx.run_dir, progress=False, hooks=hooks, stop_rules=stop.stop_rules())
    else:
        ctx.run_dir = ctx.run_dir or ctx.temporary_folder()   # kept until the metrics have read it
        ctx.run = genzoo.train(planned.row.preset, overrides=planned.overrides, out=ctx.run_dir, progress=False,
                               hooks=hooks, stop_rules=stop.stop_rules())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if "temporary" not in ctx.own:   # how long the run took, beside it, for a later --score-only
        record_time(ctx.run_dir, start, ctx.run.step, {"wall_seconds": wall, "cpu_seconds": cpu, "threads": threads})
    return {"steps": ctx.run.step, "train_cpu_minutes": round(cpu / 60, 1), "train_minutes": round(wall / 60, 1)}


def latest_step(run_dir: Path | None) -> int:
    """The step a run resumes from: its latest checkpoint's, 0 for a fresh run."""
    from genzoo.runs.checkpoint import list_checkpoints

    kept = list_checkpoints(run_dir / "checkpoints") if run_dir is not None else []   # [] without the folder
    return kept[-1][0] if kept else 0


def record_time(run_dir: Path, start: int, end: int, spent: dict) -> None:
    """Write the time of steps start..end to benchmark-time.json, added to the recorded time when that ended where
    this began. A run resumed past an interrupted part, whose time was never written, says from which step its
    time counts ("from_step"), so that it is not read as the whole run's."""
    path = run_dir / "benchmark-time.json"
    earlier = json.loads(path.read_text()) if path.exists() else {}
    if start and earlier.get("to_step") == start:
        spent = {**spent, "wall_seconds": spent["wall_seconds"] + earlier["wall_seconds"],
                 "cpu_seconds": spent["cpu_seconds"] + earlier["cpu_seconds"]}
        start = earlier["from_step"]
    path.write_text(json.dumps({"wall_seconds": round(spent["wall_seconds"], 1),
                                "cpu_seconds": round(spent["cpu_seconds"], 1), "threads": spent["threads"],
                                "from_step": start, "to_step": end}) + "\n")


def finish_row(spec: Spec, row, records: dict, settings: dict, out: str) -> dict:
    """The row of the result file from its runs (`records[row.name]`), joined (layout "rows") with the runs that
    the file already holds for other seeds, and written at once so that a later failure keeps it."""
    from common import with_earlier_rows

    runs = joined_runs(out, row.name, records[row.name], spec.layout) if out else records[row.name]
    made = (spec.make_row or default_row)(row, runs, settings)
    if spec.layout == "rows" and out:
        result = spec.result(with_earlier_rows(out, {row.name: made}), settings, records)
        print(f"wrote {write_result(out, result, keep_rows=True)}")
    return made


def default_row(row, runs: list[dict], settings: dict) -> dict:
    return {"preset": row.preset, "overrides": dict(row.overrides), **median_and_range(runs)}


if __name__ == "__main__":
    main(sys.argv[1:])
