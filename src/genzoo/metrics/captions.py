"""Scores of a text-to-image model on captioned digit canvases (mnist-captions).

- caption accuracy: each canvas is cut at the boxes its caption fixes (data/captions.py: every
  digit's slot and size), each cut is resized to 28x28 and read by genzoo's MNIST classifier; a
  canvas counts when every digit of its caption is read as that digit. Reported separately for
  test captions of combinations seen in training and of held-out ones, beside the same score of
  the real test canvases (the ceiling: the classifier's own errors on cut-out digits).
- FD: the Frechet distance between the classifier's features of the generated canvases' cuts and
  of the real canvases' cuts, for the same captions (so it measures the digits where the captions
  put them).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
import torch.nn.functional as F

from ..data.captions import SLOT_NAMES, CaptionedDataset, Digit
from ..models.capabilities import StagedSampler
from .context import dataset_classifier
from .registry import register_metric

if TYPE_CHECKING:
    from .context import Evaluation

READ_SIZE = 28  # the MNIST classifier's input size


def cut_digits(canvases: torch.Tensor, slots: torch.Tensor, sizes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut each canvas (N, C, H, W) in [0, 1] at its digits' boxes -> (crops (M, C, 28, 28), which (M,) canvas).

    slots, sizes: int64 (N, 2) as in CaptionedDataset (-1 for no second digit). Crops are in the
    order (canvas 0 digit 0, canvas 0 digit 1, canvas 1 digit 0, ...), skipping absent digits."""
    which, position = (slots >= 0).nonzero(as_tuple=True)
    crops = torch.empty(len(which), canvases.shape[1], READ_SIZE, READ_SIZE)
    for s, name in enumerate(SLOT_NAMES):
        for size in sizes.unique().tolist():
            pick = ((slots[which, position] == s) & (sizes[which, position] == size)).nonzero().flatten()
            if len(pick) == 0 or size < 0:
                continue
            top, left, h, w = Digit(0, name, size).box()
            boxes = canvases[which[pick], :, top:top + h, left:left + w].float()
            crops[pick] = F.interpolate(boxes, size=(READ_SIZE, READ_SIZE), mode="bilinear", align_corners=False,
                                        antialias=False).clamp(0, 1)
    return crops, which


def caption_accuracy(read: torch.Tensor, digits: torch.Tensor) -> torch.Tensor:
    """Per canvas: 1.0 when every digit of the caption was read as itself. read, digits: (N, 2), -1 absent."""
    return ((read == digits) | (digits < 0)).all(dim=1).float()


def read_canvases(canvases: torch.Tensor, ds_fields: dict, classify: Callable[[torch.Tensor], torch.Tensor]):
    """(read digits (N, 2) with -1 where the caption has none, the crops) for canvases in [0, 1]."""
    slots, sizes = ds_fields["slots"], ds_fields["sizes"]
    crops, which = cut_digits(canvases, slots, sizes)
    read = torch.full(slots.shape, -1, dtype=torch.int64)
    read[slots >= 0] = classify(crops).cpu()
    return read, crops


def layout_fields(ds: CaptionedDataset, index) -> dict:
    return {"digits": ds.digits[index], "slots": ds.slots[index], "sizes": ds.sizes[index]}


def caption_scores(fake: torch.Tensor, ds: CaptionedDataset, index: torch.Tensor, extractor) -> dict:
    """Caption accuracy of generated canvases `fake` (made for the test captions `index` of ds) and of the
    real canvases with those captions, split by seen / held-out combinations; FD of their digit cuts."""
    from .fid import frechet_distance

    fields = layout_fields(ds, index)

    def classify(crops):
        return extractor.probs(crops).argmax(1)

    fake_read, fake_crops = read_canvases(fake, fields, classify)
    real_read, real_crops = read_canvases(ds.x[index].float().div(255), fields, classify)
    fake_ok, real_ok = caption_accuracy(fake_read, fields["digits"]), caption_accuracy(real_read, fields["digits"])
    held, two = ds.held_out[index], fields["digits"][:, 1] >= 0
    out = {}
    for name, mask in (("seen", ~held), ("held_out", held)):
        if mask.any():
            out[name] = {"caption_accuracy": fake_ok[mask].mean().item(),
                         "real_caption_accuracy": real_ok[mask].mean().item(), "n": int(mask.sum()),
                         **{f"{kind}_accuracy": fake_ok[mask & m].mean().item()   # which captions fail
                            for kind, m in (("one_digit", ~two), ("two_digit", two)) if (mask & m).any()}}
    out["fd_digits"] = frechet_distance(extractor.features(fake_crops), extractor.features(real_crops))
    out["n_crops"] = len(fake_crops)
    return out


