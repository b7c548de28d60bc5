"""Semi-supervised AAE on MNIST with 100 labels (test error over seeds, beside Makhzani et al.'s
1.90 +- 0.10 %), and a 2-D AAE with a 10-Gaussian mixture prior: scatter plot of the test codes.

    python benchmarks/aae_semi.py                                   # preset budgets, seeds 0 1 2
    python benchmarks/aae_semi.py --steps 600 --mixture-steps 600 --hidden 256 256   # a quick check
    python benchmarks/aae_semi.py --skip-mixture --device cuda --jobs 3 --threads 1  # 3 seeds at once on a GPU
    python benchmarks/aae_semi.py --eval-every 6                                    # with a test-error curve
    python benchmarks/aae_semi.py --preset aae-semi-augmented --skip-mixture --jobs 3 --threads 1  # genzoo's CPU recipe

Run directories already under --out are continued (`genzoo train --resume`), not restarted, so
an interrupted benchmark is picked up where it stopped.

Protocol (printed with the numbers):
- semi-supervised: the `aae-semi` preset, or --preset's (aae-semi: encoder 784-1000-1000 ->
  softmax over 10 classes + a 10-d Gaussian style; decoder mirrored; two discriminators 1000-1000;
  aae-semi-augmented: 500-500 nets, labelled images sheared and moved) trained by `genzoo.train`
  on the 60,000 MNIST training images; only `model.labels` = 100 of them are labelled: the first
  10 of each class in the run's data order (a function of train.seed, so each seed has its own
  labelled subset); each step: reconstruction, regularization (both discriminators, then the
  encoder), supervised cross-entropy on a minibatch of the 100; the preset's budget (30 epochs,
  learning rates decayed linearly to 0 over the second half) unless --steps or --set change it;
- test error: argmax_y q(y|x) vs the label on the 10,000 MNIST test images; mean and standard
  deviation (ddof 1) over the seeds. Paper (Table 2): 1.90 (+-0.10) % with 100 labels. With
  model.ema > 0, q(y|x) is the moving average of the encoder, and the same runs are also scored
  with the encoder itself (a paired comparison: the average does not change training);
- mixture: the `aae-mixture` preset (2-D codes, mixture of 10 2-D Gaussians), unsupervised; the
  codes of the 10,000 test images, coloured by class, drawn over prior samples (matplotlib Agg),
  written to <mixture run>/test-codes.png.

The semi-supervised numbers go to a row of benchmarks/results/aae_semi.json (or --out; '' for none),
named by --row (default: the preset): the mean error, its sd, each seed's error (s<seed>), its three
largest confusions (confusions_s<seed>), the budget and the command; what the row held for other
seeds, and the other rows with their commands, stay, so screens of one change per row, or one seed
per command, fill one table.
--eval-every also writes each seed's curve (e<epochs>) to a row per seed of --curve-out.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time

import torch

PAPER = {"100 labels": (1.90, 0.10), "1000 labels": (1.60, 0.08), "all labels": (0.85, 0.02)}


def predictions(model, x, averaged=True) -> torch.Tensor:
    """argmax_y q(y|x) for each row of x, on the CPU (the encoder's moving average when model.ema > 0,
    unless averaged=False)."""
    from genzoo.metrics.clustering import class_probabilities

    model.eval()
    return class_probabilities(model, x, averaged=averaged).argmax(1).cpu()


def test_error(model, x, y, averaged=True) -> float:
    """Percent of x misclassified by argmax q(y|x)."""
    from genzoo.metrics import error_percent

    return error_percent(predictions(model, x, averaged), y.cpu())


def top_confusions(read, y, k=3) -> list[tuple[int, int, int]]:
    """The k largest off-diagonal counts of the confusion matrix of labels y and predictions read:
    (true digit, read as, count)."""
    from genzoo.metrics.clustering import pair_counts

    counts = pair_counts(y, read, (10, 10))
    counts.fill_diagonal_(0)
    top = counts.flatten().topk(k)
    return [(int(i) // 10, int(i) % 10, int(c)) for c, i in zip(top.values, top.indices)]


def slant(images: torch.Tensor) -> torch.Tensor:
    """Each image's slant, -cov(column, row) / var(row) of its ink: the shear that moment deskewing
    undoes, in columns per row; > 0 when the top leans right, 0 upright. images: (N, [1,] H, W)."""
    ink = images.reshape(len(images), *images.shape[-2:]).double()
    rows = torch.arange(ink.shape[1], dtype=ink.dtype)[:, None]
    cols = torch.arange(ink.shape[2], dtype=ink.dtype)[None, :]
    w = ink / ink.sum((1, 2), keepdim=True)
    d_row = rows - (w * rows).sum((1, 2))[:, None, None]
    d_col = cols - (w * cols).sum((1, 2))[:, None, None]
    return -(w * d_row * d_col).sum((1, 2)) / (w * d_row * d_row).sum((1, 2))


def pair_slants(model, x, y, read, a, b) -> dict[str, float]:
    """Mean slant of the model's labelled a and b, and of the test a and b split by what they are read
    as: whether a pair that the classifier mixes is split by slant, like its few labelled examples."""
    def mean_slant(images):
        return round(float(slant(images).mean()), 3) if len(images) else float("nan")

    lab_x, lab_y, x, y, read = model.lab_x.cpu(), model.lab_y.cpu(), x.cpu(), y.cpu(), read.cpu()
    out = {}
    for digit in (a, b):
        out[f"labelled {digit}"] = mean_slant(lab_x[lab_y == digit])
        for as_ in (a, b):
            out[f"test {digit} read as {as_}"] = mean_slant(x[(y == digit) & (read == as_)])
    return out


def scatter_codes(model, x, y, path, prior_n=5000) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with torch.no_grad():
        z = torch.cat([model.encode_mean(x[i:i + 2000]) for i in range(0, len(x), 2000)]).cpu().numpy()
        prior = model.prior(prior_n, generator=torch.Generator().manual_seed(0)).cpu().numpy()
    fig = Figure(figsize=(7, 6.5), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(prior[:, 0], prior[:, 1], s=2, c="lightgray", label="prior samples")
    sc = ax.scatter(z[:, 0], z[:, 1], s=2, c=y.cpu().numpy(), cmap="tab10", vmin=-0.5, vmax=9.5)
    fig.colorbar(sc, ax=ax, ticks=range(10), label="digit class")
    ax.set_title(f"AAE, 10-Gaussian mixture prior (gray): codes of {len(x)} test images", fontsize=10)
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path)
    return str(path)


def seed_run_dir(out, preset, seed) -> str:
    """Where one seed's run of the preset lives under --out (trained there, or loaded from there)."""
    return os.path.join(out, f"{preset}-seed{seed}")


