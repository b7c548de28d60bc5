"""Two-domain data for image-to-image translation (pix2pix, CycleGAN): kinds "pair" and "unpaired".

Both kinds hold uint8 (N, 2, C, H, W): x[:, 0] is domain A (the input), x[:, 1] domain B. In a
"pair" data set B is the translation of A (pix2pix learns A -> B from them); in an "unpaired" one
the two are independent images of the two domains, side by side only so that the data batch and
shuffle like any other (CycleGAN must not use the pairing). load_dataset then applies n_samples
(on whole pairs), channels and image_size (to both domains) as for any image source.

mnist-edges (pair): A = the edge map of an MNIST digit, B = the digit (pix2pix's "edges2X" task
    on digits). The edge map is the 3x3 morphological gradient, dilation minus erosion (see
    `edge_map`). MNIST's splits, its offline fallback to mnist5k and its notice; y = the digits.
mnist-lowres (pair): A = the digit at 7x7 (the mean of each 4x4 block), shown blocky at 28x28,
    B = the digit: 4x super-resolution, a mapping with many sharp answers to one input, where L1
    alone gives their blurred average and the cGAN term must pick a sharp one.
mnist-bold (a CycleGAN task whose ground truth is known): domain A = MNIST digits, domain B =
    bold digits (the 3x3 dilation). Train (unpaired): A = the images at even positions of MNIST's
    train split, B = the dilation of those at odd positions, so no digit is in both domains
    (N = the smaller count, y = the labels of the A images). Test (pair): (x, dilate(x)) for
    every test image, so a translation A -> B can be scored against its ground truth.
image-pairs (pair): a folder in the pix2pix format (facades, edges2shoes, maps, ...): each image
    holds A (left half) and B (right half) side by side, so its width must be even. Split: the
    subfolders train/ and test/ when root has both (val/ stands in for a missing test/, with a
    notice); otherwise folder.py's fixed rule over every image under root (every 10th file in
    sorted order is test). y = None.
image-unpaired (unpaired): a folder in the CycleGAN format (horse2zebra, monet2photo, ...): root
    holds trainA/, trainB/, testA/, testB/, one folder of images per domain and split. N = the
    larger domain's count; the smaller domain is cycled through a permutation drawn with the
    fixed seed PAIRING_SEED, so the data are the same on every machine and every rank. y = None.
For both folder formats the rules of folder.py apply (its helpers are reused): the image files
and hidden names it skips, channels = data.channels if given, else 3 unless every image (of both
splits) is gray, and one size for all images unless data.image_size is given, in which case
each image (each half, for image-pairs) is center-cropped to a square and resized.
"""
from __future__ import annotations

import pathlib

import torch
import torch.nn.functional as F

from ..errors import DataError
from .base import Dataset, DatasetInfo, Request, add_notice, register
from .load import load_dataset
from .folder import (EXTENSIONS, check_same_size, detect_channels, fixed_split, image_files, read_image,
                     require_root, sample)
from .images import resize_square

PAIRING_SEED = 0  # the permutation that cycles the smaller domain of image-unpaired
CYCLEGAN_FOLDERS = ("trainA", "trainB", "testA", "testB")


# ---------------------------------------------------------------------------- morphology

def dilate(x: torch.Tensor) -> torch.Tensor:
    """3x3 grayscale dilation of (..., H, W): each pixel becomes the max of its 3x3 neighbourhood.

    The same as F.max_pool2d(x, 3, stride=1, padding=1) (at the border, the max of the pixels that
    exist), computed as two 3-wide passes (rows, then columns) of elementwise maxima on the
    uint8 tensor itself: faster than the pool on CPU, and no float copy.
    """
    return _extreme3(_extreme3(x, -1, torch.maximum), -2, torch.maximum)


