"""Algorithms, one file per family. Importing a file registers its algorithms."""
import importlib
import pkgutil

from .base import ALGORITHMS, Algorithm, Batch, DataSpec, Optimizers, get_algorithm, register

__all__ = ["ALGORITHMS", "Algorithm", "Batch", "DataSpec", "Optimizers", "get_algorithm", "register", "load_all"]


def load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