def train_seed(seed, sets, args, out, x_test, y_test):
    """Train one seed's run (or continue an interrupted one) to its budget and score its test error.
    With --eval-every E the run keeps a checkpoint every E epochs, and each is scored after training
    (a curve of the one run, its learning-rate decay included); each point is appended to
    <out>/curves.jsonl."""
    import genzoo
    from genzoo.presets import resolve
    from genzoo.runs.checkpoint import list_checkpoints

    run_dir = seed_run_dir(out, args.preset, seed)
    cfg = resolve(args.preset, overrides={**sets, "train.steps": args.steps} if args.steps else sets)
    every = round(args.eval_every * 60000 / cfg.train.batch_size) if args.eval_every else 0
    if every:
        sets = {**sets, "train.checkpoint_every": every, "train.keep_checkpoints": cfg.train.steps // every + 1}
    if list_checkpoints(os.path.join(run_dir, "checkpoints")):
        run = genzoo.train(resume=run_dir, progress=False)
    else:
        run = genzoo.train(args.preset, data="mnist", steps=args.steps, seed=seed, overrides=sets, out=run_dir,
                           progress=False)
    steps, device = (range(every, run.step, every) if every else ()), str(run.model.device)
    epochs = lambda step: step * cfg.train.batch_size / 60000   # noqa: E731
    curve = [score_point(genzoo.load(run_dir, step=s, device=device), seed, s, epochs(s), x_test, y_test, out)
             for s in steps]
    return run, curve + [score_point(run.model, seed, run.step, epochs(run.step), x_test, y_test, out)]


def score_point(model, seed, step, epochs, x_test, y_test, out) -> dict:
    """The test error of `model` at `step`, appended to <out>/curves.jsonl and printed."""
    x, y = x_test.to(model.device), y_test.to(model.device)
    point = {"seed": seed, "step": step, "epochs": epochs, "test_error_percent": test_error(model, x, y)}
    if model.encoder_ema is not None:   # the same run scored without the average, for a paired comparison
        point["test_error_percent_not_averaged"] = test_error(model, x, y, averaged=False)
    with open(os.path.join(out, "curves.jsonl"), "a") as f:
        f.write(json.dumps(point) + "\n")
    unaveraged = point.get("test_error_percent_not_averaged")
    print(f"seed {seed}: step {step} ({point['epochs']:.1f} epochs): test error {point['test_error_percent']:.2f} %"
          + ("" if unaveraged is None else f" (moving average of the encoder; {unaveraged:.2f} % without)"),
          flush=True)
    return point


def mean_std(values) -> tuple[float, float]:
    """Mean and standard deviation (ddof 1; 0 for a single value)."""
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def training_minutes(run_dir) -> float:
    """Wall-clock training minutes of a run, from its metrics.jsonl: every invocation (a resume, a seed's
    own process) restarts the log's clock, so the last time of each stretch is summed."""
    total = last = 0.0
    for line in open(os.path.join(run_dir, "metrics.jsonl")):
        t = json.loads(line).get("time")
        if t is None:
            continue
        if t < last:
            total += last
        last = t
    return (total + last) / 60


def read_curve(out, seed) -> list[dict]:
    """The test-error points of one seed, from every process that trained it, by step (the last write wins)."""
    path = os.path.join(out, "curves.jsonl")
    points = {}
    if os.path.exists(path):
        for line in open(path):
            p = json.loads(line)
            if p["seed"] == seed:
                points[p["step"]] = p
    return [points[k] for k in sorted(points)]


def run_seeds_in_parallel(args, argv, out) -> None:
    """Train each seed in its own process (--jobs of them at once), logging to <out>/seed<S>.log."""
    import subprocess
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    pending, running = list(args.seeds), []
    while pending or running:
        while pending and len(running) < args.jobs:
            seed = pending.pop(0)
            cmd = [sys.executable, os.path.abspath(__file__), *argv, "--seeds", str(seed), "--jobs", "1",
                   "--skip-mixture", "--run-dir", out, "--out", "", "--curve-out", ""]
            log = open(os.path.join(out, f"seed{seed}.log"), "w")
            running.append((seed, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log))
            print(f"seed {seed}: training in process {running[-1][1].pid} (log {log.name})", flush=True)
        seed, proc, log = running.pop(0)
        if proc.wait():
            raise SystemExit(f"seed {seed} failed (exit {proc.returncode}); see {log.name}")
        log.close()


def semi_row(runs: list[dict], cfg, saved: dict, threads: int) -> dict:
    """A row of the results tables: the mean test error, its sd, each seed's error and confusions, the budget
    (and with model.ema, each seed's error without the average)."""
    from common import precision_name

    mean, sd = mean_std([r["test_error_percent"] for r in runs])
    epochs = cfg.train.steps * cfg.train.batch_size / 60000
    place = saved.get("device", cfg.train.device)
    place = f"{threads} CPU thread(s) per seed" if str(place).startswith("cpu") else place
    row = {"err": round(mean, 2), "sd": round(sd, 2), "seeds": ", ".join(f"{r['test_error_percent']:.2f}" for r in runs),
           "epochs": round(epochs, 1), "steps": cfg.train.steps,
           "budget": (f"{epochs:g} epochs, {'-'.join(map(str, cfg.model.hidden))} nets, "
                      f"{statistics.mean(r['minutes'] for r in runs):.0f} min per seed on {place}, "
                      f"{precision_name(saved['precision'])}")}
    for r in runs:
        row[f"s{r['seed']}"] = round(r["test_error_percent"], 2)
        row[f"confusions_s{r['seed']}"] = ", ".join(f"{n} {a}s as {b}" for a, b, n in r["top_confusions"])
        unaveraged = error_without_average(r)
        if unaveraged is not None:   # model.ema: the same run classified by the encoder itself
            row[f"encoder_s{r['seed']}"] = round(unaveraged, 2)
    return row


def error_without_average(run: dict) -> float | None:
    """A seed's final test error from the encoder itself when model.ema averages it (else None)."""
    return run["curve"][-1].get("test_error_percent_not_averaged")


def write_semi_results(runs: list[dict], cfg, saved: dict, args) -> None:
    """--out's row (merged with what it held) and, with --eval-every, --curve-out's rows."""
    from result_files import write_result
    from genzoo.presets import parse_override

    scoring = (f"{args.labels} labels (the first {args.labels // 10} of each class in each seed's data order); "
               "test error of argmax q(y|x) on the 10,000 MNIST test images, mean ± sd over the seeds")
    protocol = f"each row: the preset and the settings its command names; {scoring}"
    if args.out:
        from common import with_earlier_rows

        earlier = json.loads(open(args.out).read()).get("rows", {}) if os.path.exists(args.out) else {}
        key = args.row or args.preset
        other_seeds = {k: v for k, v in earlier.get(key, {}).items() if re.fullmatch(r"(confusions_)?s\d+", k)}
        rows = with_earlier_rows(args.out, {key: {**other_seeds, **semi_row(runs, cfg, saved, args.threads)}})
        device = str(saved.get("device", "cpu")).split()[0]   # "cuda:0 (NVIDIA H100)": the file names the GPU
        result = {"benchmark": "aae_semi", "protocol": protocol, "rows": rows}
        print(f"wrote {write_result(args.out, result, device=device, keep_rows=True)}")
    if args.eval_every and args.curve_out:
        rows = {str(r["seed"]): {f"e{p['epochs']:g}": round(p["test_error_percent"], 2) for p in r["curve"]}
                for r in runs}
        overrides = dict(parse_override(s) for s in args.set) or "none"
        curve = {"benchmark": "aae_semi", "protocol": f"the {args.preset} preset with overrides {overrides}; "
                                                      f"{scoring}; scored every {args.eval_every:g} epochs",
                 "rows": rows}
        print(f"wrote {write_result(args.curve_out, curve)}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="aae-semi", help="a semi-supervised AAE preset (model.mode=semi)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--labels", type=int, default=100)
    p.add_argument("--steps", type=int, default=None, help="semi-supervised steps per seed (default: preset)")
    p.add_argument("--mixture-steps", type=int, default=None, help="mixture-prior steps (default: preset)")
    p.add_argument("--hidden", type=int, nargs="+", default=None, help="widths of all nets (default: preset's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more overrides of the preset")
    p.add_argument("--skip-semi", action="store_true")
    p.add_argument("--skip-mixture", action="store_true")
    p.add_argument("--data-root", help="folder with the MNIST IDX files (default: $GENZOO_DATA/mnist, else ~/.cache/genzoo/data/mnist)")
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1), help="torch threads per process")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (train.device of every run)")
    p.add_argument("--jobs", type=int, default=1, help="seeds trained at once, each in its own process")
    p.add_argument("--eval-every", type=float, default=0, metavar="EPOCHS",
                   help="also score the test error every EPOCHS epochs (a learning-rate curve per seed)")
    p.add_argument("--run-dir", default=None, help="where the runs go (default: a temporary folder)")
    p.add_argument("--out", default="benchmarks/results/aae_semi.json", help="the result JSON ('' for none)")
    p.add_argument("--row", default=None, help="the row of --out the numbers go to (default: the preset's name)")
    p.add_argument("--curve-out", default="benchmarks/results/aae_semi_curve.json",
                   help="with --eval-every: the result JSON of the curves ('' for none)")
    return p


