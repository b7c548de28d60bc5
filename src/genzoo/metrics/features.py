"""genzoo's own feature extractor: a small CNN classifier trained per image dataset.

Fréchet distance, KID, precision/recall/density/coverage and the classifier score need a
feature space in which "looks like a real digit" is meaningful. Inception-v3 features are the
standard for natural images but are far from MNIST-like data (and too slow on a laptop CPU), so
genzoo trains, once per dataset, a small classifier on the dataset's training split and uses its
128-d penultimate layer as the features and its softmax as p(y|x).

Architecture (ARCH, version FX_VERSION):

    x in [0, 1], (C, H, W)  ->  2x - 1
    conv 5x5 stride 2 (C -> 32, pad 2) - ReLU
    conv 5x5 stride 2 (32 -> 64, pad 2) - ReLU
    flatten (64 * ceil(H/4) * ceil(W/4)) - dropout 0.25 - linear -> 128      <- features (pre-ReLU)
    ReLU - dropout 0.5 - linear 128 -> K                                     <- logits, probs = softmax

Features are the 128 pre-activations, standardized per dimension with the mean and std over the
training split (stored with the weights), so that FD and KID have a stable scale across datasets
(the KID kernel (x.y/d + 1)^3 assumes features of order 1). Strided convolutions, no batch norm:
batch norm's backward pass dominated CPU training time.

Training recipe (RECIPE): Adam (lr 2e-3, cosine decay to 0 over all steps), batch 128, cross
entropy, `epochs` epochs (4 by default, 8 for Fashion-MNIST and KMNIST; more on small datasets,
so that there are at least `min_steps` = 300 steps), torch.manual_seed(seed) before init and a
seeded shuffle. The accuracy on the dataset's test split is measured after training and stored
with the weights; every result's protocol line names the classifier and its accuracy (e.g.
docs/results/engine.md#eval-speed; its training time: #eval-run-speed). When
a dataset has no test split, the last 1/6 of a seeded permutation of the training split is held
out for the accuracy (and the classifier is trained on the rest); this is recorded.

Cache: <cache>/features/<dataset>-<id>.safetensors (weights) + .json (metadata), where <cache>
is $GENZOO_CACHE or ~/.cache/genzoo, or `cache_dir` itself when given. No pickle anywhere.
The id is the first 16 hex digits of sha256 over (dataset name, sha256 of the train and test
bytes, ARCH, FX_VERSION, seed, epochs actually run, recipe), so a changed dataset (e.g. the
offline mnist5k fallback of "mnist"), architecture, recipe or seed never reuses a stale extractor.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..permissions import as_umask_allows
from ._common import MetricError, as_image_float
from .classifier import ClassifierFit, accuracy as classifier_accuracy

FX_VERSION = 1
ARCH = ("2x-1 | conv5x5/2(C,32)-ReLU | conv5x5/2(32,64)-ReLU | flatten-dropout0.25-linear(64*ceil(H/4)*ceil(W/4),128)"
        "=features(pre-ReLU, standardized per dim with train-split mean/std) | ReLU-dropout0.5-linear(128,K)")
FEATURE_DIM = 128
DEFAULT_EPOCHS = 4
# Harder datasets train longer by default (4 epochs of Fashion-MNIST stay below the 90% test accuracy aimed at).
DATASET_EPOCHS = {"fashion-mnist": 8, "kmnist": 8, "cifar10": 10}
DEFAULT_MIN_STEPS = 300
RECIPE = {"optimizer": "Adam", "lr": 2e-3, "schedule": "cosine-to-0 per step", "batch_size": 128,
          "loss": "cross-entropy"}


class ClassifierNet(nn.Module):
    """The feature extractor's network (see the module docstring)."""

    def __init__(self, in_channels: int, height: int, width: int, num_classes: int):
        super().__init__()
        if height < 4 or width < 4:
            raise MetricError(f"the feature extractor needs images of at least 4x4 pixels; got {height}x{width}")
        self.shape = (in_channels, height, width)
        self.num_classes = num_classes
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(32, 64, 5, stride=2, padding=2), nn.ReLU(),
        )
        h, w = (height + 3) // 4, (width + 3) // 4   # two stride-2 convolutions: ceil(H/4)
        self.embed = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * h * w, FEATURE_DIM))
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.5), nn.Linear(FEATURE_DIM, num_classes))
        # Per-dimension standardization of the features, set from the training split after training.
        self.register_buffer("feat_mean", torch.zeros(FEATURE_DIM))
        self.register_buffer("feat_std", torch.ones(FEATURE_DIM))

    def raw_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(self.conv(x * 2.0 - 1.0))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return (self.raw_features(x) - self.feat_mean) / self.feat_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.raw_features(x))


