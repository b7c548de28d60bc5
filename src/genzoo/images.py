"""Sample grids as PNG files with Pillow, scatter plots of 2-D points with matplotlib (no torchvision),
and a translation model applied to a folder of images.

Files are written by safe_write.write_atomic: never torn, never through a link.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import GenzooError
from .safe_write import write_atomic


def _to_numpy(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().to("cpu", torch.float32).numpy()
    return np.asarray(a, dtype=np.float32)


def make_grid(images, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tile images (N, C, H, W) with values in [0, 1] into one uint8 array (H', W', C).

    nrow images per row (default ceil(sqrt(N))), ceil(N / nrow) rows, `padding` pixels of
    `pad_value` around and between the images (unused cells are filled with pad_value too):
    H' = rows * (H + padding) + padding, W' = nrow * (W + padding) + padding.
    Values are clamped to [0, 1] and mapped to round(255 * v). C must be 1 or 3; a (N, H, W)
    input is read as C = 1.
    """
    x = _to_numpy(images)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[0] == 0:
        raise ValueError(f"images must be (N, C, H, W) with N >= 1 and C in (1, 3), got shape {x.shape}")
    n, c, h, w = x.shape
    nrow = min(nrow or math.ceil(math.sqrt(n)), n)
    if nrow < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}")
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), pad_value, np.float32)
    for i, img in enumerate(x):
        top, left = padding + (i // nrow) * (h + padding), padding + (i % nrow) * (w + padding)
        grid[top:top + h, left:left + w] = img.transpose(1, 2, 0)
    grid = np.nan_to_num(grid, nan=0.0)
    return np.rint(np.clip(grid, 0.0, 1.0) * 255).astype(np.uint8)


DISPLAY_SIZE = 64  # pixels: grids of smaller images are enlarged to about this size per image by default


def display_scale(image_size: int) -> int:
    """The default enlargement of a grid of images `image_size` pixels high: 28 (MNIST) -> 2, 8 (digits) -> 8,
    64 or more -> 1, so a grid is large enough to look at without zooming."""
    return max(1, DISPLAY_SIZE // int(image_size))


def save_grid(images, path, nrow: int | None = None, scale: int = 1, padding: int = 2,
              pad_value: float = 1.0, row_labels: list[str] | None = None) -> Path:
    """Write make_grid(images, nrow, padding, pad_value) as a PNG: 1 channel -> grayscale ('L'),
    3 -> 'RGB'. scale > 1 enlarges each pixel to a scale x scale block (nearest neighbour).
    row_labels: one text per row of the grid (e.g. class names), written in a margin on the left.
    Atomic (temporary file + os.replace). Returns the path."""
    if int(scale) < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    grid = make_grid(images, nrow=nrow, padding=padding, pad_value=pad_value)
    img = Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid)  # uint8 (H, W) -> 'L', (H, W, 3) -> 'RGB'
    if img.width * img.height * int(scale) ** 2 > Image.MAX_IMAGE_PIXELS:   # one Pillow would refuse to read
        raise GenzooError(f"a grid of {img.width * int(scale):,} x {img.height * int(scale):,} pixels is more than "
                          f"{Image.MAX_IMAGE_PIXELS:,} pixels; choose a smaller --scale or fewer samples")
    if scale > 1:
        img = img.resize((img.width * int(scale), img.height * int(scale)), Image.Resampling.NEAREST)
    if row_labels:
        img = _label_rows(img, row_labels, padding * int(scale), pad_value)
    return write_atomic(path, lambda tmp: img.save(tmp, format="PNG"))


def _label_rows(img: Image.Image, labels: list[str], padding: int, pad_value: float) -> Image.Image:
    """`img` with a left margin holding labels[r] beside row r (rows of equal height between paddings)."""
    from PIL import ImageDraw, ImageFont

    font = ImageFont.load_default()
    measure = ImageDraw.Draw(img)
    boxes = [measure.textbbox((0, 0), text, font=font) for text in labels]
    margin = max(b[2] for b in boxes) + 2 * padding + 4
    background = round(255 * pad_value)
    canvas = Image.new(img.mode, (img.width + margin, img.height), background if img.mode == "L" else
                       (background,) * 3)
    canvas.paste(img, (margin, 0))
    draw = ImageDraw.Draw(canvas)
    row = (img.height - padding) / len(labels)
    ink = 255 - background if img.mode == "L" else (255 - background,) * 3
    for r, (text, box) in enumerate(zip(labels, boxes)):
        draw.text((padding + 2, round(padding + r * row + (row - padding - box[3]) / 2)), text, fill=ink, font=font)
    return canvas


def save_points(points, path, reference=None, title: str | None = None) -> Path:
    """Scatter plot of 2-D points (N, 2), e.g. samples from a model trained on a toy distribution.

    reference: optional (M, 2) points drawn underneath in another colour (the real data or the
    modes). Uses matplotlib's Agg canvas directly (no pyplot global state, no display needed).
    The format follows the path's suffix (PNG when there is none). Atomic. Returns the path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pts = _to_numpy(points)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {pts.shape}")
    fig = Figure(figsize=(5, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if reference is not None:
        ref = _to_numpy(reference)
        ax.scatter(ref[:, 0], ref[:, 1], s=12, c="tab:orange", alpha=0.6, label="reference")
    ax.scatter(pts[:, 0], pts[:, 1], s=4, c="tab:blue", alpha=0.5, label="samples")
    if reference is not None:
        ax.legend(loc="upper right")
    if title:
        ax.set_title(title)
    ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format=fmt))


def translate_folder(model, in_dir, out_dir, *, seed: int = 0, batch: int = 64) -> list[Path]:
    """Translate every image under in_dir with a translation model (pix2pix, cyclegan) and write each
    result as a PNG of the same relative name under out_dir. The images are read as the model's data
    were: its channels, and center-cropped and resized to its (square) size; returns the files written."""
    from .data.folder import image_files, read_image
    from .errors import DataError

    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if not in_dir.is_dir():
        raise DataError(f"--input {in_dir} is not a directory of images")
    files = image_files(in_dir)
    if not files:
        raise DataError(f"no image files found under {in_dir}")
    c, h, w = model.image_shape
    g = torch.Generator(device=model.device).manual_seed(seed)
    written = []
    for i in range(0, len(files), batch):
        chunk = files[i:i + batch]
        x = torch.stack([read_image(f, c, h if h == w else None) for f in chunk]).float().div(255)
        for f, y in zip(chunk, model.translate(x, generator=g).cpu()):
            written.append(save_grid(y[None], (out_dir / f.relative_to(in_dir)).with_suffix(".png"), nrow=1,
                                     padding=0))
    return written