def check_preset(args) -> None:
    """End the command with one line unless --preset names a semi-supervised AAE (or the semi part is skipped)."""
    from genzoo.errors import ConfigError
    from genzoo.presets import resolve

    try:
        mode = getattr(resolve(args.preset).model, "mode", None)
    except ConfigError as e:
        raise SystemExit(f"--preset: {e}") from None
    if not args.skip_semi and mode != "semi":
        raise SystemExit(f"--preset {args.preset} is not a semi-supervised AAE (model.mode=semi): use aae-semi or "
                         f"aae-semi-augmented")


def seed_record(seed: int, run_dir: str, model, out, x_test, y_test) -> dict:
    """A trained seed's test error, training time, confusions and the slants of its most confused pair."""
    curve = read_curve(out, seed)
    err, minutes, labelled = curve[-1]["test_error_percent"], training_minutes(run_dir), model.lab_count.tolist()
    read = predictions(model, x_test)
    record = {"seed": seed, "test_error_percent": err, "run": run_dir, "minutes": minutes,
              "labelled_per_class": labelled, "curve": curve, "top_confusions": top_confusions(read, y_test)}
    a, b, _ = record["top_confusions"][0]
    record["slants"] = pair_slants(model, x_test, y_test, read, a, b)
    print(f"seed {seed}: test error {err:.2f} % ({curve[-1]['step']} steps, {minutes:.1f} min of training, "
          f"labelled per class {labelled}); most confused (digit, read as, count): "
          f"{record['top_confusions']}; mean slant (columns per row, > 0: leaning right) of "
          f"the most confused pair: {record['slants']}", flush=True)
    return record


