"""Unsupervised clustering with an AAE on MNIST (Makhzani et al. 2015, section 6, Table 3): the test
error of its clusters, each labelled afterwards, beside the paper's 9.55 % (16 clusters) and 4.10 %
(30 clusters).

    python benchmarks/aae_cluster.py                                      # the preset, seeds 0 1 2
    python benchmarks/aae_cluster.py --clusters 30                        # the paper's second row
    python benchmarks/aae_cluster.py --seeds 0 --steps 600 --hidden 256 256   # a quick check

Run directories already under --out are continued (`genzoo train --resume`), not restarted.

Protocol (printed with the numbers):
- the `aae-cluster` preset (encoder 784-1000-1000 -> softmax over model.clusters categories + a
  10-d Gaussian style; decoder mirrored; two discriminators 1000-1000; no labels at all) trained
  by `genzoo.train` on the 60,000 MNIST training images for the preset's budget unless --steps
  or --set change it;
- scored by `genzoo eval --metrics classify` (genzoo.evaluation.evaluate_run): every test image
  takes the label of its cluster argmax_y q(y|x); a cluster's label is that of the training image
  with the largest q(y_i|x) ("exemplar": the paper's protocol, one label per cluster), or the most
  common label of the training images in it ("majority": every training label); test error on
  the 10,000 MNIST test images; mean and standard deviation (ddof 1) over the seeds.

Writes benchmarks/results/aae_cluster.json (or --out; '' for none); --run-dir keeps the runs.
"""
from __future__ import annotations

import argparse
import os
import tempfile

import torch

PAPER = {16: 9.55, 30: 4.10}


@torch.no_grad()
def discriminator_verdicts(model, x, n=5000) -> dict:
    """The categorical discriminator's mean probability of "prior" on n one-hot prior samples and on the
    codes softmax q(y|x) of the first n images of x: how far it is from the 0.5 of a matched game."""
    model.eval()
    codes = model.class_probabilities(x[:n].to(model.device))
    prior = model.categorical_prior(len(codes), generator=torch.Generator(model.device).manual_seed(0))
    return {"D_y_on_prior": torch.sigmoid(model.D_y(prior)).mean().item(),
            "D_y_on_codes": torch.sigmoid(model.D_y(codes)).mean().item()}


def cluster_result(runs: list[dict], summary: dict, cfg, args) -> dict:
    """The result file's content: the exemplar and majority rows, and the clusters' and discriminator's state."""
    def listed(key, fmt):
        return ", ".join(format(r[key], fmt) for r in runs)

    rows = {name: {"err": round(mean, 2), "sd": round(sd, 2), "seeds": listed(f"{name}_error_percent", ".2f")}
            for name, (mean, sd) in summary.items()}
    epochs = cfg.train.steps * cfg.train.batch_size / 60000
    return {"benchmark": "aae_cluster",
            "protocol": (f"the aae-cluster preset: {args.clusters} clusters, no labels, "
                         f"{'-'.join(map(str, cfg.model.hidden))} nets, {cfg.train.steps:,} steps of batch "
                         f"{cfg.train.batch_size} ({epochs:g} epochs), precision {cfg.train.precision}, seeds "
                         f"{', '.join(map(str, args.seeds))}, {args.threads} thread(s) each; clusters scored by "
                         "genzoo eval --metrics classify on the 10,000 test images"),
            "values": {"alive": listed("clusters_used", "d"), "d_prior": listed("D_y_on_prior", ".2f"),
                       "d_codes": listed("D_y_on_codes", ".2f"), "paper_percent": PAPER.get(args.clusters)},
            "rows": rows, "runs": [{k: v for k, v in r.items() if k != "run"} for r in runs]}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--clusters", type=int, default=16)
    p.add_argument("--steps", type=int, default=None, help="training steps per seed (default: the preset's)")
    p.add_argument("--hidden", type=int, nargs="+", default=None, help="widths of all nets (default: the preset's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more overrides of aae-cluster")
    p.add_argument("--data-root", help="folder with the MNIST IDX files (default: $GENZOO_DATA/mnist, else ~/.cache/genzoo/data/mnist)")
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1), help="torch threads")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (train.device)")
    p.add_argument("--run-dir", default=None, help="where the runs go (default: a temporary folder)")
    p.add_argument("--out", default="benchmarks/results/aae_cluster.json", help="the result JSON ('' for none)")
    return p


