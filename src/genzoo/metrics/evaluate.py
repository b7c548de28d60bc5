"""High-level image evaluation: every number comes with the protocol that produced it.

evaluate_images(fake, "mnist") compares generated images with the real test split in the
feature space of genzoo's own classifier for that dataset (see features.py). real_floor("mnist")
gives the calibration table at the same sample count: real-vs-real (train samples against test
samples), the same train samples corrupted by Gaussian noise and by Gaussian blur, and uniform
noise images. A model's numbers mean something only next to that floor.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal

import torch

from ..typed import check_literal
from ._common import MetricError, as_image_float
from .classifier import class_histogram, classifier_score
from .corruptions import gaussian_blur, gaussian_noise, uniform_noise_images
from .features import FeatureExtractor, get_feature_extractor, load_splits
from .fid import frechet_distance, kid
from .prdc import prdc
from .context import dataset_classifier
from .registry import image_metrics, register_metric, value_text

if TYPE_CHECKING:
    from .context import Evaluation

#: which split of a dataset provides the real images
Split = Literal["train", "test"]
DEFAULT_NOISE_STD = 0.1
DEFAULT_BLUR_SIGMA = 1.0


def _subset(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """The first n of a seeded permutation (all of x, in order, when n >= len(x))."""
    if n >= x.shape[0]:
        return x
    g = torch.Generator().manual_seed(seed)
    return x[torch.randperm(x.shape[0], generator=g)[:n]]


#: neighbours per sample of precision/recall/density/coverage (Naeem et al. 2020: 5)
PRDC_K = 5


class ImageEvaluator:
    """Real-image statistics computed once, then any number of fake sets evaluated against them."""

    def __init__(self, dataset_name: str, *, n: int = 10000, split: Split = "test", root=None, seed: int = 0,
                 metrics=None, extractor: FeatureExtractor | None = None, cache_dir=None,
                 kid_subsets: int = 100, kid_subset_size: int = 1000, prdc_k: int = PRDC_K, cs_splits: int = 10,
                 splits=None, real_images: torch.Tensor | None = None, real_desc: str = "images given",
                 inception_n: int | None = None):
        """real_images: compare with these (uint8 or float (N, C, H, W) in the dataset's format, e.g. a folder's
        images) instead of the dataset's `split`; `real_desc` names them in the protocol. inception_n: at most
        this many fake and real images for Inception-FID (slow on a CPU; default n)."""
        metrics = image_metrics(defaults=True) if metrics is None else metrics
        bad = [m for m in metrics if m not in image_metrics()]
        if bad:
            raise MetricError(f"unknown image metric(s) {bad}; choose from {list(image_metrics())}")
        check_literal(split, Split, "split", MetricError)
        if n < 2:
            raise MetricError(f"n must be at least 2; got {n}")
        self.splits = splits if splits is not None else load_splits(dataset_name, root=root)
        self.fx = extractor or get_feature_extractor(dataset_name, root=root, cache_dir=cache_dir,
                                                     splits=self.splits)
        self.metrics, self.n, self.seed, self.split = tuple(metrics), n, seed, split
        self.inception_n = n if inception_n is None else min(n, inception_n)
        self.kid_subsets, self.kid_subset_size, self.prdc_k, self.cs_splits = (
            kid_subsets, kid_subset_size, prdc_k, cs_splits)
        pool = self.splits.test_x if split == "test" else self.splits.train_x
        self.split_desc = self.splits.test_split if split == "test" else "train split"
        if real_images is not None:
            pool, self.split_desc = real_images, real_desc
        self.real_images = _subset(pool, n, seed)
        self.real_feats = self.fx.features(self.real_images) if self._needs_features() else None

    def _needs_features(self):
        return any(m in self.metrics for m in ("fd", "kid", "prdc"))

    def protocol(self) -> dict:
        return {"dataset": self.splits.name, "source": self.splits.source, "real_split": self.split_desc,
                "n_real": int(self.real_images.shape[0]), "seed": self.seed,
                "extractor": self.fx.protocol(), "features": self.fx.describe()}

    def real_vs_real(self, n: int, seed: int | None = None) -> dict:
        """The floor a perfect model reaches against these real images: n training images (a seeded
        subset, at most the split) scored as if they were samples; real_floor's "real" row."""
        seed = self.seed if seed is None else seed
        r = self.evaluate(_subset(self.splits.train_x, n, seed + 1), seed=seed)
        r.pop("protocol")
        r.pop("timings", None)
        return r

    def evaluate(self, fake_images, *, seed: int | None = None) -> dict:
        seed = self.seed if seed is None else seed
        fake = as_image_float(fake_images, "fake_images")
        fake = fake[: self.n]
        n_fake, n_real = int(fake.shape[0]), int(self.real_images.shape[0])
        if n_fake < 2:
            raise MetricError(f"need at least 2 fake images; got {n_fake}")
        common = {"n_fake": n_fake, "n_real": n_real, "split": self.split_desc, "extractor_id": self.fx.id}
        out: dict = {"protocol": self.protocol()}
        timings = {}
        t = time.perf_counter()
        need_probs = any(m in self.metrics for m in ("cs", "classes"))
        if self._needs_features() and need_probs:
            ff, fp = self.fx.features_and_probs(fake)
        elif self._needs_features():
            ff, fp = self.fx.features(fake), None
        else:
            ff, fp = None, (self.fx.probs(fake) if need_probs else None)
        timings["features_s"] = time.perf_counter() - t
        if "fd" in self.metrics:
            t = time.perf_counter()
            out["fd"] = {"value": frechet_distance(ff, self.real_feats), **common, "features": self.fx.describe()}
            timings["fd_s"] = time.perf_counter() - t
        if "kid" in self.metrics:
            t = time.perf_counter()
            mean, std = kid(ff, self.real_feats, subsets=self.kid_subsets, subset_size=self.kid_subset_size,
                            seed=seed)
            out["kid"] = {"value": mean, "std": std, "subsets": self.kid_subsets,
                          "subset_size": min(self.kid_subset_size, n_fake, n_real),
                          "kernel": "(x.y/d + 1)^3, unbiased MMD^2", "seed": seed, **common}
            timings["kid_s"] = time.perf_counter() - t
        if "prdc" in self.metrics:
            t = time.perf_counter()
            r = prdc(self.real_feats, ff, k=self.prdc_k)
            out["prdc"] = {"precision": r.precision, "recall": r.recall, "density": r.density,
                           "coverage": r.coverage, "k": r.k, **common}
            timings["prdc_s"] = time.perf_counter() - t
        if "cs" in self.metrics:
            mean, std = classifier_score(fp, splits=min(self.cs_splits, n_fake), seed=seed)
            out["cs"] = {"value": mean, "std": std, "splits": min(self.cs_splits, n_fake), "shuffle_seed": seed,
                         "max": self.fx.num_classes, "n_fake": n_fake, "extractor_id": self.fx.id}
        if "classes" in self.metrics:
            h = class_histogram(fp, self.fx.class_probs)
            out["classes"] = {**h, "n_fake": n_fake, "extractor_id": self.fx.id,
                              "kl": "KL(predicted-class histogram || training class frequencies), nats"}
        if "inception_fid" in self.metrics:
            from .inception import inception_fid
            t = time.perf_counter()
            out["inception_fid"] = inception_fid(fake[:self.inception_n], self.real_images[:self.inception_n],
                                                 progress=True)
            timings["inception_fid_s"] = time.perf_counter() - t
        out["timings"] = {k: round(v, 3) for k, v in timings.items()}
        return out


