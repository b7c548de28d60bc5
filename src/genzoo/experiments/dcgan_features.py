"""A trained DCGAN discriminator's features classify digits with a linear probe at least as well as
K-means features (Radford et al. 2015, sec. 5.1: features for supervised tasks).

Protocol: a fixed label budget (`labels_per_class` labelled training images per class); each
representation is fed to genzoo's linear probe (metrics.probe: standardized features, multinomial
logistic regression) and scored on the held-out split. Representations: the penultimate features
of the shared `dcgan` run's discriminator, the same discriminator at its initialization (a control:
how much comes from training), K-means triangle features (k centroids fit on all training images,
unlabelled) and raw pixels.
"""
from __future__ import annotations

import torch

import genzoo

from ..metrics import kmeans_features, linear_probe
from ..metrics.features import load_splits
from ..models import get_algorithm
from .base import (Context, Experiment, Measured, Verdict, dcgan_run, describe_run, describe_source, figure,
                   save_figure, trained_dataset)

ORDER = ("DCGAN discriminator", "K-means", "raw pixels", "untrained discriminator")


def labelled_subset(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Indices of `per_class` random examples of every class."""
    g = torch.Generator().manual_seed(seed)
    picks = [idx[torch.randperm(len(idx), generator=g)[:per_class]] for c in y.unique()
             for idx in [torch.nonzero(y == c).flatten()]]
    return torch.cat(picks)


@torch.no_grad()
def d_features(model, images: torch.Tensor) -> torch.Tensor:
    """The discriminator's penultimate features of uint8 images, in eval mode (batch-norm running statistics)."""
    model.eval()
    x = model.to_net(images.float().div(255))
    return torch.cat([model.D.features(x[i:i + 500]) for i in range(0, len(x), 500)])


def untrained_twin(loaded, seed: int):
    """The same architecture as the LoadedRun's model, at initialization (seeded like the run)."""
    torch.manual_seed(seed)
    return get_algorithm(loaded.config.algorithm)(loaded.config.model, loaded.model.data).eval()


def measure(ctx: Context) -> Measured:
    run_dir = dcgan_run(ctx)
    loaded = genzoo.load_run(run_dir)
    model = loaded.model
    s = load_splits(trained_dataset(run_dir))
    per_class, k = ctx.pick(20, 100), ctx.pick(32, 256)
    pick = labelled_subset(s.train_y, per_class, ctx.seed)
    km_train, km_test = kmeans_features(s.train_x, s.test_x, k=k, seed=ctx.seed)
    twin = untrained_twin(loaded, ctx.seed)
    reps = {"DCGAN discriminator": (d_features(model, s.train_x[pick]), d_features(model, s.test_x)),
            "K-means": (km_train[pick.numpy()], km_test),
            "raw pixels": (s.train_x[pick].flatten(1), s.test_x.flatten(1)),
            "untrained discriminator": (d_features(twin, s.train_x[pick]), d_features(twin, s.test_x))}
    accuracy = {}
    for name in ctx.bar(ORDER, "probes"):
        train_f, test_f = reps[name]
        accuracy[name] = linear_probe(train_f, s.train_y[pick], test_f, s.test_y, seed=ctx.seed)
    numbers = {"accuracy": accuracy, "labels": int(len(pick)), "per_class": per_class, "kmeans_k": k,
               "n_test": int(len(s.test_y)), "feature_dims": {n: int(r[0].shape[1]) for n, r in reps.items()}}
    protocol = {"run": describe_run(run_dir), "data": f"{s.name}: {describe_source(s.source)}; test: {s.test_split}",
                "labels": f"{per_class} per class, seed {ctx.seed}", "probe": "genzoo.metrics.linear_probe",
                "kmeans": f"genzoo.metrics.kmeans_features, k={k}, fit on all {len(s.train_y)} training images",
                "discriminator features": "DCGANDiscriminator.features (the flattened last conv block), eval mode"}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    acc = numbers["accuracy"]
    return Verdict(acc["DCGAN discriminator"] > acc["K-means"],
                   f"with {numbers['labels']} labels, the linear probe on the trained discriminator's features is "
                   f"more accurate than on K-means features (k={numbers['kmeans_k']})",
                   ", ".join(f"{n} {100 * acc[n]:.1f}%" for n in ORDER) + f" on {numbers['n_test']} test images")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(1, CLAIM, check(numbers), height=4.8)
    ax = axes[0][0]
    acc = [100 * numbers["accuracy"][n] for n in ORDER]
    ax.barh(ORDER[::-1], acc[::-1], color=["0.6", "0.6", "#ff7f0e", "#1f77b4"])
    for i, a in enumerate(acc[::-1]):
        ax.text(a + 0.3, i, f"{a:.1f}%", va="center")
    ax.set(xlabel=f"test accuracy of a linear probe, {numbers['labels']} labels (%)",
           xlim=(min(acc) - 10, 100), title="linear probe on frozen features")
    save_figure(fig, path)


CLAIM = ("A linear classifier on a trained DCGAN discriminator's features beats the same classifier on "
         "K-means features")
EXPERIMENT = Experiment("dcgan-features", CLAIM, "notes", "DCGAN: Evaluation (linear classifier on DCGAN vs "
                        "K-Means features)", measure, check, plot, uses_run="a dcgan run (unconditional, images)")
