"""The data a run was trained on: one split of its configured dataset, loaded as the run saw it."""
from __future__ import annotations

from ..config import RunConfig
from ..data import Dataset, load_dataset


def run_split(cfg: RunConfig, split: str = "train", *, subset: bool = True) -> Dataset:
    """`split` of the run's dataset as the run saw it: its root, download and checksum settings, image size and
    channels, and (with `subset`) its data.n_samples, the subset a run trains on or the points a toy set
    generates. Without `subset`, the whole split: what evaluation compares a model with."""
    d = cfg.data
    return load_dataset(d.name, split, root=d.root, download=d.download, verify=d.verify,
                        n_samples=d.n_samples if subset else None, image_size=d.image_size, channels=d.channels)