def evaluate_images(fake_images, real_dataset_name: str, *, n: int = 10000, metrics=None, root=None,
                    seed: int = 0, split: str = "test", extractor: FeatureExtractor | None = None,
                    cache_dir=None, **kw) -> dict:
    """Evaluate generated images (N, C, H, W; uint8 or float in [0, 1]) against a real dataset.

    Uses at most n fake images (the first n) and n real images of `split` (a seeded subset).
    Returns {"protocol": {...}, "fd": {"value", "n_fake", "n_real", "split", "features", ...},
    "kid": {"value", "std", ...}, "prdc": {...}, "cs": {...}, "classes": {...}, "timings": {...}}.
    """
    ev = ImageEvaluator(real_dataset_name, n=n, split=split, root=root, seed=seed, metrics=metrics,
                        extractor=extractor, cache_dir=cache_dir, **kw)
    return ev.evaluate(fake_images)


def real_floor(dataset_name: str, n: int = 10000, *, metrics=None, root=None, seed: int = 0,
               noise_std: float = DEFAULT_NOISE_STD, blur_sigma: float = DEFAULT_BLUR_SIGMA,
               extractor: FeatureExtractor | None = None, cache_dir=None, **kw) -> dict:
    """The calibration table at sample count n, all against n real test images:

    - "real": n training images (seeded subset) - the floor a perfect model would reach;
    - "noise": the same images + N(0, noise_std^2) per pixel, clamped;
    - "blur": the same images blurred with a Gaussian of sigma blur_sigma pixels;
    - "uniform": n images of uniform noise.
    """
    ev = ImageEvaluator(dataset_name, n=n, split="test", root=root, seed=seed, metrics=metrics,
                        extractor=extractor, cache_dir=cache_dir, **kw)
    train = _subset(ev.splits.train_x, n, seed + 1)
    rows = {
        "real": (train, "real train images vs real test images"),
        "noise": (gaussian_noise(train, noise_std, seed=seed), f"train images + Gaussian noise std {noise_std}"),
        "blur": (gaussian_blur(train, blur_sigma), f"train images blurred, Gaussian sigma {blur_sigma} px"),
        "uniform": (uniform_noise_images(train.shape[0], tuple(train.shape[1:]), seed=seed),
                    "uniform noise images U(0,1)"),
    }
    table = {"protocol": {**ev.protocol(), "n": n, "noise_std": noise_std, "blur_sigma": blur_sigma}, "rows": {}}
    for name, (imgs, desc) in rows.items():
        r = ev.evaluate(imgs)
        r.pop("protocol")
        r["description"] = desc
        table["rows"][name] = r
    return table