def print_semi_summary(args, runs: list[dict], cfg, saved: dict) -> tuple[float, float]:
    """Print the seeds' mean test error (and without the encoder's average) and the budget; return mean, std."""
    mean, std = mean_std([r["test_error_percent"] for r in runs])
    unaveraged = [error_without_average(r) for r in runs]
    print(f"semi-supervised AAE ({args.preset}), MNIST, {args.labels} labels: test error {mean:.2f} +- {std:.2f} % "
          f"(mean +- std over seeds {args.seeds}); paper 1.90 +- 0.10 %")
    if None not in unaveraged:
        plain_mean, plain_std = mean_std(unaveraged)
        print(f"  classified by the moving average of the encoder (model.ema {cfg.model.ema}); the same runs "
              f"without it: {plain_mean:.2f} +- {plain_std:.2f} % ({', '.join(f'{e:.2f}' for e in unaveraged)})")
    print(f"  budget: {cfg.train.steps} steps x batch {cfg.train.batch_size} per seed "
          f"({cfg.train.steps * cfg.train.batch_size / 60000:.1f} epochs); nets {list(cfg.model.hidden)}; "
          f"loss {cfg.model.loss}; norm {cfg.model.norm}; input noise {cfg.model.input_noise}; labelled "
          f"images sheared {cfg.model.label_shear}, moved {cfg.model.label_shift} px; "
          f"train.lr_decay {cfg.train.lr_decay}; "
          f"precision {saved['precision']} ({cfg.train.precision}) on {saved.get('device', cfg.train.device)}")
    return mean, std


