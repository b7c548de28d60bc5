"""What the MNIST likelihood benchmarks (rbm_mnist, dbm_mnist, vae_nll) share: the data, the one
fixed binarization of the test images every model is scored on, and the hardware line."""
from __future__ import annotations

import os
import platform

import torch

from genzoo.data import load_dataset

BINARIZATION_SEED = 1234


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads of {os.cpu_count()} cores"


def load_mnist(root: str | None):
    """MNIST's train and test splits, with a line naming where they came from."""
    train = load_dataset("mnist", "train", root=root)
    test = load_dataset("mnist", "test", root=root)
    for ds in (train, test):
        print(f"data: {ds.split}: {ds.source} ({len(ds)} images)" + (f"  NOTICE: {ds.notice}" if ds.notice else ""))
    return train, test


def binarized_once(images: torch.Tensor, n: int | None = None) -> tuple[torch.Tensor, torch.Generator]:
    """The first n images (uint8) binarized ONCE, x ~ Bernoulli(intensity), by a generator seeded
    BINARIZATION_SEED; the generator is returned so that later draws continue its stream."""
    g = torch.Generator().manual_seed(BINARIZATION_SEED)
    return torch.bernoulli(images.float() / 255, generator=g)[:n], g
