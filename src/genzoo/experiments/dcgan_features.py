"""With the paper's 1,000 labels, a linear classifier on a trained DCGAN discriminator's features beats
one on K-means features and one on the same discriminator untrained (Radford et al. 2015, sec. 5.1:
DCGANs as feature extractors, whose SVHN experiment has 1,000 labels).

Protocol, after the paper: the discriminator's features are every conv layer's activations
max-pooled to a 4x4 map, flattened and joined (DCGANDiscriminator.pooled_features); the K-means
baseline is the triangle encoding (Coates, Lee & Ng 2011) of 256 centroids of whole images fit on
all training images (the paper's baseline clusters image patches). A label budget of 100 labelled
training images per class (the paper's 1,000 SVHN labels) and one of 10 per class is drawn 5 times;
each representation is fed to genzoo's linear probe (metrics.probe: standardized features,
multinomial logistic regression) and scored on the held-out split. Beside them: the same
discriminator at its initialization (how much comes from training), raw pixels, and in the full form
the paper's SVHN baseline in spirit, a CNN trained with supervision on the same labels (genzoo's
classifier net, metrics.features.train_classifier, at least 300 steps).
The rule is judged at 100 labels per class, on the means over the draws; at 10 per class the lead
over K-means is within the spread of the label draws, so that budget is drawn, not judged.
The full form trains the paper's setting (Adam 2e-4, 3,000 steps); the quick form trains 750 steps
at 5e-4, which reaches features as good in a quarter of the steps.
"""
from __future__ import annotations

import numpy as np
import torch

import genzoo

from ..finetune import labelled_subset
from ..metrics import kmeans_features, linear_probe
from ..metrics.features import (DEFAULT_EPOCHS, DEFAULT_MIN_STEPS, accuracy, effective_epochs, load_splits,
                                train_classifier)
from ..models import get_algorithm
from .base import (Context, Experiment, Measured, Verdict, dcgan_overrides, describe_run, describe_source, figure,
                   save_figure, trained_dataset)

ORDER = ("DCGAN discriminator", "K-means", "untrained discriminator", "supervised CNN", "raw pixels")
PER_CLASS = (100, 10)      # labelled images per class; the rule is judged at the first


@torch.no_grad()
def d_features(model, images: torch.Tensor) -> torch.Tensor:
    """The discriminator's pooled features of uint8 images, in eval mode (batch-norm running statistics)."""
    model.eval()
    x = model.to_net(images.float().div(255))
    return torch.cat([model.D.pooled_features(x[i:i + 500]) for i in range(0, len(x), 500)])


def untrained_twin(loaded, seed: int):
    """The same architecture as the LoadedRun's model, at initialization (seeded like the run)."""
    torch.manual_seed(seed)
    return get_algorithm(loaded.config.algorithm)(loaded.config.model, loaded.model.data).eval()


def features_overrides(ctx: Context) -> dict:
    """The `dcgan` run this experiment trains: the image experiments' DCGAN, wider and longer; the quick
    form at 2.5 times the paper's rate."""
    return dcgan_overrides(ctx, **{"data.name": "mnist5k", "model.nets.width": 32,
                                   "train.steps": ctx.steps(750, 3000), "model.optim.lr": ctx.pick(5e-4, 2e-4)})


def _representations(ctx: Context, run_dir, s) -> dict:
    """(train, test) features of every representation that a linear probe reads."""
    loaded = genzoo.load_run(run_dir)
    twin = untrained_twin(loaded, ctx.seed)
    km_train, km_test = kmeans_features(s.train_x, s.test_x, k=256, seed=ctx.seed)
    return {"DCGAN discriminator": (d_features(loaded.model, s.train_x), d_features(loaded.model, s.test_x)),
            "K-means": (torch.from_numpy(km_train), torch.from_numpy(km_test)),
            "untrained discriminator": (d_features(twin, s.train_x), d_features(twin, s.test_x)),
            "raw pixels": (s.train_x.flatten(1).float(), s.test_x.flatten(1).float())}


def _supervised(s, pick: torch.Tensor, num_classes: int, seed: int) -> float:
    epochs = effective_epochs(len(pick), DEFAULT_EPOCHS, DEFAULT_MIN_STEPS)
    net = train_classifier(s.train_x[pick], s.train_y[pick], num_classes, epochs=epochs, seed=seed)
    return accuracy(net, s.test_x, s.test_y)