def erode(x: torch.Tensor) -> torch.Tensor:
    """3x3 grayscale erosion of (..., H, W): the min of each 3x3 neighbourhood, -maxpool(-x).

    At the border, the min of the pixels that exist (so an all-white image stays white).
    """
    return _extreme3(_extreme3(x, -1, torch.minimum), -2, torch.minimum)


def _extreme3(x: torch.Tensor, dim: int, op) -> torch.Tensor:
    """op (max or min) of each element and its two neighbours along dim (one neighbour at the ends)."""
    out = x.clone()
    n = x.shape[dim]
    op(out.narrow(dim, 1, n - 1), x.narrow(dim, 0, n - 1), out=out.narrow(dim, 1, n - 1))  # left neighbour
    op(out.narrow(dim, 0, n - 1), x.narrow(dim, 1, n - 1), out=out.narrow(dim, 0, n - 1))  # right neighbour
    return out


def edge_map(x: torch.Tensor) -> torch.Tensor:
    """The 3x3 morphological gradient of uint8 (..., H, W), dilation minus erosion, still uint8.

    Zero where the 3x3 neighbourhood is flat, the local contrast where it is not: a single lit
    pixel becomes a lit 3x3 square, a filled square becomes its outline two pixels thick.
    """
    return dilate(x) - erode(x)  # dilation >= erosion everywhere: no wrap-around


# ---------------------------------------------------------------------------- MNIST tasks

def _mnist(req: Request, split: str) -> Dataset:
    """MNIST as load_dataset gives it (with its offline fallback and notice), at native size and count."""
    return load_dataset("mnist", split, root=req.root, download=req.download, verify=req.verify)


def load_mnist_edges(req: Request) -> Dataset:
    """Pairs (edge map, digit) of MNIST's split (see the module docstring)."""
    digits = _mnist(req, req.split)
    return Dataset(name=req.name, source=f"edge maps of {digits.source}", split=req.split, kind="pair",
                   x=torch.stack([edge_map(digits.x), digits.x], dim=1), y=digits.y,
                   num_classes=digits.num_classes, notice=digits.notice, class_names=digits.class_names)