def train_and_score(seed: int, sets: dict, args, out: str, train_x):
    """One seed of `aae-cluster` trained (or resumed) and its clusters scored on the test images: its record
    and its run's configuration."""
    import genzoo
    from aae_semi import training_minutes   # this folder is on sys.path when a script here runs
    from genzoo.evaluation import evaluate_run

    run_dir = os.path.join(out, f"aae-cluster-seed{seed}")
    if os.path.isdir(os.path.join(run_dir, "checkpoints")):
        run = genzoo.train(resume=run_dir, progress=False)
    else:
        run = genzoo.train("aae-cluster", data="mnist", steps=args.steps, seed=seed, overrides=sets, out=run_dir,
                           progress=False)
    r = evaluate_run(run.dir, protocol="paper", metrics=["classify"], log=lambda *_: None)["classify"]
    record = {"seed": seed, "run": str(run.dir), "steps": run.step, "minutes": training_minutes(run.dir),
              **{k: r[k] for k in ("exemplar_error_percent", "majority_error_percent", "clusters_used")},
              **discriminator_verdicts(run.model, train_x)}
    print(f"seed {seed}: test error {r['exemplar_error_percent']:.2f} % (exemplar labels), "
          f"{r['majority_error_percent']:.2f} % (majority labels); {r['clusters_used']} of {r['clusters']} "
          f"clusters used; D_y gives prior samples {record['D_y_on_prior']:.2f} and codes "
          f"{record['D_y_on_codes']:.2f} (5,000 training images); {run.step} steps, "
          f"{record['minutes']:.1f} min of training", flush=True)
    return record, run.config


def main(argv=None) -> list[dict]:
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)

    from aae_semi import mean_std   # this folder is on sys.path when a script here runs
    from result_files import write_result
    from genzoo.presets import parse_override
    from genzoo.data import load_dataset

    out = args.run_dir or tempfile.mkdtemp(prefix="aae-cluster-")
    os.makedirs(out, exist_ok=True)
    sets = {"data.root": args.data_root, "train.sample_every": 0, "train.checkpoint_every": 1000,
            "train.device": args.device, "model.clusters": args.clusters}
    if args.hidden:
        sets.update({"model.hidden": args.hidden, "model.disc_hidden": args.hidden})
    sets.update(dict(parse_override(s) for s in args.set))

    train_x = load_dataset("mnist", "train", root=args.data_root).x.float().div(255)
    scored = [train_and_score(seed, sets, args, out, train_x) for seed in args.seeds]
    runs, cfg = [record for record, _ in scored], scored[-1][1]
    summary = {name: mean_std([r[f"{name}_error_percent"] for r in runs]) for name in ("exemplar", "majority")}
    paper = PAPER.get(args.clusters)
    print(f"AAE clustering, MNIST, {args.clusters} clusters: test error {summary['exemplar'][0]:.2f} +- "
          f"{summary['exemplar'][1]:.2f} % with exemplar labels (the paper's protocol), {summary['majority'][0]:.2f} "
          f"+- {summary['majority'][1]:.2f} % with majority labels (mean +- std over seeds {args.seeds}); paper "
          + (f"{paper:.2f} %" if paper else "(16 clusters: 9.55 %, 30: 4.10 %)"))
    print(f"  budget: {cfg.train.steps} steps x batch {cfg.train.batch_size} per seed "
          f"({cfg.train.steps * cfg.train.batch_size / 60000:.1f} epochs); nets {list(cfg.model.hidden)}; "
          f"loss {cfg.model.loss}; input noise {cfg.model.input_noise}; precision {cfg.train.precision}; "
          f"device {cfg.train.device}; {args.threads} threads")
    if args.out:
        print(f"wrote {write_result(args.out, cluster_result(runs, summary, cfg, args))}")
    return runs


if __name__ == "__main__":
    main()