def measure(ctx: Context) -> Measured:
    run_dir = ctx.run_dir or ctx.train("dcgan", features_overrides(ctx))
    s = load_splits(trained_dataset(run_dir))
    reps = _representations(ctx, run_dir, s)
    num_classes, draws = int(s.train_y.max()) + 1, 5
    names = [n for n in ORDER if n != "supervised CNN" or not ctx.quick]
    accuracy_by_budget = {}
    for per_class in PER_CLASS:
        runs = {name: [] for name in names}
        for draw in ctx.bar(range(draws), f"{per_class} labels per class"):
            pick = labelled_subset(s.train_y, per_class * num_classes, ctx.seed + draw)
            for name, (train_f, test_f) in reps.items():
                runs[name].append(linear_probe(train_f[pick], s.train_y[pick], test_f, s.test_y, seed=ctx.seed))
            if "supervised CNN" in runs:
                runs["supervised CNN"].append(_supervised(s, pick, num_classes, ctx.seed + draw))
        accuracy_by_budget[str(per_class)] = runs
    numbers = {"accuracy": accuracy_by_budget, "draws": draws, "n_test": int(len(s.test_y)),
               "feature_dims": {n: int(r[0].shape[1]) for n, r in reps.items()}}
    protocol = {"run": describe_run(run_dir), "data": f"{s.name}: {describe_source(s.source)}; test: {s.test_split}",
                "overrides": features_overrides(ctx) if ctx.run_dir is None else "the run given by --run",
                "labels": f"{PER_CLASS} per class, {draws} draws (seeds {ctx.seed} to {ctx.seed + draws - 1})",
                "probe": "genzoo.metrics.linear_probe",
                "kmeans": "genzoo.metrics.kmeans_features, k=256, fit on all training images",
                "discriminator features": "DCGANDiscriminator.pooled_features (every conv layer max-pooled to "
                                          "4x4), eval mode",
                "supervised CNN": "genzoo.metrics.features.train_classifier on the labelled images"
                                  if not ctx.quick else "full form only"}
    return Measured(numbers, protocol)


def means(numbers: dict, per_class: int) -> dict:
    return {name: float(np.mean(v)) for name, v in numbers["accuracy"][str(per_class)].items()}


def check(numbers: dict) -> Verdict:
    m = means(numbers, PER_CLASS[0])
    d = m["DCGAN discriminator"]
    return Verdict(d > m["K-means"] and d > m["untrained discriminator"],
                   f"with {PER_CLASS[0]} labels per class (the paper's 1,000 labels), the mean over "
                   f"{numbers['draws']} label draws of the linear probe's accuracy on the trained discriminator's features is above that on K-means features and "
                   f"on the untrained discriminator's",
                   "; ".join(f"{k} per class: " + ", ".join(f"{n} {100 * v:.1f}%" for n, v in means(numbers, k).items())
                             for k in PER_CLASS) + f" (means over {numbers['draws']} draws, {numbers['n_test']} "
                                                   f"test images)")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(len(PER_CLASS), CLAIM, check(numbers), height=4.8, sharey=True)
    colors = {"DCGAN discriminator": "#1f77b4", "K-means": "#ff7f0e"}
    for ax, per_class in zip(axes[0], PER_CLASS):
        runs = numbers["accuracy"][str(per_class)]
        names = [n for n in ORDER if n in runs]
        acc = [100 * np.array(runs[n]) for n in names]
        mean = [a.mean() for a in acc]
        spread = np.array([[m - a.min(), a.max() - m] for m, a in zip(mean, acc)]).T
        ax.barh(names[::-1], mean[::-1], xerr=spread[:, ::-1], color=[colors.get(n, "0.6") for n in names[::-1]])
        for i, value in enumerate(mean[::-1]):
            ax.text(value + 0.6, i + 0.25, f"{value:.1f}%")
        judged = "judged" if per_class == PER_CLASS[0] else "drawn, not judged"
        ax.set(xlim=(min(mean) - 15, 100), title=f"{per_class} labels per class ({judged})")
    axes[0][0].set_xlabel("test accuracy (%): bars the mean, lines min to max over draws", loc="left")
    save_figure(fig, path)


CLAIM = ("With the paper's 1,000 labels, a linear classifier on a trained DCGAN discriminator's features beats the "
         "same classifier on K-means features")
EXPERIMENT = Experiment("dcgan-features", CLAIM, "notes", "DCGAN: Evaluation (linear classifier on DCGAN vs "
                        "K-Means features)", measure, check, plot, uses_run="a dcgan run (unconditional, images)")
