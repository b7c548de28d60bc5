"""`load_dataset(name, split)`: a registered source's loader, then the request's subset and image conversions."""
from __future__ import annotations

import os
import pathlib

from ..errors import DataError
from .base import SPLITS, Dataset, Request, canonical_name, loader_of
from .images import finalize_images


def load_dataset(name: str, split: str = "train", *, root: str | os.PathLike | None = None,
                 download: bool = True, verify: bool = True, n_samples: int | None = None,
                 seed: int = 0, image_size: int | None = None,
                 channels: int | None = None) -> Dataset:
    """Load one split of a dataset into memory.

    root: a directory to read files from (and download into); default `default_data_root()`.
    download: fetch missing files from the official mirrors (md5-checked).
    verify: check local files against their published md5 (turn off for files you trust).
    n_samples: points to generate for toy data; for images, a random subset of that many
        (drawn with `seed`, kept in file order; the two images of a pair stay together).
    image_size, channels: convert images to image_size x image_size (center crop, then
        resize) and to 1 (gray) or 3 (RGB) channels (both domains of a pair).
    """
    canonical = canonical_name(name)
    if split not in SPLITS:
        raise DataError(f"unknown split '{split}' for dataset '{canonical}'; use 'train' or 'test'")
    for key, value in (("n_samples", n_samples), ("image_size", image_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise DataError(f"data.{key} must be a positive integer, got {value!r}")
    if channels not in (None, 1, 3):
        raise DataError(f"data.channels must be 1 (gray) or 3 (RGB), got {channels!r}")
    req = Request(name=canonical, split=split, root=pathlib.Path(root).expanduser() if root else None,
                  download=bool(download), verify=bool(verify), n_samples=n_samples, seed=int(seed),
                  image_size=image_size, channels=channels)
    ds = loader_of(canonical)(req)
    if ds.kind == "points":
        if image_size is not None or channels is not None:
            raise DataError(f"'{canonical}' is a set of 2-D points, so data.image_size and data.channels "
                            "do not apply; remove them")
        return ds
    return finalize_images(ds, req)
