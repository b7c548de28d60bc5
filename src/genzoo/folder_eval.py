"""`genzoo eval --images DIR --against DATASET|DIR2`: score a folder of images made by any tool.

The images are compared with a dataset's test split, or with a second folder, in the features of
genzoo's classifier for a dataset (--features: by default the dataset of --against, or mnist against
a folder), with the image metrics of `genzoo eval` and the same protocol record: the sample counts,
the real-vs-real floor of the dataset at the same counts and a warning when the comparison set is
small. An existing folder named by --against is a folder; anything else is a dataset name.

Every image is converted to the dataset's format (28x28 gray for MNIST): color to gray by ITU-R 601
luma (gray to RGB by repetition), 16-bit gray scaled to 8 bits (65535 -> 255), then center-cropped
to a square and resized (bilinear, antialiased when shrinking). The protocol says which happened.
Refused, each with one line: a folder that is missing, empty or holds no image file (.png, .jpg,
.jpeg, .bmp, .gif, .webp; other files are ignored); fewer than 2 images; images of different sizes
in one folder (a folder of samples has one size: a mix means that a grid or other images slipped in);
a file that cannot be decoded (named, never skipped, so that the counts are the ones the user chose).
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import GenzooError

DEFAULT_FEATURES = "mnist"
#: the largest image `eval --images` decodes (4096 x 4096): generated samples are far smaller, and a small
#: PNG can hold a 9000 x 9000 image that decodes to a quarter of a gigabyte
MAX_IMAGE_PIXELS = 4096 * 4096


@dataclass
class FolderImages:
    """A folder's images in a dataset's format (uint8 (N, C, H, W)) and what was done to them."""

    folder: Path
    x: torch.Tensor
    total: int                  # image files in the folder (x holds a seeded subset of at most --n)
    conversion: str

    def summary(self) -> str:
        some = f"{len(self.x)} (a seeded subset) of the {self.total}" if len(self.x) < self.total else f"the {self.total}"
        return f"{some} images in {self.folder}; conversion: {self.conversion}"

    def protocol(self) -> dict:
        return {"folder": str(self.folder), "image_files": self.total, "used": len(self.x),
                "conversion": self.conversion}


def _image_files(folder: str | Path, flag: str) -> tuple[Path, list[Path]]:
    """The folder's image files (sorted, recursively), or one line saying why there are none."""
    from .data.folder import EXTENSIONS, image_files

    path = Path(folder)
    if not path.exists():
        raise GenzooError(f"{flag} {folder}: no such folder; give a folder of images (PNG, JPEG, ...)")
    if not path.is_dir():
        raise GenzooError(f"{flag} {folder} is a file; give the folder that holds the images")
    files = image_files(path)
    if not files:
        others = sum(1 for p in path.rglob("*") if p.is_file())
        what = f"holds {others} file(s) but none is an image" if others else "is empty"
        raise GenzooError(f"{flag} {folder} {what}; genzoo reads {', '.join(sorted(EXTENSIONS))} files")
    if len(files) < 2:
        raise GenzooError(f"{flag} {folder} holds 1 image; the metrics compare sets of at least 2")
    return path, files


def _describe_conversion(modes: Counter, size: tuple[int, int], shape: tuple[int, ...]) -> str:
    """What reading the images into the dataset's (C, H, W) did, in words."""
    from .data.folder import GRAY_MODES, WIDE_GRAY_MODES

    channels, (h, w), (th, tw) = shape[0], size, shape[1:]
    steps = []
    if any(m in WIDE_GRAY_MODES for m in modes):
        steps.append("16-bit gray scaled to 8 bits (65535 -> 255)")
    color = sum(n for m, n in modes.items() if m not in GRAY_MODES)
    if channels == 1 and color:
        steps.append(f"{color} color image(s) to gray (ITU-R 601 luma)")
    if channels == 3 and color < sum(modes.values()):
        steps.append("gray to RGB (repeated)")
    side = min(h, w)
    resizing = [f"center-cropped to {side}x{side}"] if h != w else []
    if side != th:
        resizing.append(f"resized to {tw}x{th} (bilinear{', antialiased' if side > th else ''})")
    if resizing:
        steps.append(f"{w}x{h} " + ", then ".join(resizing))
    fmt = f"{tw}x{th} {'gray' if channels == 1 else 'RGB'}"
    return "; ".join(steps) + f" (the dataset's format: {fmt})" if steps else f"none (already {fmt})"


def read_folder(folder: str | Path, shape: tuple[int, ...], *, n: int, seed: int, flag: str) -> FolderImages:
    """At most n of the folder's images (a seeded subset when it holds more), as uint8 in `shape` (C, H, W).
    Sizes come from the headers first: an image above MAX_IMAGE_PIXELS, or a folder of mixed sizes, is refused
    before any pixel is decoded; then each image is decoded and brought to `shape` one at a time."""
    from .data.folder import image_header, read_image
    from .data.images import resize_square, subset_indices

    path, files = _image_files(folder, flag)
    chosen = [files[i] for i in subset_indices(len(files), n, seed).tolist()] if len(files) > n else files
    headers = [image_header(p) for p in chosen]
    big = next(((p, w, h) for p, (_, (w, h)) in zip(chosen, headers) if w * h > MAX_IMAGE_PIXELS), None)
    if big is not None:
        raise GenzooError(f"{flag} {folder}: {big[0].name} is {big[1]}x{big[2]} pixels, above the limit of "
                          f"{MAX_IMAGE_PIXELS:,} pixels an image to score may have; samples are small images: "
                          "resize it or move it out")
    sizes = Counter((h, w) for _, (w, h) in headers)
    if len(sizes) > 1:
        (a, _), (b, _) = sizes.most_common(2)
        odd = next(p for p, (_, (w, h)) in zip(chosen, headers) if (h, w) == b)
        more = f" and {sizes[b] - 1} more" if sizes[b] > 1 else ""
        raise GenzooError(f"{flag} {folder} mixes image sizes ({sizes[a]} are {a[1]}x{a[0]}, {odd.name}{more} "
                          f"{'are' if more else 'is'} {b[1]}x{b[0]}); a folder of samples holds one size: move the "
                          "others (a sample grid?) out of it")
    size = next(iter(sizes))
    resize = size != tuple(shape[1:])
    x = torch.stack([resize_square(read_image(p, shape[0]).unsqueeze(0), shape[1])[0] if resize
                     else read_image(p, shape[0]) for p in chosen])
    modes = Counter(mode for mode, _ in headers)
    return FolderImages(path, x, len(files), _describe_conversion(modes, size, shape))


