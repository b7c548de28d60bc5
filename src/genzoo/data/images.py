"""What every image source shares after decoding: subset, channel conversion, resizing.

Images stay uint8 (N, C, H, W) in 0..255 throughout, so a converted data set costs no more
memory than the original. Two-domain data sets (kinds "pair" and "unpaired") hold uint8
(N, 2, C, H, W): the subset is taken on dim 0, so the two images of an example stay together,
and the conversions see the N*2 images as one (N*2, C, H, W) batch (one code path for both).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Dataset, Request, add_notice

_CHUNK = 2048  # images resized at a time: bounds the float32 working memory


def finalize_images(ds: Dataset, req: Request) -> Dataset:
    """Apply the request's n_samples, channels and image_size to a freshly loaded image dataset.

    x is (N, C, H, W), or (N, 2, C, H, W) for the two-domain kinds: both domains are converted.
    """
    if req.n_samples is not None:
        subset(ds, req.n_samples, req.seed)
    n, two_domains = len(ds.x), ds.x.dim() == 5
    x = ds.x.flatten(0, 1) if two_domains else ds.x  # (N*2, C, H, W): a view, no copy
    if req.channels is not None and x.shape[1] != req.channels:
        x = to_channels(x, req.channels)
    if req.image_size is not None and tuple(x.shape[2:]) != (req.image_size, req.image_size):
        x = resize_square(x, req.image_size)
    ds.x = x.unflatten(0, (n, 2)) if two_domains else x
    return ds


def subset(ds: Dataset, n: int, seed: int) -> None:
    """Keep a random subset of n examples (drawn with `seed`, kept in their original order).

    A random subset, not the first n: some sources (mnist5k) are sorted by class. Asking for
    more than there are keeps them all and says so in the notice.
    """
    total = len(ds)
    if n >= total:
        if n > total:
            add_notice(ds, f"asked for {n:,} examples but the {ds.split} split has {total:,}; using all of them")
        return
    keep = subset_indices(total, n, seed)
    ds.x = ds.x[keep]
    if ds.y is not None:
        ds.y = ds.y[keep]


def subset_indices(total: int, n: int, seed: int) -> torch.Tensor:
    """n distinct indices out of range(total), drawn with `seed`, in increasing order."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randperm(total, generator=gen)[:n].sort().values


def to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Gray -> RGB by repetition; RGB -> gray by ITU-R 601 luma, rounded as Pillow's "L" does."""
    if x.shape[1] == channels:
        return x
    if channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    weights = torch.tensor([299, 587, 114], dtype=torch.int32).view(1, 3, 1, 1)
    luma = (x.to(torch.int32) * weights).sum(dim=1, keepdim=True)
    return ((luma + 500) // 1000).to(torch.uint8)


def resize_square(x: torch.Tensor, size: int) -> torch.Tensor:
    """Center-crop to a square, then resize to size x size (bilinear, antialiased when shrinking)."""
    h, w = x.shape[2], x.shape[3]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[:, :, top:top + side, left:left + side]
    if side == size:
        return x.contiguous()
    out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8)
    for i in range(0, len(x), _CHUNK):
        chunk = x[i:i + _CHUNK].float()
        resized = F.interpolate(chunk, size=(size, size), mode="bilinear", align_corners=False,
                                antialias=size < side)
        out[i:i + _CHUNK] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out