@torch.no_grad()
def generate_for_captions(sample, tokens: torch.Tensor, seed: int, batch: int = 500) -> torch.Tensor:
    """sample(n, cond=tokens, generator=g) over the captions in batches, batch b drawing from a generator
    seeded (seed, b), so two samplers that draw alike (StackGAN's two stages) see the same noise."""
    out = []
    for b, i in enumerate(range(0, len(tokens), batch)):
        g = torch.Generator().manual_seed(seed * 1_000_003 + b)
        out.append(sample(len(tokens[i:i + batch]), cond=tokens[i:i + batch], generator=g).float().cpu())
    return torch.cat(out)


def evaluate_captions(model, test: CaptionedDataset, n: int, seed: int, root=None, extractor=None) -> dict:
    """`genzoo eval`'s captions metric: one sample per caption of the first n test canvases, scored by
    caption_scores; a model with two stages (StackGAN) is scored at both, Stage I shown at the canvas size."""
    from .features import get_feature_extractor

    fx = extractor or get_feature_extractor("mnist", root=root)
    index = torch.arange(min(n, len(test)))
    out = {"final": caption_scores(generate_for_captions(model.sample, test.y[index], seed), test, index, fx)}
    if isinstance(model, StagedSampler):
        low = generate_for_captions(model.sample_stage1, test.y[index], seed)
        shown = stage_shown_at(low, test.shape[-1])
        out["stage1"] = {**caption_scores(shown, test, index, fx), "resolution": list(low.shape[-2:])}
    out.update(n=len(index), extractor=fx.describe(), extractor_id=fx.id, protocol=(
        f"one sample per caption of the first {len(index)} test canvases of {test.source} (seed {seed}); "
        "caption accuracy: each canvas cut at its caption's digit boxes, each cut resized to 28x28 and read by "
        "genzoo's MNIST classifier, a canvas counts when every digit is read as its caption's; split by "
        "combinations seen in training and held out of it; real_caption_accuracy: the same for the real test "
        "canvases (the ceiling); fd_digits: Frechet distance between the classifier features of the generated "
        "and the real canvases' cuts"))
    return out


def sample_spread(images: torch.Tensor) -> float:
    """Mean over pairs i < j of the mean absolute pixel difference |x_i - x_j| of images (N, C, H, W) in [0, 1]:
    0 when every sample is the same picture, 1 for a black and a white one."""
    x = images.float().flatten(1)
    if len(x) < 2:
        raise ValueError("the spread between samples needs at least two of them")
    d = torch.cdist(x.double(), x.double(), p=1) / x.shape[1]
    return (d.sum() / (len(x) * (len(x) - 1))).item()


def stage_shown_at(images: torch.Tensor, size: int) -> torch.Tensor:
    """Low-resolution canvases (N, C, h, w) in [0, 1] shown at size x size (bilinear), to score them like full ones."""
    return F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)


# ----------------------------------------------------------------------------- genzoo eval's captions metric

def _format_captions(r: dict) -> str:
    stages = [stage for stage in ("final", "stage1") if stage in r]
    return "; ".join((f"{stage}: " if len(stages) > 1 else "") + "caption accuracy " + ", ".join(
        f"{split.replace('_', ' ')} {100 * r[stage][split]['caption_accuracy']:.1f}% "
        f"(real {100 * r[stage][split]['real_caption_accuracy']:.1f}%)"
        for split in ("seen", "held_out") if split in r[stage]) + f", FD of the digits {r[stage]['fd_digits']:.2f}"
        for stage in stages) + f" (n={r['n']})"


@register_metric("captions", kinds=("captioned",),
                 protocol="caption accuracy: one sample per test caption, each caption's digits cut out and read by "
                          "genzoo's MNIST classifier, for seen and held-out combinations, beside the real canvases'",
                 format=_format_captions)
def captions(ev: Evaluation) -> dict:
    return evaluate_captions(ev.model, ev.split("test"), ev.n, ev.seed, extractor=dataset_classifier(ev, "mnist"))
