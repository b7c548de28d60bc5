"""What every experiment shares: its description, the context it runs in, its verdict and figure style.

An experiment is three plain functions and a claim:

    measure(ctx) -> Measured      does the work (trains through genzoo.train, computes metrics)
    check(numbers) -> Verdict     a pure function of the numbers: does the claim hold, and by which rule
    plot(numbers, images, path)   one matplotlib figure whose title states the claim

so that a test can feed `check` numbers that contradict the claim and see `holds` false.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image

#: the lecture notes the claims come from (the course material that defines genzoo's scope)
SEEDS = {
    "huang": "Y. Huang, Deep Generative Models (Popular Machine Learning Methods, George Washington Univ., 2022)",
    "sun": "L. Sun, Deep Generative Networks (Introduction to Machine Learning CS182, ShanghaiTech, 2022)",
    "dlbook": "Chapter 20, Deep Generative Models (lecture slides on Goodfellow, Bengio & Courville's Deep Learning)",
    "notes": "Deep generative models (notes: auto-encoders, GANs, DCGAN, WGAN-GP, Gumbel-softmax GAN)",
    "nnml": "Neural Networks and Machine Learning, Generative Adversarial Networks Overview (lecture notes)",
}


@dataclass
class Verdict:
    """holds: the claim survives the numbers; rule: the tolerance it was judged by; measured: what was seen."""

    holds: bool
    rule: str
    measured: str


@dataclass
class Measured:
    """What `measure` returns: JSON numbers, the protocol that produced them, and pictures for the figure."""

    numbers: dict
    protocol: dict
    images: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    name: str
    claim: str
    seed: str                         # a key of SEEDS
    section: str                      # where in those notes
    measure: Callable[["Context"], Measured]
    check: Callable[[dict], Verdict]
    plot: Callable[[dict, dict, Path], None]
    uses_run: str = ""                # what --run RUN_DIR may supply (empty: the experiment trains nothing)

    @property
    def source(self) -> str:
        return f"{SEEDS[self.seed]}: {self.section}"


@dataclass
class Context:
    """Where and how an experiment runs. quick: the small budget (its times: docs/results/engine.md#experiment-times);
    size: a multiplier some experiments apply to their quick budget (tests pass < 1)."""

    quick: bool = False
    seed: int = 0
    run_dir: Path | None = None
    progress: bool = True
    size: float = 1.0

    def pick(self, quick, full):
        """The quick or the full value of a budget."""
        return quick if self.quick else full

    def steps(self, quick: int, full: int) -> int:
        return max(1, round(quick * self.size)) if self.quick else full

    def bar(self, iterable, desc: str, total: int | None = None):
        from tqdm.auto import tqdm
        return tqdm(iterable, desc=desc, total=total, disable=not self.progress, leave=False, dynamic_ncols=True)

    def train(self, preset: str, overrides: dict[str, Any]) -> Path:
        """The run directory of `preset` trained with `overrides` (--set keys) through genzoo.train.
        A finished run of the same configuration in the cache is reused (experiments share models);
        an unfinished one is resumed."""
        import genzoo

        from ..presets import resolve
        from ..runs import list_checkpoints

        cfg = resolve(preset, overrides=overrides)
        key = json.dumps({"preset": preset, "config": cfg.to_dict()}, sort_keys=True, default=str)
        run_dir = runs_cache_dir() / f"{preset}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
        found = list_checkpoints(run_dir / "checkpoints") if run_dir.is_dir() else []
        if found and cfg.train.steps is not None and found[-1][0] >= cfg.train.steps:
            return run_dir
        if found:
            genzoo.train(resume=run_dir, progress=self.progress)
            return run_dir
        if run_dir.exists():
            shutil.rmtree(run_dir)
        genzoo.train(preset, overrides=overrides, out=run_dir, progress=self.progress)
        return run_dir


def runs_cache_dir() -> Path:
    """$GENZOO_CACHE/experiment-runs (default ~/.cache/genzoo/experiment-runs): the runs experiments train."""
    base = os.environ.get("GENZOO_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "genzoo") / "experiment-runs"


def quiet_run_overrides(steps: int, batch_size: int, seed: int, *, checkpoint_every: int = 0,
                        keep: int = 1) -> dict[str, Any]:
    """The --set keys of a run an experiment trains: its budget, no intermediate grids, the checkpoints it reads,
    and float32 on every CPU, so that a verdict does not depend on whether the CPU has bf16 units (with bf16
    autocast the `gan` run that truncation reads lost the trend of its recall)."""
    return {"train.steps": steps, "train.batch_size": batch_size, "train.seed": seed, "train.sample_every": 0,
            "train.checkpoint_every": checkpoint_every, "train.keep_checkpoints": keep, "train.log_every": 10,
            "train.precision": "fp32"}


#: the DCGAN paper's own setting, which the image experiments test: the preset's InfoGAN layer and
#: rates on 28x28 digits, and its reuse of D's fakes and channels-last, undone
DCGAN_PAPER = {"model.nets.fc_width": 0, "model.optim.lr": 2e-4, "model.d_optim": None,
               "model.reuse_fakes": False, "train.channels_last": False}
#: WGAN-GP's own rate without an average of G, where the preset on MNIST trains faster for minutes-long runs
WGAN_GP_PAPER_RATE = {"model.optim.lr": 1e-4, "model.ema": 0.0}


def dcgan_overrides(ctx: "Context", **extra) -> dict[str, Any]:
    """The `dcgan` run the image experiments share (trained once, then reused from the cache):
    the DCGAN paper's setting on MNIST-5k (digits with --quick), width 16 (8), 1,500 steps (100) of batch 64."""
    return {**quiet_run_overrides(ctx.steps(100, 1500), 64, ctx.seed), **DCGAN_PAPER,
            "data.name": ctx.pick("digits", "mnist5k"), "model.nets.width": ctx.pick(8, 16), **extra}


def dcgan_run(ctx: "Context") -> Path:
    """--run RUN_DIR if given, else the shared `dcgan` run."""
    return ctx.run_dir or ctx.train("dcgan", dcgan_overrides(ctx))


def gan_overrides(ctx: "Context") -> dict[str, Any]:
    """The `gan` preset's run (Goodfellow et al.'s MLPs) on MNIST-5k (digits with --quick), 2,000 steps (400)
    of batch 100 (64), with 8 checkpoints, which truncation and latent-walk share."""
    steps = ctx.steps(400, 2000)
    sets = quiet_run_overrides(steps, ctx.pick(64, 100), ctx.seed, checkpoint_every=max(1, steps // 8), keep=20)
    sets.update({"model.loss": "non-saturating", "data.name": ctx.pick("digits", "mnist5k")})
    return sets


def gan_run(ctx: "Context") -> Path:
    """--run RUN_DIR if given, else the shared `gan` run."""
    return ctx.run_dir or ctx.train("gan", gan_overrides(ctx))


def features_of(dataset: str):
    """genzoo's feature extractor of `dataset` (trained once and cached)."""
    from ..metrics import get_feature_extractor
    return get_feature_extractor(dataset, min_steps=300)


def generator_seed(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def spearman(a, b) -> float:
    """Spearman's rank correlation of two sequences (NaN when either is constant)."""
    from scipy.stats import spearmanr
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


# ----------------------------------------------------------------------------- figures

FIG_WIDTH_IN, FIG_DPI = 10.0, 80      # 800 pixels wide


def figure(ncols: int, claim: str, verdict: Verdict, *, height: float = 5.2, nrows: int = 1, **kw):
    """A figure 800 px wide whose title is the claim and the verdict, with projector-size fonts."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "legend.fontsize": 10.5,
                         "xtick.labelsize": 11, "ytick.labelsize": 11})
    fig, axes = plt.subplots(nrows, ncols, figsize=(FIG_WIDTH_IN, height), dpi=FIG_DPI, squeeze=False, **kw)
    mark = "HOLDS" if verdict.holds else "DOES NOT HOLD"
    title = (textwrap.fill(f"Claim: {claim}", 100) + "\n"
             + textwrap.fill(f"[{mark}] {textwrap.shorten(verdict.measured, 200)}", 105))
    fig.suptitle(title, fontsize=12.5, color="black" if verdict.holds else "#a00000")
    return fig, axes


def save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt
    from ..safe_write import write_atomic

    def write(tmp: str) -> None:
        fig.savefig(tmp, format="png", dpi=FIG_DPI)
        with Image.open(tmp) as png:            # a 256-colour palette: a third of the bytes, no visible change
            png.convert("RGB").quantize(256).save(tmp, format="png", optimize=True)
    fig.tight_layout()
    try:   # the one writer: a temporary name of its own, never through a link, a full disk one line
        write_atomic(path, write)
    finally:
        plt.close(fig)


def show_grid(ax, grid: np.ndarray, title: str) -> None:
    """A uint8 sample grid (H, W, C) in an axis without ticks."""
    ax.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


def image_grid(images: torch.Tensor, nrow: int) -> np.ndarray:
    from ..images import make_grid
    return make_grid(images.float().clamp(0, 1), nrow=nrow, padding=1)


# ----------------------------------------------------------------------------- trained models

def describe_run(run_dir: Path) -> str:
    """A run as the protocol records it: its directory's name (the cache folder is the machine's own)."""
    return Path(run_dir).name


def describe_source(text: str) -> str:
    """A dataset's source without the file path in parentheses (which is the machine's own)."""
    return re.sub(r" \(/[^)]*\)", "", str(text))


def checkpoint_steps(run_dir: Path) -> list[int]:
    """The steps at which a run kept a checkpoint, oldest first."""
    from ..runs import list_checkpoints
    return [step for step, _ in list_checkpoints(Path(run_dir) / "checkpoints")]


def trained_dataset(run_dir: Path) -> str:
    """The dataset a run was trained on, as genzoo.data names it."""
    from ..runs import RunDir
    return RunDir.open(run_dir).record["config"]["data"]["name"]


class ImageScorer:
    """Fréchet distance of generated images to a dataset's held-out images, in the features of
    genzoo's classifier for that dataset (metrics.features): one extractor, the real statistics once."""

    def __init__(self, dataset: str, n: int):
        from ..metrics.features import load_splits
        self.fx = features_of(dataset)
        self.n = n
        self.splits = load_splits(dataset)
        self.real = self.splits.test_x[:n]
        self.real_feats = self.fx.features(self.real)

    def fd(self, images: torch.Tensor) -> float:
        from ..metrics import frechet_distance
        return frechet_distance(self.fx.features(images.clamp(0, 1)).numpy(), self.real_feats.numpy())

    def protocol(self) -> dict:
        return {"features": self.fx.describe(), "n_fake": self.n, "n_real": int(self.real.shape[0]),
                "real": f"{self.splits.name} {self.splits.test_split}"}