def low_resolution(x: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """uint8 (N, C, H, W) -> the mean of each factor x factor block, repeated over the block (the image
    at 1/factor of its resolution, shown at full size), rounded to uint8. H and W divisible by factor."""
    small = F.avg_pool2d(x.float(), factor)
    return small.repeat_interleave(factor, -2).repeat_interleave(factor, -1).round_().to(torch.uint8)


def load_mnist_lowres(req: Request) -> Dataset:
    """Pairs (the digit at 7x7, shown blocky at 28x28; the digit) of MNIST's split: 4x super-resolution."""
    digits = _mnist(req, req.split)
    return Dataset(name=req.name, source=f"7x7 versions of {digits.source}", split=req.split, kind="pair",
                   x=torch.stack([low_resolution(digits.x), digits.x], dim=1), y=digits.y,
                   num_classes=digits.num_classes, notice=digits.notice, class_names=digits.class_names)


def load_mnist_bold(req: Request) -> Dataset:
    """Train: unpaired digits (even positions) and bold digits (odd positions); test: exact pairs."""
    digits = _mnist(req, req.split)
    if req.split == "test":
        x, y, kind = torch.stack([digits.x, dilate(digits.x)], dim=1), digits.y, "pair"
        how = "pairs (digit, its 3x3 dilation)"
    else:
        n = len(digits.x) // 2  # the odd positions are the fewer (or as many)
        x = torch.stack([digits.x[0:2 * n:2], dilate(digits.x[1:2 * n:2])], dim=1)
        y, kind = digits.y[0:2 * n:2], "unpaired"
        how = "unpaired: A = digits at even positions, B = 3x3 dilation of those at odd positions"
    return Dataset(name=req.name, source=f"bold digits of {digits.source} ({how})", split=req.split, kind=kind,
                   x=x, y=y, num_classes=digits.num_classes, notice=digits.notice, class_names=digits.class_names)


# ---------------------------------------------------------------------------- pix2pix folders

_PIX2PIX = ("a folder of images that each hold A (left half) and B (right half) side by side "
            "(the pix2pix format)")


def load_image_pairs(req: Request) -> Dataset:
    """One split of a pix2pix folder: A|B images cut into pairs (see the module docstring)."""
    root = require_root(req, _PIX2PIX)
    notice = None
    test_dir = root / "test" if (root / "test").is_dir() else root / "val"
    if (root / "train").is_dir() and test_dir.is_dir():
        split_files = {"train": _nonempty(root / "train"), "test": _nonempty(test_dir)}
        every_file = split_files["train"] + split_files["test"]
        files = split_files[req.split]
        chosen = list(range(len(files)))
        source = (f"{len(split_files['train']):,} train / {len(split_files['test']):,} test A|B images "
                  f"in {root / 'train'} and {test_dir}")
        if test_dir.name == "val" and req.split == "test":
            notice = f"{root} has no test/ folder; its val/ folder is used as the test split"
    else:
        every_file = files = _nonempty(root)
        chosen = fixed_split(len(files), req.split, root)
        source = f"{len(files):,} A|B images in {root} (every 10th file, in sorted order, is test)"
    channels = detect_channels(every_file, req.channels)
    paths = [files[i] for i in sample(chosen, req.n_samples, req.seed)]
    pairs, sizes = [], []
    for path in paths:  # one file at a time: only the (possibly resized) halves are kept
        image = read_image(path, channels)
        sizes.append(tuple(image.shape[-2:]))
        pairs.append(_halves(image, path, req.image_size))
    if req.image_size is None:
        check_same_size(sizes, paths)
    ds = Dataset(name=req.name, source=source, split=req.split, kind="pair", x=torch.stack(pairs), y=None,
                 num_classes=None)
    if notice:
        add_notice(ds, notice)
    return ds


def _halves(image: torch.Tensor, path: pathlib.Path, image_size: int | None) -> torch.Tensor:
    """uint8 (C, H, W) holding A|B -> (2, C, H, W/2), each half resized to image_size if given."""
    h, w = image.shape[-2:]
    if w % 2:
        raise DataError(f"{path} is {w}x{h} pixels: an odd width cannot be cut into A (left half) and B "
                        f"(right half) of equal size; image-pairs needs images that hold A and B side by side "
                        f"(the pix2pix format): crop or pad it to an even width, or remove it")
    pair = torch.stack([image[..., :w // 2], image[..., w // 2:]])
    return resize_square(pair, image_size) if image_size is not None else pair.contiguous()


def _nonempty(folder: pathlib.Path) -> list[pathlib.Path]:
    """The image files under folder, which must hold at least one."""
    files = image_files(folder)
    if not files:
        raise DataError(f"no image files ({', '.join(sorted(EXTENSIONS))}) found under {folder}")
    return files


# ---------------------------------------------------------------------------- CycleGAN folders

def cycle_pairing(n_a: int, n_b: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (ia, ib) of max(n_a, n_b) unpaired examples: the larger domain (A on a tie) in file
    order, the smaller cycled through a permutation drawn with PAIRING_SEED, so every image of
    both domains appears and file names that happen to match do not pair up."""
    n = max(n_a, n_b)
    gen = torch.Generator().manual_seed(PAIRING_SEED)
    position = torch.arange(n)
    if n_a >= n_b:
        return position, torch.randperm(n_b, generator=gen)[position % n_b]
    return torch.randperm(n_a, generator=gen)[position % n_a], position


def load_image_unpaired(req: Request) -> Dataset:
    """One split of a CycleGAN folder: trainA/ trainB/ testA/ testB/, unpaired (see the module docstring)."""
    expected = ", ".join(f"{f}/" for f in CYCLEGAN_FOLDERS)
    root = require_root(req, f"the CycleGAN folders {expected} (one folder of images per domain and split)")
    missing = [f"{f}/" for f in CYCLEGAN_FOLDERS if not (root / f).is_dir()]
    if missing:
        raise DataError(f"{root} has no {', '.join(missing)}; image-unpaired expects the four folders {expected} "
                        f"(the CycleGAN layout: the images of domains A and B, train and test, one folder each)")
    files = {f: _nonempty(root / f) for f in CYCLEGAN_FOLDERS}
    channels = detect_channels([p for f in CYCLEGAN_FOLDERS for p in files[f]], req.channels)
    files_a, files_b = files[f"{req.split}A"], files[f"{req.split}B"]
    ia, ib = cycle_pairing(len(files_a), len(files_b))
    keep = torch.tensor(sample(list(range(len(ia))), req.n_samples, req.seed), dtype=torch.int64)
    ia, ib = ia[keep], ib[keep]
    domains, sizes, paths = [], [], []
    for domain_files, index in ((files_a, ia), (files_b, ib)):
        used, position = torch.unique(index, return_inverse=True)  # each file decoded once
        images = [read_image(domain_files[i], channels, req.image_size) for i in used.tolist()]
        sizes += [tuple(x.shape[-2:]) for x in images]
        paths += [domain_files[i] for i in used.tolist()]
        domains.append((images, position))
    if req.image_size is None:
        check_same_size(sizes, paths)
    x = torch.stack([torch.stack(images)[position] for images, position in domains], dim=1)
    source = (f"CycleGAN folders in {root}: {req.split}A/ ({len(files_a):,} images) and {req.split}B/ "
              f"({len(files_b):,}), unpaired, the smaller domain cycled to {max(len(files_a), len(files_b)):,}")
    return Dataset(name=req.name, source=source, split=req.split, kind="unpaired", x=x, y=None, num_classes=None)


_PIX2PIX_REF = "Isola, Zhu, Zhou & Efros 2017 (pix2pix), arXiv:1611.07004"
_CYCLEGAN_REF = "Zhu, Park, Isola & Efros 2017 (CycleGAN), arXiv:1703.10593"
register(DatasetInfo("mnist-edges", "pix2pix edges -> digits: pairs (A = edge map, the 3x3 morphological "
                     "gradient; B = the MNIST digit), 28x28 gray, digit labels; MNIST's split (offline: mnist5k, "
                     "with a notice)", f"{_PIX2PIX_REF}; MNIST (LeCun et al. 1998)"),
         load_mnist_edges)
register(DatasetInfo("mnist-lowres", "pix2pix 4x super-resolution: pairs (A = the MNIST digit averaged over "
                     "4x4 blocks, 7x7 shown at 28x28; B = the digit), digit labels; MNIST's split (offline: "
                     "mnist5k, with a notice)", f"{_PIX2PIX_REF}; MNIST (LeCun et al. 1998)"),
         load_mnist_lowres)
register(DatasetInfo("mnist-bold", "CycleGAN digits -> bold digits with a hidden ground truth: train unpaired "
                     "(A = MNIST train digits at even positions, B = the 3x3 dilation of those at odd positions, "
                     "no digit in both); test paired (digit, its dilation) to score translations",
                     f"{_CYCLEGAN_REF}; MNIST (LeCun et al. 1998)"),
         load_mnist_bold)
register(DatasetInfo("image-pairs", "a pix2pix folder at data.root (facades, edges2shoes, maps, ...): each image "
                     "is A (left half) | B (right half); train/ and test/ subfolders (val/ if no test/), else "
                     "every 10th file is test", f"{_PIX2PIX_REF}; your own or pix2pix's datasets"),
         load_image_pairs)
register(DatasetInfo("image-unpaired", "a CycleGAN folder at data.root (horse2zebra, monet2photo, ...): trainA/ "
                     "trainB/ testA/ testB/; unpaired, N = the larger domain's count, the smaller cycled in a "
                     "fixed random order", f"{_CYCLEGAN_REF}; your own or CycleGAN's datasets"),
         load_image_unpaired)
