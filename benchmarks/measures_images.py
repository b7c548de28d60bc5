"""Image metrics of a spec's runs: the standard Inception-FID and FD in genzoo's classifier features, each
against the same fixed subset of the test images.

Settings: n_samples (samples and test images), sample_seed (samples drawn from a generator seeded
sample_seed + the run's seed), cache (where the test images' Inception features are kept).
"""
from __future__ import annotations

import fcntl
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from common import fixed_subsets
from genzoo.data import load_dataset
from genzoo.metrics.features import get_feature_extractor
from genzoo.metrics.fid import frechet_distance
from genzoo.metrics.inception import WEIGHTS_SHA1, inception_features
from measuring import Context, generate, metric


def test_images(dataset: str, n: int, root: str | None) -> torch.Tensor:
    """n test images (uint8), a fixed random subset when the split holds more."""
    return fixed_subsets(n, load_dataset(dataset, "test", root=root).x)[0]


def real_features(dataset: str, images: torch.Tensor, cache: Path) -> torch.Tensor:
    """Inception features of the test images, computed once and kept in `cache`; a second command that asks
    while the first computes them waits for its file instead of computing them again."""
    path = cache / f"inception-{WEIGHTS_SHA1[:12]}-{dataset}-{len(images)}.safetensors"
    cache.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            save_file({"features": inception_features(images).contiguous()}, path)
    return load_file(path)["features"]


def reference(ctx: Context) -> dict:
    """The test images of the run's dataset and what each metric compares with, made once per command when the
    first run of the dataset has trained (two commands side by side train while one computes them)."""
    dataset, n = ctx.planned.config().data.name, ctx.settings["n_samples"]
    key = ("test images", dataset, n, ctx.root)
    if key not in ctx.memo:
        ctx.memo[key] = {"images": test_images(dataset, n, ctx.root), "dataset": dataset}
    return ctx.memo[key]


def samples(ctx: Context) -> torch.Tensor:
    """As many samples of the run's model as the reference has test images (drawn once per run)."""
    if "samples" not in ctx.own:
        n = len(reference(ctx)["images"])
        ctx.own["samples"] = generate(ctx.model, n, ctx.settings["sample_seed"] + ctx.planned.seed)
    return ctx.own["samples"]


@metric("inception_fid")
def inception_fid(ctx: Context) -> dict:
    """FID of the samples against the test images in Inception-v3 pool features (the TF-FID weights)."""
    real = reference(ctx)
    if "inception" not in real:
        real["inception"] = real_features(real["dataset"], real["images"], Path(ctx.settings["cache"]).expanduser())
    return {"inception_fid": frechet_distance(inception_features(samples(ctx)), real["inception"])}


@metric("classifier_fd")
def classifier_fd(ctx: Context) -> dict:
    """FD of the samples against the test images in genzoo's classifier features, and the classifier's test
    accuracy (it trains on first use on each machine, so its weights differ a little from CPU to CPU)."""
    real = reference(ctx)
    if "classifier" not in real:
        real["classifier"] = get_feature_extractor(real["dataset"], root=ctx.root, verbose=True)
        real["classifier_features"] = real["classifier"].features(real["images"])
    fake = real["classifier"].features(samples(ctx))
    return {"classifier_fd": frechet_distance(fake, real["classifier_features"]),
            "classifier_test_accuracy": real["classifier"].protocol()["test_accuracy"]}
