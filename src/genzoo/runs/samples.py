"""The one writer of generated outputs by data kind, for training's sample grids and `genzoo sample`:
images (and translations) as a PNG grid, its rows labelled when they are classes or captions, 2-D points as
a scatter plot, token sequences as text."""
from __future__ import annotations

from pathlib import Path

import torch

from ..config import RunConfig
from ..data import Dataset
from ..models import Algorithm
from ..models.base import IMAGE_KINDS, TRANSLATION_KINDS
from ..models.capabilities import Detokenizer
from ..safe_write import write_text
from .splits import run_split


def write_samples(model: Algorithm, x: torch.Tensor, path: Path, *, nrow: int | None = None,
                  reference: torch.Tensor | None = None, scale: int | None = None,
                  row_labels: list[str] | None = None) -> Path:
    """Write `x`, outputs of `model`, in the form of its data kind; returns the path written
    (a .png for images and points, a .txt of one decoded sequence a line for tokens). Small images
    are enlarged (scale, default images.display_scale of their height); row_labels name an image grid's
    rows (class_row_labels for a class grid, or captions)."""
    from ..images import display_scale, save_grid, save_points

    x = x.detach().float().cpu() if model.data.kind != "tokens" else x.detach().cpu()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if model.data.kind in IMAGE_KINDS:
        return save_grid(x, path, nrow=nrow, scale=scale or display_scale(x.shape[-2]), row_labels=row_labels)
    if model.data.kind == "points":
        return save_points(x, path.with_suffix(".png"), reference=reference)
    path = path.with_suffix(".txt")
    lines = model.detokenize(x) if isinstance(model, Detokenizer) else [str(row) for row in x.tolist()]
    return write_text(path, "\n".join(lines) + "\n")


def save_samples(model: Algorithm, path: Path, n: int, seed: int, reference: torch.Tensor | None = None,
                 scale: int | None = None) -> Path:
    """A fixed-noise sample grid (PNG), so grids over time show the same latent points; small images are
    enlarged (scale, default images.display_scale of their height).

    reference: points data, drawn beneath the samples; translation data, the uint8 pairs whose
    translations fill the grid (one row of source, translations and target per pair, two per line)."""
    was_training = model.training
    model.eval()
    g = torch.Generator(device=model.device).manual_seed(seed)
    nrow = None
    try:
        if model.data.kind in TRANSLATION_KINDS:
            rows = model.example_rows(reference.float().div(255), generator=g).detach()
            x, nrow, reference = rows.flatten(0, 1), 2 * rows.shape[1], None
        else:
            x = model.sample(n, generator=g)
    finally:
        model.train(was_training)
    return write_samples(model, x, path, nrow=nrow, reference=reference, scale=scale)


def grid_reference(ds: Dataset, grid_size: int) -> torch.Tensor | None:
    """What save_samples draws besides the samples: 2,500 data points beneath a points model's samples,
    or pairs of a translation set drawn across its classes (a third of grid_size, at least 2), to translate."""
    if ds.kind == "points":
        return ds.x[:2500]
    if ds.kind in TRANSLATION_KINDS:
        return ds.x[ds.display_indices(max(2, grid_size // 3))]
    return None


def class_row_labels(cfg: RunConfig, num_classes: int) -> list[str]:
    """The label of each row of a class grid: the class's number and name in the run's data ("3 dress"),
    or its number alone where the data names none."""
    names = run_split(cfg, "test", subset=False).class_names
    return [f"{c} {names[c]}" if names and names[c] != str(c) else str(c) for c in range(num_classes)]
