"""The IWAE's test NLL against its CPU time of training, with Burda et al.'s learning-rate schedule: the `iwae`
preset (784-200-200 tanh, 50 latents, k = 50, batch 20, Adam 1e-3) trained with train.lr_schedule=burda (the rate
at 10^(-i/7) of 1e-3 for 3^i epochs, i = 0..7) and scored at the end of each stage, and at --until-epochs (500:
into stage 6), by the importance-sampled test NLL (k = 5000 per image, the 10,000 test images binarized once), as
the `vae_nll` spec scores.

    python benchmarks/iwae_curve.py --data-root DIR --run-dir DIR                  # train and score, stage by stage
    python benchmarks/iwae_curve.py --data-root DIR --run-dir DIR --role train &   # the same on 2 cores: scoring
    python benchmarks/iwae_curve.py --data-root DIR --run-dir DIR --role score     #   each stage beside training

A stopped command continues where it stopped: the run resumes from its latest checkpoint (`genzoo train
--resume`), each point's checkpoint is kept as its own run folder (DIR/stages/epoch-N), and scored points stay in the
result file. The CPU time of a point is the training process's, summed over the commands that trained it (work
redone after a kill from the last checkpoint counts again; checkpoints come every 30,000 steps).

Reference: Burda, Grosse & Salakhutdinov 2016, Table 1: IWAE k = 50, one stochastic layer, 84.78 nats after
3,280 epochs (stage 7's end).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

import genzoo
from common import binarized_once, load_mnist, short_cpu
from genzoo.errors import GenzooError
from genzoo.machine import cpu_name
from genzoo.training.schedule import BURDA_STAGE_ENDS as STAGE_ENDS, burda_factor, burda_stage
from measures_likelihood import test_nll
from result_files import command_line, write_result

RESULTS = "benchmarks/results/iwae_curve.json"
UNTIL_EPOCHS = 500   # into stage 6: past 4 CPU-hours on one thread of a CPU with native bf16
PAPER = {"IWAE k=50": 84.78}
SETTINGS = {"train.lr_schedule": "burda", "train.threads": 1, "train.log_every": 1000, "train.sample_every": 0,
            "train.checkpoint_every": 30000}
POLL_SECONDS = 60


def stage_folder(run_dir: Path, epochs: int) -> Path:
    """Where the run's checkpoint after `epochs` is kept, as a run folder of its own."""
    return run_dir / "stages" / f"epoch-{epochs:04d}"


def spent(run_dir: Path) -> dict:
    """The training's CPU seconds so far and at each point, and the CPUs that trained up to each point."""
    path = run_dir / "cpu-seconds.json"
    record = json.loads(path.read_text()) if path.is_file() else {}
    return {"total": 0.0, "stages": {}, "cpus": {}, "cpus_since_last_stage": [], **record}


def train_stage(run_dir: Path, epochs: int, data_root: str) -> None:
    """Train (or resume) the run to the end of the stage at `epochs` and keep that checkpoint as its own folder."""
    run, record = run_dir / "run", spent(run_dir)
    if str(epochs) in record["stages"]:
        return
    record["cpus_since_last_stage"] = sorted({*record["cpus_since_last_stage"], short_cpu(cpu_name())})
    cpu = time.process_time()
    try:
        if (run / "config.json").is_file():
            per_epoch = json.loads((run / "config.json").read_text())["steps_per_epoch"]
            genzoo.train(resume=run, steps=round(epochs * per_epoch), progress=False)
        else:
            genzoo.train("iwae", epochs=epochs, overrides={**SETTINGS, "data.root": data_root}, out=run, progress=False)
    finally:
        record["total"] += time.process_time() - cpu
        (run_dir / "cpu-seconds.json").write_text(json.dumps(record) + "\n")
    record["stages"][str(epochs)] = round(record["total"], 1)
    record["cpus"][str(epochs)], record["cpus_since_last_stage"] = " and ".join(record["cpus_since_last_stage"]), []
    keep_stage(run, stage_folder(run_dir, epochs))
    (run_dir / "cpu-seconds.json").write_text(json.dumps(record) + "\n")


def keep_stage(run: Path, folder: Path) -> None:
    """A run folder holding only the run's configuration and its latest checkpoint (genzoo.load reads it)."""
    latest = sorted((run / "checkpoints").glob("step-*.safetensors"))[-1]
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    shutil.copy2(run / "config.json", folder / "config.json")
    shutil.copy2(latest, folder / "checkpoints" / latest.name)