def semi_part(args, argv, out, base: dict, x_test, y_test) -> dict:
    """Train (or collect) each seed of the semi-supervised preset, score it, print and write the table."""
    import genzoo
    from genzoo.presets import build_config, parse_override
    from genzoo.runs import read_run_config

    sets = {**base, "model.labels": args.labels, **dict(parse_override(s) for s in args.set)}
    if args.jobs > 1:   # each seed trained and scored in a process of its own; the loop below collects them
        run_seeds_in_parallel(args, argv, out)
    runs = []
    for seed in args.seeds:
        if args.jobs > 1:
            run_dir = seed_run_dir(out, args.preset, seed)
            model = genzoo.load(run_dir)
        else:
            run, _ = train_seed(seed, sets, args, out, x_test, y_test)
            run_dir, model = str(run.dir), run.model
        runs.append(seed_record(seed, run_dir, model, out, x_test, y_test))
    saved = read_run_config(runs[0]["run"])   # the run's config, and what train.precision resolved to here
    cfg = build_config(saved["config"])
    mean, std = print_semi_summary(args, runs, cfg, saved)
    write_semi_results(runs, cfg, saved, args)
    return {"labels": args.labels, "mean_percent": mean, "std_percent": std, "runs": runs,
            "config": cfg.to_dict(), "device": saved.get("device"), "environment": saved["environment"]}


def mixture_part(args, out, base: dict, x_test, y_test) -> dict:
    """The mixture-of-10-Gaussians AAE with 2-D codes, trained (or resumed) and its test codes plotted."""
    import genzoo

    t = time.time()
    run_dir = os.path.join(out, "aae-mixture")
    if os.path.isdir(os.path.join(run_dir, "checkpoints")):
        run = genzoo.train(resume=run_dir, progress=False)
    else:
        run = genzoo.train("aae-mixture", data="mnist", steps=args.mixture_steps, overrides=base, out=run_dir,
                           progress=False)
    path = scatter_codes(run.model.eval(), x_test.to(run.model.device), y_test, run.dir / "test-codes.png")
    print(f"mixture-of-10-Gaussians AAE (2-D codes, {run.step} steps, {(time.time() - t) / 60:.1f} min): "
          f"test codes plotted in {path}")
    return {"plot": path, "run": str(run.dir), "steps": run.step}


def main(argv=None) -> dict:
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    from genzoo.data import load_dataset

    check_preset(args)
    out = args.run_dir or tempfile.mkdtemp(prefix="aae-semi-")
    os.makedirs(out, exist_ok=True)
    test = load_dataset("mnist", "test", root=args.data_root)
    x_test, y_test = test.x.float().div(255), test.y.long()
    print(f"data: {test.source}; test {len(test)} images")
    base = {"data.root": args.data_root, "train.sample_every": 0, "train.checkpoint_every": 1000,
            "train.device": args.device}
    if args.hidden:
        base.update({"model.hidden": args.hidden, "model.disc_hidden": args.hidden})
    result = {"paper_percent": PAPER, "target": "<= 2.5 % with 100 labels"}
    if not args.skip_semi:
        result["semi"] = semi_part(args, argv, out, base, x_test, y_test)
    if not args.skip_mixture:
        result["mixture"] = mixture_part(args, out, base, x_test, y_test)
    return result


if __name__ == "__main__":
    main()