def format_floor_table(table: dict) -> str:
    """A plain-text rendering of real_floor's result."""
    p = table["protocol"]
    lines = [f"dataset {p['dataset']} ({p['source']}), n_real {p['n_real']} from {p['real_split']}, seed {p['seed']}",
             f"features: {p['features']}",
             f"{'row':8s} {'n_fake':>6s} {'FD':>10s} {'KID':>10s} {'KIDstd':>8s} {'prec':>6s} {'rec':>6s} "
             f"{'dens':>6s} {'cov':>6s} {'CS':>6s} {'classes':>7s}"]
    for name, r in table["rows"].items():
        g = lambda m, k="value": r[m][k] if m in r else float("nan")  # noqa: E731
        nf = next((r[m]["n_fake"] for m in ("fd", "kid", "prdc", "cs", "classes") if m in r), 0)
        lines.append(f"{name:8s} {nf:6d} {g('fd'):10.4f} {g('kid'):10.5f} {g('kid', 'std'):8.5f} "
                     f"{g('prdc', 'precision'):6.3f} {g('prdc', 'recall'):6.3f} {g('prdc', 'density'):6.3f} "
                     f"{g('prdc', 'coverage'):6.3f} {g('cs'):6.2f} "
                     f"{(r['classes']['classes_covered'] if 'classes' in r else 0):7d}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- genzoo eval's image metrics

# below this many real images, FD and KID are far from their large-sample values: say so, beside the floor
SMALL_COMPARISON = 2000


def score_images(evaluator, fake: torch.Tensor, log=print, *, real_floor=None) -> dict:
    """{metric: result with its protocol} of `fake` against the evaluator's real images. The sample counts
    are printed; against fewer than SMALL_COMPARISON real images a warning says so, and each metric carries
    `real_floor`, the real-vs-real value at the same counts, the number to read it next to. real_floor(n_fake):
    that value, when the evaluator's real images are not the dataset's (default: evaluator.real_vs_real)."""
    r = evaluator.evaluate(fake)
    protocol = r.pop("protocol")
    r.pop("timings", None)
    n_fake, n_real = min(len(fake), evaluator.n), protocol["n_real"]
    real = protocol["real_split"] if real_floor else f"{protocol['real_split']} of {protocol['dataset']}"
    log(f"genzoo: comparing {n_fake} samples with {n_real} real images ({real}) in the features of genzoo's "
        f"classifier {evaluator.fx.id}")
    if n_real < SMALL_COMPARISON:
        floor = (real_floor or evaluator.real_vs_real)(n_fake)
        for name, value in r.items():
            if name in floor:
                value["real_floor"] = {k: v for k, v in floor[name].items() if isinstance(v, (int, float))}
        log(f"genzoo: warning: only {n_real} real images to compare with (fewer than {SMALL_COMPARISON}): FD and "
            f"KID are biased at this size and differ between runs; read each number next to its real-vs-real "
            f"floor at the same size (shown as 'floor'; `genzoo eval --real {protocol['dataset']} --n {n_real}` "
            "gives the whole table)")
    return {name: {**value, "protocol": protocol} for name, value in r.items()}


def _image_results(ev: Evaluation) -> dict:
    """Every requested image metric from one set of samples and one pass of the feature extractor."""
    def compute():
        t = time.time()
        fake = ev.samples(ev.n)
        wanted = tuple(m for m in image_metrics() if m in ev.metrics)
        fx = dataset_classifier(ev, ev.config.data.name)
        evaluator = ImageEvaluator(ev.config.data.name, n=ev.n, metrics=wanted, root=ev.config.data.root,
                                   seed=ev.seed, inception_n=ev.inception_n, extractor=fx)
        scores = score_images(evaluator, fake, ev.log)
        ev.log(f"genzoo: image metrics took {time.time() - t:.0f} s")
        return scores
    return ev._once("image metrics", compute)


def _register_image_metric(name: str, protocol: str, format, default: bool = True) -> None:
    register_metric(name, kinds=("image",), protocol=protocol, default=default, format=format, images=True)(
        lambda ev: _image_results(ev)[name])


_register_image_metric("fd", "Frechet distance in the features of genzoo's classifier for the dataset", value_text)
_register_image_metric("kid", "kernel inception distance (cubic kernel) in the same features", value_text)
_register_image_metric("prdc", "improved precision/recall, density/coverage (k = 5) in the same features",
                       lambda r: ", ".join(f"{k} {r[k]:.3f}" for k in ("precision", "recall", "density", "coverage")))
_register_image_metric("cs", "classifier score (the Inception Score computed with genzoo's classifier)", value_text)
_register_image_metric("classes", "histogram of the classifier's labels of the samples against the data's",
                       lambda r: f"{r['classes_covered']} classes covered, KL to data {r['kl_to_data']:.3f}")
_register_image_metric("inception_fid", "FID in the standard Inception features (needs their weights)", value_text,
                       default=False)