def score_stage(run_dir: Path, epochs: int, x_test: torch.Tensor, test_source: str, k: int) -> dict:
    """The row of one point: its epochs, steps, stage and learning rate, CPU time of training and test NLL."""
    loaded = genzoo.load_run(stage_folder(run_dir, epochs))
    record, training = json.loads((stage_folder(run_dir, epochs) / "config.json").read_text()), spent(run_dir)
    scored = test_nll(loaded.model, x_test, k, seed=1)
    last_step, per_epoch = loaded.step - 1, record["steps_per_epoch"]   # the rate of the point's last step
    stage, lr = burda_stage(last_step, per_epoch), record["config"]["model"]["optim"]["lr"] * burda_factor(last_step, per_epoch)
    return {"epochs": epochs, "steps": loaded.step, "stage": stage, "lr": round(lr, 7),
            "train_cpu_minutes": round(training["stages"][str(epochs)] / 60, 1),
            "cpu": training["cpus"][str(epochs)], "precision": record["precision"], "test": test_source,
            "command": command_line(sys.argv), **scored}


def scored_rows(path: str) -> dict:
    return json.loads(Path(path).read_text()).get("rows", {}) if path and Path(path).is_file() else {}


def score(args, stages: list[int], wait: bool) -> None:
    """Score each kept stage the result file lacks; with `wait`, until the last stage is scored."""
    _, test = load_mnist(args.data_root)
    x_test = binarized_once(test.x)[0]
    source = f"{test.source}, {len(x_test)} images, binarized once x ~ Bernoulli(intensity), torch.Generator seed 1234"
    for epochs in stages:
        while not (stage_folder(args.run_dir, epochs) / "config.json").is_file():
            if not wait:
                return
            time.sleep(POLL_SECONDS)
        if f"epoch-{epochs:04d}" in scored_rows(args.out):
            continue
        row = score_stage(args.run_dir, epochs, x_test, source, args.k)
        print(f"epoch {epochs}: test NLL {row['nll']:.2f} (se {row['nll_se']:.2f}) after "
              f"{row['train_cpu_minutes']:.1f} CPU-minutes of training", flush=True)
        if args.out:
            write_result(args.out, result({f"epoch-{epochs:04d}": row}, args.k), keep_rows=True)


def without_role(argv: list[str]) -> list[str]:
    """The command that computes the same numbers in one process: --role only splits the work."""
    kept = [a for a in argv if not a.startswith("--role=")]
    if "--role" in kept:
        i = kept.index("--role")
        del kept[i:i + 2]
    return kept


def result(rows: dict, k: int) -> dict:
    return {"benchmark": "iwae_curve", "rows": rows, "paper": PAPER,
            "protocol": "the iwae preset (784-200-200 tanh encoder and decoder, 50 latent units, objective iwae with "
                        "k = 50, batch 20, Adam 1e-3) with train.lr_schedule=burda, dynamically binarized MNIST "
                        "(60,000 training images), 1 CPU thread, the preset's precision (auto); at the end of each "
                        f"stage, the test NLL by importance sampling with k = {k} samples per image over the 10,000 "
                        "test images binarized once (seed 1234); CPU time: the training process's alone"}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", required=True, help="a folder with the MNIST IDX files")
    p.add_argument("--run-dir", type=Path, required=True, help="where the run and its stages are kept (resumed)")
    p.add_argument("--role", choices=("both", "train", "score"), default="both")
    p.add_argument("--until-epochs", type=int, default=UNTIL_EPOCHS,
                   help="the last point (the stages' ends before it are the others)")
    p.add_argument("--k", type=int, default=5000, help="importance samples per test image")
    p.add_argument("--out", default=RESULTS, help="the result file ('' for none)")
    args = p.parse_args(argv)
    sys.argv = without_role(sys.argv)   # the command each result names: --role only splits its work
    torch.set_num_threads(1)
    if not 1 <= args.until_epochs <= STAGE_ENDS[-1]:
        p.error(f"--until-epochs must be from 1 to {STAGE_ENDS[-1]} (the schedule's end), got {args.until_epochs}")
    stages = [e for e in STAGE_ENDS if e < args.until_epochs] + [args.until_epochs]
    for epochs in stages:
        if args.role != "score":
            train_stage(args.run_dir, epochs, args.data_root)
        if args.role == "both":
            score(args, [epochs], wait=False)
    if args.role == "score":
        score(args, stages, wait=True)


if __name__ == "__main__":
    try:
        main()
    except GenzooError as e:   # an interrupted run says where it stopped; the command continues from there
        raise SystemExit(f"iwae_curve: {e}") from None
