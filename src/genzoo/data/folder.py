"""Any folder of images: every .png/.jpg/.jpeg/.bmp/.gif/.webp file under `root` (recursively).

Labels: if the images sit in subfolders of root, each subfolder is a class (classes sorted by
name, label = position); if they sit directly in root there are no labels (y = None). Mixing
the two is an error. Hidden files and folders (names starting with '.') are skipped.
Split: the files sorted by their path relative to root; every 10th (the 10th, 20th, ...) is
test, the rest train, so the split is fixed and the same on every machine.
Channels: `channels` if given (1 = gray, 3 = RGB), else 3 unless every image is grayscale.
Size: all images must have the same size unless `image_size` is given; then each is
center-cropped to a square and resized to image_size x image_size.
The steps are public functions (require_root, image_files, detect_channels, fixed_split, sample,
read_image, check_same_size) so that translation.py's pix2pix and CycleGAN folders follow the
same rules without a copy.
"""
from __future__ import annotations

import pathlib
import warnings

import numpy as np
import torch
from PIL import Image

from ..errors import DataError
from .base import Dataset, DatasetInfo, Request, register
from .images import resize_square, subset_indices

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "F"}
#: integer modes of more than 8 bits (16-bit PNGs open as I;16 or I): scaled to 0..255, not clipped
WIDE_GRAY_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N"}
TEST_EVERY = 10


def image_files(root: pathlib.Path) -> list[pathlib.Path]:
    """Image files under root, sorted by relative path, skipping hidden files and folders."""
    files = [p for p in root.rglob("*")
             if p.suffix.lower() in EXTENSIONS and not any(part.startswith(".") for part in p.relative_to(root).parts)
             and p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def require_root(req: Request, what: str) -> pathlib.Path:
    """req.root, which must be an existing directory holding `what` (else a DataError saying so)."""
    root = req.root
    if root is None:
        raise DataError(f"the {req.name} dataset needs {what}; pass --set data.root=DIR")
    if not root.is_dir():
        raise DataError(f"{root} is not a directory; pass --set data.root=DIR with {what}")
    return root


def detect_channels(files: list[pathlib.Path], channels: int | None) -> int:
    """`channels` if given, else 1 when every file is grayscale (read from headers only), else 3."""
    return channels or (1 if all(image_mode(p) in GRAY_MODES for p in files) else 3)


def fixed_split(n: int, split: str, root: pathlib.Path) -> list[int]:
    """Positions of the split among n sorted files: every TEST_EVERY-th is test, the rest train."""
    chosen = [i for i in range(n) if (i % TEST_EVERY == TEST_EVERY - 1) == (split == "test")]
    if not chosen:
        raise DataError(f"{root} holds {n} images and every {TEST_EVERY}th is test, so the test split "
                        f"is empty; add images (at least {TEST_EVERY}) or use the train split")
    return chosen


def sample(chosen: list[int], n_samples: int | None, seed: int) -> list[int]:
    """The random subset of `chosen` that finalize_images would keep, picked before decoding anything."""
    if n_samples is None or n_samples >= len(chosen):
        return chosen
    return [chosen[i] for i in subset_indices(len(chosen), n_samples, seed).tolist()]


def load_folder(req: Request) -> Dataset:
    """Load one split of a folder of images (see the module docstring for labels, split, channels, size)."""
    root = require_root(req, "a directory of images")
    files = image_files(root)
    if not files:
        raise DataError(f"no image files ({', '.join(sorted(EXTENSIONS))}) found under {root}")
    labels, class_names = _labels(root, files)
    channels = detect_channels(files, req.channels)
    chosen = sample(fixed_split(len(files), req.split, root), req.n_samples, req.seed)
    images = [read_image(files[i], channels, req.image_size) for i in chosen]
    if req.image_size is None:
        check_same_size([tuple(x.shape[-2:]) for x in images], [files[i] for i in chosen])
    y = torch.tensor([labels[i] for i in chosen], dtype=torch.int64) if labels is not None else None
    classes = f", {len(class_names)} classes from its subfolders" if class_names else ""
    return Dataset(name=req.name, source=f"{len(files):,} images in {root}{classes}", split=req.split, kind="image",
                   x=torch.stack(images), y=y, num_classes=len(class_names) if class_names else None,
                   class_names=class_names)


def _labels(root: pathlib.Path, files: list[pathlib.Path]) -> tuple[list[int] | None, list[str] | None]:
    """One class per top-level subfolder (sorted), or no labels when all images sit in root."""
    tops = [p.relative_to(root).parts[0] if len(p.relative_to(root).parts) > 1 else None for p in files]
    if all(t is None for t in tops):
        return None, None
    loose = [f for f, t in zip(files, tops) if t is None]
    if loose:
        raise DataError(f"{root} has images both in class subfolders and directly inside it (e.g. {loose[0].name}); "
                        "move every image into a class subfolder, or use a folder without subfolders")
    class_names = sorted(set(tops))
    index = {name: i for i, name in enumerate(class_names)}
    return [index[t] for t in tops], class_names


def _open(path: pathlib.Path) -> Image.Image:
    """Open an image lazily; any failure becomes a DataError naming the file. An image above Pillow's pixel
    limit is refused, not only warned about: a small file can decode to gigabytes (a decompression bomb)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DataError(f"cannot read image {path} ({e}); delete or replace it") from None


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit gray scaled to 8 bits (65535 -> 255, 257 -> 1); Pillow's convert("L") would clip it at 255."""
    if im.mode not in WIDE_GRAY_MODES:
        return im
    wide = np.asarray(im).astype(np.float64)
    return Image.fromarray(np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8))


def image_mode(path: pathlib.Path) -> str:
    """The image's mode from its header only (no pixel decoding)."""
    return image_header(path)[0]


def image_header(path: pathlib.Path) -> tuple[str, tuple[int, int]]:
    """(mode, (width, height)) of the image from its header only (no pixel decoding)."""
    with _open(path) as im:
        return im.mode, im.size


def read_image(path: pathlib.Path, channels: int, image_size: int | None = None) -> torch.Tensor:
    """Decode one image to uint8 (C, H, W) in the requested channels, resized if asked."""
    try:
        with _open(path) as im:
            pixels = np.asarray(_to_8bit(im).convert("L" if channels == 1 else "RGB"))
    except DataError:
        raise
    except (OSError, SyntaxError, ValueError) as e:  # a header that opens but pixels that do not decode
        raise DataError(f"cannot read image {path} ({e}); delete or replace it") from None
    x = torch.from_numpy(pixels.copy())
    x = x.unsqueeze(0) if channels == 1 else x.permute(2, 0, 1).contiguous()
    return resize_square(x.unsqueeze(0), image_size)[0] if image_size is not None else x


def check_same_size(sizes: list[tuple[int, int]], files: list[pathlib.Path]) -> None:
    """The files' (height, width) must all be equal, else a DataError naming two that differ."""
    first = sizes[0]
    for (h, w), path in zip(sizes, files):
        if (h, w) != first:
            raise DataError(f"images differ in size ({files[0].name} is {first[1]}x{first[0]}, {path.name} is "
                            f"{w}x{h}); pass --set data.image_size=N to crop and resize them all")


register(DatasetInfo("folder", "every image under data.root (subfolders = classes); every 10th file, in sorted "
                     "order, is test", "your own images"),
         load_folder, aliases=("images", "imagefolder"))