class FeatureExtractor:
    """A trained ClassifierNet with its metadata. Batched, no_grad, eval mode."""

    def __init__(self, net: ClassifierNet, meta: dict):
        self.net, self.meta = net.eval(), meta
        self.id: str = meta["id"]
        self.dataset: str = meta["dataset"]
        self.test_accuracy, self.num_classes = float(meta["test_accuracy"]), int(meta["num_classes"])
        self.class_probs: list[float] = list(meta["class_probs"])   # the training split's class frequencies
        self.image_shape: tuple[int, int, int] = tuple(meta["image_shape"])

    def describe(self) -> str:
        m = self.meta
        src = str(m.get("source", "")).split(":")[0].split(" in /")[0]
        data = m["dataset"] if not src or src == m["dataset"] else f"{m['dataset']} [{src}]"
        return (f"genzoo-cnn-v{m['fx_version']} {m['id']} on {data} ({m['n_train']} train; "
                f"test acc {100 * m['test_accuracy']:.2f}% on {m['n_test']} {m['test_split']}; "
                f"{m['epochs']} epochs, seed {m['seed']})")

    def protocol(self) -> dict:
        """The extractor's identity, to record next to every number computed in its feature space."""
        keys = ("id", "dataset", "source", "test_accuracy", "test_split", "n_train", "n_test", "epochs", "seed",
                "arch", "fx_version")
        return {k: self.meta.get(k) for k in keys}

    def _check(self, x) -> torch.Tensor:
        x = as_image_float(x)
        if tuple(x.shape[1:]) != self.image_shape:
            raise MetricError(f"the {self.dataset} feature extractor takes images of shape (N, "
                              f"{', '.join(map(str, self.image_shape))}); got {tuple(x.shape)}")
        return x

    @torch.no_grad()
    def _batched(self, x, fn, batch_size: int) -> torch.Tensor:
        x = self._check(x)
        self.net.eval()
        outs = [fn(x[s:s + batch_size]) for s in range(0, x.shape[0], batch_size)]
        if not outs:
            return torch.empty(0, FEATURE_DIM)
        return torch.cat(outs)

    def features(self, x, *, batch_size: int = 500) -> torch.Tensor:
        """(N, 128) float32 penultimate features of images (N, C, H, W), uint8 or float in [0, 1]."""
        return self._batched(x, self.net.features, batch_size)

    def probs(self, x, *, batch_size: int = 500) -> torch.Tensor:
        """(N, K) softmax class probabilities."""
        return self._batched(x, lambda b: F.softmax(self.net(b), dim=1), batch_size)

    def features_and_probs(self, x, *, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        """Both in one pass over the images."""
        def both(b):
            raw = self.net.raw_features(b)
            f = (raw - self.net.feat_mean) / self.net.feat_std
            return torch.cat([f, F.softmax(self.net.head(raw), dim=1)], dim=1)
        out = self._batched(x, both, batch_size)
        return out[:, :FEATURE_DIM], out[:, FEATURE_DIM:]


# ----------------------------------------------------------------------------------------------
# data


@dataclass
class _Splits:
    name: str
    source: str
    train_x: torch.Tensor  # uint8 (N, C, H, W)
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    test_split: str


def _load_dataset(name, split, root):
    try:
        from ..data import load_dataset
    except ImportError as e:  # pragma: no cover - the data layer is part of genzoo
        raise MetricError(f"genzoo.data is not available ({e})") from e
    kw = {} if root is None else {"root": root}
    return load_dataset(name, split=split, **kw)


def load_splits(dataset_name: str, *, root=None, holdout_seed: int = 0) -> _Splits:
    """Train and test images (uint8) and labels of an image dataset by name, as stored (genzoo's classifier and
    the real statistics are of the dataset, not of a run); a run's own split, with its image size, channels
    and subset, is genzoo.runs.run_split's."""
    from ..errors import DataError

    tr = _load_dataset(dataset_name, "train", root)
    x = torch.as_tensor(tr.x)
    if x.ndim != 4 or x.dtype != torch.uint8:
        raise MetricError(f"the feature extractor needs an image dataset (uint8 (N, C, H, W)); "
                          f"{dataset_name!r} gives {tuple(x.shape)} {x.dtype}")
    if getattr(tr, "y", None) is None:
        raise MetricError(f"the feature extractor is a classifier and needs labels; {dataset_name!r} has none")
    y = torch.as_tensor(tr.y).long()
    name = getattr(tr, "name", dataset_name)
    source = str(getattr(tr, "source", ""))
    num_classes = int(getattr(tr, "num_classes", None) or int(y.max()) + 1)
    try:
        te = _load_dataset(dataset_name, "test", root)
    except DataError:  # a source with one split only (e.g. a folder of images)
        g = torch.Generator().manual_seed(holdout_seed)
        perm = torch.randperm(x.shape[0], generator=g)
        n_test = x.shape[0] // 6
        te_i, tr_i = perm[-n_test:], perm[:-n_test]
        return _Splits(name, source, x[tr_i], y[tr_i], x[te_i], y[te_i], num_classes,
                       f"held-out 1/6 of train (seed {holdout_seed}; no test split)")
    if getattr(te, "y", None) is None or tuple(te.x.shape[1:]) != tuple(x.shape[1:]):
        raise MetricError(f"the test split of {dataset_name!r} does not match its train split "
                          f"(images {tuple(te.x.shape)} vs {tuple(x.shape)}, labels needed)")
    return _Splits(name, source, x, y, torch.as_tensor(te.x), torch.as_tensor(te.y).long(), num_classes,
                   "test split")


def _data_hash(s: _Splits) -> str:
    h = hashlib.sha256()
    for t in (s.train_x, s.train_y, s.test_x, s.test_y):
        t = t.contiguous()
        h.update(str((tuple(t.shape), str(t.dtype))).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def effective_epochs(n_train: int, epochs: int, min_steps: int) -> int:
    """max(epochs, the epochs needed for min_steps optimizer steps of RECIPE's batch size)."""
    steps_per_epoch = max(1, math.ceil(n_train / RECIPE["batch_size"]))
    return max(int(epochs), math.ceil(int(min_steps) / steps_per_epoch))


def _extractor_id(name: str, data_hash: str, seed: int, epochs: int) -> str:
    key = json.dumps({"dataset": name, "data_sha256": data_hash, "arch": ARCH, "fx_version": FX_VERSION,
                      "seed": seed, "epochs": epochs, "recipe": RECIPE}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def default_cache_dir() -> Path:
    base = os.environ.get("GENZOO_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "genzoo") / "features"


# ----------------------------------------------------------------------------------------------
# training


class _threads:
    """Temporarily set torch's intra-op thread count (None: leave it)."""

    def __init__(self, n):
        self.n, self.old = n, None

    def __enter__(self):
        if self.n is not None and self.n != torch.get_num_threads():
            self.old = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        if self.old is not None:
            torch.set_num_threads(self.old)


def auto_threads(image_shape, device="cpu") -> int | None:
    """1 thread for tiny images on CPU (8x8 digits: the per-step work is too small to share, and on a
    busy machine idle-spinning threads cost 5-10x), else torch's default."""
    return 1 if str(device) == "cpu" and image_shape[-1] * image_shape[-2] <= 16 * 16 else None


def train_classifier(train_x: torch.Tensor, train_y: torch.Tensor, num_classes: int, *, epochs: int = DEFAULT_EPOCHS,
                     seed: int = 0, log=None, device=None, threads: int | None = None,
                     progress: bool = False) -> ClassifierNet:
    """Train a ClassifierNet with RECIPE on uint8 or [0, 1] float images. Deterministic given the seed (on CPU).

    device: "cpu", "cuda", ... (default: CUDA when available). threads: torch CPU threads during
    training (default: auto_threads). progress: a progress bar on stderr with the time left.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    x = as_image_float(train_x, "train_x")
    y = torch.as_tensor(train_y).long()
    with _threads(threads if threads is not None else auto_threads(x.shape, device.type)):
        net = _train(x, y, num_classes, epochs, seed, log, device, progress)
    return net.cpu().eval()


def _train(x, y, num_classes, epochs, seed, log, device, progress=False) -> ClassifierNet:
    from tqdm.auto import tqdm

    x, y = x.to(device), y.to(device)
    torch.manual_seed(seed)
    net = ClassifierNet(x.shape[1], x.shape[2], x.shape[3], num_classes).to(device)
    bs = RECIPE["batch_size"]
    n = x.shape[0]
    steps_per_epoch = math.ceil(n / bs)
    total = max(1, epochs * steps_per_epoch)
    fit = ClassifierFit(net, lr=RECIPE["lr"], lr_factor=lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    g = torch.Generator().manual_seed(seed)
    bar = tqdm(total=total, desc="classifier", unit="step", disable=not progress,
               file=sys.stderr, dynamic_ncols=True, leave=False)
    for ep in range(epochs):
        perm = torch.randperm(n, generator=g).to(device)
        tot_loss = 0.0
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            tot_loss += fit.step(x[idx], y[idx]) * len(idx)
            bar.update()
        if log:
            log(f"feature extractor: epoch {ep + 1}/{epochs} loss {tot_loss / n:.4f}")
    net.eval()
    with torch.no_grad():  # standardization statistics over the training split, in float64
        raw = torch.cat([net.raw_features(x[s:s + 1000]) for s in range(0, n, 1000)]).double()
        net.feat_mean.copy_(raw.mean(0))
        net.feat_std.copy_(raw.std(0).clamp_min(1e-6))
    bar.close()
    return net


@torch.no_grad()
def accuracy(net: ClassifierNet, x, y, batch_size: int = 1000) -> float:
    """The classifier's accuracy on uint8 or [0, 1] float images x with labels y."""
    return classifier_accuracy(net, as_image_float(x), torch.as_tensor(y).long(), batch_size)


# ----------------------------------------------------------------------------------------------
# cache


def _paths(cache_dir: Path, name: str, fid: str) -> tuple[Path, Path]:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return cache_dir / f"{safe}-{fid}.safetensors", cache_dir / f"{safe}-{fid}.json"


def save_extractor(fx: FeatureExtractor, cache_dir: Path) -> Path:
    from safetensors.torch import save_file

    cache_dir.mkdir(parents=True, exist_ok=True)
    wpath, mpath = _paths(cache_dir, fx.dataset, fx.id)
    state = {k: v.detach().contiguous().clone() for k, v in fx.net.state_dict().items()}
    tmp_w = wpath.with_name(wpath.name + f".{os.getpid()}.tmp")
    tmp_m = mpath.with_name(mpath.name + f".{os.getpid()}.tmp")
    save_file(state, str(tmp_w), metadata={"genzoo": "feature-extractor", "id": fx.id})
    tmp_m.write_text(json.dumps(fx.meta, indent=2, sort_keys=True))
    as_umask_allows(tmp_w)
    os.replace(tmp_w, wpath)   # weights first: a metadata file always has its weights
    os.replace(tmp_m, mpath)
    return wpath


def load_extractor(weights_path, meta_path=None) -> FeatureExtractor:
    """Load a cached extractor (safetensors + JSON); strict: missing or unexpected weights are an error."""
    from safetensors.torch import load_file

    wpath = Path(weights_path)
    mpath = Path(meta_path) if meta_path else wpath.with_suffix(".json")
    try:
        meta = json.loads(mpath.read_text())
        state = load_file(str(wpath))
        c, h, w = meta["image_shape"]
        net = ClassifierNet(c, h, w, int(meta["num_classes"]))
        net.load_state_dict(state, strict=True)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise MetricError(f"cannot load the cached feature extractor {wpath}: {e}; delete it to retrain") from e
    return FeatureExtractor(net, meta)


_MEMO: dict[tuple[str, str], FeatureExtractor] = {}


def get_feature_extractor(dataset_name: str, *, root=None, cache_dir=None, train_if_missing: bool = True,
                          epochs: int | None = None, min_steps: int = DEFAULT_MIN_STEPS, seed: int = 0,
                          verbose: bool = False, device=None, threads: int | None = None,
                          splits: _Splits | None = None, progress: bool = False) -> FeatureExtractor:
    """The feature extractor for an image dataset: from the cache, or trained (and cached) if missing.

    dataset_name: a genzoo.data name ("mnist", "fashion-mnist", "mnist5k", "digits", ...). The
    extractor is identified by the dataset *actually* loaded (e.g. "mnist5k" when "mnist" falls
    back offline), which its `.dataset` and `.describe()` report.
    cache_dir: the folder of the cached files (default $GENZOO_CACHE/features or ~/.cache/genzoo/features).
    epochs, min_steps: train for `epochs` epochs (default DATASET_EPOCHS for the dataset, else
    DEFAULT_EPOCHS = 4), or more if that is fewer than `min_steps` optimizer
    steps (small datasets: mnist5k, digits); the epochs actually run are recorded and hashed.
    device, threads: where to train if training is needed (default: CUDA if available; CPU threads
    see auto_threads). The extractor itself is returned on the CPU.
    progress: if it must be trained, say so on stderr (once, then cached) and show a progress bar.
    """
    s = splits if splits is not None else load_splits(dataset_name, root=root)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    data_hash = _data_hash(s)
    if epochs is None:
        epochs = DATASET_EPOCHS.get(s.name, DEFAULT_EPOCHS)
    epochs = effective_epochs(s.train_x.shape[0], epochs, min_steps)
    fid = _extractor_id(s.name, data_hash, seed, epochs)
    memo_key = (str(cache.resolve()), fid)
    if memo_key in _MEMO:
        return _MEMO[memo_key]
    wpath, mpath = _paths(cache, s.name, fid)
    if wpath.exists() and mpath.exists():
        fx = load_extractor(wpath, mpath)
        if fx.id != fid:
            raise MetricError(f"cached feature extractor {wpath} says id {fx.id}, expected {fid}; delete it")
        _MEMO[memo_key] = fx
        return fx
    if not train_if_missing:
        raise MetricError(f"no cached feature extractor for {s.name!r} (id {fid}) in {cache}; "
                          "call get_feature_extractor(..., train_if_missing=True) to train it (a few minutes on CPU)")
    fx = _train_and_cache(s, dataset_name, cache, fid, epochs=epochs, min_steps=min_steps, seed=seed, device=device,
                          threads=threads, verbose=verbose, progress=progress)
    _MEMO[memo_key] = fx
    return fx


def _train_and_cache(s: _Splits, dataset_name: str, cache: Path, fid: str, *, epochs: int, min_steps: int, seed: int,
                     device, threads: int | None, verbose: bool, progress: bool) -> FeatureExtractor:
    """get_feature_extractor's training: the classifier, its record, and its files in `cache`."""
    wpath, _ = _paths(cache, s.name, fid)
    log = print if verbose else None
    if progress:
        print(f"genzoo: training genzoo's classifier for {s.name} ({epochs} epoch{'s' * (epochs != 1)} of "
              f"{s.train_x.shape[0]:,} images); done once, then cached in {cache}", file=sys.stderr, flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    net = train_classifier(s.train_x, s.train_y, s.num_classes, epochs=epochs, seed=seed, log=log, device=device,
                           threads=threads, progress=progress)
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = accuracy(net, s.test_x, s.test_y)
    counts = torch.bincount(s.train_y, minlength=s.num_classes).double()
    meta = {
        "id": fid, "fx_version": FX_VERSION, "arch": ARCH, "recipe": RECIPE, "epochs": epochs,
        "min_steps": min_steps, "seed": seed,
        "dataset": s.name, "requested_dataset": dataset_name, "source": s.source, "data_sha256": _data_hash(s),
        "image_shape": list(s.train_x.shape[1:]), "num_classes": s.num_classes,
        "class_probs": (counts / counts.sum()).tolist(),
        "n_train": int(s.train_x.shape[0]), "n_test": int(s.test_x.shape[0]), "test_split": s.test_split,
        "test_accuracy": acc, "train_seconds": round(train_s, 2), "train_cpu_seconds": round(train_cpu, 2),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__, "feature_dim": FEATURE_DIM,
    }
    fx = FeatureExtractor(net, meta)
    save_extractor(fx, cache)
    if log or progress:
        print(f"genzoo: classifier {fx.describe()} trained in {train_s:.0f} s, cached as {wpath}",
              file=sys.stderr if progress else sys.stdout)
    return fx

