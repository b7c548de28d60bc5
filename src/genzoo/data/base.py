"""The dataset type, the registry of sources and `load_dataset`, the one entry point.

Every source (one file each: mnist.py, cifar.py, toy.py, ...) registers a loader here with
`register(info, loader)`. A loader receives a `Request` and returns a `Dataset` at its native
size; `load_dataset` then applies what is common to every image source (subset, channels,
image size), so no source repeats that code.
"""
from __future__ import annotations

import difflib
import os
import pathlib
from dataclasses import dataclass
from typing import Callable

import torch

from ..errors import DataError

SPLITS = ("train", "test")


@dataclass(repr=False)
class Dataset:
    """A whole split held in memory as tensors (small data sets; no per-sample Python work).

    name: the canonical name that was requested ("mnist"), even when a fallback was used.
    source: what was really used, for people and for the run record.
    kind: "image" -> x is uint8 (N, C, H, W) in 0..255; "points" -> x is float32 (N, D).
      The two-domain kinds of image-to-image translation (translation.py) hold uint8
      (N, 2, C, H, W) in 0..255, x[:, 0] the images of domain A, x[:, 1] those of domain B:
      "pair" -> aligned: x[i, 1] is the translation of x[i, 0] (pix2pix: input A, target B);
      "unpaired" -> the same storage, but x[i, 0] and x[i, 1] are independent images of the two
      domains, side by side only so the data batch and shuffle like any other; a model must
      not use the pairing (CycleGAN).
    y: int64 (N,) labels (the mode index for toy mixtures; for the two-domain kinds, the labels
      of the A images) or None.
    notice: set when a fallback or a reduction happened; the CLI prints it, the run records it.
    """

    name: str
    source: str
    split: str
    kind: str
    x: torch.Tensor
    y: torch.Tensor | None
    num_classes: int | None
    notice: str | None = None
    class_names: list[str] | None = None
    used_name: str | None = None  # the dataset really loaded when a fallback replaced `name` (e.g. "mnist5k")

    def __len__(self) -> int:
        return len(self.x)

    def display_indices(self, n: int, seed: int = 0) -> torch.Tensor:
        """Indices of n examples to show, by a fixed-seed shuffle of the split: files sorted by class
        (mnist5k, the translation sets built from it) then show every class, not n zeros."""
        return torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one example: (C, H, W) for images, (2, C, H, W) for pairs, (D,) for points."""
        return tuple(self.x.shape[1:])

    def __repr__(self) -> str:
        labels = f", {self.num_classes} classes" if self.num_classes else ""
        return (f"Dataset({self.name!r}, split={self.split!r}, kind={self.kind!r}, n={len(self)}, "
                f"shape={self.shape}{labels}, source={self.source!r})")


@dataclass(frozen=True)
class DatasetInfo:
    """One line of `genzoo list`: the name, what it is (with its split), where it comes from."""

    name: str
    description: str
    reference: str


@dataclass(frozen=True)
class Request:
    """The arguments of `load_dataset`, validated, as every loader receives them."""

    name: str
    split: str = "train"
    root: pathlib.Path | None = None
    download: bool = True
    verify: bool = True
    n_samples: int | None = None
    seed: int = 0
    image_size: int | None = None
    channels: int | None = None


Loader = Callable[[Request], Dataset]

DATASETS: dict[str, DatasetInfo] = {}
_LOADERS: dict[str, Loader] = {}
_ALIASES: dict[str, str] = {}


def register(info: DatasetInfo, loader: Loader, aliases: tuple[str, ...] = ()) -> None:
    """Make a source loadable by `info.name` (and by its aliases, e.g. "cifar-10")."""
    DATASETS[info.name] = info
    _LOADERS[info.name] = loader
    for alias in aliases:
        _ALIASES[alias] = info.name


def loader_of(name: str) -> Loader:
    """The loader registered under the canonical `name`."""
    return _LOADERS[name]


def list_datasets() -> list[DatasetInfo]:
    """Every dataset genzoo can load, sorted by name (for `genzoo list`)."""
    return [DATASETS[name] for name in sorted(DATASETS)]


def default_data_root() -> pathlib.Path:
    """Where datasets are looked for and downloaded: $GENZOO_DATA, else ~/.cache/genzoo/data."""
    env = os.environ.get("GENZOO_DATA")
    if env:
        return pathlib.Path(env).expanduser()
    return pathlib.Path.home() / ".cache" / "genzoo" / "data"


def canonical_name(name: str) -> str:
    """The registered name for `name` (case, '_' and aliases forgiven), or a DataError with a hint."""
    key = str(name).strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key in DATASETS:
        return key
    close = difflib.get_close_matches(key, list(DATASETS) + list(_ALIASES), n=1)
    hint = f" Did you mean '{_ALIASES.get(close[0], close[0])}'?" if close else ""
    raise DataError(f"unknown dataset '{name}'.{hint} Known: {', '.join(sorted(DATASETS))}")


def search_dirs(req: Request, subdirs: tuple[str, ...] = (), system: tuple[str, ...] = ()) -> list[pathlib.Path]:
    """Directories to look in for a dataset's files, most specific first, without duplicates.

    With `root`: root itself, then root/<name>, then root/<each of subdirs>.
    Without: default_data_root()/<name>. System directories (e.g. Debian's) always come last.
    """
    if req.root is not None:
        dirs = [req.root, req.root / req.name] + [req.root / s for s in subdirs]
    else:
        dirs = [default_data_root() / req.name]
    dirs += [pathlib.Path(s) for s in system]
    unique: list[pathlib.Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def download_dir(req: Request) -> pathlib.Path:
    """Where a missing dataset is downloaded: <root or default_data_root()>/<name>."""
    return (req.root if req.root is not None else default_data_root()) / req.name


def show_dirs(dirs: list[pathlib.Path]) -> str:
    """Directories for a message: "A, B or C"."""
    names = [str(d) for d in dirs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def add_notice(ds: Dataset, text: str) -> None:
    """Append one sentence to the dataset's notice (several things can happen to one load)."""
    ds.notice = text if not ds.notice else f"{ds.notice}; {text}"