def _against(against: str) -> tuple[Path | None, str | None]:
    """--against: an existing folder, or else a dataset name (checked, with a suggestion)."""
    from .data.base import canonical_name
    from .errors import DataError

    if Path(against).is_dir():
        return Path(against), None
    if os.sep in against or against.startswith("."):
        raise GenzooError(f"--against {against}: no such folder; give a folder of images or a dataset name")
    try:
        return None, canonical_name(against)
    except DataError as e:
        raise GenzooError(f"--against {against}: no such folder, and {e}") from None


def check_image_metrics(metrics: list[str] | None) -> tuple[str, ...]:
    """The metrics of a folder evaluation: the image metrics asked for (default: those of a run's eval)."""
    from .metrics import METRICS
    from .metrics.registry import image_metrics

    if not metrics:
        return image_metrics(defaults=True)
    other = [m for m in metrics if m not in image_metrics()]
    if other:
        known = [m for m in other if m in METRICS]
        why = (f"{', '.join(known)} need{'s' if len(known) == 1 else ''} a trained run" if known
               else f"unknown metric(s) {', '.join(other)}")
        raise GenzooError(f"{why}; a folder of images is scored with {', '.join(image_metrics())}")
    return tuple(metrics)


def evaluate_folders(images: str | Path, against: str, *, features: str | None = None, n: int = 10000,
                     metrics: list[str] | None = None, seed: int = 0, protocol: str = "quick", log=print) -> dict:
    """{metric: result with its protocol} of the images in `images` against a dataset's test split or
    the images of another folder (see the module docstring)."""
    from .metrics import ImageEvaluator
    from .metrics.evaluate import score_images
    from .metrics.features import load_splits

    wanted = check_image_metrics(metrics)
    _image_files(images, "--images")   # a mistyped folder is said before any dataset loads
    real_folder, dataset = _against(against)
    dataset = features or dataset or DEFAULT_FEATURES
    splits = load_splits(dataset)
    shape = tuple(splits.test_x.shape[1:])
    fake = read_folder(images, shape, n=n, seed=seed, flag="--images")
    _check_neighbours(wanted, len(fake.x), images, "--images")
    log(f"genzoo: {fake.summary()}")
    inputs = {"images": fake.protocol(), "features_of": splits.name}
    if real_folder is None:
        evaluator = ImageEvaluator(dataset, n=n, metrics=wanted, seed=seed, splits=splits)
        scores = score_images(evaluator, fake.x, log)
    else:
        real = read_folder(real_folder, shape, n=n, seed=seed + 1, flag="--against")
        _check_neighbours(wanted, len(real.x), real_folder, "--against")
        log(f"genzoo: {real.summary()}")
        inputs["against"] = real.protocol()
        evaluator = ImageEvaluator(dataset, n=n, metrics=wanted, seed=seed, splits=splits, real_images=real.x,
                                   real_desc=f"the {len(real.x)} images in {real_folder}")
        scores = score_images(evaluator, fake.x, log, real_floor=lambda n_fake: ImageEvaluator(
            dataset, n=len(real.x), metrics=wanted, seed=seed, splits=splits, extractor=evaluator.fx
        ).real_vs_real(n_fake))
    level = {"protocol_level": protocol, "seed": seed}
    return {name: {**r, "protocol": {**r["protocol"], **inputs}, **level} for name, r in scores.items()}


def _check_neighbours(wanted: tuple[str, ...], count: int, folder, flag: str) -> None:
    """Precision and recall compare every image with its PRDC_K nearest neighbours in its own set."""
    from .metrics.evaluate import PRDC_K

    if "prdc" in wanted and count <= PRDC_K:
        raise GenzooError(f"{flag} {folder} holds {count} images; precision and recall (prdc) compare each with "
                          f"its {PRDC_K} nearest neighbours in the set, so they need at least {PRDC_K + 1}: add "
                          f"images, or leave prdc out of --metrics")


def default_out(images: str | Path, against: str) -> Path:
    """Beside the folder: DIR-vs-AGAINST.eval.json (e.g. samples-vs-mnist.eval.json)."""
    folder = Path(images).resolve()
    other = Path(against).resolve().name if Path(against).is_dir() else Path(against).name  # a dataset: its name
    return folder.with_name(f"{folder.name}-vs-{other}.eval.json")


def write_results(results: dict, out: str | Path) -> Path:
    """The results as JSON in `out` (replaced atomically), or on stdout for '-'."""
    text = json.dumps(results, indent=2, default=float) + "\n"
    if str(out) == "-":
        print(text, end="")
        return Path("-")
    from .safe_write import write_atomic

    return write_atomic(out, lambda tmp: Path(tmp).write_text(text))
